//! The extractor that authenticates a request by its API key and checks
//! the key's scope against the request's method.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::ApiError;
pub use crate::keys::{KEY_PREFIX, Scopes, display_prefix, generate_key, hash_key};
use crate::state::AppState;

/// The authenticated caller of a request, with its scope checked against the
/// request's method.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    /// The key's id, recorded as `created_by`/`updated_by`.
    pub key_id: Uuid,
    /// The project the key belongs to; every query is confined to it.
    pub project_id: Uuid,
}

/// The key a request's `Authorization` header carries, checked: `Bearer
/// <key>`, or the key alone, as Logfire's SDK sends its token to
/// `/v1/traces` and `/v1/info`.
/// A key that fails counts against the client's address; past the limit,
/// the address's keys are refused (429) without being looked up.
pub(crate) async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<crate::store::ApiKeyRecord, ApiError> {
    let address = state.throttle.address(&parts.headers, &parts.extensions);
    state.throttle.check(address)?;
    let found = check_key(&parts.headers, state).await;
    if matches!(found, Err(ApiError::Unauthorized)) {
        state.throttle.failed(address);
    }
    found
}

async fn check_key(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<crate::store::ApiKeyRecord, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(ApiError::Unauthorized)?
        .trim();
    let token = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        Some(_) => return Err(ApiError::Unauthorized),
        None if !header.is_empty() => header,
        None => return Err(ApiError::Unauthorized),
    };
    let hash = hash_key(token);
    let key = state
        .store
        .find_key(&hash)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    // The lookup matched on the hash already; compare again in constant
    // time so no store implementation can make the check timing-dependent.
    if !bool::from(key.key_hash.ct_eq(&hash)) || key.revoked {
        return Err(ApiError::Unauthorized);
    }
    Ok(key)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = authenticate(parts, state).await?;
        let needs_write = !matches!(parts.method, Method::GET | Method::HEAD);
        if needs_write && !key.scopes.write {
            return Err(ApiError::Forbidden("project:write_datasets"));
        }
        if !needs_write && !key.scopes.read {
            return Err(ApiError::Forbidden("project:read_datasets"));
        }
        Ok(Principal {
            key_id: key.id,
            project_id: key.project_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hash_stably() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + 64);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_ne!(hash_key(&a), hash_key(&b));
        assert_eq!(display_prefix(&a).len(), 12);
    }

    #[test]
    fn scopes_parse_short_and_long_names() {
        assert_eq!(Scopes::parse("read,write").unwrap(), Scopes::READ_WRITE);
        assert_eq!(
            Scopes::parse("project:read_datasets").unwrap(),
            Scopes::READ_ONLY
        );
        assert!(Scopes::parse("admin").unwrap_err().contains("\"admin\""));
        assert!(Scopes::parse("").is_err());
        assert_eq!(
            Scopes::READ_WRITE.to_string(),
            "project:read_datasets,project:write_datasets"
        );
    }
}
