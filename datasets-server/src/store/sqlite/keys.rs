//! Projects and API keys.

use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use super::rows::{conversion_error, format_ts, now, parse_ts, parse_uuid};
use super::{SqliteStore, backend};
use crate::keys::Scopes;
use crate::store::{ApiKeyRecord, NewApiKey, Project, StoreError};

pub(super) fn key_from_row(row: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    let hash: Vec<u8> = row.get(5)?;
    Ok(ApiKeyRecord {
        id: parse_uuid(&row.get::<_, String>(0)?)?,
        project_id: parse_uuid(&row.get::<_, String>(1)?)?,
        project_name: row.get(2)?,
        name: row.get(3)?,
        prefix: row.get(4)?,
        key_hash: hash
            .try_into()
            .map_err(|_| conversion_error("key hash is not 32 bytes".to_owned()))?,
        scopes: Scopes {
            read: row.get(6)?,
            write: row.get(7)?,
        },
        created_at: parse_ts(&row.get::<_, String>(8)?)?,
        revoked: row.get::<_, Option<String>>(9)?.is_some(),
    })
}

pub(super) const KEY_SELECT: &str = "SELECT k.id, k.project_id, p.name, k.name, k.prefix, k.key_hash, \
     k.can_read, k.can_write, k.created_at, k.revoked_at \
     FROM api_keys k JOIN projects p ON p.id = k.project_id";

pub(super) async fn ensure_project(store: &SqliteStore, name: &str) -> Result<Project, StoreError> {
    let name = name.to_owned();
    store
        .write(move |tx, _| {
            tx.execute(
                "INSERT OR IGNORE INTO projects (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![Uuid::now_v7().to_string(), name, format_ts(now())],
            )
            .map_err(backend)?;
            let id: String = tx
                .query_row("SELECT id FROM projects WHERE name = ?1", [&name], |row| {
                    row.get(0)
                })
                .map_err(backend)?;
            Ok(Project {
                id: parse_uuid(&id).map_err(backend)?,
                name,
            })
        })
        .await
}

pub(super) async fn insert_key(
    store: &SqliteStore,
    key: NewApiKey,
) -> Result<ApiKeyRecord, StoreError> {
    store.write(move |tx, _| write_key(tx, key)).await
}

pub(super) async fn insert_first_key(
    store: &SqliteStore,
    key: NewApiKey,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    // The write transaction is exclusive: no other writer can add a key
    // between the check and the insert.
    store
        .write(move |tx, _| {
            let any: bool = tx
                .query_row("SELECT EXISTS (SELECT 1 FROM api_keys)", [], |row| {
                    row.get(0)
                })
                .map_err(backend)?;
            if any {
                return Ok(None);
            }
            write_key(tx, key).map(Some)
        })
        .await
}

fn write_key(tx: &rusqlite::Connection, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
    {
        let id = Uuid::now_v7();
        tx.execute(
            "INSERT INTO api_keys (id, project_id, name, prefix, key_hash, can_read, can_write, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id.to_string(),
                key.project_id.to_string(),
                key.name,
                key.prefix,
                &key.key_hash[..],
                key.scopes.read,
                key.scopes.write,
                format_ts(now()),
            ],
        )
        .map_err(|err| match err {
            rusqlite::Error::SqliteFailure(e, _)
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict("this key is stored already".to_owned())
            }
            other => backend(other),
        })?;
        tx.query_row(
            &format!("{KEY_SELECT} WHERE k.id = ?1"),
            [id.to_string()],
            key_from_row,
        )
        .map_err(backend)
    }
}

pub(super) async fn find_key(
    store: &SqliteStore,
    hash: &[u8; 32],
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let hash = *hash;
    store
        .read(move |conn| {
            conn.prepare_cached(&format!("{KEY_SELECT} WHERE k.key_hash = ?1"))
                .and_then(|mut stmt| stmt.query_row([&hash[..]], key_from_row).optional())
                .map_err(backend)
        })
        .await
}

pub(super) async fn list_keys(store: &SqliteStore) -> Result<Vec<ApiKeyRecord>, StoreError> {
    store
        .read(|conn| {
            let mut stmt = conn
                .prepare(&format!("{KEY_SELECT} ORDER BY k.created_at, k.id"))
                .map_err(backend)?;
            stmt.query_map([], key_from_row)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend)
        })
        .await
}

pub(super) async fn revoke_key(store: &SqliteStore, id: Uuid) -> Result<bool, StoreError> {
    store
        .write(move |tx, _| {
            let exists = tx
                .query_row(
                    "SELECT 1 FROM api_keys WHERE id = ?1",
                    [id.to_string()],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?
                .is_some();
            tx.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.to_string(), format_ts(now())],
            )
            .map_err(backend)?;
            Ok(exists)
        })
        .await
}

/// Unix microseconds of `at`.
fn micros(at: datasets_core::wire::Timestamp) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(super) async fn create_session(
    store: &SqliteStore,
    session: crate::store::NewSession,
) -> Result<(), StoreError> {
    store
        .write(move |tx, _| {
            tx.execute(
                "DELETE FROM ui_sessions WHERE expires_us < ?1",
                [micros(now())],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO ui_sessions (id_hash, key_id, csrf, created_at, expires_us)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &session.id_hash[..],
                    session.key_id.to_string(),
                    session.csrf,
                    format_ts(now()),
                    micros(session.expires_at),
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
}

pub(super) async fn find_session(
    store: &SqliteStore,
    hash: &[u8; 32],
) -> Result<Option<crate::store::Session>, StoreError> {
    let hash = hash.to_vec();
    store
        .read(move |conn| {
            let sql = "SELECT k.id, k.project_id, p.name, k.name, k.prefix, k.key_hash, \
                 k.can_read, k.can_write, k.created_at, k.revoked_at, s.csrf, s.expires_us \
                 FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id \
                 JOIN projects p ON p.id = k.project_id \
                 WHERE s.id_hash = ?1 AND s.expires_us > ?2";
            let found = conn
                .prepare_cached(sql)
                .and_then(|mut stmt| {
                    stmt.query_row(params![hash, micros(now())], |row| {
                        Ok((
                            key_from_row(row)?,
                            row.get::<_, String>(10)?,
                            row.get::<_, i64>(11)?,
                        ))
                    })
                    .optional()
                })
                .map_err(backend)?;
            Ok(found
                .filter(|(key, _, _)| !key.revoked)
                .map(|(key, csrf, expires)| crate::store::Session {
                    key,
                    csrf,
                    expires_at: datasets_core::wire::Timestamp::from_unix_timestamp_nanos(
                        i128::from(expires) * 1_000,
                    )
                    .unwrap_or(datasets_core::wire::Timestamp::UNIX_EPOCH),
                }))
        })
        .await
}

pub(super) async fn delete_session(store: &SqliteStore, hash: &[u8; 32]) -> Result<(), StoreError> {
    let hash = hash.to_vec();
    store
        .write(move |tx, _| {
            tx.execute("DELETE FROM ui_sessions WHERE id_hash = ?1", [hash])
                .map_err(backend)?;
            Ok(())
        })
        .await
}
