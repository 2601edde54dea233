//! API keys: generation, hashing, and the extractor that authenticates a
//! request and checks its scope.
//!
//! A key is 32 random bytes, written `dsk_<64 hex digits>`. Only its SHA-256
//! is stored: keys are high-entropy, so a fast hash is enough, and lookups go
//! by hash, so how long a prefix of a guess matches never shows in timing.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// The prefix of every key this server issues.
pub const KEY_PREFIX: &str = "dsk_";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    /// `project:read_datasets`: every GET.
    pub read: bool,
    /// `project:write_datasets`: POST, PUT, PATCH, DELETE.
    pub write: bool,
}

impl Scopes {
    /// Read and write.
    pub const READ_WRITE: Scopes = Scopes {
        read: true,
        write: true,
    };
    /// Read only.
    pub const READ_ONLY: Scopes = Scopes {
        read: true,
        write: false,
    };

    /// Parses a comma-separated list of `read` and `write` (or their full
    /// names `project:read_datasets`, `project:write_datasets`).
    pub fn parse(list: &str) -> Result<Scopes, String> {
        let mut scopes = Scopes::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "read" | "project:read_datasets" => scopes.read = true,
                "write" | "project:write_datasets" => scopes.write = true,
                other => {
                    return Err(format!(
                        "unknown scope {other:?}; expected read, write or both (read,write)"
                    ));
                }
            }
        }
        if !scopes.read && !scopes.write {
            return Err("a key needs at least one scope: read, write".to_owned());
        }
        Ok(scopes)
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = [
            (self.read, "project:read_datasets"),
            (self.write, "project:write_datasets"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(","))
    }
}

/// A new random key.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let mut key = String::with_capacity(KEY_PREFIX.len() + 64);
    key.push_str(KEY_PREFIX);
    for byte in bytes {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// The stored form of a key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The part of a key that may be shown in listings: the prefix and the first
/// four random bytes, enough to recognise a key, useless to forge one.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 8).collect()
}

/// The authenticated caller of a request, with its scope checked against the
/// request's method.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    /// The key's id, recorded as `created_by`/`updated_by`.
    pub key_id: Uuid,
    /// The project the key belongs to; every query is confined to it.
    pub project_id: Uuid,
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let (scheme, token) = header.split_once(' ').ok_or(ApiError::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthorized);
        }
        let hash = hash_key(token.trim());
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
