//! `/v1/datasets/` and `/v1/datasets/{dataset}/`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use datasets_core::Patch;
use datasets_core::wire::{DatasetDetail, DatasetSummary, DatasetUpdate, NewDataset};
use serde_json::Value;

use super::cursor::{NEXT_CURSOR, cursor_issue, decode_name_cursor, encode_name_cursor};
use super::{route_both, written};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{IdempotentJson, JsonBody, Segments, query_pairs};
use crate::state::AppState;
use crate::store::DatasetPage;
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

/// Most datasets in one page.
pub(crate) const MAX_DATASET_PAGE_SIZE: usize = 1_000;
/// Datasets in a page when `cursor` is given without `limit`.
const DEFAULT_DATASET_PAGE_SIZE: usize = 100;

/// `GET /v1/datasets/`: every dataset, by name; or, with `limit` or
/// `cursor`, one page and the next page's cursor in the `Next-Cursor`
/// header, as case listings page (an addition to the protocol).
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (mut limit, mut after) = (None, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "limit" => {
                let parsed = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_DATASET_PAGE_SIZE).contains(n));
                limit = Some(parsed.ok_or_else(|| {
                    ApiError::invalid(
                        vec!["query".into(), "limit".into()],
                        format!(
                            "limit must be a whole number from 1 to {MAX_DATASET_PAGE_SIZE}, \
                             not {value:?}"
                        ),
                        "invalid_limit",
                    )
                })?);
            }
            "cursor" => {
                after = Some(decode_name_cursor(&value).ok_or_else(|| {
                    cursor_issue(
                        "not a cursor of this listing that this server gave; start again \
                         without one",
                    )
                })?);
            }
            _ => {}
        }
    }
    if limit.is_none() && after.is_none() {
        let all = state
            .store
            .list_datasets(principal.project_id, None)
            .await?;
        return Ok(Json(all).into_response());
    }
    let limit = limit.unwrap_or(DEFAULT_DATASET_PAGE_SIZE);
    // One more than the page: whether there is a next page at all.
    let mut page = state
        .store
        .list_datasets(
            principal.project_id,
            Some(DatasetPage {
                after,
                limit: limit + 1,
            }),
        )
        .await?;
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|last| encode_name_cursor(&last.name))
    });
    let mut response = Json::<Vec<DatasetSummary>>(page).into_response();
    if let Some(Some(cursor)) = next
        && let Ok(value) = HeaderValue::from_str(&cursor)
    {
        response.headers_mut().insert(NEXT_CURSOR, value);
    }
    Ok(response)
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
