//! The rules of the store's writes, above any backend: how new cases are
//! checked and encoded, how an update merges into a case, how existing cases
//! are re-checked against new schemas, when a conditional write applies. A
//! store calls them inside its writing transaction and stores what they
//! decide; a second backend reuses them as they are. The case limits and
//! JSON Schema validation themselves are `datasets_core::rules`, shared
//! with the client.

pub(crate) mod cases;
pub(crate) mod merge;
pub(crate) mod recheck;

use crate::store::StoreError;

/// A conditional write (`If-Match`) applies only to the version it names.
pub(crate) fn check_version(expected: Option<i64>, current: i64) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != current => {
            Err(StoreError::VersionMismatch { expected, current })
        }
        _ => Ok(()),
    }
}

/// A value as the compact JSON text the store keeps.
pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON values always serialize")
}
