//! Case reads: listed by keyset pages and streamed through a portal from
//! one snapshot, at the head or at a past version.

use datasets_core::wire::DatasetDetail;
use deadpool_postgres::GenericClient;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::rows::*;
use super::versions::{cases_at_query, detail_at, load_case_at, resolve};
use super::{PostgresStore, pg, snapshot};
use crate::store::{
    CaseFilter, CasePage, CasePosition, CaseRecord, CaseStream, StoreError, VersionRef,
};

/// Cases fetched per round trip of a case stream.
const STREAM_BATCH: usize = 1_000;

/// The condition of a tag filter on `c.tags`, bound at `$index`.
fn tag_condition(filter: &CaseFilter, index: usize) -> String {
    if filter.tags.is_empty() {
        String::new()
    } else {
        format!(" AND c.tags && ${index}::text[]")
    }
}

pub(super) async fn stream_cases(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    filter: CaseFilter,
) -> Result<(DatasetDetail, CaseStream), StoreError> {
    let mut conn = store.conn().await?;
    let dataset = dataset.to_owned();
    let (head_tx, head_rx) = tokio::sync::oneshot::channel();
    let (rows_tx, rows_rx) = mpsc::channel::<Result<Vec<CaseRecord>, StoreError>>(4);
    tokio::spawn(async move {
        let run = async {
            let tx = snapshot(&mut conn).await?;
            let dataset = match load_dataset(&tx, project, &dataset, Lock::None).await {
                Ok(dataset) => dataset,
                Err(err) => {
                    let _ = head_tx.send(Err(err));
                    return Ok(());
                }
            };
            let at = match &filter.version {
                Some(at) => {
                    let found = async {
                        let n = resolve(&tx, &dataset, at).await?;
                        Ok::<_, StoreError>((n, detail_at(&tx, &dataset, n).await?))
                    };
                    match found.await {
                        Ok(found) => Some(found),
                        Err(err) => {
                            let _ = head_tx.send(Err(err));
                            return Ok(());
                        }
                    }
                }
                None => None,
            };
            let detail = at.as_ref().map_or(&dataset.detail, |(_, detail)| detail);
            if head_tx.send(Ok(detail.clone())).is_err() {
                return Ok(());
            }
            let version = at.map_or(dataset.version, |(n, _)| n);
            let (start, all) = (0i64, None::<i64>);
            let (sql, mut params): (String, Vec<&(dyn ToSql + Sync)>) = if version
                == dataset.version
            {
                let sql = format!(
                    "SELECT {CASE_COLUMNS} FROM cases c WHERE c.dataset_pk = $1{} ORDER BY c.pk",
                    tag_condition(&filter, 2)
                );
                (sql, vec![&dataset.pk])
            } else {
                (
                    cases_at_query(!filter.tags.is_empty()),
                    vec![&dataset.pk, &version, &start, &all],
                )
            };
            if !filter.tags.is_empty() {
                params.push(&filter.tags);
            }
            let portal = tx.bind(sql.as_str(), &params).await.map_err(pg)?;
            loop {
                let rows = tx
                    .query_portal(&portal, STREAM_BATCH as i32)
                    .await
                    .map_err(pg)?;
                let done = rows.len() < STREAM_BATCH;
                let batch = rows
                    .iter()
                    .map(|row| case_from_row(row, dataset.detail.id).map(|(_, case)| case))
                    .collect::<Result<Vec<_>, _>>()?;
                if !batch.is_empty() && rows_tx.send(Ok(batch)).await.is_err() {
                    return Ok(());
                }
                if done {
                    return Ok(());
                }
            }
        };
        if let Err(err) = run.await {
            let _ = rows_tx.send(Err(err)).await;
        }
    });
    crate::store::handed_over_stream(head_rx, rows_rx).await
}

pub(super) async fn page_cases(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    filter: &CaseFilter,
    after: Option<CasePosition>,
    limit: usize,
) -> Result<CasePage, StoreError> {
    // Two statements, no transaction: a page is read by one statement
    // (a keyset page needs no snapshot beyond it).
    let mut conn = store.conn().await?;
    let after = after.map_or(0, |position| position.0);
    // One more than asked, to know whether a next page exists.
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    if filter.version.is_some() {
        // At a version: one snapshot, so that the head's rows, when the
        // version is the head, are that version and no later one.
        let tx = snapshot(&mut conn).await?;
        let page = page_at(&tx, project, dataset, filter, after, fetch, limit).await?;
        tx.commit().await.map_err(pg)?;
        return Ok(page);
    }
    let dataset = load_dataset(&conn, project, dataset, Lock::None).await?;
    head_page(&conn, &dataset, filter, after, fetch, limit).await
}

/// A page of the live rows (the head version).
async fn head_page(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    filter: &CaseFilter,
    after: i64,
    fetch: i64,
    limit: usize,
) -> Result<CasePage, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases c
         WHERE c.dataset_pk = $1 AND c.pk > $2{} ORDER BY c.pk LIMIT $3",
        tag_condition(filter, 4)
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&dataset.pk, &after, &fetch];
    if !filter.tags.is_empty() {
        params.push(&filter.tags);
    }
    let statement = conn.prepare_cached(&sql).await.map_err(pg)?;
    let rows = conn.query(&statement, &params).await.map_err(pg)?;
    let cases = rows
        .iter()
        .map(|row| case_from_row(row, dataset.detail.id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CasePage::from_fetched(
        dataset.detail.id,
        cases,
        limit,
        after,
    ))
}

/// A page of the cases at the version `filter` names, in `tx`'s snapshot.
async fn page_at(
    tx: &deadpool_postgres::Transaction<'_>,
    project: Uuid,
    dataset: &str,
    filter: &CaseFilter,
    after: i64,
    fetch: i64,
    limit: usize,
) -> Result<CasePage, StoreError> {
    let dataset = load_dataset(tx, project, dataset, Lock::None).await?;
    let conn = tx;
    if let Some(at) = &filter.version {
        let n = resolve(conn, &dataset, at).await?;
        if n == dataset.version {
            let mut page = head_page(conn, &dataset, filter, after, fetch, limit).await?;
            page.version = Some(n as u64);
            return Ok(page);
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&dataset.pk, &n, &after, &fetch];
        if !filter.tags.is_empty() {
            params.push(&filter.tags);
        }
        let statement = conn
            .prepare_cached(&cases_at_query(!filter.tags.is_empty()))
            .await
            .map_err(pg)?;
        let rows = conn.query(&statement, &params).await.map_err(pg)?;
        let cases = rows
            .iter()
            .map(|row| case_from_row(row, dataset.detail.id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut page = CasePage::from_fetched(dataset.detail.id, cases, limit, after);
        page.version = Some(n as u64);
        return Ok(page);
    }
    head_page(conn, &dataset, filter, after, fetch, limit).await
}

pub(super) async fn get_case(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    case: Uuid,
    at: Option<&VersionRef>,
) -> Result<CaseRecord, StoreError> {
    if dataset.contains('\0') {
        return Err(StoreError::DatasetNotFound);
    }
    if let Some(at) = at {
        let mut conn = store.conn().await?;
        let tx = snapshot(&mut conn).await?;
        let dataset = load_dataset(&tx, project, dataset, Lock::None).await?;
        return load_case_at(&tx, &dataset, case, at).await;
    }
    // One statement: the dataset, and the case if it has it.
    let conn = store.conn().await?;
    let sql = format!(
        "SELECT {DATASET_COLUMNS}, {CASE_COLUMNS} FROM datasets d
         LEFT JOIN cases c ON c.dataset_pk = d.pk AND c.id = $4
         WHERE d.project_id = $1 AND (d.id = $2 OR d.name = $3)
         ORDER BY (d.id = $2) IS TRUE DESC LIMIT 1"
    );
    let statement = conn.prepare_cached(&sql).await.map_err(pg)?;
    let as_id = Uuid::parse_str(dataset).ok();
    let row = conn
        .query_opt(&statement, &[&project, &as_id, &dataset, &case])
        .await
        .map_err(pg)?
        .ok_or(StoreError::DatasetNotFound)?;
    if row
        .try_get::<_, Option<i64>>(DATASET_COLUMN_COUNT)
        .map_err(|err| StoreError::Backend(err.to_string()))?
        .is_none()
    {
        return Err(StoreError::CaseNotFound);
    }
    let dataset = dataset_from_row(&row)?;
    Ok(case_from_row_at(&row, dataset.detail.id, DATASET_COLUMN_COUNT)?.1)
}

pub(super) async fn search_cases(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Uuid, Vec<CaseRecord>, bool), StoreError> {
    // No name holds a NUL (names are checked), and PostgreSQL refuses one.
    if prefix.contains('\0') || after.is_some_and(|a| a.contains('\0')) {
        let conn = store.conn().await?;
        let dataset = load_dataset(&conn, project, dataset, Lock::None).await?;
        return Ok((dataset.detail.id, Vec::new(), false));
    }
    let conn = store.conn().await?;
    let dataset = load_dataset(&conn, project, dataset, Lock::None).await?;
    // The name index, from the prefix (or the last name shown) up to the
    // first name past the prefix; `starts_with` keeps the exact matches.
    // Under a C collation the range is exactly the prefix's names.
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases c
         WHERE c.dataset_pk = $1 AND c.name IS NOT NULL
           AND c.name >= $2 AND c.name > $3 AND c.name < $4 AND starts_with(c.name, $2)
         ORDER BY c.name LIMIT $5"
    );
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let end = crate::store::prefix_end(prefix);
    let rows = conn
        .query(
            sql.as_str(),
            &[
                &dataset.pk,
                &prefix,
                &after.unwrap_or_default(),
                &end,
                &fetch,
            ],
        )
        .await
        .map_err(pg)?;
    let mut cases = rows
        .iter()
        .map(|row| case_from_row(row, dataset.detail.id).map(|(_, case)| case))
        .collect::<Result<Vec<_>, _>>()?;
    let more = cases.len() > limit;
    cases.truncate(limit);
    Ok((dataset.detail.id, cases, more))
}
