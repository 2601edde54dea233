//! Idempotency keys: claimed by an insert at the start of the POST's
//! transaction, answered at its end. The same key arriving at two replicas
//! at once: the second insert waits on the primary key until the first
//! transaction ends, then replays its answer (or, if it rolled back, applies).

use deadpool_postgres::Transaction;
use uuid::Uuid;

use super::pg;
use super::rows::now;
use crate::store::{IDEMPOTENCY_RETENTION, Idempotency, StoreError};

/// Claims `idempotency` for this transaction: `None` when this request
/// applies it, the remembered answer when it was applied before. The same
/// key with a different request is refused.
pub(super) async fn claim(
    tx: &Transaction<'_>,
    project: Uuid,
    idempotency: &Idempotency,
) -> Result<Option<String>, StoreError> {
    let cutoff = now() - IDEMPOTENCY_RETENTION;
    let (scope, key) = (&idempotency.scope, &idempotency.key);
    // Keys past the retention are forgotten: this one always, the others
    // now and then, so that no request pays for them all.
    if fastrand::u8(..) == 0 {
        tx.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            &[&cutoff],
        )
        .await
        .map_err(pg)?;
    } else {
        tx.execute(
            "DELETE FROM idempotency_keys
             WHERE project_id = $1 AND scope = $2 AND key = $3 AND created_at < $4",
            &[&project, scope, key, &cutoff],
        )
        .await
        .map_err(pg)?;
    }
    let claimed = tx
        .execute(
            "INSERT INTO idempotency_keys (project_id, scope, key, request_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&project, scope, key, &&idempotency.request_hash[..], &now()],
        )
        .await
        .map_err(pg)?;
    if claimed == 1 {
        return Ok(None);
    }
    let row = tx
        .query_one(
            "SELECT request_hash, response FROM idempotency_keys
             WHERE project_id = $1 AND scope = $2 AND key = $3",
            &[&project, scope, key],
        )
        .await
        .map_err(pg)?;
    let hash: Vec<u8> = row.get(0);
    if hash != idempotency.request_hash {
        return Err(StoreError::IdempotencyKeyReused);
    }
    // The claiming transaction stores the answer before it commits, so a
    // committed claim always has one.
    row.get::<_, Option<String>>(1)
        .map(Some)
        .ok_or_else(|| StoreError::Transient("the same request is being applied".to_owned()))
}

/// Stores the answer of the request that claimed `idempotency`.
pub(super) async fn remember(
    tx: &Transaction<'_>,
    project: Uuid,
    idempotency: &Idempotency,
    response: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE idempotency_keys SET response = $4
         WHERE project_id = $1 AND scope = $2 AND key = $3",
        &[&project, &idempotency.scope, &idempotency.key, &response],
    )
    .await
    .map_err(pg)?;
    Ok(())
}
