//! `/v1/datasets/` and `/v1/datasets/{dataset}/`.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use datasets_core::Patch;
use datasets_core::wire::{DatasetDetail, DatasetSummary, DatasetUpdate, NewDataset};
use serde_json::Value;

use super::{route_both, written};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{IdempotentJson, JsonBody, Segments};
use crate::state::AppState;
use crate::validation::{SchemaKind, check_schemas};

pub(crate) fn router() -> Router<AppState> {
    let router = Router::new();
    let router = route_both(router, "/v1/datasets/", get(list).post(create));
    route_both(
        router,
        "/v1/datasets/{dataset}/",
        get(show).put(update).patch(update).delete(remove),
    )
}

fn check_name(name: &str) -> Result<(), ApiError> {
    datasets_core::validate_dataset_name(name)
        .map_err(|msg| ApiError::invalid(vec!["body".into(), "name".into()], msg, "invalid_name"))
}

/// Checks the input, output and metadata schemas of a body on the blocking
/// pool: compiling a large schema takes long enough to stall the runtime.
async fn check_schemas_apart(schemas: [Option<Value>; 3]) -> Result<(), ApiError> {
    tokio::task::spawn_blocking(move || {
        check_schemas(
            SchemaKind::ALL
                .into_iter()
                .zip(schemas.iter().map(Option::as_ref)),
        )
    })
    .await
    .map_err(|err| ApiError::Internal(format!("schema check failed: {err}")))?
    .map_err(ApiError::Invalid)
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<DatasetSummary>>, ApiError> {
    Ok(Json(state.store.list_datasets(principal.project_id).await?))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    IdempotentJson {
        body: new,
        idempotency,
    }: IdempotentJson<NewDataset>,
) -> Result<Response, ApiError> {
    check_name(&new.name)?;
    check_schemas_apart([
        new.input_schema.clone(),
        new.output_schema.clone(),
        new.metadata_schema.clone(),
    ])
    .await?;
    let created = state
        .store
        .create_dataset(principal.project_id, principal.key_id, new, idempotency)
        .await?;
    Ok(written(StatusCode::CREATED, created))
}

/// `GET .../{dataset}/`, at the head or (with `version` or `as_of`) as it
/// was at a past version: its schemas, evaluators and case count then.
async fn show(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    RawQuery(query): RawQuery,
) -> Result<Json<DatasetDetail>, ApiError> {
    let (project, dataset) = (principal.project_id, path.dataset());
    Ok(Json(
        match super::versions::VersionParams::from_query(query.as_deref())? {
            Some(at) => state.store.get_dataset_at(project, dataset, at).await?,
            None => state.store.get_dataset(project, dataset).await?,
        },
    ))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    JsonBody(update): JsonBody<DatasetUpdate>,
) -> Result<Json<DatasetDetail>, ApiError> {
    match &update.name {
        Patch::Set(name) => check_name(name)?,
        Patch::Clear => {
            return Err(ApiError::invalid(
                vec!["body".into(), "name".into()],
                "a dataset's name cannot be null",
                "invalid_name",
            ));
        }
        Patch::Keep => {}
    }
    check_schemas_apart([
        update.input_schema.as_set().cloned(),
        update.output_schema.as_set().cloned(),
        update.metadata_schema.as_set().cloned(),
    ])
    .await?;
    let updated = state
        .store
        .update_dataset(
            principal.project_id,
            principal.key_id,
            path.dataset(),
            update,
        )
        .await?;
    Ok(Json(updated))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_dataset(principal.project_id, path.dataset())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
