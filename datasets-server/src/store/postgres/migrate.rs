//! Versioned migrations, applied at start under an advisory lock: of
//! replicas starting together, one migrates while the others wait, then
//! find nothing left to do.

use super::{error_text, pg};
use crate::store::StoreError;

/// Versioned migrations, applied in order, each in its own transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_versions.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_experiments.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_ui_sessions.sql"),
    ),
];

/// The advisory lock the migrating replica holds (any fixed number, the
/// same in every replica: "datasets" in ASCII).
const MIGRATION_LOCK: i64 = 0x6461_7461_7365_7473;

pub(super) async fn migrate(conn: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    let result = apply(conn).await;
    // Released even after a failure; a lost connection releases it too.
    let _ = conn
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result
}

async fn apply(conn: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    bigint PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg)?;
    let applied: i64 = conn
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    crate::store::check_migration_level(applied, latest)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        let tx = conn.transaction().await.map_err(pg)?;
        tx.batch_execute(sql).await.map_err(|err| {
            StoreError::Backend(format!("migration {version} failed: {}", error_text(&err)))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
    }
    Ok(())
}
