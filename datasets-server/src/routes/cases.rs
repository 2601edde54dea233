//! Cases: `/v1/datasets/{dataset}/cases/...`, `/import/` and `/export/`.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use datasets_core::wire::{CaseUpdate, CasesBody, LocSegment, NewCase, OnConflict};
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::route_both;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{JsonBody, query_pairs};
use crate::store::{CaseFilter, CaseRecord, CaseStream, InsertMode};

pub(crate) fn router() -> Router<AppState> {
    let router = Router::new();
    let router = route_both(
        router,
        "/v1/datasets/{dataset}/cases/",
        get(list).post(create),
    );
    let router = route_both(router, "/v1/datasets/{dataset}/cases/bulk/", post(bulk));
    let router = route_both(
        router,
        "/v1/datasets/{dataset}/cases/{case_id}/",
        get(show).put(update).patch(update).delete(remove),
    );
    let router = route_both(router, "/v1/datasets/{dataset}/import/", post(import));
    route_both(router, "/v1/datasets/{dataset}/export/", get(export))
}

/// Resolves a case id from the path. A segment that is no UUID names no
/// case, but the dataset is checked first so its 404 wins.
async fn case_id(
    state: &AppState,
    principal: &Principal,
    dataset: &str,
    raw: &str,
) -> Result<Uuid, ApiError> {
    match Uuid::parse_str(raw) {
        Ok(id) => Ok(id),
        Err(_) => {
            state
                .store
                .get_dataset(principal.project_id, dataset)
                .await?;
            Err(ApiError::CaseNotFound)
        }
    }
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let tags = query_pairs(query.as_deref())
        .into_iter()
        .filter(|(key, _)| key == "tags")
        .map(|(_, value)| value)
        .collect();
    let (_, cases) = state
        .store
        .stream_cases(principal.project_id, &dataset, CaseFilter { tags })
        .await?;
    Ok(stream_json(b"[".to_vec(), cases, write_case, b"]".to_vec()))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
    JsonBody(case): JsonBody<NewCase>,
) -> Result<(StatusCode, Json<CaseRecord>), ApiError> {
    let mut created = state
        .store
        .insert_cases(
            principal.project_id,
            principal.key_id,
            &dataset,
            vec![case],
            InsertMode::Create,
        )
        .await
        .map_err(|err| match ApiError::from(err) {
            // The store locates issues in a list of cases; this body is one case.
            ApiError::Invalid(mut issues) => {
                for issue in &mut issues {
                    if issue.loc.get(1) == Some(&LocSegment::from("cases")) {
                        issue.loc.drain(1..3);
                    }
                }
                ApiError::Invalid(issues)
            }
            other => other,
        })?;
    let case = created
        .pop()
        .ok_or_else(|| ApiError::Internal("insert returned no case".into()))?;
    Ok((StatusCode::CREATED, Json(case)))
}

async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
    JsonBody(body): JsonBody<CasesBody>,
) -> Result<(StatusCode, Json<Vec<CaseRecord>>), ApiError> {
    let created = state
        .store
        .insert_cases(
            principal.project_id,
            principal.key_id,
            &dataset,
            body.cases,
            InsertMode::Create,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn import(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<CasesBody>,
) -> Result<Json<Vec<CaseRecord>>, ApiError> {
    let mut on_conflict = OnConflict::default();
    for (key, value) in query_pairs(query.as_deref()) {
        if key == "on_conflict" {
            on_conflict = value.parse().map_err(|msg: String| {
                ApiError::invalid(vec!["query".into(), "on_conflict".into()], msg, "enum")
            })?;
        }
    }
    let cases = state
        .store
        .insert_cases(
            principal.project_id,
            principal.key_id,
            &dataset,
            body.cases,
            InsertMode::Import(on_conflict),
        )
        .await?;
    Ok(Json(cases))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path((dataset, case)): Path<(String, String)>,
) -> Result<Json<CaseRecord>, ApiError> {
    let case = case_id(&state, &principal, &dataset, &case).await?;
    Ok(Json(
        state
            .store
            .get_case(principal.project_id, &dataset, case)
            .await?,
    ))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((dataset, case)): Path<(String, String)>,
    JsonBody(update): JsonBody<CaseUpdate>,
) -> Result<Json<CaseRecord>, ApiError> {
    let case = case_id(&state, &principal, &dataset, &case).await?;
    Ok(Json(
        state
            .store
            .update_case(
                principal.project_id,
                principal.key_id,
                &dataset,
                case,
                update,
            )
            .await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path((dataset, case)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let case = case_id(&state, &principal, &dataset, &case).await?;
    state
        .store
        .delete_case(principal.project_id, &dataset, case)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn export(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
) -> Result<Response, ApiError> {
    let (detail, cases) = state
        .store
        .stream_cases(principal.project_id, &dataset, CaseFilter::default())
        .await?;
    let mut head = b"{\"name\":".to_vec();
    serde_json::to_writer(&mut head, &detail.name).map_err(internal)?;
    head.extend_from_slice(b",\"cases\":[");
    let mut tail = b"],\"evaluators\":".to_vec();
    serde_json::to_writer(&mut tail, &detail.evaluators.unwrap_or_default()).map_err(internal)?;
    tail.extend_from_slice(b",\"report_evaluators\":");
    serde_json::to_writer(&mut tail, &detail.report_evaluators.unwrap_or_default())
        .map_err(internal)?;
    tail.push(b'}');
    Ok(stream_json(head, cases, write_exported_case, tail))
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(err.to_string())
}

fn write_case(case: &CaseRecord, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(out, case)
}

/// A case in pydantic-evals' shape: exactly the keys its `_CaseModel`
/// accepts, with `evaluators` a list.
fn write_exported_case(case: &CaseRecord, out: &mut Vec<u8>) -> serde_json::Result<()> {
    #[derive(Serialize)]
    struct ExportedCaseRef<'a> {
        name: &'a Option<String>,
        inputs: &'a RawValue,
        metadata: Option<&'a RawValue>,
        expected_output: Option<&'a RawValue>,
        evaluators: &'a RawValue,
    }
    let empty: &RawValue = serde_json::from_str("[]")?;
    serde_json::to_writer(
        out,
        &ExportedCaseRef {
            name: &case.name,
            inputs: &case.inputs,
            metadata: case.metadata.as_deref(),
            expected_output: case.expected_output.as_deref(),
            evaluators: case.evaluators.as_deref().unwrap_or(empty),
        },
    )
}

/// Streams `head`, the cases as comma-separated JSON, then `tail`, without
/// holding the whole answer in memory. A storage error mid-stream aborts the
/// connection, so a client never mistakes a truncated list for a whole one.
fn stream_json(
    head: Vec<u8>,
    cases: CaseStream,
    write: fn(&CaseRecord, &mut Vec<u8>) -> serde_json::Result<()>,
    tail: Vec<u8>,
) -> Response {
    struct State {
        head: Option<Vec<u8>>,
        cases: CaseStream,
        first: bool,
        tail: Option<Vec<u8>>,
    }
    let state = State {
        head: Some(head),
        cases,
        first: true,
        tail: Some(tail),
    };
    let stream = futures_util::stream::unfold(state, move |mut state| async move {
        if let Some(head) = state.head.take() {
            return Some((Ok(Bytes::from(head)), state));
        }
        match state.cases.recv().await {
            Some(Ok(batch)) => {
                let mut out = Vec::with_capacity(batch.len() * 256);
                for case in &batch {
                    if !std::mem::take(&mut state.first) {
                        out.push(b',');
                    }
                    if let Err(err) = write(case, &mut out) {
                        return Some((Err(std::io::Error::other(err)), state));
                    }
                }
                Some((Ok(Bytes::from(out)), state))
            }
            Some(Err(err)) => {
                tracing::error!(error = %err, "case stream failed");
                state.tail = None;
                Some((Err(std::io::Error::other(err.to_string())), state))
            }
            None => state.tail.take().map(|tail| (Ok(Bytes::from(tail)), state)),
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}
