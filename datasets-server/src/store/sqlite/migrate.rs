//! Versioned migrations, applied at start, each in its own transaction.

use rusqlite::{Connection, TransactionBehavior, params};

use super::backend;
use super::rows::{format_ts, now};
use crate::store::StoreError;

/// Versioned migrations, applied in order, each in its own transaction.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_idempotency.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_versions.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_experiments.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_ui_sessions.sql"),
    ),
];

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL
         )",
    )
    .map_err(backend)?;
    let applied: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(backend)?;
    let latest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    crate::store::check_migration_level(applied, latest)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        // Another server starting beside this one may have applied it while
        // this one waited for the write lock: read again under the lock.
        let done: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [version],
                |row| row.get(0),
            )
            .map_err(backend)?;
        if done {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|err| StoreError::Backend(format!("migration {version} failed: {err}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, format_ts(now())],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}
