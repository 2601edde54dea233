//! Experiments (an addition to the protocol): `POST /v1/experiments/` takes
//! a finished report, `GET /v1/experiments/` lists runs newest first,
//! `GET /v1/experiments/{id}/` reads one with its case results (paged with
//! `limit` and `Next-Cursor` when asked), `GET /v1/experiments/compare/`
//! compares two, and `DELETE /v1/experiments/{id}/` removes one. Runs sent
//! as spans to `POST /v1/traces` land in the same store.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use datasets_core::eval::EvaluationReport;
use datasets_core::wire::{Experiment, ExperimentDetail, NewExperiment};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::cursor::{Cursor, cursor_issue, decode_cursor, listing_hash};
use super::route_both;
use super::versions::{json_response, limit_param, with_next};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{IdempotentJson, query_pairs};
use crate::state::AppState;
use crate::store::CasePosition;
use crate::store::experiments::{ExperimentCases, ExperimentFilter, rows_of_report, stored_body};

/// Experiments in a page of the list by default, and at most.
const DEFAULT_EXPERIMENTS: usize = 100;
const MAX_EXPERIMENTS: usize = 1_000;
/// Case results read per round when a whole run is asked for, and the most
/// in one page.
const CASE_ROUND: usize = 1_000;
const MAX_CASES: usize = 10_000;

pub(crate) fn router() -> Router<AppState> {
    let router = Router::new();
    let router = route_both(router, "/v1/experiments/", get(list).post(record));
    let router = route_both(router, "/v1/experiments/compare/", get(compare));
    route_both(router, "/v1/experiments/{id}/", get(show).delete(remove))
}

fn experiment_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(text).map_err(|_| ApiError::ExperimentNotFound)
}

async fn record(
    State(state): State<AppState>,
    principal: Principal,
    IdempotentJson {
        body: new,
        idempotency,
    }: IdempotentJson<NewExperiment>,
) -> Result<Response, ApiError> {
    let (run, cases) =
        tokio::task::spawn_blocking(move || rows_of_report(new, crate::store::now()))
            .await
            .map_err(|err| ApiError::Internal(format!("reading the report failed: {err}")))?
            .map_err(ApiError::Invalid)?;
    let written = state
        .store
        .record_experiment(
            principal.project_id,
            principal.key_id,
            run,
            cases,
            idempotency,
        )
        .await?;
    Ok(super::written(StatusCode::CREATED, written))
}

fn list_hash(filter: &ExperimentFilter) -> u64 {
    listing_hash(&match filter {
        ExperimentFilter::All => "experiments".to_owned(),
        ExperimentFilter::DatasetId(id) => format!("experiments\0id\0{id}"),
        ExperimentFilter::DatasetName(name) => format!("experiments\0name\0{name}"),
    })
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (mut limit, mut cursor, mut dataset) = (DEFAULT_EXPERIMENTS, None, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "limit" => limit = limit_param(&value, MAX_EXPERIMENTS)?,
            "cursor" => cursor = Some(value),
            "dataset" => dataset = Some(value),
            _ => {}
        }
    }
    let filter = ExperimentFilter::of(dataset.as_deref());
    let before = match cursor {
        None => None,
        Some(text) => Some(
            decode_cursor(&text)
                .filter(|c| c.filter == list_hash(&filter))
                .ok_or_else(|| {
                    cursor_issue("not a cursor of this listing; start again without one")
                })?
                .position
                .0,
        ),
    };
    let page = state
        .store
        .list_experiments(principal.project_id, filter.clone(), before, limit)
        .await?;
    let next = page.next.map(|pk| Cursor {
        position: CasePosition(pk),
        dataset: Uuid::nil(),
        filter: list_hash(&filter),
        version: 0,
    });
    Ok(with_next(
        json_response(StatusCode::OK, &page.experiments),
        next,
    ))
}

/// The head of an experiment's answer: the experiment and its counts; the
/// stored case results are spliced in after it without being parsed.
#[derive(Serialize)]
struct Head<'a> {
    #[serde(flatten)]
    experiment: &'a Experiment,
    case_count: u64,
    failure_count: u64,
}

/// Writes `{...head, "cases": [...], "failures": [...]}` from stored rows,
/// each checked to be JSON (a row that no longer reads is `null`).
fn detail_body(page: &ExperimentCases, rows: &[(bool, String)]) -> Result<Vec<u8>, ApiError> {
    let head = serde_json::to_vec(&Head {
        experiment: &page.experiment,
        case_count: page.case_count,
        failure_count: page.failure_count,
    })
    .map_err(|err| ApiError::Internal(err.to_string()))?;
    let mut out = head;
    out.pop(); // the closing brace
    for (key, failed) in [("cases", false), ("failures", true)] {
        out.extend_from_slice(format!(",\"{key}\":[").as_bytes());
        let mut first = true;
        for (_, body) in rows.iter().filter(|(f, _)| *f == failed) {
            if !first {
                out.push(b',');
            }
            first = false;
            if serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok() {
                out.extend_from_slice(body.as_bytes());
            } else {
                out.extend_from_slice(b"null");
            }
        }
        out.push(b']');
    }
    out.push(b'}');
    Ok(out)
}

const CASES_LISTING: &str = "experiment-cases";

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = experiment_id(&id)?;
    let (mut limit, mut cursor) = (None, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "limit" => limit = Some(limit_param(&value, MAX_CASES)?),
            "cursor" => {
                let decoded = decode_cursor(&value)
                    .filter(|c| c.filter == listing_hash(CASES_LISTING))
                    .ok_or_else(|| {
                        cursor_issue("not a cursor of this listing; start again without one")
                    })?;
                if decoded.dataset != id {
                    return Err(cursor_issue(
                        "this cursor belongs to another experiment; start again without one",
                    ));
                }
                cursor = Some((decoded.version as i64, decoded.position.0));
            }
            _ => {}
        }
    }
    let store = &state.store;
    let project = principal.project_id;
    let Some(limit) = limit.or(cursor.map(|_| CASE_ROUND)) else {
        // The whole run, read in rounds.
        let mut page = store.get_experiment(project, id, None, CASE_ROUND).await?;
        let mut rows = std::mem::take(&mut page.rows);
        while let Some(after) = page.next {
            page = store
                .get_experiment(project, id, Some(after), CASE_ROUND)
                .await?;
            rows.append(&mut page.rows);
        }
        let body = detail_body(&page, &rows)?;
        return Ok(bytes_response(body));
    };
    let page = store.get_experiment(project, id, cursor, limit).await?;
    let body = detail_body(&page, &page.rows)?;
    let next = page.next.map(|(seq, pk)| Cursor {
        position: CasePosition(pk),
        dataset: id,
        filter: listing_hash(CASES_LISTING),
        version: seq as u64,
    });
    Ok(with_next(bytes_response(body), next))
}

fn bytes_response(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A whole experiment as a report.
pub(crate) async fn load_report(
    state: &AppState,
    project: Uuid,
    id: Uuid,
) -> Result<EvaluationReport<Value, Value, Value>, ApiError> {
    let mut page = state
        .store
        .get_experiment(project, id, None, CASE_ROUND)
        .await?;
    let mut rows = std::mem::take(&mut page.rows);
    while let Some(after) = page.next {
        page = state
            .store
            .get_experiment(project, id, Some(after), CASE_ROUND)
            .await?;
        rows.append(&mut page.rows);
    }
    let (failures, cases): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(failed, _)| *failed);
    let detail = ExperimentDetail {
        experiment: page.experiment,
        case_count: page.case_count,
        failure_count: page.failure_count,
        cases: cases.iter().map(|(_, body)| stored_body(body)).collect(),
        failures: failures.iter().map(|(_, body)| stored_body(body)).collect(),
    };
    EvaluationReport::from_experiment(&detail)
        .map_err(|err| ApiError::Internal(format!("stored experiment {id}: {err}")))
}

/// `GET /v1/experiments/compare/?base=A&candidate=B`: what
/// `EvaluationReport::compare` gives for the candidate against the base.
async fn compare(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (mut base, mut candidate) = (None, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "base" => base = Some(value),
            "candidate" => candidate = Some(value),
            _ => {}
        }
    }
    let required = |value: Option<String>, name: &str| {
        value.ok_or_else(|| {
            ApiError::invalid(
                vec!["query".into(), name.into()],
                format!("`{name}` (an experiment id) is required"),
                "missing",
            )
        })
    };
    let base = experiment_id(&required(base, "base")?)?;
    let candidate = experiment_id(&required(candidate, "candidate")?)?;
    let project = principal.project_id;
    let baseline = load_report(&state, project, base).await?;
    let current = load_report(&state, project, candidate).await?;
    let comparison = tokio::task::spawn_blocking(move || current.compare(&baseline))
        .await
        .map_err(|err| ApiError::Internal(format!("comparing failed: {err}")))?;
    Ok(json_response(StatusCode::OK, &comparison))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_experiment(principal.project_id, experiment_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
