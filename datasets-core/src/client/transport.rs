//! Sending a request: the HTTP exchange, retries as the policy allows,
//! the answer's body (whole or streamed to a sink), and errors made from
//! error answers as the Python SDK makes them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Async, DatasetsClient, ServerKind, retry};
use crate::error::{Error, Result, excerpt};

impl DatasetsClient<Async> {
    /// Whether typed handles check cases before sending them.
    #[cfg_attr(not(feature = "client-validation"), allow(dead_code))]
    pub(crate) fn validates_cases(&self) -> bool {
        self.inner.validate_cases
    }

    /// Whether the server is `datasets-server`, with the protocol's additions.
    pub(crate) fn is_datasets_server(&self) -> bool {
        self.inner.kind == ServerKind::Datasets
    }

    pub(crate) fn max_request_bytes(&self) -> usize {
        self.inner.max_request_bytes
    }

    /// Sends a request, retrying as the policy allows, and returns the body
    /// of a success answer.
    pub(crate) async fn execute(&self, call: &Call) -> Result<bytes::Bytes> {
        self.execute_with_headers(call).await.map(|(body, _)| body)
    }

    /// As [`execute`](Self::execute), with the answer's headers.
    pub(crate) async fn execute_with_headers(
        &self,
        call: &Call,
    ) -> Result<(bytes::Bytes, HeaderMap)> {
        let mut state = RetryState::default();
        loop {
            let failure = match self.attempt(call).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            match self.after_failure(call, &mut state, failure) {
                Step::Gone => return Ok((bytes::Bytes::new(), HeaderMap::new())),
                Step::Fail(err) => return Err(err),
                Step::Retry(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Sends a request and feeds a success answer's body to `sink` as it
    /// arrives, starting the sink over on each retry.
    pub(crate) async fn execute_streaming(
        &self,
        call: &Call,
        sink: &mut dyn BodySink,
    ) -> Result<HeaderMap> {
        let mut state = RetryState::default();
        loop {
            let failure = match self.attempt_streaming(call, sink).await {
                Ok(headers) => return Ok(headers),
                Err(failure) => failure,
            };
            match self.after_failure(call, &mut state, failure) {
                Step::Gone => return Ok(HeaderMap::new()),
                Step::Fail(err) => return Err(err),
                Step::Retry(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// What to do after a failed attempt: retry (after a wait) only what is
    /// safe to repeat (see [`RetryPolicy`]), or stop.
    fn after_failure(&self, call: &Call, state: &mut RetryState, failure: Failure) -> Step {
        let policy = &self.inner.retry;
        // A DELETE whose earlier answer was lost finds nothing left to
        // delete: that earlier attempt did it, so this is success.
        if state.maybe_applied
            && call.method == Method::DELETE
            && matches!(
                failure.error,
                Error::DatasetNotFound { .. } | Error::CaseNotFound { .. }
            )
        {
            return Step::Gone;
        }
        if matches!(failure.error, Error::Transport { connect: false, .. }) {
            state.maybe_applied = true;
        }
        // A POST is safe to repeat when nothing was sent, or when the
        // server deduplicates it by its Idempotency-Key.
        let safe = match &failure.error {
            Error::Transport { connect: true, .. } => true,
            _ => {
                call.method != Method::POST
                    || (call.idempotency_key.is_some() && self.inner.retry_posts)
            }
        };
        if state.retries >= policy.max_retries || !safe || !failure.error.is_retryable() {
            return Step::Fail(failure.error);
        }
        let wait = match failure.retry_after {
            Some(wait) if wait > policy.max_retry_after => return Step::Fail(failure.error),
            Some(wait) => wait,
            None => policy.backoff(state.retries),
        };
        state.retries += 1;
        Step::Retry(wait)
    }

    /// The request of a call, ready to send.
    fn request(&self, call: &Call) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.inner.base_url, call.path);
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .header(AUTHORIZATION, self.inner.auth.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(key) = &call.idempotency_key
            && self.is_datasets_server()
        {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(version) = call.if_version {
            request = request.header(reqwest::header::IF_MATCH, format!("\"{version}\""));
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::CONTENT_LENGTH, body.len());
            request = match &call.progress {
                Some(progress) => request.body(progress.body(body.clone())),
                None => request.body(body.clone()),
            };
        }
        request
    }

    /// Sends once; an error answer becomes a [`Failure`] with any `Retry-After`.
    async fn send(&self, call: &Call) -> std::result::Result<reqwest::Response, Failure> {
        if let Some(why) = &self.refusal {
            return Err(Failure::from(Error::InvalidArgument(why.to_string())));
        }
        if call.if_version.is_some() && !self.is_datasets_server() {
            return Err(Failure::from(Error::InvalidArgument(
                "if_version (If-Match) is an addition of datasets-server; Logfire's API would \
                 ignore it and write unconditionally, so nothing was sent"
                    .to_owned(),
            )));
        }
        let response = self
            .request(call)
            .send()
            .await
            .map_err(|err| Failure::from(transport(err)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(retry::parse_retry_after);
        let body = response
            .bytes()
            .await
            .map_err(|err| Failure::from(transport(err)))?;
        Err(Failure {
            error: error_from_answer(status, &body, call),
            retry_after,
        })
    }

    async fn attempt(
        &self,
        call: &Call,
    ) -> std::result::Result<(bytes::Bytes, HeaderMap), Failure> {
        let response = self.send(call).await?;
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|err| Failure::from(transport(err)))?;
        Ok((body, headers))
    }

    async fn attempt_streaming(
        &self,
        call: &Call,
        sink: &mut dyn BodySink,
    ) -> std::result::Result<HeaderMap, Failure> {
        let mut response = self.send(call).await?;
        let headers = response.headers().clone();
        sink.reset();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| Failure::from(transport(err)))?
        {
            sink.feed(&chunk)?;
        }
        Ok(headers)
    }

    /// Sends a request and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call, what: &str) -> Result<T> {
        let body = self.execute(&call).await?;
        decode(what, &body)
    }
}

/// Where a request's retries stand.
#[derive(Default)]
struct RetryState {
    retries: u32,
    /// Whether an earlier attempt reached the server but its answer was lost.
    maybe_applied: bool,
}

/// What follows a failed attempt.
enum Step {
    /// A DELETE found done by an earlier attempt.
    Gone,
    /// Try again after this wait.
    Retry(Duration),
    /// Give up with this error.
    Fail(Error),
}

/// Receives a success answer's body as it arrives.
pub(crate) trait BodySink: Send {
    /// Forgets what was fed: the request is being retried.
    fn reset(&mut self);
    /// The next bytes of the body; an error stops reading (and is not retried).
    fn feed(&mut self, bytes: &[u8]) -> Result<()>;
}

/// A failed attempt, with the wait the server asked for.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// Decodes a JSON body, naming the path that failed.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    // A number `serde_json::Value` cannot hold would be rounded silently.
    if let Err(problem) = crate::json_guard::check_numbers(body) {
        let path: Vec<String> = problem.path.iter().map(ToString::to_string).collect();
        return Err(Error::Decode {
            what: what.to_owned(),
            case_id: None,
            path: Some(path.join(".")),
            message: problem.message,
            excerpt: String::new(),
        });
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(crate::strict::Strict(&mut *deserializer))
        .map_err(|err| Error::decode(what, err, body))?;
    deserializer.end().map_err(|err| Error::Decode {
        what: what.to_owned(),
        case_id: None,
        path: None,
        message: crate::error::strip_position(&err.to_string()),
        excerpt: crate::error::excerpt(body),
    })?;
    Ok(value)
}

fn transport(err: reqwest::Error) -> Error {
    // reqwest's message names the URL, which never holds the key.
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport {
        timeout: err.is_timeout(),
        connect: err.is_connect(),
        message,
        source: Some(Box::new(err)),
    }
}

/// Maps an error answer as the Python SDK does: a 404 is a missing case when
/// the route is a case's and the detail mentions "case", else a missing
/// dataset; anything else is [`Error::Api`] with the parsed detail.
fn error_from_answer(status: StatusCode, body: &[u8], call: &Call) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let detail = match parsed {
        Some(Value::Object(mut object)) if object.contains_key("detail") => {
            object.remove("detail").unwrap_or(Value::Null)
        }
        Some(other) => other,
        None => Value::String(if body.is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            excerpt(body)
        }),
    };
    if status == StatusCode::PRECONDITION_FAILED {
        let current_version = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|body| body.get("current_version")?.as_u64());
        return Error::PreconditionFailed {
            detail: match &detail {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            },
            current_version,
        };
    }
    if status == StatusCode::NOT_FOUND {
        let text = match &detail {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if text == "Experiment not found" {
            let experiment = call
                .path
                .strip_prefix("/v1/experiments/")
                .and_then(|rest| rest.split('/').next())
                .filter(|id| !id.is_empty() && *id != "compare")
                .map(str::to_owned);
            return Error::ExperimentNotFound {
                detail: text,
                experiment,
            };
        }
        let (dataset, case) = path_names(&call.path);
        let names_version = text == "Version not found"
            || text
                .strip_prefix("Version ")
                .is_some_and(|rest| rest.ends_with(" not found"));
        if names_version {
            let in_path = call
                .path
                .split_once("/versions/")
                .and_then(|(_, rest)| rest.split('/').next())
                .map(|segment| {
                    percent_encoding::percent_decode_str(segment)
                        .decode_utf8_lossy()
                        .into_owned()
                });
            // A diff names two versions, and the answer does not say which
            // one is missing.
            // The server names it where it can: `Version 99 not found`.
            let named = text
                .strip_prefix("Version ")
                .and_then(|rest| rest.strip_suffix(" not found"))
                .map(str::to_owned);
            let version = named.or(in_path).or_else(|| {
                let named: Vec<&str> = call
                    .query
                    .iter()
                    .filter(|(key, _)| matches!(*key, "version" | "as_of" | "from" | "to"))
                    .map(|(_, value)| value.as_str())
                    .collect();
                (!named.is_empty()).then(|| named.join(" or "))
            });
            return Error::VersionNotFound {
                detail: text,
                dataset,
                version,
            };
        }
        if call.case_endpoint && text.to_lowercase().contains("case") {
            return Error::CaseNotFound {
                detail: text,
                dataset,
                case,
            };
        }
        return Error::DatasetNotFound {
            detail: text,
            dataset,
        };
    }
    Error::Api {
        status: status.as_u16(),
        detail,
    }
}

/// The dataset and case a request's path names (`/v1/datasets/{dataset}/
/// cases/{case}/`), decoded, for errors that say what was not found.
fn path_names(path: &str) -> (Option<String>, Option<String>) {
    let decode = |segment: &str| {
        percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut segments = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty());
    if segments.next() != Some("v1") || segments.next() != Some("datasets") {
        return (None, None);
    }
    let dataset = segments.next().map(decode);
    let case = match (segments.next(), segments.next()) {
        (Some("cases"), Some(id)) if id != "bulk" && id != "delete" => Some(decode(id)),
        _ => None,
    };
    (dataset, case)
}

/// A request to send.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<bytes::Bytes>,
    /// 404s on case routes may mean a missing case.
    pub(crate) case_endpoint: bool,
    /// A POST's `Idempotency-Key`: fresh per call, the same on its retries.
    pub(crate) idempotency_key: Option<String>,
    /// `If-Match` with this case version.
    pub(crate) if_version: Option<u64>,
    /// Counts the cases of the body as its bytes are sent.
    pub(crate) progress: Option<SendProgress>,
}

/// The progress of a body of cases as it is sent: each case counts once its
/// last byte has gone out, once however often the body is sent (retries).
#[derive(Clone)]
pub(crate) struct SendProgress {
    bar: Arc<crate::progress::Progress>,
    case_ends: Arc<[usize]>,
    /// Cases of this body counted so far, over every attempt.
    counted: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for SendProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendProgress")
            .field("cases", &self.case_ends.len())
            .finish_non_exhaustive()
    }
}

impl SendProgress {
    pub(crate) fn new(bar: Arc<crate::progress::Progress>, case_ends: Vec<usize>) -> Self {
        Self {
            bar,
            case_ends: case_ends.into(),
            counted: Arc::default(),
        }
    }

    /// `body` as a stream of pieces of about 64 KiB, counting the cases
    /// whose text has been handed to the connection.
    fn body(&self, body: bytes::Bytes) -> reqwest::Body {
        const PIECE: usize = 64 * 1024;
        let progress = self.clone();
        let pieces = (0..body.len().div_ceil(PIECE).max(1)).map(move |i| {
            let end = ((i + 1) * PIECE).min(body.len());
            let piece = body.slice(i * PIECE..end);
            let sent = progress
                .case_ends
                .partition_point(|case_end| *case_end <= end);
            let before = progress
                .counted
                .fetch_max(sent, std::sync::atomic::Ordering::Relaxed);
            if sent > before {
                progress.bar.advance_by(sent - before);
            }
            Ok::<_, std::io::Error>(piece)
        });
        reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
    }
}

impl Call {
    pub(crate) fn new(method: Method, path: String) -> Self {
        let idempotency_key = (method == Method::POST).then(|| uuid::Uuid::new_v4().to_string());
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            case_endpoint: false,
            idempotency_key,
            if_version: None,
            progress: None,
        }
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|err| {
            Error::InvalidArgument(format!("cannot encode the request body: {err}"))
        })?;
        self.body = Some(bytes.into());
        Ok(self)
    }

    pub(crate) fn case_endpoint(mut self) -> Self {
        self.case_endpoint = true;
        self
    }
}

/// A boxed, sendable future: what awaiting a request builder gives.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn upload_progress_counts_cases_as_their_bytes_are_sent_once() {
        use futures_util::StreamExt;

        let bar = Arc::new(crate::progress::Progress::new(
            Some(false),
            3,
            "Uploading cases".into(),
        ));
        // Three cases in one 200 KiB body: the first two end in the first
        // 64 KiB piece, the third at the end.
        let body = bytes::Bytes::from(vec![b' '; 200 * 1024]);
        let progress = SendProgress::new(Arc::clone(&bar), vec![10, 60_000, 200 * 1024 - 2]);
        async fn read_all(
            body: reqwest::Body,
            bar: &crate::progress::Progress,
        ) -> Vec<(usize, usize)> {
            let mut stream = http_body_util::BodyDataStream::new(body);
            let mut seen = Vec::new();
            while let Some(piece) = stream.next().await {
                seen.push((piece.unwrap().len(), bar.done()));
            }
            seen
        }
        let seen = read_all(progress.body(body.clone()), &bar).await;
        assert_eq!(seen.first(), Some(&(64 * 1024, 2)));
        assert_eq!(seen.last().map(|(_, done)| *done), Some(3));
        // A retry sends the body again; its cases are not counted twice.
        read_all(progress.body(body), &bar).await;
        assert_eq!(bar.done(), 3);
    }

    #[test]
    fn not_found_answers_are_told_apart_like_the_python_sdk() {
        let case_id = uuid::Uuid::nil();
        let on_case = Call::new(
            Method::GET,
            format!("/v1/datasets/qa%20set/cases/{case_id}/"),
        )
        .case_endpoint();
        let case = error_from_answer(
            StatusCode::NOT_FOUND,
            br#"{"detail":"Case not found"}"#,
            &on_case,
        );
        assert!(
            matches!(&case, Error::CaseNotFound { dataset: Some(d), case: Some(c), .. }
                if d == "qa set" && *c == case_id.to_string()),
            "{case:?}"
        );
        let dataset = error_from_answer(
            StatusCode::NOT_FOUND,
            br#"{"detail":"Dataset not found"}"#,
            &on_case,
        );
        assert!(matches!(dataset, Error::DatasetNotFound { .. }));
        let on_dataset = Call::new(Method::GET, "/v1/datasets/qa/".to_owned());
        let on_dataset_route = error_from_answer(
            StatusCode::NOT_FOUND,
            br#"{"detail":"Case not found"}"#,
            &on_dataset,
        );
        assert!(matches!(on_dataset_route, Error::DatasetNotFound { .. }));
        let html = error_from_answer(
            StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
            &on_dataset,
        );
        assert!(
            matches!(&html, Error::Api { status: 502, detail } if detail == "<html>bad gateway</html>")
        );
    }

    /// A server that keeps arbitrary-precision numbers (Logfire's
    /// PostgreSQL `jsonb` does) may answer with one `serde_json::Value`
    /// cannot hold: the client refuses it, naming where, instead of
    /// rounding it.
    #[test]
    fn numbers_a_value_would_round_are_refused_where_they_are() {
        let body =
            br#"[{"inputs": {"ok": 9223372036854775807, "id": 123456789012345678901234567890}}]"#;
        let err = decode::<serde_json::Value>("cases", body).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode cases at `0.inputs.id`: the integer 123456789012345678901234567890 \
             does not fit in 64 bits and would lose precision; send it as a string"
        );
        let err =
            decode::<serde_json::Value>("case", br#"{"pi": 3.14159265358979323846}"#).unwrap_err();
        assert!(err.to_string().contains("at `pi`"), "{err}");
        let fine = br#"{"a": [5e-324, -0.0, 1e300, 18446744073709551615]}"#;
        assert!(decode::<serde_json::Value>("case", fine).is_ok());
    }
}
