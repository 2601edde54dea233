//! Versions on SQLite: the hooks every write calls (the next version, the
//! rows it replaces kept as revisions, its record, pruning), reads at a
//! version, the version list, tags and diffs.

use datasets_core::wire::{DatasetDetail, DatasetVersion, Timestamp};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use uuid::Uuid;

use super::rows::*;
use super::{Inner, SqliteStore, backend};
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
    /// Starts the next version of a dataset, in its write transaction.
    pub(super) fn start(tx: &Connection, dataset_pk: i64) -> Result<Self, StoreError> {
        let number = tx
            .prepare_cached(
                "UPDATE datasets SET version = version + 1 WHERE pk = ?1 RETURNING version",
            )
            .and_then(|mut stmt| stmt.query_row([dataset_pk], |row| row.get(0)))
            .map_err(backend)?;
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
    /// `?3`) and that an earlier version made to the revisions, as live
    /// until this version: before they are replaced or deleted. Answers
    /// how many.
    pub(super) fn archive(
        &self,
        tx: &Connection,
        condition: &str,
        values: &[&dyn ToSql],
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "INSERT INTO case_revisions (dataset_pk, case_pk, from_version, to_version, id, name,
                 inputs, expected_output, metadata, evaluators, source_trace_id, source_span_id,
                 tags, version, created_at, updated_at, created_by, updated_by)
             SELECT c.dataset_pk, c.pk, c.from_version, ?2, c.id, c.name, c.inputs,
                 c.expected_output, c.metadata, c.evaluators, c.source_trace_id,
                 c.source_span_id, c.tags, c.version, c.created_at, c.updated_at, c.created_by,
                 c.updated_by
             FROM cases c WHERE c.dataset_pk = ?1 AND c.from_version < ?2 AND {condition}"
        );
        let mut bound: Vec<&dyn ToSql> = vec![&self.dataset_pk, &self.number];
        bound.extend_from_slice(values);
        let copied = tx
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.execute(bound.as_slice()))
            .map_err(backend)?;
        Ok(copied as i64)
    }

    /// Records the version (after the write's case count is set), then
    /// prunes what the retention no longer keeps.
    pub(super) fn finish(
        self,
        tx: &Connection,
        inner: &Inner,
        at: Timestamp,
        actor: Uuid,
    ) -> Result<(), StoreError> {
        if self.is_empty() {
            // Nothing changed: the number taken by `start` is given back,
            // so versions stay gapless and each one records a change.
            tx.prepare_cached("UPDATE datasets SET version = version - 1 WHERE pk = ?1")
                .and_then(|mut stmt| stmt.execute([self.dataset_pk]))
                .map_err(backend)?;
            return Ok(());
        }
        tx.prepare_cached("UPDATE datasets SET updated_at = ?2, updated_by = ?3 WHERE pk = ?1")
            .and_then(|mut stmt| {
                stmt.execute(params![self.dataset_pk, format_ts(at), actor.to_string()])
            })
            .map_err(backend)?;
        tx.prepare_cached(
            "INSERT INTO dataset_versions (dataset_pk, version, created_us, created_at,
                 created_by, added, changed, removed, case_count, definition)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, case_count, ?9 FROM datasets WHERE pk = ?1",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                self.dataset_pk,
                self.number,
                micros(at),
                format_ts(at),
                actor.to_string(),
                self.added,
                self.changed,
                self.removed,
                self.definition,
            ])
        })
        .map_err(backend)?;
        if let Some(through) = inner.retention.prune_through(self.number) {
            prune(tx, self.dataset_pk, through)?;
        }
        Ok(())
    }
}

fn micros(at: Timestamp) -> i64 {
    (at.unix_timestamp_nanos() / 1_000) as i64
}

/// Prunes the untagged versions up to `through`, and the revisions that no
/// version still kept was live in.
pub(super) fn prune(tx: &Connection, dataset_pk: i64, through: i64) -> Result<(), StoreError> {
    let pruned = tx
        .prepare_cached(
            "UPDATE dataset_versions SET pruned = 1
             WHERE dataset_pk = ?1 AND version <= ?2 AND pruned = 0
               AND version NOT IN (SELECT version FROM version_tags WHERE dataset_pk = ?1)",
        )
        .and_then(|mut stmt| stmt.execute(params![dataset_pk, through]))
        .map_err(backend)?;
    if pruned == 0 {
        return Ok(());
    }
    tx.prepare_cached(
        "DELETE FROM case_revisions
         WHERE dataset_pk = ?1 AND to_version <= ?2 + 1
           AND NOT EXISTS (SELECT 1 FROM dataset_versions v
               WHERE v.dataset_pk = ?1 AND v.pruned = 0
                 AND v.version >= case_revisions.from_version
                 AND v.version < case_revisions.to_version)",
    )
    .and_then(|mut stmt| stmt.execute(params![dataset_pk, through]))
    .map_err(backend)?;
    Ok(())
}

/// Resolves a version of `dataset` to its number: a kept version, or
/// [`StoreError::VersionNotFound`].
pub(super) fn resolve(
    conn: &Connection,
    dataset: &DatasetRow,
    at: &VersionRef,
) -> Result<i64, StoreError> {
    let found: Option<(i64, bool)> = match at {
        VersionRef::Number(n) => {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            conn.prepare_cached(
                "SELECT version, pruned FROM dataset_versions WHERE dataset_pk = ?1 AND version = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![dataset.pk, n], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
        }
        VersionRef::Tag(tag) => conn
            .prepare_cached(
                "SELECT v.version, v.pruned FROM version_tags t
                 JOIN dataset_versions v ON v.dataset_pk = t.dataset_pk AND v.version = t.version
                 WHERE t.dataset_pk = ?1 AND t.tag = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![dataset.pk, tag], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
            }),
        VersionRef::AsOf(at) => conn
            .prepare_cached(
                "SELECT version, pruned FROM dataset_versions
                 WHERE dataset_pk = ?1 AND created_us <= ?2 ORDER BY version DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![dataset.pk, micros(*at)], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
            }),
    }
    .map_err(backend)?;
    match found {
        Some((version, false)) => Ok(version),
        _ => Err(StoreError::VersionNotFound),
    }
}

/// The dataset as it was at version `n`.
pub(super) fn detail_at(
    conn: &Connection,
    dataset: &DatasetRow,
    n: i64,
) -> Result<DatasetDetail, StoreError> {
    let mut detail = dataset.detail.clone();
    if n == dataset.version {
        return Ok(detail);
    }
    let (case_count, definition): (i64, Option<String>) = conn
        .prepare_cached(
            "SELECT v.case_count, (SELECT d.definition FROM dataset_versions d
                 WHERE d.dataset_pk = ?1 AND d.version <= ?2 AND d.definition IS NOT NULL
                 ORDER BY d.version DESC LIMIT 1)
             FROM dataset_versions v WHERE v.dataset_pk = ?1 AND v.version = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![dataset.pk, n], |row| Ok((row.get(0)?, row.get(1)?)))
        })
        .map_err(backend)?;
    Definition::apply(
        definition.as_deref(),
        &mut detail,
        n as u64,
        case_count.max(0) as u64,
    )?;
    Ok(detail)
}

/// The cases of dataset `?1` live at version `?2`, after position `?3`,
/// at most `?4` (`-1`: all), in case order; with `tags` tags bound from `?5`.
pub(super) fn cases_at_query(tags: usize) -> String {
    let (head_tags, revision_tags) = if tags == 0 {
        (String::new(), String::new())
    } else {
        let marks: Vec<String> = (0..tags).map(|i| format!("?{}", i + 5)).collect();
        let marks = marks.join(", ");
        (
            format!(
                " AND EXISTS (SELECT 1 FROM case_tags t WHERE t.case_pk = c.pk \
                 AND t.dataset_pk = ?1 AND t.tag IN ({marks}))"
            ),
            format!(" AND EXISTS (SELECT 1 FROM json_each(c.tags) j WHERE j.value IN ({marks}))"),
        )
    };
    format!(
        "SELECT {CASE_COLUMNS} FROM cases c INDEXED BY cases_by_dataset
         WHERE c.dataset_pk = ?1 AND c.pk > ?3 AND c.from_version <= ?2{head_tags}
         UNION ALL
         SELECT {REVISION_COLUMNS} FROM case_revisions c
         WHERE c.dataset_pk = ?1 AND c.case_pk > ?3 AND c.from_version <= ?2
           AND c.to_version > ?2{revision_tags}
         ORDER BY 1 LIMIT ?4"
    )
}

/// The values [`cases_at_query`] binds.
pub(super) fn cases_at_values<'a>(
    dataset_pk: &'a i64,
    version: &'a i64,
    after: &'a i64,
    limit: &'a i64,
    tags: &'a [String],
) -> Vec<&'a dyn ToSql> {
    let mut values: Vec<&dyn ToSql> = vec![dataset_pk, version, after, limit];
    values.extend(tags.iter().map(|tag| tag as &dyn ToSql));
    values
}

/// One case as it was at version `n`: by id, or by position.
fn case_at(
    conn: &Connection,
    dataset: &DatasetRow,
    n: i64,
    key: CaseKey,
) -> Result<Option<CaseRecord>, StoreError> {
    let (head, revision, value): (&str, &str, &dyn ToSql) = match &key {
        CaseKey::Id(id) => ("c.id = ?3", "c.id = ?3", id),
        CaseKey::Position(pk) => ("c.pk = ?3", "c.case_pk = ?3", pk),
    };
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases c
         WHERE c.dataset_pk = ?1 AND {head} AND c.from_version <= ?2
         UNION ALL
         SELECT {REVISION_COLUMNS} FROM case_revisions c
         WHERE c.dataset_pk = ?1 AND {revision} AND c.from_version <= ?2 AND c.to_version > ?2"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![dataset.pk, n, value], |row| {
                case_from_row(row, dataset.detail.id)
            })
            .optional()
        })
        .map(|found| found.map(|(_, case)| case))
        .map_err(backend)
}

/// The cases at positions in `(after, through]` as they were at version
/// `n`, by position.
fn cases_in_span(
    conn: &Connection,
    dataset: &DatasetRow,
    n: i64,
    (after, through): (i64, i64),
) -> Result<std::collections::HashMap<i64, CaseRecord>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases c INDEXED BY cases_by_dataset
         WHERE c.dataset_pk = ?1 AND c.pk > ?3 AND c.pk <= ?4 AND c.from_version <= ?2
         UNION ALL
         SELECT {REVISION_COLUMNS} FROM case_revisions c
         WHERE c.dataset_pk = ?1 AND c.case_pk > ?3 AND c.case_pk <= ?4
           AND c.from_version <= ?2 AND c.to_version > ?2"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params![dataset.pk, n, after, through], |row| {
                case_from_row(row, dataset.detail.id)
            })?
            .collect()
        })
        .map_err(backend)
}

enum CaseKey {
    Id(String),
    Position(i64),
}

/// A case at a version, for `GET .../cases/{id}/?version=`.
pub(super) fn load_case_at(
    conn: &Connection,
    dataset: &DatasetRow,
    case: Uuid,
    at: &VersionRef,
) -> Result<CaseRecord, StoreError> {
    let n = resolve(conn, dataset, at)?;
    case_at(conn, dataset, n, CaseKey::Id(case.to_string()))?.ok_or(StoreError::CaseNotFound)
}

fn version_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DatasetVersion> {
    let count =
        |index: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, i64>(index)?.max(0) as u64) };
    Ok(DatasetVersion {
        version: count(0)?,
        created_at: parse_ts(row.get_ref(1)?.as_str()?)?,
        created_by: parse_opt_uuid(row.get(2)?)?,
        created_by_name: row.get(3)?,
        added: count(4)?,
        changed: count(5)?,
        removed: count(6)?,
        case_count: count(7)?,
        definition_changed: row.get(8)?,
        tags: Vec::new(),
    })
}

const VERSION_COLUMNS: &str = "v.version, v.created_at, v.created_by, k.name, v.added, \
     v.changed, v.removed, v.case_count, v.definition IS NOT NULL";

fn with_tags(
    conn: &Connection,
    dataset_pk: i64,
    mut version: DatasetVersion,
) -> Result<DatasetVersion, StoreError> {
    version.tags = conn
        .prepare_cached(
            "SELECT tag FROM version_tags WHERE dataset_pk = ?1 AND version = ?2 ORDER BY tag",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![dataset_pk, version.version as i64], |row| {
                row.get(0)
            })?
            .collect()
        })
        .map_err(backend)?;
    Ok(version)
}

fn load_version(
    conn: &Connection,
    dataset: &DatasetRow,
    n: i64,
) -> Result<DatasetVersion, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM dataset_versions v
         LEFT JOIN api_keys k ON k.id = v.created_by
         WHERE v.dataset_pk = ?1 AND v.version = ?2"
    );
    let version = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row(params![dataset.pk, n], version_from_row))
        .map_err(backend)?;
    with_tags(conn, dataset.pk, version)
}

pub(super) async fn list_versions(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    before: Option<u64>,
    limit: usize,
) -> Result<VersionPage, StoreError> {
    let dataset = dataset.to_owned();
    store
        .read_snapshot(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
            let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
            let sql = format!(
                "SELECT {VERSION_COLUMNS} FROM dataset_versions v
                 LEFT JOIN api_keys k ON k.id = v.created_by
                 WHERE v.dataset_pk = ?1 AND v.version < ?2 AND v.pruned = 0
                 ORDER BY v.version DESC LIMIT ?3"
            );
            let mut versions = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params![dataset.pk, before, fetch], version_from_row)?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(backend)?;
            let more = versions.len() > limit;
            versions.truncate(limit);
            let next = more.then(|| versions.last().map(|v| v.version)).flatten();
            let versions = versions
                .into_iter()
                .map(|version| with_tags(conn, dataset.pk, version))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(VersionPage {
                dataset_id: dataset.detail.id,
                versions,
                next,
            })
        })
        .await
}

pub(super) async fn get_version(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    at: VersionRef,
) -> Result<DatasetVersion, StoreError> {
    let dataset = dataset.to_owned();
    store
        .read(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            let n = resolve(conn, &dataset, &at)?;
            load_version(conn, &dataset, n)
        })
        .await
}

pub(super) async fn get_dataset_at(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    at: VersionRef,
) -> Result<DatasetDetail, StoreError> {
    let dataset = dataset.to_owned();
    store
        .read_snapshot(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            let n = resolve(conn, &dataset, &at)?;
            detail_at(conn, &dataset, n)
        })
        .await
}

pub(super) async fn tag_version(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    at: VersionRef,
    tag: Option<String>,
    untag: Option<String>,
) -> Result<Option<DatasetVersion>, StoreError> {
    let dataset = dataset.to_owned();
    store
        .write(move |tx, inner| {
            let dataset = load_dataset(tx, project, &dataset)?;
            let n = resolve(tx, &dataset, &at)?;
            if let Some(tag) = &tag {
                tx.execute(
                    "INSERT INTO version_tags (dataset_pk, tag, version) VALUES (?1, ?2, ?3)
                     ON CONFLICT (dataset_pk, tag) DO UPDATE SET version = excluded.version",
                    params![dataset.pk, tag, n],
                )
                .map_err(backend)?;
            }
            if let Some(tag) = &untag {
                let removed = tx
                    .execute(
                        "DELETE FROM version_tags WHERE dataset_pk = ?1 AND tag = ?2 AND version = ?3",
                        params![dataset.pk, tag, n],
                    )
                    .map_err(backend)?;
                if removed == 0 {
                    return Err(StoreError::TagNotFound);
                }
            }
            // A tag moved or taken off may leave an old version to prune.
            if let Some(through) = inner.retention.prune_through(dataset.version) {
                prune(tx, dataset.pk, through)?;
            }
            if tag.is_some() {
                return load_version(tx, &dataset, n).map(Some);
            }
            Ok(None)
        })
        .await
}

/// Case positions looked at per round of a diff.
const DIFF_ROUND: i64 = 512;
/// Head rows a version range may have made for a diff to find them by the
/// version index and sort them; beyond, it walks the cases in order.
const SPARSE_DIFF: i64 = 50_000;

/// The positions, in order, of the cases that changed in versions
/// `(?2, ?3]` of dataset `?1`, after `?4`, at most `?5`: head rows made
/// then, and revisions begun or ended then. Each branch stops after `?5`,
/// so paging through a diff reads each position once. Head rows are found
/// by the version index when the range made few (sorting them is cheap),
/// else by walking the cases in order on the covering index.
fn candidates_query(
    conn: &Connection,
    dataset_pk: i64,
    lo: i64,
    hi: i64,
) -> Result<String, StoreError> {
    let made: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(added + changed), 0) FROM dataset_versions
             WHERE dataset_pk = ?1 AND version > ?2 AND version <= ?3",
        )
        .and_then(|mut stmt| stmt.query_row(params![dataset_pk, lo, hi], |row| row.get(0)))
        .map_err(backend)?;
    let index = if made <= SPARSE_DIFF {
        "cases_by_from_version"
    } else {
        "cases_by_dataset"
    };
    Ok(format!(
        "SELECT pk FROM (SELECT pk FROM cases INDEXED BY {index}
             WHERE dataset_pk = ?1 AND pk > ?4 AND from_version > ?2 AND from_version <= ?3
             ORDER BY pk LIMIT ?5)
         UNION
         SELECT case_pk FROM (SELECT case_pk FROM case_revisions
             WHERE dataset_pk = ?1 AND case_pk > ?4
               AND ((from_version > ?2 AND from_version <= ?3)
                 OR (to_version > ?2 AND to_version <= ?3))
             ORDER BY case_pk LIMIT ?5)
         ORDER BY 1 LIMIT ?5"
    ))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn diff_versions(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    from: VersionRef,
    to: VersionRef,
    after: Option<CasePosition>,
    limit: usize,
) -> Result<DiffPage, StoreError> {
    let dataset = dataset.to_owned();
    store
        .read_snapshot(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            let a = resolve(conn, &dataset, &from)?;
            let b = resolve(conn, &dataset, &to)?;
            let (lo, hi) = (a.min(b), a.max(b));
            let mut page = DiffPage {
                dataset_id: dataset.detail.id,
                from: a as u64,
                to: b as u64,
                items: Vec::new(),
                next: None,
            };
            let mut position = after.map_or(0, |p| p.0);
            let mut candidates = conn
                .prepare_cached(&candidates_query(conn, dataset.pk, lo, hi)?)
                .map_err(backend)?;
            loop {
                let pks: Vec<i64> = candidates
                    .query_map(params![dataset.pk, lo, hi, position, DIFF_ROUND], |row| {
                        row.get(0)
                    })
                    .and_then(|rows| rows.collect())
                    .map_err(backend)?;
                // A dense round (most positions in its span changed) is
                // read as two ranges, a sparse one case by case.
                let span = match (pks.first(), pks.last()) {
                    (Some(first), Some(last)) if last - first < 2 * pks.len() as i64 => {
                        Some((first - 1, *last))
                    }
                    _ => None,
                };
                let mut ranges = match span {
                    Some(span) => Some((
                        cases_in_span(conn, &dataset, a, span)?,
                        cases_in_span(conn, &dataset, b, span)?,
                    )),
                    None => None,
                };
                for pk in &pks {
                    position = *pk;
                    let (before, after) = match &mut ranges {
                        Some((at_a, at_b)) => (at_a.remove(pk), at_b.remove(pk)),
                        None => (
                            case_at(conn, &dataset, a, CaseKey::Position(*pk))?,
                            case_at(conn, &dataset, b, CaseKey::Position(*pk))?,
                        ),
                    };
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
        })
        .await
}
