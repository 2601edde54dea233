//! The one error type of the HTTP layer, rendered as the protocol's
//! FastAPI-style `{"detail": ...}` bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datasets_core::wire::{LocSegment, ValidationIssue};
use serde_json::json;

use crate::store::StoreError;

/// An error answered to an API request.
///
/// The texts of the 404s are part of the protocol: clients tell a missing
/// case from a missing dataset by the word "case" in the detail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no key, a malformed header, or an unknown or revoked key.
    #[error("missing or invalid API key")]
    Unauthorized,
    /// 403: the key lacks the scope the request needs.
    #[error("API key lacks the {0} scope")]
    Forbidden(&'static str),
    /// 404 `Dataset not found` (also for another project's dataset).
    #[error("Dataset not found")]
    DatasetNotFound,
    /// 404 `Case not found`.
    #[error("Case not found")]
    CaseNotFound,
    /// 404 `Version not found`: no such version or version tag, or a
    /// version pruned by the retention.
    #[error("Version not found")]
    VersionNotFound,
    /// 404 `Version N not found`, where a request names two versions (a
    /// diff) and the answer says which is missing.
    #[error("Version {0} not found")]
    VersionNamedNotFound(String),
    /// 404 `Tag not found`: the version has no such tag.
    #[error("Tag not found")]
    TagNotFound,
    /// 404 `Experiment not found` (also for another project's).
    #[error("Experiment not found")]
    ExperimentNotFound,
    /// 415: a body in an encoding or media type the route does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 404 for a path that is no route.
    #[error("Not Found")]
    RouteNotFound,
    /// 405 for a route without that method.
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// 409: a name already taken.
    #[error("{0}")]
    Conflict(String),
    /// 400: the body is not JSON or not the expected shape.
    #[error("bad request")]
    BadRequest(Vec<ValidationIssue>),
    /// 413: the body is over the configured limit.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// 413: a body within the limit that expands past what one request may
    /// (spans, values, decompressed bytes), saying which.
    #[error("{0}")]
    TooLargeToExpand(String),
    /// 429: too many failed keys from the client's address; `retry_after`
    /// seconds until it may try again.
    #[error("too many failed keys or sign-ins from this address; try again in {retry_after} s")]
    TooManyFailures {
        /// Seconds until the address's window ends.
        retry_after: u64,
    },
    /// 408: the body stopped arriving; the connection is closed after it.
    #[error("the request body stalled: nothing arrived for {0:?}; send it again")]
    RequestTimeout(std::time::Duration),
    /// 422: well-formed but invalid (names, schemas, query values).
    #[error("invalid request")]
    Invalid(Vec<ValidationIssue>),
    /// 412: a conditional case write found the case at another version.
    #[error("Case is at version {current}, not {expected}")]
    PreconditionFailed {
        /// The version the request's `If-Match` gave.
        expected: i64,
        /// The case's version.
        current: i64,
    },
    /// 503 with `Retry-After`: the database is busy; nothing was written.
    #[error("the database is busy; retry shortly")]
    Unavailable(String),
    /// 500: logged in full, answered with a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 with one issue.
    pub fn invalid(loc: Vec<LocSegment>, msg: impl Into<String>, kind: &str) -> Self {
        ApiError::Invalid(vec![ValidationIssue::new(loc, msg, kind)])
    }

    /// A 422 of the store's issues, located in a body that lists cases
    /// (`listed`) or is one case or a dataset.
    pub(crate) fn store_invalid(issues: Vec<crate::store::Issue>, listed: bool) -> Self {
        ApiError::Invalid(
            issues
                .into_iter()
                .map(|issue| issue.located(listed))
                .collect(),
        )
    }

    /// The status code this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::DatasetNotFound
            | ApiError::CaseNotFound
            | ApiError::VersionNotFound
            | ApiError::VersionNamedNotFound(_)
            | ApiError::TagNotFound
            | ApiError::ExperimentNotFound
            | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooManyFailures { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge(_) | ApiError::TooLargeToExpand(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::DatasetNotFound => ApiError::DatasetNotFound,
            StoreError::CaseNotFound => ApiError::CaseNotFound,
            StoreError::VersionNotFound => ApiError::VersionNotFound,
            StoreError::TagNotFound => ApiError::TagNotFound,
            StoreError::ExperimentNotFound => ApiError::ExperimentNotFound,
            StoreError::Conflict(msg) => ApiError::Conflict(msg),
            // A body of several cases, or of none: `["body", "cases", i, ...]`
            // where an issue names a case. One case's route says otherwise.
            StoreError::Invalid(issues) => ApiError::store_invalid(issues, true),
            StoreError::IdempotencyKeyReused => ApiError::invalid(
                vec!["header".into(), "Idempotency-Key".into()],
                "this Idempotency-Key was already used for a different request (another \
                 body or query) to this path; send a new key for a new request",
                "idempotency_key_reused",
            ),
            StoreError::VersionMismatch { expected, current } => {
                ApiError::PreconditionFailed { expected, current }
            }
            StoreError::Transient(msg) => ApiError::Unavailable(msg),
            StoreError::Backend(msg) => ApiError::Internal(msg),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::BadRequest(issues) | ApiError::Invalid(issues) => json!(issues),
            ApiError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                json!("Internal server error")
            }
            other => json!(other.to_string()),
        };
        let body = match &self {
            // The current version lets a client re-read or retry knowingly.
            ApiError::PreconditionFailed { current, .. } => {
                json!({ "detail": detail, "current_version": current })
            }
            _ => json!({ "detail": detail }),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyFailures { retry_after } = &self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let ApiError::Unavailable(msg) = &self {
            tracing::warn!(error = %msg, "database busy");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        // The rest of an unread body would be taken for the next request.
        if matches!(
            self,
            ApiError::RequestTimeout(_) | ApiError::PayloadTooLarge(_)
        ) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_store_is_a_503_with_retry_after_in_the_protocols_shape() {
        let response =
            ApiError::from(StoreError::Transient("database is locked".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
