//! `/v1/datasets/` and `/v1/datasets/{dataset}/`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use datasets_core::Patch;
use datasets_core::wire::{DatasetDetail, DatasetSummary, DatasetUpdate, NewDataset};

use super::route_both;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
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

async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<DatasetSummary>>, ApiError> {
    Ok(Json(state.store.list_datasets(principal.project_id).await?))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(new): JsonBody<NewDataset>,
) -> Result<(StatusCode, Json<DatasetDetail>), ApiError> {
    check_name(&new.name)?;
    check_schemas([
        (SchemaKind::Input, new.input_schema.as_ref()),
        (SchemaKind::Output, new.output_schema.as_ref()),
        (SchemaKind::Metadata, new.metadata_schema.as_ref()),
    ])
    .map_err(ApiError::Invalid)?;
    let created = state
        .store
        .create_dataset(principal.project_id, principal.key_id, new)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
) -> Result<Json<DatasetDetail>, ApiError> {
    Ok(Json(
        state
            .store
            .get_dataset(principal.project_id, &dataset)
            .await?,
    ))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
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
    check_schemas([
        (SchemaKind::Input, update.input_schema.as_set()),
        (SchemaKind::Output, update.output_schema.as_set()),
        (SchemaKind::Metadata, update.metadata_schema.as_set()),
    ])
    .map_err(ApiError::Invalid)?;
    let updated = state
        .store
        .update_dataset(principal.project_id, principal.key_id, &dataset, update)
        .await?;
    Ok(Json(updated))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(dataset): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_dataset(principal.project_id, &dataset)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
