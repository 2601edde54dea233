//! The UI's pages. maud escapes every interpolated value, so names, tags,
//! inputs and schemas a user stored render as text.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use uuid::Uuid;

use super::{SESSION_COOKIE, SIGN_IN_COOKIE, UiSession, cookie, random_token, set_cookie};
use crate::extract::query_pairs;
use crate::routes::cursor::{Cursor, decode_cursor, encode_cursor, filter_hash};
use crate::state::AppState;
use crate::store::{CaseFilter, CaseRecord, StoreError};

/// Cases on one page of a dataset.
const CASES_PER_PAGE: usize = 50;

pub(super) fn layout(title: &str, session: Option<&UiSession>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · datasets" }
                link rel="stylesheet" href={ "/ui/assets/" (super::style_name()) };
            }
            body {
                header.top {
                    a.brand href="/ui/" { "datasets" }
                    @if let Some(session) = session {
                        nav aria-label="Main" {
                            a href="/ui/" { "Datasets" }
                        }
                        span.who {
                            (session.key.project_name)
                            @if !session.can_write() { " (read-only)" }
                        }
                        form.inline method="post" action="/ui/sign-out" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub(super) fn page(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A page saying what went wrong.
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        layout(
            "Error",
            None,
            html! {
                h1 { (status.canonical_reason().unwrap_or("Error")) }
                p { (message) }
                p { a href="/ui/" { "Back to the datasets" } }
            },
        ),
    )
}

/// The answer to a form posted without its CSRF token: nothing changed.
pub(super) fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form was not sent from this site's page (its security token is missing or \
         stale); nothing was changed. Reload the page and try again.",
    )
}

pub(super) fn store_error(err: StoreError) -> Response {
    match err {
        StoreError::DatasetNotFound => error_page(StatusCode::NOT_FOUND, "No such dataset."),
        StoreError::CaseNotFound => error_page(StatusCode::NOT_FOUND, "No such case."),
        other => error_page(StatusCode::SERVICE_UNAVAILABLE, &other.to_string()),
    }
}

/// The sign-in form, with `token` in it (and in its cookie).
pub(super) fn sign_in_page(status: StatusCode, error: Option<&str>, token: &str) -> Response {
    let markup = layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            p { "Sign in with an API key of your project. The key is not kept in your browser: \
                 a session is, for 12 hours or until you sign out." }
            form method="post" action="/ui/sign-in" {
                input type="hidden" name="csrf" value=(token);
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="off" required
                    aria-describedby=[error.map(|_| "key-error")];
                @if let Some(error) = error {
                    p #key-error .error role="alert" { (error) }
                }
                button type="submit" { "Sign in" }
            }
        },
    );
    let mut response = page(status, markup);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, token, 60 * 60),
    );
    response
}

pub(super) async fn sign_in_form(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state.store.find_session(&crate::keys::hash_key(&id)).await
    {
        return Redirect::to("/ui/").into_response();
    }
    sign_in_page(StatusCode::OK, None, &random_token())
}

pub(super) fn when(at: datasets_core::wire::Timestamp) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

pub(super) async fn datasets(State(state): State<AppState>, session: UiSession) -> Response {
    let datasets = match state
        .store
        .list_datasets(session.key.project_id, None)
        .await
    {
        Ok(datasets) => datasets,
        Err(err) => return store_error(err),
    };
    let body = html! {
        h1 { "Datasets" }
        @if session.can_write() { p { a.button href="/ui/datasets/new" { "New dataset" } } }
        @if datasets.is_empty() {
            p { "No datasets yet." }
        } @else {
            div.scroll {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Description" }
                        th scope="col" { "Cases" } th scope="col" { "Version" } th.wide scope="col" { "Updated" } } }
                    tbody {
                        @for dataset in &datasets {
                            tr {
                                td { a href={ "/ui/datasets/" (dataset.id) "/" } { (dataset.name) } }
                                td { (dataset.description.as_deref().unwrap_or("")) }
                                td.num { (dataset.case_count) }
                                td.num { (dataset.version.unwrap_or(1)) }
                                td.wide { (when(dataset.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(StatusCode::OK, layout("Datasets", Some(&session), body))
}

pub(super) fn pretty(text: Option<&str>) -> String {
    match text {
        None => "—".to_owned(),
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|value| serde_json::to_string_pretty(&value).ok())
            .unwrap_or_else(|| text.to_owned()),
    }
}

pub(super) async fn dataset(
    State(state): State<AppState>,
    session: UiSession,
    Path(reference): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let project = session.key.project_id;
    let detail = match state.store.get_dataset(project, &reference).await {
        Ok(detail) => detail,
        Err(err) => return store_error(err),
    };
    let (mut tags, mut cursor_text, mut name, mut after_name) = (Vec::new(), None, None, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "tag" if !value.is_empty() => tags.push(value),
            "cursor" => cursor_text = Some(value),
            "name" if !value.is_empty() => name = Some(value),
            "after" => after_name = Some(value),
            _ => {}
        }
    }
    let (cases, next, paged) = match &name {
        // A name prefix: the name index, in name order.
        Some(prefix) => {
            let found = state
                .store
                .search_cases(
                    project,
                    &detail.id.to_string(),
                    prefix,
                    after_name.clone(),
                    CASES_PER_PAGE,
                )
                .await;
            let (_, cases, more) = match found {
                Ok(found) => found,
                Err(err) => return store_error(err),
            };
            let next = more
                .then(|| cases.last().and_then(|c| c.name.clone()))
                .flatten()
                .map(|last| {
                    let mut query = form_urlencoded::Serializer::new(String::new());
                    query.append_pair("name", prefix);
                    query.append_pair("after", &last);
                    format!("?{}", query.finish())
                });
            (cases, next, after_name.is_some())
        }
        None => {
            let filter = filter_hash(&tags);
            let after = cursor_text
                .as_deref()
                .and_then(decode_cursor)
                .filter(|c| c.dataset == detail.id && c.filter == filter && c.version == 0)
                .map(|c| c.position);
            let page_of = state
                .store
                .page_cases(
                    project,
                    &detail.id.to_string(),
                    CaseFilter {
                        tags: tags.clone(),
                        version: None,
                    },
                    after,
                    CASES_PER_PAGE,
                )
                .await;
            let page = match page_of {
                Ok(page) => page,
                Err(err) => return store_error(err),
            };
            let next = page.next.map(|position| {
                let cursor = encode_cursor(Cursor {
                    position,
                    dataset: detail.id,
                    filter,
                    version: 0,
                });
                let mut query = form_urlencoded::Serializer::new(String::new());
                for tag in &tags {
                    query.append_pair("tag", tag);
                }
                query.append_pair("cursor", &cursor);
                format!("?{}", query.finish())
            });
            (page.cases, next, after.is_some())
        }
    };
    let base = format!("/ui/datasets/{}/", detail.id);
    let body = html! {
        h1 { (detail.name) }
        @if let Some(description) = &detail.description { p { (description) } }
        p.actions {
            a href={ (base) "versions/" } { "Versions" } " · "
            a href={ (base) "experiments/" } { "Experiments" }
            @if session.can_write() { " · " a href={ (base) "edit" } { "Edit the dataset" } }
        }
        dl.facts {
            dt { "Cases" } dd { (detail.case_count) }
            dt { "Version" } dd { (detail.version.unwrap_or(1)) }
            dt { "Updated" } dd { (when(detail.updated_at)) }
        }
        @if let Some(guidance) = &detail.guidance {
            h2 { "Guidance" }
            p.guidance { (guidance) }
        }
        details {
            summary { "Schemas" }
            h3 { "Input" } pre { (pretty(detail.input_schema.as_ref().map(|s| s.to_string()).as_deref())) }
            h3 { "Expected output" } pre { (pretty(detail.output_schema.as_ref().map(|s| s.to_string()).as_deref())) }
            h3 { "Metadata" } pre { (pretty(detail.metadata_schema.as_ref().map(|s| s.to_string()).as_deref())) }
        }
        h2 #cases { "Cases" }
        @if session.can_write() { p { a.button href={ (base) "cases/new" } { "Add a case" } } }
        form.filter method="get" action=(base) {
            label for="tag" { "Tag" }
            input #tag type="text" name="tag" value=(tags.first().map(String::as_str).unwrap_or(""));
            label for="name" { "Name starts with" }
            input #name type="search" name="name" value=(name.as_deref().unwrap_or(""));
            button type="submit" { "Filter" }
            @if !tags.is_empty() || name.is_some() { a href=(base) { "Clear" } }
        }
        @if name.is_some() && !tags.is_empty() {
            p.muted { "A name search shows every tag; the tag filter applies without one." }
        }
        @if cases.is_empty() {
            p { "No cases" @if !tags.is_empty() || name.is_some() { " match" } "." }
        } @else {
            div.scroll {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Inputs" }
                        th scope="col" { "Tags" } th.wide scope="col" { "Updated" } } }
                    tbody {
                        @for case in &cases { (case_row(&base, case)) }
                    }
                }
            }
        }
        nav.pages aria-label="Pages" {
            @if paged { a href={ (base) "#cases" } { "First page" } }
            @if let Some(next) = &next { a rel="next" href={ (base) (next) "#cases" } { "Next page" } }
        }
    };
    page(StatusCode::OK, layout(&detail.name, Some(&session), body))
}

/// The way back to a dataset, above its sub-pages.
pub(super) fn crumbs(detail: &datasets_core::wire::DatasetDetail) -> Markup {
    html! { p.crumbs { a href={ "/ui/datasets/" (detail.id) "/" } { (detail.name) } " ›" } }
}

fn case_row(base: &str, case: &CaseRecord) -> Markup {
    html! {
        tr {
            td { a href={ (base) "cases/" (case.id) "/" } { (case.name.as_deref().unwrap_or("(unnamed)")) } }
            td { (super::values::cell(&case.inputs)) }
            td { @for tag in &case.tags { span.tag { (tag) } " " } }
            td.wide { (when(case.updated_at)) }
        }
    }
}

pub(super) async fn case(
    State(state): State<AppState>,
    session: UiSession,
    Path((reference, case)): Path<(String, String)>,
) -> Response {
    let project = session.key.project_id;
    let Ok(case_id) = Uuid::try_parse(&case) else {
        return store_error(StoreError::CaseNotFound);
    };
    let detail = match state.store.get_dataset(project, &reference).await {
        Ok(detail) => detail,
        Err(err) => return store_error(err),
    };
    let case = match state
        .store
        .get_case(project, &detail.id.to_string(), case_id, None)
        .await
    {
        Ok(case) => case,
        Err(err) => return store_error(err),
    };
    let title = case
        .name
        .clone()
        .unwrap_or_else(|| "(unnamed case)".to_owned());
    let body = html! {
        (crumbs(&detail))
        h1 { (title) }
        @if session.can_write() {
            p.actions {
                a.button href={ "/ui/datasets/" (detail.id) "/cases/" (case.id) "/edit" } { "Edit" }
                " "
                a href={ "/ui/datasets/" (detail.id) "/cases/" (case.id) "/delete" } { "Delete…" }
            }
        }
        dl.facts {
            dt { "Tags" } dd { @for tag in &case.tags { span.tag { (tag) } " " } }
            dt { "Version" } dd { (case.version) }
            dt { "Updated" } dd { (when(case.updated_at)) }
        }
        h2 { "Inputs" } (super::values::stored(Some(&case.inputs)))
        h2 { "Expected output" } (super::values::stored(case.expected_output.as_deref()))
        h2 { "Metadata" } (super::values::stored(case.metadata.as_deref()))
        @if case.source_trace_id.is_some() || case.source_span_id.is_some() {
            h2 { "Source" }
            dl.facts {
                dt { "Trace" } dd { code { (case.source_trace_id.as_deref().unwrap_or("—")) } }
                dt { "Span" } dd { code { (case.source_span_id.as_deref().unwrap_or("—")) } }
            }
        }
        details {
            summary { "As stored (JSON)" }
            h3 { "Inputs" } pre { (pretty(Some(&case.inputs))) }
            h3 { "Expected output" } pre { (pretty(case.expected_output.as_deref())) }
            h3 { "Metadata" } pre { (pretty(case.metadata.as_deref())) }
        }
    };
    page(StatusCode::OK, layout(&title, Some(&session), body))
}
