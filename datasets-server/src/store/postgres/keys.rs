//! Projects and API keys.

use tokio_postgres::Row;
use uuid::Uuid;

use super::rows::{is_unique_violation, now};
use super::{PostgresStore, commit, pg};
use crate::keys::Scopes;
use crate::store::{ApiKeyRecord, NewApiKey, Project, StoreError};

const KEY_SELECT: &str = "SELECT k.id, k.project_id, p.name, k.name, k.prefix, k.key_hash, \
     k.can_read, k.can_write, k.created_at, k.revoked_at IS NOT NULL \
     FROM api_keys k JOIN projects p ON p.id = k.project_id";

/// Held while the first key is created, so that of replicas starting
/// together on an empty database one creates it.
const FIRST_KEY_LOCK: i64 = 0x6b65_7973_6669_7273;

fn key_from_row(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    let hash: Vec<u8> = row.get(5);
    Ok(ApiKeyRecord {
        id: row.get(0),
        project_id: row.get(1),
        project_name: row.get(2),
        name: row.get(3),
        prefix: row.get(4),
        key_hash: hash
            .try_into()
            .map_err(|_| StoreError::Backend("a stored key hash is not 32 bytes".to_owned()))?,
        scopes: Scopes {
            read: row.get(6),
            write: row.get(7),
        },
        created_at: row.get(8),
        revoked: row.get(9),
    })
}

pub(super) async fn ensure_project(
    store: &PostgresStore,
    name: &str,
) -> Result<Project, StoreError> {
    let conn = store.conn().await?;
    conn.execute(
        "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
        &[&Uuid::now_v7(), &name, &now()],
    )
    .await
    .map_err(pg)?;
    let row = conn
        .query_one("SELECT id FROM projects WHERE name = $1", &[&name])
        .await
        .map_err(pg)?;
    Ok(Project {
        id: row.get(0),
        name: name.to_owned(),
    })
}

/// Stores `key`; with `only_first`, only when no key exists yet (under an
/// advisory lock, so two replicas cannot both see none).
pub(super) async fn insert_key(
    store: &PostgresStore,
    key: NewApiKey,
    only_first: bool,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    if only_first {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FIRST_KEY_LOCK])
            .await
            .map_err(pg)?;
        let any: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM api_keys)", &[])
            .await
            .map_err(pg)?
            .get(0);
        if any {
            return Ok(None);
        }
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO api_keys (id, project_id, name, prefix, key_hash, can_read, can_write, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id,
            &key.project_id,
            &key.name,
            &key.prefix,
            &&key.key_hash[..],
            &key.scopes.read,
            &key.scopes.write,
            &now(),
        ],
    )
    .await
    .map_err(|err| {
        if is_unique_violation(&err) {
            StoreError::Conflict("this key is stored already".to_owned())
        } else {
            pg(err)
        }
    })?;
    let row = tx
        .query_one(&format!("{KEY_SELECT} WHERE k.id = $1"), &[&id])
        .await
        .map_err(pg)?;
    let record = key_from_row(&row)?;
    commit(tx).await?;
    Ok(Some(record))
}

pub(super) async fn find_key(
    store: &PostgresStore,
    hash: &[u8; 32],
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let conn = store.conn().await?;
    let row = conn
        .query_opt(
            &format!("{KEY_SELECT} WHERE k.key_hash = $1"),
            &[&&hash[..]],
        )
        .await
        .map_err(pg)?;
    row.as_ref().map(key_from_row).transpose()
}

pub(super) async fn list_keys(store: &PostgresStore) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let conn = store.conn().await?;
    conn.query(&format!("{KEY_SELECT} ORDER BY k.created_at, k.id"), &[])
        .await
        .map_err(pg)?
        .iter()
        .map(key_from_row)
        .collect()
}

pub(super) async fn revoke_key(store: &PostgresStore, id: Uuid) -> Result<bool, StoreError> {
    let conn = store.conn().await?;
    let exists = conn
        .query_opt("SELECT 1 FROM api_keys WHERE id = $1", &[&id])
        .await
        .map_err(pg)?
        .is_some();
    conn.execute(
        "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &now()],
    )
    .await
    .map_err(pg)?;
    Ok(exists)
}

pub(super) async fn create_session(
    store: &PostgresStore,
    session: &crate::store::NewSession,
) -> Result<(), StoreError> {
    let conn = store.conn().await?;
    conn.execute("DELETE FROM ui_sessions WHERE expires_at < now()", &[])
        .await
        .map_err(pg)?;
    conn.execute(
        "INSERT INTO ui_sessions (id_hash, key_id, csrf, created_at, expires_at)
         VALUES ($1, $2, $3, now(), $4)",
        &[
            &&session.id_hash[..],
            &session.key_id,
            &session.csrf,
            &session.expires_at,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

pub(super) async fn find_session(
    store: &PostgresStore,
    hash: &[u8; 32],
) -> Result<Option<crate::store::Session>, StoreError> {
    let conn = store.conn().await?;
    let row = conn
        .query_opt(
            "SELECT k.id, k.project_id, p.name, k.name, k.prefix, k.key_hash, \
                 k.can_read, k.can_write, k.created_at, k.revoked_at IS NOT NULL, \
                 s.csrf, s.expires_at \
             FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id \
             JOIN projects p ON p.id = k.project_id \
             WHERE s.id_hash = $1 AND s.expires_at > now()",
            &[&&hash[..]],
        )
        .await
        .map_err(pg)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let key = key_from_row(&row)?;
    if key.revoked {
        return Ok(None);
    }
    Ok(Some(crate::store::Session {
        key,
        csrf: row
            .try_get(10)
            .map_err(|err| StoreError::Backend(format!("session csrf: {err}")))?,
        expires_at: row
            .try_get(11)
            .map_err(|err| StoreError::Backend(format!("session expiry: {err}")))?,
    }))
}

pub(super) async fn delete_session(
    store: &PostgresStore,
    hash: &[u8; 32],
) -> Result<(), StoreError> {
    let conn = store.conn().await?;
    conn.execute("DELETE FROM ui_sessions WHERE id_hash = $1", &[&&hash[..]])
        .await
        .map_err(pg)?;
    Ok(())
}
