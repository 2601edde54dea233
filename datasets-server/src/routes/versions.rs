//! Dataset versions (an addition to the protocol): `.../versions/`,
//! `.../versions/{version}/`, their tags, `.../diff/`, and the `version` and
//! `as_of` parameters of the reads that take them.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use datasets_core::wire::{CaseDiff, DatasetVersion, VersionTag};
use time::format_description::well_known::Rfc3339;

use super::cursor::{
    Cursor, NEXT_CURSOR, cursor_issue, decode_cursor, encode_cursor, listing_hash,
};
use super::route_both;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{JsonBody, Segments, query_pairs};
use crate::state::AppState;
use crate::store::{CasePosition, StoreError, VersionRef, check_version_tag};

/// The header naming the dataset version an answer holds.
pub(crate) const DATASET_VERSION: HeaderName = HeaderName::from_static("dataset-version");

/// Versions in a page when `cursor` is given without `limit`, and most in one page.
const DEFAULT_VERSIONS: usize = 100;
const MAX_VERSIONS: usize = 1_000;
/// Changed cases in a page of a diff when `cursor` is given without
/// `limit`, most in one page, and per round of a streamed diff.
const DEFAULT_DIFF: usize = 1_000;
const MAX_DIFF: usize = 10_000;

pub(crate) fn router() -> Router<AppState> {
    let router = Router::new();
    let router = route_both(router, "/v1/datasets/{dataset}/versions/", get(list));
    let router = route_both(
        router,
        "/v1/datasets/{dataset}/versions/{version}/",
        get(show),
    );
    let router = route_both(
        router,
        "/v1/datasets/{dataset}/versions/{version}/tags/",
        post(tag),
    );
    let router = route_both(
        router,
        "/v1/datasets/{dataset}/versions/{version}/tags/{tag}/",
        delete(untag),
    );
    route_both(router, "/v1/datasets/{dataset}/diff/", get(diff))
}

/// The `version` and `as_of` parameters of a read.
#[derive(Debug, Default)]
pub(crate) struct VersionParams {
    version: Option<String>,
    as_of: Option<String>,
}

impl VersionParams {
    /// Keeps `key` if it is one of them; answers whether it was.
    pub(crate) fn take(&mut self, key: &str, value: &str) -> bool {
        match key {
            "version" => self.version = Some(value.to_owned()),
            "as_of" => self.as_of = Some(value.to_owned()),
            _ => return false,
        }
        true
    }

    /// The version they name, if any: `version` (a number or a tag) or
    /// `as_of` (an RFC 3339 time), not both.
    pub(crate) fn resolve(self) -> Result<Option<VersionRef>, ApiError> {
        match (self.version, self.as_of) {
            (Some(_), Some(_)) => Err(ApiError::invalid(
                vec!["query".into(), "as_of".into()],
                "give `version` or `as_of`, not both",
                "version_and_as_of",
            )),
            (Some(version), None) => {
                if version.is_empty() {
                    return Err(ApiError::invalid(
                        vec!["query".into(), "version".into()],
                        "`version` is empty: give a version number or a version tag",
                        "invalid_version",
                    ));
                }
                Ok(Some(VersionRef::parse(&version)))
            }
            (None, Some(as_of)) => time::OffsetDateTime::parse(&as_of, &Rfc3339)
                .map(|at| Some(VersionRef::AsOf(at)))
                .map_err(|err| {
                    ApiError::invalid(
                        vec!["query".into(), "as_of".into()],
                        format!("{as_of:?} is not an RFC 3339 time ({err})"),
                        "datetime_parsing",
                    )
                }),
            (None, None) => Ok(None),
        }
    }

    /// The version a query string names, if any.
    pub(crate) fn from_query(query: Option<&str>) -> Result<Option<VersionRef>, ApiError> {
        let mut params = Self::default();
        for (key, value) in query_pairs(query) {
            params.take(&key, &value);
        }
        params.resolve()
    }
}

/// `response` with the `Dataset-Version` header, when the version is known.
pub(crate) fn with_dataset_version(mut response: Response, version: Option<u64>) -> Response {
    if let Some(version) = version {
        response
            .headers_mut()
            .insert(DATASET_VERSION, HeaderValue::from(version));
    }
    response
}

/// The `{version}` segment: a number or a tag.
fn path_version(path: &Segments) -> VersionRef {
    VersionRef::parse(path.get("version"))
}

pub(crate) fn limit_param(value: &str, max: usize) -> Result<usize, ApiError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            ApiError::invalid(
                vec!["query".into(), "limit".into()],
                format!("limit must be a whole number from 1 to {max}, not {value:?}"),
                "invalid_limit",
            )
        })
}

pub(crate) fn json_response<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => ApiError::Internal(err.to_string()).into_response(),
    }
}

pub(crate) fn with_next(mut response: Response, cursor: Option<Cursor>) -> Response {
    if let Some(cursor) = cursor
        && let Ok(value) = HeaderValue::from_str(&encode_cursor(cursor))
    {
        response.headers_mut().insert(NEXT_CURSOR, value);
    }
    response
}

/// `GET .../versions/`: newest first, paged with `limit` and `cursor`.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (mut limit, mut cursor) = (DEFAULT_VERSIONS, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "limit" => limit = limit_param(&value, MAX_VERSIONS)?,
            "cursor" => {
                cursor = Some(
                    decode_cursor(&value)
                        .filter(|c| c.filter == listing_hash("versions"))
                        .ok_or_else(|| {
                            cursor_issue("not a cursor of this listing; start again without one")
                        })?,
                );
            }
            _ => {}
        }
    }
    let before = cursor.map(|c| c.position.0.max(0) as u64);
    let page = state
        .store
        .list_versions(principal.project_id, path.dataset(), before, limit)
        .await?;
    if cursor.is_some_and(|cursor| cursor.dataset != page.dataset_id) {
        return Err(cursor_issue(
            "this cursor belongs to another dataset's versions; start again without one",
        ));
    }
    let next = page.next.map(|before| Cursor {
        position: CasePosition(before as i64),
        dataset: page.dataset_id,
        filter: listing_hash("versions"),
        version: 0,
    });
    Ok(with_next(
        json_response(StatusCode::OK, &page.versions),
        next,
    ))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
) -> Result<axum::Json<DatasetVersion>, ApiError> {
    Ok(axum::Json(
        state
            .store
            .get_version(principal.project_id, path.dataset(), path_version(&path))
            .await?,
    ))
}

/// `POST .../versions/{version}/tags/` `{"tag": ...}`: names the version;
/// a tag on another version moves here. Answers the version.
async fn tag(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    JsonBody(body): JsonBody<VersionTag>,
) -> Result<axum::Json<DatasetVersion>, ApiError> {
    check_version_tag(&body.tag)
        .map_err(|msg| ApiError::invalid(vec!["body".into(), "tag".into()], msg, "invalid_tag"))?;
    Ok(axum::Json(
        state
            .store
            .tag_version(
                principal.project_id,
                path.dataset(),
                path_version(&path),
                body.tag,
            )
            .await?,
    ))
}

async fn untag(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .untag_version(
            principal.project_id,
            path.dataset(),
            path_version(&path),
            path.get("tag").to_owned(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET .../diff/?from=A&to=B`: the cases that differ between two versions
/// (numbers or tags), in case order; streamed whole, or paged with `limit`
/// and `cursor`.
async fn diff(
    State(state): State<AppState>,
    principal: Principal,
    path: Segments,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (mut from, mut to, mut limit, mut cursor) = (None, None, None, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "from" => from = Some(VersionRef::parse(&value)),
            "to" => to = Some(VersionRef::parse(&value)),
            "limit" => limit = Some(limit_param(&value, MAX_DIFF)?),
            "cursor" => {
                cursor = Some(decode_cursor(&value).ok_or_else(|| {
                    cursor_issue("not a cursor this server gave; start again without one")
                })?);
            }
            _ => {}
        }
    }
    let missing = |name: &str| {
        ApiError::invalid(
            vec!["query".into(), name.into()],
            format!("give `{name}`: a version number or tag"),
            "missing",
        )
    };
    let from = from.ok_or_else(|| missing("from"))?;
    let to = to.ok_or_else(|| missing("to"))?;
    let project = principal.project_id;
    let dataset = path.dataset().to_owned();
    if limit.is_none() && cursor.is_none() {
        // Streamed a round at a time: a diff of a million cases is never
        // one answer in memory.
        let first = state
            .store
            .diff_versions(
                project,
                &dataset,
                from.clone(),
                to.clone(),
                None,
                DEFAULT_DIFF,
            )
            .await;
        let first = match first {
            Err(StoreError::VersionNotFound) => {
                return Err(missing_version(&state, project, &dataset, &from, &to).await);
            }
            other => other?,
        };
        let (from, to) = (VersionRef::Number(first.from), VersionRef::Number(first.to));
        let store = state.store.clone();
        let stream = futures_util::stream::unfold(
            (Some(first), true, false),
            move |(page, first_chunk, any)| {
                let (store, dataset, from, to) =
                    (store.clone(), dataset.clone(), from.clone(), to.clone());
                async move {
                    let page = page?;
                    let mut out = Vec::with_capacity(page.items.len() * 96 + 2);
                    if first_chunk {
                        out.push(b'[');
                    }
                    write_items(&page.items, any, &mut out);
                    let any = any || !page.items.is_empty();
                    let Some(next) = page.next else {
                        out.push(b']');
                        return Some((Ok(Bytes::from(out)), (None, false, any)));
                    };
                    match store
                        .diff_versions(project, &dataset, from, to, Some(next), DEFAULT_DIFF)
                        .await
                    {
                        Ok(next) => Some((Ok(Bytes::from(out)), (Some(next), false, any))),
                        Err(err) => {
                            // Aborts the answer: a client never mistakes a
                            // cut diff for a whole one.
                            tracing::error!(error = %err, "diff stream failed");
                            Some((
                                Err(std::io::Error::other(err.to_string())),
                                (None, false, any),
                            ))
                        }
                    }
                }
            },
        );
        return Ok((
            [(header::CONTENT_TYPE, "application/json")],
            Body::from_stream(stream),
        )
            .into_response());
    }
    let page = state
        .store
        .diff_versions(
            project,
            &dataset,
            from.clone(),
            to.clone(),
            cursor.map(|c| c.position),
            limit.unwrap_or(DEFAULT_DIFF),
        )
        .await;
    let page = match page {
        Err(StoreError::VersionNotFound) => {
            return Err(missing_version(&state, project, &dataset, &from, &to).await);
        }
        other => other?,
    };
    let bound = listing_hash(&format!("diff:{}:{}", page.from, page.to));
    if let Some(cursor) = cursor
        && (cursor.dataset != page.dataset_id || cursor.filter != bound)
    {
        return Err(cursor_issue(
            "this cursor belongs to another diff; pass the same `from` and `to` as the \
             request that gave it, or start again without one",
        ));
    }
    let next = page.next.map(|position| Cursor {
        position,
        dataset: page.dataset_id,
        filter: bound,
        version: 0,
    });
    let mut body = vec![b'['];
    write_items(&page.items, false, &mut body);
    body.push(b']');
    let response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    Ok(with_next(response, next))
}

/// The 404 of a diff one of whose versions is missing, naming it (the
/// first, when both are): `Version 99 not found`.
async fn missing_version(
    state: &AppState,
    project: uuid::Uuid,
    dataset: &str,
    from: &VersionRef,
    to: &VersionRef,
) -> ApiError {
    let name = |at: &VersionRef| match at {
        VersionRef::Number(number) => number.to_string(),
        VersionRef::Tag(tag) => format!("tagged {tag:?}"),
        VersionRef::AsOf(at) => format!("as of {at}"),
    };
    for at in [from, to] {
        match state.store.get_version(project, dataset, at.clone()).await {
            Err(StoreError::VersionNotFound) => {
                return ApiError::VersionNamedNotFound(name(at));
            }
            Err(err) => return err.into(),
            Ok(_) => {}
        }
    }
    ApiError::VersionNotFound
}

/// Items of a JSON list, comma-separated (after earlier ones when `after`).
fn write_items(items: &[CaseDiff], after: bool, out: &mut Vec<u8>) {
    for (i, item) in items.iter().enumerate() {
        if after || i > 0 {
            out.push(b',');
        }
        if serde_json::to_writer(&mut *out, item).is_err() {
            out.extend_from_slice(b"null");
        }
    }
}
