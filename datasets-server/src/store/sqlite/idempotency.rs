//! Idempotency keys: a POST's answer stored in the transaction that
//! applies it, and replayed for a repeat.

use datasets_core::wire::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::backend;
use crate::store::{IDEMPOTENCY_RETENTION, Idempotency, StoreError};

pub(super) fn unix_now() -> i64 {
    Timestamp::now_utc().unix_timestamp()
}

/// The answer remembered for `idempotency`, if any, after forgetting keys
/// past the retention. The same key with a different request is refused.
pub(super) fn replay(
    tx: &Connection,
    project: Uuid,
    idempotency: &Idempotency,
) -> Result<Option<String>, StoreError> {
    let cutoff = unix_now() - IDEMPOTENCY_RETENTION.as_secs() as i64;
    tx.prepare_cached("DELETE FROM idempotency_keys WHERE created_at < ?1")
        .and_then(|mut stmt| stmt.execute([cutoff]))
        .map_err(backend)?;
    let found: Option<(Vec<u8>, String)> = tx
        .prepare_cached(
            "SELECT request_hash, response FROM idempotency_keys
             WHERE project_id = ?1 AND scope = ?2 AND key = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![project.to_string(), idempotency.scope, idempotency.key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
        })
        .map_err(backend)?;
    match found {
        None => Ok(None),
        Some((hash, response)) if hash == idempotency.request_hash => Ok(Some(response)),
        Some(_) => Err(StoreError::IdempotencyKeyReused),
    }
}

/// Remembers the answer to `idempotency`, in the transaction of the write.
pub(super) fn remember(
    tx: &Connection,
    project: Uuid,
    idempotency: &Idempotency,
    response: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO idempotency_keys (project_id, scope, key, request_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            project.to_string(),
            idempotency.scope,
            idempotency.key,
            &idempotency.request_hash[..],
            response,
            unix_now(),
        ])
    })
    .map_err(backend)?;
    Ok(())
}
