//! Versions on PostgreSQL: the hooks every write calls (the next version,
//! the rows it replaces kept as revisions, its record, pruning), reads at a
//! version, the version list, tags and diffs.
//!
//! A write takes its version with `UPDATE datasets SET version = version +
//! 1 ... RETURNING version` before it writes anything: the row lock that
//! takes is held to the commit, so the writes of one dataset, on any
//! replica, take their versions one after another and a rolled-back write
//! gives its number back. Versions have no gaps.

use datasets_core::wire::{DatasetDetail, DatasetVersion, Timestamp};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::rows::*;
use super::{PostgresStore, commit, pg, snapshot};
use crate::store::{
    CasePosition, CaseRecord, Definition, DiffPage, REVISION_COLUMNS, StoreError, VersionPage,
    VersionRef, position_diff,
};

/// The version a write makes, and what it did.
pub(super) struct NewVersion {
    pub(super) number: i64,
    dataset_pk: i64,
    pub(super) added: i64,
    pub(super) changed: i64,
    pub(super) removed: i64,
    definition: Option<String>,
}

impl NewVersion {
    /// Starts the next version of a dataset, in its write transaction,
    /// locking the dataset's row to the commit.
    pub(super) async fn start(
        tx: &impl GenericClient,
        dataset_pk: i64,
    ) -> Result<Self, StoreError> {
        let statement = tx
            .prepare_cached(
                "UPDATE datasets SET version = version + 1 WHERE pk = $1 RETURNING version",
            )
            .await
            .map_err(pg)?;
        let row = tx.query_one(&statement, &[&dataset_pk]).await.map_err(pg)?;
        let number: i64 = get(&row, 0)?;
        Ok(Self::numbered(dataset_pk, number))
    }

    /// Version `number`, already set on the dataset row.
    pub(super) fn numbered(dataset_pk: i64, number: i64) -> Self {
        Self {
            number,
            dataset_pk,
            added: 0,
            changed: 0,
            removed: 0,
            definition: None,
        }
    }

    /// Whether the write changed nothing: no case added, changed or
    /// removed, and no new definition.
    fn is_empty(&self) -> bool {
        self.added == 0 && self.changed == 0 && self.removed == 0 && self.definition.is_none()
    }

    /// This version sets the schemas and evaluators `detail` holds.
    pub(super) fn with_definition(mut self, detail: &DatasetDetail) -> Self {
        self.definition = Some(Definition::of(detail).to_text());
        self
    }

    /// Copies the head rows that `condition` picks (its values bound from
    /// `$3`) and that an earlier version made to the revisions, as live
    /// until this version: before they are replaced or deleted. Answers
    /// how many.
    pub(super) async fn archive(
        &self,
        tx: &impl GenericClient,
        condition: &str,
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "INSERT INTO case_revisions (dataset_pk, case_pk, from_version, to_version, id, name,
                 inputs, expected_output, metadata, evaluators, source_trace_id, source_span_id,
                 tags, version, created_at, updated_at, created_by, updated_by)
             SELECT c.dataset_pk, c.pk, c.from_version, $2, c.id, c.name, c.inputs,
                 c.expected_output, c.metadata, c.evaluators, c.source_trace_id,
                 c.source_span_id, c.tags, c.version, c.created_at, c.updated_at, c.created_by,
                 c.updated_by
             FROM cases c WHERE c.dataset_pk = $1 AND c.from_version < $2 AND {condition}"
        );
        let mut bound: Vec<&(dyn ToSql + Sync)> = vec![&self.dataset_pk, &self.number];
        bound.extend_from_slice(values);
        let statement = tx.prepare_cached(&sql).await.map_err(pg)?;
        let copied = tx.execute(&statement, &bound).await.map_err(pg)?;
        Ok(copied as i64)
    }

    /// Records the version (after the write's case count is set), then
    /// prunes what the retention no longer keeps.
    pub(super) async fn finish(
        self,
        tx: &impl GenericClient,
        store: &PostgresStore,
        at: Timestamp,
        actor: Uuid,
    ) -> Result<(), StoreError> {
        if self.is_empty() {
            // Nothing changed: the number taken by `start` is given back
            // (the dataset's row is locked to the commit), so versions stay
            // gapless and each one records a change.
            let statement = tx
                .prepare_cached("UPDATE datasets SET version = version - 1 WHERE pk = $1")
                .await
                .map_err(pg)?;
            tx.execute(&statement, &[&self.dataset_pk])
                .await
                .map_err(pg)?;
            return Ok(());
        }
        let statement = tx
            .prepare_cached("UPDATE datasets SET updated_at = $2, updated_by = $3 WHERE pk = $1")
            .await
            .map_err(pg)?;
        tx.execute(&statement, &[&self.dataset_pk, &at, &actor])
            .await
            .map_err(pg)?;
        let statement = tx
            .prepare_cached(
                "INSERT INTO dataset_versions (dataset_pk, version, created_at, created_by, added,
                     changed, removed, case_count, definition)
                 SELECT $1, $2, $3, $4, $5, $6, $7, case_count, $8 FROM datasets WHERE pk = $1",
            )
            .await
            .map_err(pg)?;
        tx.execute(
            &statement,
            &[
                &self.dataset_pk,
                &self.number,
                &at,
                &actor,
                &self.added,
                &self.changed,
                &self.removed,
                &self.definition,
            ],
        )
        .await
        .map_err(pg)?;
        if let Some(through) = store.inner.retention.prune_through(self.number) {
            prune(tx, self.dataset_pk, through).await?;
        }
        Ok(())
    }
}

/// Prunes the untagged versions up to `through`, and the revisions that no
/// version still kept was live in.
pub(super) async fn prune(
    tx: &impl GenericClient,
    dataset_pk: i64,
    through: i64,
) -> Result<(), StoreError> {
    let pruned = tx
        .execute(
            "UPDATE dataset_versions SET pruned = true
             WHERE dataset_pk = $1 AND version <= $2 AND NOT pruned
               AND version NOT IN (SELECT version FROM version_tags WHERE dataset_pk = $1)",
            &[&dataset_pk, &through],
        )
        .await
        .map_err(pg)?;
    if pruned == 0 {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM case_revisions r
         WHERE r.dataset_pk = $1 AND r.to_version <= $2::bigint + 1
           AND NOT EXISTS (SELECT 1 FROM dataset_versions v
               WHERE v.dataset_pk = $1 AND NOT v.pruned
                 AND v.version >= r.from_version AND v.version < r.to_version)",
        &[&dataset_pk, &through],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Resolves a version of `dataset` to its number: a kept version, or
/// [`StoreError::VersionNotFound`].
pub(super) async fn resolve(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    at: &VersionRef,
) -> Result<i64, StoreError> {
    let row = match at {
        VersionRef::Number(n) => {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            let statement = conn
                .prepare_cached(
                    "SELECT version, pruned FROM dataset_versions WHERE dataset_pk = $1 AND version = $2",
                )
                .await
                .map_err(pg)?;
            conn.query_opt(&statement, &[&dataset.pk, &n]).await
        }
        VersionRef::Tag(tag) => {
            if tag.contains('\0') {
                return Err(StoreError::VersionNotFound);
            }
            let statement = conn
                .prepare_cached(
                    "SELECT v.version, v.pruned FROM version_tags t
                     JOIN dataset_versions v ON v.dataset_pk = t.dataset_pk AND v.version = t.version
                     WHERE t.dataset_pk = $1 AND t.tag = $2",
                )
                .await
                .map_err(pg)?;
            conn.query_opt(&statement, &[&dataset.pk, tag]).await
        }
        VersionRef::AsOf(at) => {
            let statement = conn
                .prepare_cached(
                    "SELECT version, pruned FROM dataset_versions
                     WHERE dataset_pk = $1 AND created_at <= $2 ORDER BY version DESC LIMIT 1",
                )
                .await
                .map_err(pg)?;
            conn.query_opt(&statement, &[&dataset.pk, at]).await
        }
    }
    .map_err(pg)?;
    match row {
        Some(row) if !get::<bool>(&row, 1)? => get(&row, 0),
        _ => Err(StoreError::VersionNotFound),
    }
}

/// The dataset as it was at version `n`.
pub(super) async fn detail_at(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    n: i64,
) -> Result<DatasetDetail, StoreError> {
    let mut detail = dataset.detail.clone();
    if n == dataset.version {
        return Ok(detail);
    }
    let statement = conn
        .prepare_cached(
            "SELECT v.case_count, (SELECT d.definition FROM dataset_versions d
                 WHERE d.dataset_pk = $1 AND d.version <= $2 AND d.definition IS NOT NULL
                 ORDER BY d.version DESC LIMIT 1)
             FROM dataset_versions v WHERE v.dataset_pk = $1 AND v.version = $2",
        )
        .await
        .map_err(pg)?;
    let row = conn
        .query_one(&statement, &[&dataset.pk, &n])
        .await
        .map_err(pg)?;
    let definition: Option<String> = get(&row, 1)?;
    Definition::apply(
        definition.as_deref(),
        &mut detail,
        n as u64,
        get::<i64>(&row, 0)?.max(0) as u64,
    )?;
    Ok(detail)
}

/// The cases of dataset `$1` live at version `$2`, after position `$3`, at
/// most `$4` (`NULL`: all), in case order; with a tag filter bound at `$5`.
pub(super) fn cases_at_query(tags: bool) -> String {
    let tags = if tags {
        " AND c.tags && $5::text[]"
    } else {
        ""
    };
    format!(
        "(SELECT {CASE_COLUMNS} FROM cases c
          WHERE c.dataset_pk = $1 AND c.pk > $3 AND c.from_version <= $2{tags} ORDER BY c.pk)
         UNION ALL
         (SELECT {REVISION_COLUMNS} FROM case_revisions c
          WHERE c.dataset_pk = $1 AND c.case_pk > $3 AND c.from_version <= $2
            AND c.to_version > $2{tags} ORDER BY c.case_pk)
         ORDER BY 1 LIMIT $4"
    )
}

/// The cases at `positions` as they were at version `n`, by position
/// (positions with no case then are absent): one statement for a round.
async fn cases_at(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    n: i64,
    positions: &[i64],
) -> Result<std::collections::HashMap<i64, CaseRecord>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases c
         WHERE c.dataset_pk = $1 AND c.pk = ANY($3) AND c.from_version <= $2
         UNION ALL
         SELECT {REVISION_COLUMNS} FROM case_revisions c
         WHERE c.dataset_pk = $1 AND c.case_pk = ANY($3) AND c.from_version <= $2
           AND c.to_version > $2"
    );
    let statement = conn.prepare_cached(&sql).await.map_err(pg)?;
    conn.query(&statement, &[&dataset.pk, &n, &positions])
        .await
        .map_err(pg)?
        .iter()
        .map(|row| case_from_row(row, dataset.detail.id))
        .collect()
}

/// One case as it was at version `n`, by id.
async fn case_at(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    n: i64,
    id: Uuid,
) -> Result<Option<CaseRecord>, StoreError> {
    let (head, revision) = ("c.id = $3", "c.id = $3");
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases c
         WHERE c.dataset_pk = $1 AND {head} AND c.from_version <= $2
         UNION ALL
         SELECT {REVISION_COLUMNS} FROM case_revisions c
         WHERE c.dataset_pk = $1 AND {revision} AND c.from_version <= $2 AND c.to_version > $2"
    );
    let statement = conn.prepare_cached(&sql).await.map_err(pg)?;
    conn.query_opt(&statement, &[&dataset.pk, &n, &id])
        .await
        .map_err(pg)?
        .map(|row| case_from_row(&row, dataset.detail.id).map(|(_, case)| case))
        .transpose()
}

/// A case at a version, for `GET .../cases/{id}/?version=`.
pub(super) async fn load_case_at(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    case: Uuid,
    at: &VersionRef,
) -> Result<CaseRecord, StoreError> {
    let n = resolve(conn, dataset, at).await?;
    case_at(conn, dataset, n, case)
        .await?
        .ok_or(StoreError::CaseNotFound)
}

const VERSION_COLUMNS: &str = "v.version, v.created_at, v.created_by, k.name, v.added, \
     v.changed, v.removed, v.case_count, v.definition IS NOT NULL, \
     ARRAY(SELECT t.tag FROM version_tags t WHERE t.dataset_pk = v.dataset_pk \
           AND t.version = v.version ORDER BY t.tag)";

fn version_from_row(row: &tokio_postgres::Row) -> Result<DatasetVersion, StoreError> {
    let count = |index: usize| Ok::<_, StoreError>(get::<i64>(row, index)?.max(0) as u64);
    Ok(DatasetVersion {
        version: count(0)?,
        created_at: get(row, 1)?,
        created_by: get(row, 2)?,
        created_by_name: get(row, 3)?,
        added: count(4)?,
        changed: count(5)?,
        removed: count(6)?,
        case_count: count(7)?,
        definition_changed: get(row, 8)?,
        tags: get(row, 9)?,
    })
}

async fn load_version(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    n: i64,
) -> Result<DatasetVersion, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM dataset_versions v
         LEFT JOIN api_keys k ON k.id = v.created_by
         WHERE v.dataset_pk = $1 AND v.version = $2"
    );
    let row = conn
        .query_one(sql.as_str(), &[&dataset.pk, &n])
        .await
        .map_err(pg)?;
    version_from_row(&row)
}

pub(super) async fn list_versions(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    before: Option<u64>,
    limit: usize,
) -> Result<VersionPage, StoreError> {
    let conn = store.conn().await?;
    let dataset = load_dataset(&conn, project, dataset, Lock::None).await?;
    let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM dataset_versions v
         LEFT JOIN api_keys k ON k.id = v.created_by
         WHERE v.dataset_pk = $1 AND v.version < $2 AND NOT v.pruned
         ORDER BY v.version DESC LIMIT $3"
    );
    let mut versions: Vec<DatasetVersion> = conn
        .query(sql.as_str(), &[&dataset.pk, &before, &fetch])
        .await
        .map_err(pg)?
        .iter()
        .map(version_from_row)
        .collect::<Result<_, _>>()?;
    let more = versions.len() > limit;
    versions.truncate(limit);
    let next = more.then(|| versions.last().map(|v| v.version)).flatten();
    Ok(VersionPage {
        dataset_id: dataset.detail.id,
        versions,
        next,
    })
}

pub(super) async fn get_version(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    at: &VersionRef,
) -> Result<DatasetVersion, StoreError> {
    let conn = store.conn().await?;
    let dataset = load_dataset(&conn, project, dataset, Lock::None).await?;
    let n = resolve(&conn, &dataset, at).await?;
    load_version(&conn, &dataset, n).await
}

pub(super) async fn get_dataset_at(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    at: &VersionRef,
) -> Result<DatasetDetail, StoreError> {
    let mut conn = store.conn().await?;
    let tx = snapshot(&mut conn).await?;
    let dataset = load_dataset(&tx, project, dataset, Lock::None).await?;
    let n = resolve(&tx, &dataset, at).await?;
    detail_at(&tx, &dataset, n).await
}

/// Puts `tag` on a version, or takes `untag` off it.
pub(super) async fn tag_version(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    at: &VersionRef,
    tag: Option<&str>,
    untag: Option<&str>,
) -> Result<Option<DatasetVersion>, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    // Tags of a dataset change one request at a time.
    let dataset = load_dataset(&tx, project, dataset, Lock::NoKeyUpdate).await?;
    let n = resolve(&tx, &dataset, at).await?;
    if let Some(tag) = tag {
        tx.execute(
            "INSERT INTO version_tags (dataset_pk, tag, version) VALUES ($1, $2, $3)
             ON CONFLICT (dataset_pk, tag) DO UPDATE SET version = EXCLUDED.version",
            &[&dataset.pk, &tag, &n],
        )
        .await
        .map_err(pg)?;
    }
    if let Some(tag) = untag {
        let removed = tx
            .execute(
                "DELETE FROM version_tags WHERE dataset_pk = $1 AND tag = $2 AND version = $3",
                &[&dataset.pk, &tag, &n],
            )
            .await
            .map_err(pg)?;
        if removed == 0 {
            return Err(StoreError::TagNotFound);
        }
    }
    // A tag moved or taken off may leave an old version to prune.
    if let Some(through) = store.inner.retention.prune_through(dataset.version) {
        prune(&tx, dataset.pk, through).await?;
    }
    let version = match tag {
        Some(_) => Some(load_version(&tx, &dataset, n).await?),
        None => None,
    };
    commit(tx).await?;
    Ok(version)
}

/// Case positions looked at per round of a diff.
const DIFF_ROUND: i64 = 512;
/// Head rows a version range may have made for a diff to find them by the
/// version index and sort them; beyond, it walks the cases in order.
const SPARSE_DIFF: i64 = 50_000;

pub(super) async fn diff_versions(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    (from, to): (&VersionRef, &VersionRef),
    after: Option<CasePosition>,
    limit: usize,
) -> Result<DiffPage, StoreError> {
    let mut conn = store.conn().await?;
    let tx = snapshot(&mut conn).await?;
    let dataset = load_dataset(&tx, project, dataset, Lock::None).await?;
    let a = resolve(&tx, &dataset, from).await?;
    let b = resolve(&tx, &dataset, to).await?;
    let (lo, hi) = (a.min(b), a.max(b));
    let mut page = DiffPage {
        dataset_id: dataset.detail.id,
        from: a as u64,
        to: b as u64,
        items: Vec::new(),
        next: None,
    };
    let mut position = after.map_or(0, |p| p.0);
    // The cases that changed in (lo, hi]: head rows made then, and
    // revisions begun or ended then; each branch stops after a round, so
    // paging through a diff reads each position once.
    // The planner cannot be trusted to choose (its statistics may predate
    // a large import): the versions' own counts decide. Many rows made in
    // the range: walk the cases in order (`from_version + 0` keeps the
    // version index out); few: find them by the version index and sort.
    let made: i64 = get(
        &tx.query_one(
            "SELECT COALESCE(SUM(added + changed), 0)::bigint FROM dataset_versions
             WHERE dataset_pk = $1 AND version > $2 AND version <= $3",
            &[&dataset.pk, &lo, &hi],
        )
        .await
        .map_err(pg)?,
        0,
    )?;
    let version = if made <= SPARSE_DIFF {
        "from_version"
    } else {
        "(from_version + 0)"
    };
    let candidates = tx
        .prepare_cached(&format!(
            "(SELECT pk FROM cases
              WHERE dataset_pk = $1 AND {version} > $2 AND {version} <= $3 AND pk > $4
              ORDER BY pk LIMIT $5)
             UNION
             (SELECT case_pk FROM case_revisions
              WHERE dataset_pk = $1 AND case_pk > $4
                AND ((from_version > $2 AND from_version <= $3)
                  OR (to_version > $2 AND to_version <= $3))
              ORDER BY case_pk LIMIT $5)
             ORDER BY 1 LIMIT $5"
        ))
        .await
        .map_err(pg)?;
    loop {
        let pks: Vec<i64> = tx
            .query(
                &candidates,
                &[&dataset.pk, &lo, &hi, &position, &DIFF_ROUND],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|row| get(row, 0))
            .collect::<Result<_, _>>()?;
        let mut before = cases_at(&tx, &dataset, a, &pks).await?;
        let mut after = cases_at(&tx, &dataset, b, &pks).await?;
        for pk in &pks {
            position = *pk;
            let (before, after) = (before.remove(pk), after.remove(pk));
            page.items
                .extend(position_diff(before.as_ref(), after.as_ref()));
            if page.items.len() >= limit {
                page.next = Some(CasePosition(position));
                return Ok(page);
            }
        }
        if (pks.len() as i64) < DIFF_ROUND {
            return Ok(page);
        }
    }
}
