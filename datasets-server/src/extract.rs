//! Request extractors that answer bad input in the protocol's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use datasets_core::wire::{LocSegment, ValidationIssue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::json_guard;
use crate::store::Idempotency;

/// A JSON body of type `T`.
///
/// A body over the limit is a 413; a body that is not JSON, or not the
/// expected shape, is a 400 whose detail gives the JSON path (`loc`) and what
/// was wrong.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Reads a body within the configured limit.
async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(state.config.body_limit)
        } else {
            ApiError::BadRequest(vec![ValidationIssue::new(
                vec!["body".into()],
                rejection.body_text(),
                "body_unreadable",
            )])
        }
    })
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

impl<T: DeserializeOwned> FromRequest<AppState> for IdempotentJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let IdempotentBody { bytes, idempotency } =
            IdempotentBody::from_request(req, state).await?;
        Ok(Self {
            body: parse_json(&bytes)?,
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
/// bits, nesting past [`json_guard::MAX_DEPTH`]) is refused first.
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
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize::<_, T>(deserializer).map_err(|err| {
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
            let msg = inner.to_string();
            // serde_json appends " at line L column C"; the loc says where.
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
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
