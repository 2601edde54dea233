//! The one error type of the crate.

use serde_json::Value;
use uuid::Uuid;

use crate::wire::ValidationIssue;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a datasets API.
///
/// The first three variants are the Python SDK's three exceptions
/// (`DatasetNotFoundError`, `CaseNotFoundError`, `DatasetApiError`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404 on a dataset (or a dataset of another project).
    #[error("dataset {} not found ({detail})", .dataset.as_deref().map_or_else(|| "?".to_owned(), |d| format!("`{d}`")))]
    DatasetNotFound {
        /// The server's `detail`.
        detail: String,
        /// The dataset asked for (its name or id), when the request named one.
        dataset: Option<String>,
    },
    /// 404 on a dataset version (by number, tag or time) that the dataset
    /// does not have, or no longer keeps (`datasets-server` only).
    #[error("version {} of dataset {} not found ({detail})",
        .version.as_deref().unwrap_or("?"),
        .dataset.as_deref().map_or_else(|| "?".to_owned(), |d| format!("`{d}`")))]
    VersionNotFound {
        /// The server's `detail`.
        detail: String,
        /// The dataset asked for.
        dataset: Option<String>,
        /// The version asked for, as the request named it.
        version: Option<String>,
    },
    /// 404 on an experiment (or another project's), `datasets-server` only.
    #[error("experiment {} not found ({detail})", .experiment.as_deref().unwrap_or("?"))]
    ExperimentNotFound {
        /// The server's `detail`.
        detail: String,
        /// The experiment id asked for, when the request named one.
        experiment: Option<String>,
    },
    /// 404 on a case whose dataset exists.
    #[error("case {} not found in dataset {} ({detail})",
        .case.as_deref().unwrap_or("?"),
        .dataset.as_deref().map_or_else(|| "?".to_owned(), |d| format!("`{d}`")))]
    CaseNotFound {
        /// The server's `detail`.
        detail: String,
        /// The dataset asked for (its name or id).
        dataset: Option<String>,
        /// The case id asked for.
        case: Option<String>,
    },
    /// A file could not be read or written (the path is empty when the
    /// error concerns no file).
    #[error("{}{source}", if .path.as_os_str().is_empty() { String::new() } else { format!("{}: ", .path.display()) })]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// 412 on a conditional case write (`if_version`): the case changed
    /// since; nothing was written.
    #[error("precondition failed: {detail}")]
    PreconditionFailed {
        /// The server's `detail`.
        detail: String,
        /// The case's current version, when the server said.
        current_version: Option<u64>,
    },
    /// Any other error answer: the status and the parsed `detail` (a string,
    /// or for 400 and 422 a list of `{loc, msg, type}`; see [`Error::issues`]).
    #[error("API error {status}: {}", display_detail(.detail))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The body's `detail` member (or the whole body if it has none).
        detail: Value,
    },
    /// The request did not get an answer: connection refused or reset, DNS,
    /// TLS, or a timeout.
    #[error("transport error{}: {message}", if *.timeout { " (timed out)" } else { "" })]
    Transport {
        /// What failed.
        message: String,
        /// Whether it was a timeout.
        timeout: bool,
        /// Whether the connection could not be made (nothing was sent).
        connect: bool,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An answer, or a stored value, did not decode into the expected type.
    #[error("cannot decode {what}{}{}: {message}{}",
        .case_id.map(|id| format!(" of case {id}")).unwrap_or_default(),
        .path.as_deref().filter(|p| !p.is_empty() && *p != ".").map(|p| format!(" at `{p}`")).unwrap_or_default(),
        if .excerpt.is_empty() { String::new() } else { format!(" (body starts: {})", .excerpt) })]
    Decode {
        /// What was being decoded, e.g. `"DatasetDetail"` or `"case inputs"`.
        what: String,
        /// The case the value belongs to, when known.
        case_id: Option<Uuid>,
        /// The JSON path that failed, e.g. `inputs.question`.
        path: Option<String>,
        /// What was wrong.
        message: String,
        /// The start of the body, for answers that were not the expected JSON.
        excerpt: String,
    },
    /// An argument that can never be valid, caught before any request.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A chunked upload failed part-way; see `add_cases` and `import_cases`.
    /// Each chunk is one transaction: `chunk` was not written. Sent one at
    /// a time (the default), the chunks before it were written and those
    /// after it were not sent; with `.concurrency(n)`, chunks already in
    /// flight may also have landed, and `written` counts them.
    #[error("chunk {} of {chunks} (cases {first_case}..{}) failed after {written} case(s) were written: {source}",
        .chunk + 1, .first_case + .len)]
    Chunk {
        /// The failed chunk, from 0.
        chunk: usize,
        /// How many chunks the upload had.
        chunks: usize,
        /// Index, in the caller's list, of the chunk's first case.
        first_case: usize,
        /// Cases in the failed chunk.
        len: usize,
        /// Cases written by the chunks that succeeded.
        written: usize,
        /// Why the chunk failed (422 locations are indexes in the caller's list).
        #[source]
        source: Box<Error>,
    },
    /// The blocking client was used where it cannot work.
    #[error("{0}")]
    Blocking(String),
}

fn display_detail(detail: &Value) -> String {
    match detail {
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let issues: Vec<String> = items
                .iter()
                .map(
                    |item| match serde_json::from_value::<ValidationIssue>(item.clone()) {
                        Ok(issue) => issue.to_string(),
                        Err(_) => item.to_string(),
                    },
                )
                .collect();
            issues.join("; ")
        }
        other => other.to_string(),
    }
}

impl From<std::io::Error> for Error {
    /// An I/O error with no file to name (e.g. from starting a server).
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            path: std::path::PathBuf::new(),
            source,
        }
    }
}

impl Error {
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::DatasetNotFound { .. }
            | Error::CaseNotFound { .. }
            | Error::VersionNotFound { .. }
            | Error::ExperimentNotFound { .. } => Some(404),
            Error::PreconditionFailed { .. } => Some(412),
            Error::Api { status, .. } => Some(*status),
            Error::Chunk { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether trying the same request again may succeed: 429, 502, 503,
    /// 504, connection failures and timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// The `{loc, msg, type}` issues of a 400 or 422 answer.
    pub fn issues(&self) -> Vec<ValidationIssue> {
        match self {
            Error::Api { detail, .. } => serde_json::from_value(detail.clone()).unwrap_or_default(),
            Error::Chunk { source, .. } => source.issues(),
            _ => Vec::new(),
        }
    }

    /// A decode error from `serde_path_to_error`.
    #[cfg(any(feature = "client", feature = "report"))]
    pub(crate) fn decode(
        what: impl Into<String>,
        err: serde_path_to_error::Error<serde_json::Error>,
        body: &[u8],
    ) -> Self {
        Error::Decode {
            what: what.into(),
            case_id: None,
            path: Some(err.path().to_string()),
            message: strip_position(&err.inner().to_string()),
            excerpt: excerpt(body),
        }
    }
}

/// serde_json appends " at line L column C"; the path says where.
pub(crate) fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// The first 200 characters of a body, for error messages.
#[cfg(any(feature = "client", feature = "report"))]
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        excerpt.push('…');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_errors_show_their_issues() {
        let err = Error::Api {
            status: 422,
            detail: json!([{"loc": ["body", "cases", 3, "inputs"], "msg": "bad", "type": "type"}]),
        };
        assert_eq!(
            err.to_string(),
            "API error 422: body.cases.3.inputs: bad (type)"
        );
        assert_eq!(err.issues().len(), 1);
        assert_eq!(err.status(), Some(422));
        assert!(!err.is_retryable());
        assert!(
            Error::Api {
                status: 503,
                detail: json!("x")
            }
            .is_retryable()
        );
    }
}
