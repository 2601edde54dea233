//! How a command fails: a message for people and an exit code (1 for a
//! failure, 2 for a usage error), never a debug dump.

use std::fmt;

use datasets_core::Error;
use datasets_core::wire::ValidationIssue;

/// Exit code of a failure.
pub(crate) const FAILURE: u8 = 1;
/// Exit code of a usage error (clap's own, too).
pub(crate) const USAGE: u8 = 2;

/// A command's failure: what to print on stderr and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

/// What commands return.
pub(crate) type Outcome<T = ()> = Result<T, Failure>;

impl Failure {
    /// A failure of the work itself (exit 1).
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            code: FAILURE,
            message: message.into(),
        }
    }

    /// A command line that cannot be run as given (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    /// Prefixes the message with what was being done.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure::failed(describe(&err))
    }
}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        // `datasets cases big | head` closes our stdout early: not a failure.
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure {
                code: 0,
                message: String::new(),
            };
        }
        Failure::failed(err.to_string())
    }
}

/// One or two lines saying what went wrong, from a client error.
pub(crate) fn describe(err: &Error) -> String {
    match err {
        Error::Api { status: 401, .. } => {
            "the server refused the API key (401): check --api-key or DATASETS_API_KEY".to_owned()
        }
        Error::Api { status: 403, .. } => {
            "the API key lacks the scope this needs (403): reading needs \
             project:read_datasets, writing project:write_datasets"
                .to_owned()
        }
        Error::Api { status, detail } => {
            format!(
                "the server refused the request ({status}): {}",
                detail_text(detail)
            )
        }
        Error::Transport {
            message, timeout, ..
        } => {
            if *timeout {
                format!("the server did not answer in time: {message}")
            } else {
                format!("cannot reach the server: {message}")
            }
        }
        Error::InvalidArgument(message) => message.clone(),
        other => other.to_string(),
    }
}

/// A `detail` as text: a string as it is, issues as `path: message`.
pub(crate) fn detail_text(detail: &serde_json::Value) -> String {
    match detail {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| match issue_of(item) {
                Some(issue) => issue_text(&issue, 0),
                None => item.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// One `{"loc": [...], "msg": ..., "type": ...}` of a `detail` list.
pub(crate) fn issue_of(item: &serde_json::Value) -> Option<ValidationIssue> {
    serde_json::from_value(item.clone()).ok()
}

/// An issue as `path: message`, leaving out the first `skip` segments of
/// its location (the client's `Display` also names the issue's type).
pub(crate) fn issue_text(issue: &ValidationIssue, skip: usize) -> String {
    let loc: Vec<String> = issue
        .loc
        .iter()
        .skip(skip)
        .map(ToString::to_string)
        .collect();
    if loc.is_empty() {
        issue.msg.clone()
    } else {
        format!("{}: {}", loc.join("."), issue.msg)
    }
}
