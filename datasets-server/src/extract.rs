//! Request extractors that answer bad input in the protocol's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use datasets_core::strict::{self, Strict};
use datasets_core::wire::{LocSegment, ValidationIssue};
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::json_guard;
use crate::state::AppState;
use crate::store::Idempotency;

/// A JSON body of type `T`.
///
/// A body over the limit is a 413; a body that is not JSON, or not the
/// expected shape, is a 400 whose detail gives the JSON path (`loc`) and what
/// was wrong.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        parse_json_apart(bytes).await.map(JsonBody)
    }
}

/// Bodies at least this long are checked and parsed on the blocking pool:
/// the scan and the parse are linear, but a few megabytes of them would hold
/// an async worker (and every request queued on it) for milliseconds.
pub(crate) const APART_MIN_BYTES: usize = 256 * 1024;

/// [`parse_json`] of an owned body, on the blocking pool when it is large.
pub(crate) async fn parse_json_apart<T: DeserializeOwned + Send + 'static>(
    bytes: Bytes,
) -> Result<T, ApiError> {
    run_apart(bytes.len(), move || parse_json::<T>(&bytes)).await
}

/// Runs `work` here when `len` is small, else on the blocking pool.
pub(crate) async fn run_apart<T: Send + 'static>(
    len: usize,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if len < APART_MIN_BYTES {
        return work();
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::Internal(format!("body check failed: {err}")))?
}

/// Whether a `Content-Type` names JSON: `application/json` or
/// `application/<anything>+json`, with any parameters.
fn is_json_media_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// Reads a body within the configured limit and time.
///
/// - A `Content-Type` other than JSON is a 422 at `["body"]` (as Logfire's
///   API answers); without one, the body is read as JSON.
/// - A `Content-Length` over the limit is a 413 before anything is read; a
///   body that grows past it while arriving, a 413 as soon as it does.
/// - A body from which nothing arrives for the body timeout is a 408.
async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    let limit = state.config.body_limit;
    if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
        let text = String::from_utf8_lossy(value.as_bytes());
        if !is_json_media_type(&text) {
            return Err(ApiError::invalid(
                vec!["body".into()],
                format!(
                    "the body must be JSON, sent as Content-Type: application/json, \
                     not {:?}",
                    text.chars().take(100).collect::<String>()
                ),
                "content_type",
            ));
        }
    }
    let announced = announced_length(req.headers());
    collect_body(
        req.into_body(),
        announced,
        limit,
        &state.config,
        &state.pressure,
    )
    .await
}

/// The body's length as `Content-Length` announces it.
fn announced_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
}

/// For the routes whose handlers take a whole body (OTLP, the UI's forms):
/// the body read under the same rules as the API's ([`read_body`]: a 413
/// at once when `Content-Length` announces too much, or as soon as the body
/// grows past the limit; a 408 when nothing arrives for the body timeout),
/// answered in the API's JSON error shape, then handed on whole.
pub(crate) async fn bounded_body(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let limit = state.config.body_limit;
    let announced = announced_length(&parts.headers);
    match collect_body(body, announced, limit, &state.config, &state.pressure).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(err) => axum::response::IntoResponse::into_response(err),
    }
}

/// Reads `body` whole, within `limit` bytes and the body timeout between
/// chunks (shorter while connections are scarce, decided again when that
/// changes during a wait).
async fn collect_body(
    body: axum::body::Body,
    announced: Option<u64>,
    limit: usize,
    config: &crate::state::ServerConfig,
    pressure: &crate::pressure::Pressure,
) -> Result<Bytes, ApiError> {
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut more: Vec<u8> = Vec::new();
    let mut received = 0usize;
    loop {
        let chunk = match next_chunk(&mut stream, config.body_timeout, pressure).await {
            Err(timeout) => return Err(ApiError::RequestTimeout(timeout)),
            Ok(None) => break,
            Ok(Some(Err(err))) => {
                return Err(ApiError::BadRequest(vec![ValidationIssue::new(
                    vec!["body".into()],
                    format!("the body could not be read: {err}"),
                    "body_unreadable",
                )]));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        received += chunk.len();
        if received > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        match &first {
            None => first = Some(chunk),
            Some(head) => {
                if more.is_empty() {
                    let capacity = announced.map_or(0, |n| n as usize).max(received);
                    more.reserve(capacity);
                    more.extend_from_slice(head);
                }
                more.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if more.is_empty() {
        first.unwrap_or_default()
    } else {
        Bytes::from(more)
    })
}

/// The next chunk of a body, or the timeout that passed first: `normal`,
/// or [`crate::pressure::PRESSURE_TIMEOUT`] from when connections are scarce.
async fn next_chunk<S: futures_util::Stream + Unpin>(
    stream: &mut S,
    normal: std::time::Duration,
    pressure: &crate::pressure::Pressure,
) -> Result<Option<S::Item>, std::time::Duration> {
    let started = tokio::time::Instant::now();
    let mut changes = pressure.watch();
    let mut next = stream.next();
    loop {
        let timeout = pressure.timeout(normal);
        tokio::select! {
            item = &mut next => return Ok(item),
            () = tokio::time::sleep_until(started + timeout) => return Err(timeout),
            _ = changes.changed() => {}
        }
    }
}

/// The header carrying a POST's idempotency key.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Longest idempotency key accepted.
pub(crate) const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

fn header_issue(header: &str, msg: impl Into<String>, kind: &str) -> ApiError {
    ApiError::BadRequest(vec![ValidationIssue::new(
        vec!["header".into(), header.into()],
        msg,
        kind,
    )])
}

/// A POST's JSON body, and its `Idempotency-Key` if it has one: the key,
/// scoped to the method and path, with a hash of the query and body.
#[derive(Debug)]
pub(crate) struct IdempotentJson<T> {
    pub(crate) body: T,
    pub(crate) idempotency: Option<Idempotency>,
}

impl<T: DeserializeOwned + Send + 'static> FromRequest<AppState> for IdempotentJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let IdempotentBody { bytes, idempotency } =
            IdempotentBody::from_request(req, state).await?;
        Ok(Self {
            body: parse_json_apart(bytes).await?,
            idempotency,
        })
    }
}

/// A POST's body, unparsed (for routes that parse it in place), and its
/// `Idempotency-Key` if it has one.
#[derive(Debug)]
pub(crate) struct IdempotentBody {
    pub(crate) bytes: Bytes,
    pub(crate) idempotency: Option<Idempotency>,
}

impl FromRequest<AppState> for IdempotentBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let key = match req.headers().get(IDEMPOTENCY_KEY) {
            None => None,
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .filter(|key| {
                        !key.is_empty()
                            && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
                            && key.bytes().all(|b| b.is_ascii_graphic())
                    })
                    .ok_or_else(|| {
                        header_issue(
                            "Idempotency-Key",
                            format!(
                                "an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible \
                                 ASCII characters, e.g. a UUID"
                            ),
                            "invalid_idempotency_key",
                        )
                    })?;
                let scope = format!(
                    "{} {}",
                    req.method(),
                    req.uri().path().trim_end_matches('/')
                );
                let query = req.uri().query().unwrap_or("").to_owned();
                Some((key.to_owned(), scope, query))
            }
        };
        let bytes = read_body(req, state).await?;
        let idempotency = key.map(|(key, scope, query)| {
            let mut hash = Sha256::new();
            hash.update(query.as_bytes());
            hash.update([0]);
            hash.update(&bytes);
            Idempotency {
                key,
                scope,
                request_hash: hash.finalize().into(),
            }
        });
        Ok(Self { bytes, idempotency })
    }
}

/// `If-Match: "<version>"` on a case write: apply it only if the case is at
/// that version. Absent or `*`, the write is unconditional.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IfMatch(pub(crate) Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or("").trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
        bare.parse::<i64>()
            .ok()
            .filter(|version| *version >= 1)
            .map(|version| IfMatch(Some(version)))
            .ok_or_else(|| {
                header_issue(
                    "If-Match",
                    format!("If-Match must be a case version, e.g. \"3\", not {text:?}"),
                    "invalid_if_match",
                )
            })
    }
}

/// Parses a JSON body, locating any error. What a parser would accept
/// silently but changes or hides data (duplicate keys, integers beyond 64
/// bits, nesting past [`json_guard::MAX_DEPTH`], lone surrogates) is refused
/// first. The body must be one JSON document (whitespace aside), and every
/// struct of `T` a JSON object ([`strict`]).
pub(crate) fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    if let Err(rejection) = json_guard::check(bytes) {
        let mut loc = vec![LocSegment::from("body")];
        loc.extend(rejection.path);
        return Err(ApiError::BadRequest(vec![ValidationIssue::new(
            loc,
            rejection.message,
            rejection.kind,
        )]));
    }
    // Tracking the path costs on every value; only a failed parse needs it.
    let error = match strict::from_slice(bytes) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    if serde_path_to_error::deserialize::<_, T>(Strict(&mut *deserializer)).is_ok() {
        // Only what follows the document was wrong.
        return Err(ApiError::BadRequest(vec![ValidationIssue::new(
            vec!["body".into()],
            format!(
                "the body must be exactly one JSON value: {}",
                strip_position(&error.to_string())
            ),
            "json_invalid",
        )]));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize::<_, T>(Strict(deserializer)).map_err(|err| {
        let inner = err.inner();
        let issue = if inner.is_data() {
            let mut loc = vec![LocSegment::from("body")];
            for segment in err.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => loc.push((*index).into()),
                    serde_path_to_error::Segment::Map { key } => loc.push(key.as_str().into()),
                    serde_path_to_error::Segment::Enum { variant } => {
                        loc.push(variant.as_str().into())
                    }
                    serde_path_to_error::Segment::Unknown => loc.push("?".into()),
                }
            }
            let msg = strip_position(&inner.to_string());
            let kind = if msg.starts_with("missing field") {
                "missing"
            } else {
                "invalid_shape"
            };
            ValidationIssue::new(loc, msg, kind)
        } else {
            ValidationIssue::new(
                vec!["body".into()],
                format!("body is not valid JSON: {inner}"),
                "json_invalid",
            )
        };
        ApiError::BadRequest(vec![issue])
    })
}

/// serde_json appends " at line L column C"; the `loc` says where.
fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// The query string as ordered `(key, value)` pairs, repeated keys kept.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The path parameters of a route, by name, percent-decoded.
///
/// Unlike axum's `Path`, a segment that is not UTF-8 once decoded is no
/// error of its own: it is decoded lossily (with U+FFFD), which no dataset
/// name or id can hold, so the route answers the protocol's JSON 404
/// (`Dataset not found`, `Case not found`) as for any other unknown name.
#[derive(Debug, Clone)]
pub(crate) struct Segments(Vec<(String, String)>);

impl Segments {
    /// The parameter `name`; empty when the route has none so named.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// The `{dataset}` parameter.
    pub(crate) fn dataset(&self) -> &str {
        self.get("dataset")
    }

    /// The `{case_id}` parameter.
    pub(crate) fn case(&self) -> &str {
        self.get("case_id")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let template = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|matched| matched.as_str().to_owned())
            .ok_or(ApiError::RouteNotFound)?;
        let path = parts.uri.path();
        let params = template
            .split('/')
            .zip(path.split('/'))
            .filter_map(|(pattern, segment)| {
                let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
                let bytes: Vec<u8> = percent_decode(segment);
                Some((
                    name.to_owned(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            })
            .collect();
        Ok(Segments(params))
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as is.
fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
