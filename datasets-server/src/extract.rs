//! Request extractors that answer bad input in the protocol's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use datasets_core::wire::{LocSegment, ValidationIssue};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

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
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(state.config.body_limit)
            } else {
                ApiError::BadRequest(vec![ValidationIssue::new(
                    vec!["body".into()],
                    rejection.body_text(),
                    "body_unreadable",
                )])
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body, locating any error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
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
