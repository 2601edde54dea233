//! Cases: `/v1/datasets/{dataset}/cases/...`, `/import/` and `/export/`.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use datasets_core::wire::{CaseUpdate, EvaluatorSpec, LocSegment, OnConflict};
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::cursor::{Cursor, NEXT_CURSOR, cursor_issue, decode_cursor, encode_cursor, filter_hash};
use super::versions::{VersionParams, with_dataset_version};
use super::{IDEMPOTENT_REPLAYED, route_both};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{
    IdempotentBody, IfMatch, JsonBody, Segments, parse_json, query_pairs, run_apart,
};
use crate::state::AppState;
use crate::store::{
    CaseFilter, CaseRecord, CaseSelector, CaseStream, IncomingCase, IncomingCases, InsertMode,
    StoreError, VersionRef, Written,
};
use crate::validation;

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
        "/v1/datasets/{dataset}/cases/delete/",
        post(delete_many),
    );
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

/// A new case as a body holds it: values left as JSON text in the body.
#[derive(Deserialize)]
struct RawCase<'a> {
    #[serde(borrow)]
    inputs: &'a RawValue,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, borrow)]
    expected_output: Option<&'a RawValue>,
    #[serde(default, borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(default)]
    evaluators: Option<Vec<EvaluatorSpec>>,
    #[serde(default)]
    source_trace_id: Option<String>,
    #[serde(default)]
    source_span_id: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawCases<'a> {
    #[serde(borrow)]
    cases: Vec<RawCase<'a>>,
}

/// Reads one case (`listed` false) or a `{"cases": [...]}` list from a
/// body, its values left in place, and checks names, tags and ids (422,
/// located `["body", ...]` or `["body", "cases", i, ...]`).
pub(crate) fn incoming(body: Bytes, listed: bool) -> Result<IncomingCases, ApiError> {
    let raw: Vec<RawCase<'_>> = if listed {
        parse_json::<RawCases<'_>>(&body)?.cases
    } else {
        vec![parse_json::<RawCase<'_>>(&body)?]
    };
    let base = body.as_ptr() as usize;
    let range = |value: &RawValue| {
        let start = value.get().as_ptr() as usize - base;
        start..start + value.get().len()
    };
    // `null` expected output and metadata mean "none".
    let present = |value: Option<&RawValue>| value.filter(|v| v.get() != "null").map(range);
    let cases: Vec<IncomingCase> = raw
        .into_iter()
        .map(|case| IncomingCase {
            inputs: range(case.inputs),
            expected_output: present(case.expected_output),
            metadata: present(case.metadata),
            name: case.name,
            evaluators: case.evaluators,
            source_trace_id: case.source_trace_id,
            source_span_id: case.source_span_id,
            tags: case.tags,
        })
        .collect();
    let mut issues = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let mut base = vec![LocSegment::from("body")];
        if listed {
            base.extend([LocSegment::from("cases"), index.into()]);
        }
        let labels = validation::CaseLabels {
            name: case.name.as_deref(),
            tags: case.tags.as_deref(),
            source_trace_id: case.source_trace_id.as_deref(),
            source_span_id: case.source_span_id.as_deref(),
        };
        validation::check_new_case(labels, &base, &mut issues);
    }
    if listed {
        validation::check_unique_names(
            cases.iter().map(|case| case.name.as_deref()),
            &["body".into(), "cases".into()],
            &mut issues,
        );
    }
    if !issues.is_empty() {
        return Err(ApiError::Invalid(validation::cap_issues(issues)));
    }
    Ok(IncomingCases {
        body,
        cases,
        abandoned: Arc::default(),
    })
}

/// [`incoming`], on the blocking pool when the body is large.
async fn incoming_apart(body: Bytes, listed: bool) -> Result<IncomingCases, ApiError> {
    run_apart(body.len(), move || incoming(body, listed)).await
}

/// Most cases in one page.
pub const MAX_PAGE_SIZE: usize = 10_000;
/// Cases in a page when `cursor` is given without `limit`.
const DEFAULT_PAGE_SIZE: usize = 1_000;

/// `GET .../cases/`: every case (having any of the `tags`), streamed; or,
/// with `limit` or `cursor`, one page and the next page's cursor in the
/// `Next-Cursor` header (an addition to the protocol).
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut tags = Vec::new();
    let (mut limit, mut cursor) = (None, None);
    let mut at = VersionParams::default();
    for (key, value) in query_pairs(query.as_deref()) {
        if at.take(&key, &value) {
            continue;
        }
        match key.as_str() {
            "tags" => tags.push(value),
            "limit" => {
                let parsed = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE_SIZE).contains(n));
                limit = Some(parsed.ok_or_else(|| {
                    ApiError::invalid(
                        vec!["query".into(), "limit".into()],
                        format!(
                            "limit must be a whole number from 1 to {MAX_PAGE_SIZE}, not {value:?}"
                        ),
                        "invalid_limit",
                    )
                })?);
            }
            "cursor" => {
                cursor = Some(decode_cursor(&value).ok_or_else(|| {
                    cursor_issue("not a cursor this server gave; start again without one")
                })?);
            }
            _ => {}
        }
    }
    let filter_hash = filter_hash(&tags);
    let mut version = at.resolve()?;
    // A cursor of a listing at a version goes on at that version.
    if let Some(cursor) = cursor.filter(|cursor| cursor.version > 0) {
        if matches!(version, Some(VersionRef::Number(n)) if n != cursor.version) {
            return Err(cursor_issue(
                "this cursor belongs to a listing at another version; pass the same version \
                 as the request that gave it, or start again without one",
            ));
        }
        version = Some(VersionRef::Number(cursor.version));
    }
    let filter = CaseFilter { tags, version };
    if limit.is_none() && cursor.is_none() {
        let (detail, cases) = crate::store::stream_in_pages(
            Arc::clone(&state.store),
            principal.project_id,
            path.dataset(),
            filter,
        )
        .await?;
        let response = stream_json(b"[".to_vec(), cases, write_case, b"]".to_vec());
        return Ok(with_dataset_version(response, detail.version));
    }
    let page = state
        .store
        .page_cases(
            principal.project_id,
            path.dataset(),
            filter,
            cursor.map(|cursor| cursor.position),
            limit.unwrap_or(DEFAULT_PAGE_SIZE),
        )
        .await?;
    if let Some(cursor) = cursor {
        if cursor.dataset != page.dataset_id {
            return Err(cursor_issue(
                "this cursor belongs to another dataset's listing; start again without one",
            ));
        }
        if cursor.filter != filter_hash {
            return Err(cursor_issue(
                "this cursor belongs to a listing with other tags; pass the same tags as \
                 the request that gave it, or start again without one",
            ));
        }
    }
    let mut body = Vec::with_capacity(page.cases.len() * 512 + 2);
    body.push(b'[');
    for (i, case) in page.cases.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        case.write_json(&mut body);
    }
    body.push(b']');
    let mut response = json_response(StatusCode::OK, body);
    if let Some(next) = page.next
        && let Ok(value) = HeaderValue::from_str(&encode_cursor(Cursor {
            position: next,
            dataset: page.dataset_id,
            filter: filter_hash,
            version: page.version.unwrap_or(0),
        }))
    {
        response.headers_mut().insert(NEXT_CURSOR, value);
    }
    Ok(with_dataset_version(response, page.version))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    IdempotentBody { bytes, idempotency }: IdempotentBody,
) -> Result<Response, ApiError> {
    let cases = incoming_apart(bytes, false).await?;
    // Dropped with this handler when the client goes: the checks stop.
    let _abandon = cases.abandon_on_drop();
    let created = state
        .store
        .insert_cases(
            principal.project_id,
            principal.key_id,
            path.dataset(),
            cases,
            InsertMode::Create,
            idempotency,
        )
        .await
        .map_err(|err| match err {
            // This body is one case, not a list.
            StoreError::Invalid(issues) => ApiError::store_invalid(issues, false),
            other => ApiError::from(other),
        })?;
    // The store answers with the list it wrote; this route answers its one case.
    let replayed = created.is_replay();
    let case = created
        .into_inner()
        .pop()
        .ok_or_else(|| ApiError::Internal("the write answered no case".into()))?;
    let mut response = with_etag(&case, json_response(StatusCode::CREATED, case.to_json()));
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A JSON body already written.
fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `ETag: "<version>"`, for `If-Match` on the next write.
fn with_etag(case: &CaseRecord, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", case.version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    IdempotentBody { bytes, idempotency }: IdempotentBody,
) -> Result<Response, ApiError> {
    let cases = incoming_apart(bytes, true).await?;
    // Dropped with this handler when the client goes: the checks stop.
    let _abandon = cases.abandon_on_drop();
    let created = state
        .store
        .insert_cases(
            principal.project_id,
            principal.key_id,
            path.dataset(),
            cases,
            InsertMode::Create,
            idempotency,
        )
        .await?;
    Ok(written_cases(StatusCode::CREATED, created))
}

async fn import(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    RawQuery(query): RawQuery,
    IdempotentBody { bytes, idempotency }: IdempotentBody,
) -> Result<Response, ApiError> {
    let mut on_conflict = OnConflict::default();
    for (key, value) in query_pairs(query.as_deref()) {
        if key == "on_conflict" {
            on_conflict = value.parse().map_err(|msg: String| {
                ApiError::invalid(vec!["query".into(), "on_conflict".into()], msg, "enum")
            })?;
        }
    }
    let cases = incoming_apart(bytes, true).await?;
    // Dropped with this handler when the client goes: the checks stop.
    let _abandon = cases.abandon_on_drop();
    let cases = state
        .store
        .insert_cases(
            principal.project_id,
            principal.key_id,
            path.dataset(),
            cases,
            InsertMode::Import(on_conflict),
            idempotency,
        )
        .await?;
    Ok(written_cases(StatusCode::OK, cases))
}

/// The body of a bulk deletion: exactly one of `ids` and `tags`, non-empty.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteCases {
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// Most ids or tags in one bulk deletion.
pub(crate) const MAX_DELETE_SELECTORS: usize = 100_000;

/// `POST .../cases/delete/` (an addition to the protocol): deletes the
/// cases with any of `ids`, or having any of `tags`, in one transaction;
/// answers `{"deleted": n}`. Ids that name no case are ignored.
async fn delete_many(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    IdempotentBody { bytes, idempotency }: IdempotentBody,
) -> Result<Response, ApiError> {
    let body: DeleteCases = crate::extract::parse_json_apart(bytes).await?;
    let one_of = |msg: &str| ApiError::invalid(vec!["body".into()], msg, "invalid_selector");
    let selector = match (body.ids, body.tags) {
        (Some(_), Some(_)) => return Err(one_of("give `ids` or `tags`, not both")),
        (None, None) => {
            return Err(one_of(
                "give `ids` (case ids) or `tags` (cases having any of them)",
            ));
        }
        (Some(ids), None) | (None, Some(ids)) if ids.is_empty() => {
            return Err(one_of("the list is empty: name at least one id or tag"));
        }
        (Some(ids), None) => {
            let mut parsed = Vec::with_capacity(ids.len());
            let mut issues = Vec::new();
            for (index, id) in ids.iter().enumerate() {
                match Uuid::try_parse(id) {
                    Ok(id) => parsed.push(id),
                    Err(_) => issues.push(datasets_core::wire::ValidationIssue::new(
                        vec!["body".into(), "ids".into(), index.into()],
                        format!("{id:?} is not a case id (a UUID)"),
                        "uuid_parsing",
                    )),
                }
            }
            if !issues.is_empty() {
                return Err(ApiError::Invalid(validation::cap_issues(issues)));
            }
            CaseSelector::Ids(parsed)
        }
        (None, Some(tags)) => {
            let mut issues = Vec::new();
            validation::check_tag_filter(&tags, &mut issues);
            if !issues.is_empty() {
                return Err(ApiError::Invalid(validation::cap_issues(issues)));
            }
            CaseSelector::Tags(tags)
        }
    };
    let count = match &selector {
        CaseSelector::Ids(ids) => ids.len(),
        CaseSelector::Tags(tags) => tags.len(),
    };
    if count > MAX_DELETE_SELECTORS {
        return Err(one_of(&format!(
            "{count} ids or tags; one request deletes by at most {MAX_DELETE_SELECTORS}"
        )));
    }
    let deleted = state
        .store
        .delete_cases(
            principal.project_id,
            principal.key_id,
            path.dataset(),
            selector,
            idempotency,
        )
        .await?;
    let replayed = deleted.is_replay();
    let mut response = json_response(
        StatusCode::OK,
        serde_json::to_vec(&serde_json::json!({"deleted": deleted.into_inner()}))
            .map_err(internal)?,
    );
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let at = VersionParams::from_query(query.as_deref())?;
    let case = case_id(&state, &principal, path.dataset(), path.case()).await?;
    let case = state
        .store
        .get_case(principal.project_id, path.dataset(), case, at)
        .await?;
    Ok(with_etag(
        &case,
        json_response(StatusCode::OK, case.to_json()),
    ))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    IfMatch(expected_version): IfMatch,
    JsonBody(update): JsonBody<CaseUpdate>,
) -> Result<Response, ApiError> {
    let mut issues = Vec::new();
    validation::check_case_update(&update, &mut issues);
    if !issues.is_empty() {
        return Err(ApiError::Invalid(issues));
    }
    let case = case_id(&state, &principal, path.dataset(), path.case()).await?;
    let case = state
        .store
        .update_case(
            principal.project_id,
            principal.key_id,
            path.dataset(),
            case,
            update,
            expected_version,
        )
        .await?;
    Ok(with_etag(
        &case,
        json_response(StatusCode::OK, case.to_json()),
    ))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    IfMatch(expected_version): IfMatch,
) -> Result<StatusCode, ApiError> {
    let case = case_id(&state, &principal, path.dataset(), path.case()).await?;
    state
        .store
        .delete_case(
            principal.project_id,
            principal.key_id,
            path.dataset(),
            case,
            expected_version,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET .../export/`: the dataset as a pydantic-evals file, at the head or
/// (with `version` or `as_of`) at a past version; the version it holds is
/// in the `Dataset-Version` header, as the body keeps pydantic-evals' shape.
async fn export(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let filter = CaseFilter {
        tags: Vec::new(),
        version: VersionParams::from_query(query.as_deref())?,
    };
    let (detail, cases) = crate::store::stream_in_pages(
        Arc::clone(&state.store),
        principal.project_id,
        path.dataset(),
        filter,
    )
    .await?;
    let version = detail.version;
    let mut head = b"{\"name\":".to_vec();
    serde_json::to_writer(&mut head, &detail.name).map_err(internal)?;
    head.extend_from_slice(b",\"cases\":[");
    let mut tail = b"],\"evaluators\":".to_vec();
    serde_json::to_writer(&mut tail, &detail.evaluators.unwrap_or_default()).map_err(internal)?;
    tail.extend_from_slice(b",\"report_evaluators\":");
    serde_json::to_writer(&mut tail, &detail.report_evaluators.unwrap_or_default())
        .map_err(internal)?;
    tail.push(b'}');
    let response = stream_json(head, cases, write_exported_case, tail);
    Ok(with_dataset_version(response, version))
}

/// Cases just written (or replayed), as a JSON list streamed a batch at a
/// time, so the answer to a large write is never one string in memory.
fn written_cases(status: StatusCode, written: Written<Vec<CaseRecord>>) -> Response {
    const BATCH: usize = 512;
    let replayed = written.is_replay();
    let mut cases = written.into_inner().into_iter();
    let (mut opened, mut written_any, mut done) = (false, false, false);
    let chunks = std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut out = Vec::with_capacity(BATCH * 512);
        if !std::mem::replace(&mut opened, true) {
            out.push(b'[');
        }
        for case in cases.by_ref().take(BATCH) {
            if std::mem::replace(&mut written_any, true) {
                out.push(b',');
            }
            case.write_json(&mut out);
        }
        if cases.len() == 0 {
            out.push(b']');
            done = true;
        }
        Some(Ok::<_, std::io::Error>(Bytes::from(out)))
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response();
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(err.to_string())
}

fn write_case(case: &CaseRecord, out: &mut Vec<u8>) {
    case.write_json(out);
}

fn write_exported_case(case: &CaseRecord, out: &mut Vec<u8>) {
    case.write_export_json(out);
}

/// Streams `head`, the cases as comma-separated JSON, then `tail`, without
/// holding the whole answer in memory. A storage error mid-stream aborts the
/// connection, so a client never mistakes a truncated list for a whole one.
fn stream_json(
    head: Vec<u8>,
    cases: CaseStream,
    write: fn(&CaseRecord, &mut Vec<u8>),
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
        match futures_util::StreamExt::next(&mut state.cases).await {
            Some(Ok(batch)) => {
                let mut out = Vec::with_capacity(batch.len() * 256);
                for case in &batch {
                    if !std::mem::take(&mut state.first) {
                        out.push(b',');
                    }
                    write(case, &mut out);
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
