//! The UI's history pages: a dataset's versions (tag one; diff two, each
//! changed case side by side) and its experiments (one run with its cases
//! and results; two runs compared, changes highlighted).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use datasets_core::eval::{CaseSide, ReportComparison};
use datasets_core::wire::{CaseChange, CaseDiff};
use maud::{Markup, html};
use serde_json::Value;
use uuid::Uuid;

use super::edit::dataset_of;
use super::forms::Posted;
use super::pages::{crumbs, error_page, forbidden, layout, page, store_error};
use super::values;
use super::{UiSession, token_matches};
use crate::extract::query_pairs;
use crate::state::AppState;
use crate::store::experiments::ExperimentFilter;
use crate::store::{CaseRecord, StoreError, VersionRef, check_version_tag};

/// Changed cases shown on one diff page.
const DIFF_PAGE: usize = 100;

pub(super) async fn versions(
    State(state): State<AppState>,
    session: UiSession,
    Path(reference): Path<String>,
) -> Response {
    let detail = match dataset_of(&state, &session, &reference).await {
        Ok(detail) => detail,
        Err(response) => return *response,
    };
    let listed = state
        .store
        .list_versions(session.key.project_id, &detail.id.to_string(), None, 200)
        .await;
    let versions = match listed {
        Ok(page) => page.versions,
        Err(err) => return store_error(err),
    };
    let base = format!("/ui/datasets/{}/", detail.id);
    let body = html! {
        (crumbs(&detail))
        h1 { "Versions of " (detail.name) }
        form.filter method="get" action={ (base) "diff" } {
            label for="from" { "Compare version" }
            input #from type="text" name="from" inputmode="numeric" size="6"
                value=(versions.get(1).map_or(1, |v| v.version));
            label for="to" { "with" }
            input #to type="text" name="to" inputmode="numeric" size="6"
                value=(versions.first().map_or(1, |v| v.version));
            button type="submit" { "Show the differences" }
        }
        div.scroll {
            table {
                thead { tr { th scope="col" { "Version" } th scope="col" { "Made" } th scope="col" { "By" }
                    th scope="col" { "Added" } th scope="col" { "Changed" } th scope="col" { "Removed" }
                    th scope="col" { "Cases" } th scope="col" { "Tags" } th scope="col" { span.visually-hidden { "Diff" } } } }
                tbody {
                    @for version in &versions {
                        tr {
                            td.num { (version.version) }
                            td { (super::pages::when(version.created_at)) }
                            td { (version.created_by_name.as_deref().unwrap_or("")) }
                            td.num { (version.added) }
                            td.num { (version.changed) }
                            td.num { (version.removed) }
                            td.num { (version.case_count) }
                            td { @for tag in &version.tags { span.tag { (tag) } " " } }
                            td { @if version.version > 1 {
                                a href={ (base) "diff?from=" (version.version - 1) "&to=" (version.version) } { "What changed" }
                            } }
                        }
                    }
                }
            }
        }
        @if session.can_write() {
            h2 { "Tag a version" }
            form method="post" action={ (base) "versions/tag" } {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="version" { "Version" }
                input #version type="text" name="version" inputmode="numeric"
                    value=(versions.first().map_or(1, |v| v.version));
                label for="tag" { "Tag" }
                input #tag type="text" name="tag" placeholder="release-2026-12";
                button type="submit" { "Tag it" }
            }
        }
    };
    page(
        StatusCode::OK,
        layout(
            &format!("Versions of {}", detail.name),
            Some(&session),
            body,
        ),
    )
}

pub(super) async fn tag(
    State(state): State<AppState>,
    session: UiSession,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    let posted = Posted::parse(&body);
    if !session.can_write() || !token_matches(posted.get("csrf"), &session.csrf) {
        return forbidden();
    }
    let detail = match dataset_of(&state, &session, &reference).await {
        Ok(detail) => detail,
        Err(response) => return *response,
    };
    let tag = posted.get("tag").trim().to_owned();
    if let Err(message) = check_version_tag(&tag) {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("That tag cannot be used: {message}"),
        );
    }
    let Ok(version) = posted.get("version").trim().parse::<u64>() else {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The version is a whole number.",
        );
    };
    match state
        .store
        .tag_version(
            session.key.project_id,
            &detail.id.to_string(),
            VersionRef::Number(version),
            tag,
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/ui/datasets/{}/versions/", detail.id)).into_response(),
        Err(StoreError::VersionNotFound) => error_page(StatusCode::NOT_FOUND, "No such version."),
        Err(err) => store_error(err),
    }
}

/// A case's parts as values, by the names the diff gives its fields.
fn parts(case: &CaseRecord) -> Vec<(&'static str, Option<Value>)> {
    let json = |text: Option<&str>| text.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let text = |text: Option<&str>| text.map(|t| Value::String(t.to_owned()));
    vec![
        ("name", text(case.name.as_deref())),
        ("inputs", json(Some(&case.inputs))),
        ("expected_output", json(case.expected_output.as_deref())),
        ("metadata", json(case.metadata.as_deref())),
        ("evaluators", json(case.evaluators.as_deref())),
        ("source_trace_id", text(case.source_trace_id.as_deref())),
        ("source_span_id", text(case.source_span_id.as_deref())),
        (
            "tags",
            Some(Value::Array(
                case.tags.iter().cloned().map(Value::String).collect(),
            )),
        ),
    ]
}

/// A case's title for a field name.
fn title(field: &str) -> &'static str {
    match field {
        "name" => "Name",
        "inputs" => "Inputs",
        "expected_output" => "Expected output",
        "metadata" => "Metadata",
        "evaluators" => "Evaluators",
        "source_trace_id" => "Source trace",
        "source_span_id" => "Source span",
        _ => "Tags",
    }
}

/// One case of a diff: each field that changed with both sides and the
/// change inside marked; an added or removed case whole, on its side.
fn case_change(
    item: &CaseDiff,
    before: Option<&CaseRecord>,
    after: Option<&CaseRecord>,
    from: u64,
    to: u64,
) -> Markup {
    let (a, b) = (before.map(parts), after.map(parts));
    let field = |side: &Option<Vec<(&'static str, Option<Value>)>>, name: &str| {
        side.as_ref()
            .and_then(|parts| parts.iter().find(|(n, _)| *n == name))
            .and_then(|(_, value)| value.clone())
    };
    let shown: Vec<&'static str> = match item.change {
        CaseChange::Changed => parts_names()
            .into_iter()
            .filter(|name| item.fields.iter().any(|f| f == name))
            .collect(),
        _ => parts_names()
            .into_iter()
            .filter(|name| field(&a, name).is_some() || field(&b, name).is_some())
            .collect(),
    };
    html! {
        div.sides.labels {
            div { h3 { "Before: version " (from) } }
            div { h3 { "After: version " (to) } }
        }
        @for name in shown {
            @let (left, right) = values::pair(field(&a, name).as_ref(), field(&b, name).as_ref());
            h4 { (title(name)) }
            div.sides {
                div aria-label={ (title(name)) " in version " (from) } {
                    @if before.is_none() { p.muted { "(not in this version)" } } @else { (left) }
                }
                div aria-label={ (title(name)) " in version " (to) } {
                    @if after.is_none() { p.muted { "(not in this version)" } } @else { (right) }
                }
            }
        }
    }
}

fn parts_names() -> [&'static str; 8] {
    [
        "name",
        "inputs",
        "expected_output",
        "metadata",
        "evaluators",
        "source_trace_id",
        "source_span_id",
        "tags",
    ]
}

pub(super) async fn diff(
    State(state): State<AppState>,
    session: UiSession,
    Path(reference): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let detail = match dataset_of(&state, &session, &reference).await {
        Ok(detail) => detail,
        Err(response) => return *response,
    };
    let (mut from, mut to) = (String::new(), String::new());
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "from" => from = value,
            "to" => to = value,
            _ => {}
        }
    }
    let reference_of = |text: &str| match text.trim().parse::<u64>() {
        Ok(number) => VersionRef::Number(number),
        Err(_) => VersionRef::Tag(text.trim().to_owned()),
    };
    let (project, dataset) = (session.key.project_id, detail.id.to_string());
    let diff = state
        .store
        .diff_versions(
            project,
            &dataset,
            reference_of(&from),
            reference_of(&to),
            None,
            DIFF_PAGE,
        )
        .await;
    let diff = match diff {
        Ok(diff) => diff,
        Err(StoreError::VersionNotFound) => {
            return error_page(StatusCode::NOT_FOUND, "No such version.");
        }
        Err(err) => return store_error(err),
    };
    let mut rows = Vec::new();
    for item in &diff.items {
        let at = |version: u64| {
            state.store.get_case(
                project,
                &dataset,
                item.case_id,
                Some(VersionRef::Number(version)),
            )
        };
        let before = match item.change {
            CaseChange::Added => None,
            _ => at(diff.from).await.ok(),
        };
        let after = match item.change {
            CaseChange::Removed => None,
            _ => at(diff.to).await.ok(),
        };
        rows.push((item, before, after));
    }
    let body = html! {
        (crumbs(&detail))
        h1 { "Version " (diff.from) " → " (diff.to) }
        @if rows.is_empty() { p { "No case differs." } }
        @for (item, before, after) in &rows {
            section.diff {
                h2 {
                    span class={ "change " (format!("{:?}", item.change).to_lowercase()) } { (format!("{:?}", item.change).to_lowercase()) }
                    " " (item.name.as_deref().unwrap_or("(unnamed)"))
                }
                @if !item.fields.is_empty() { p.muted { "Changed: " (item.fields.join(", ")) } }
                (case_change(item, before.as_ref(), after.as_ref(), diff.from, diff.to))
            }
        }
        @if diff.next.is_some() { p.muted { "The first " (DIFF_PAGE) " changed cases are shown." } }
    };
    page(
        StatusCode::OK,
        layout(
            &format!("{}: {} → {}", detail.name, diff.from, diff.to),
            Some(&session),
            body,
        ),
    )
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

pub(super) async fn experiments(
    State(state): State<AppState>,
    session: UiSession,
    Path(reference): Path<String>,
) -> Response {
    let detail = match dataset_of(&state, &session, &reference).await {
        Ok(detail) => detail,
        Err(response) => return *response,
    };
    let listed = state
        .store
        .list_experiments(
            session.key.project_id,
            ExperimentFilter::DatasetName(detail.name.clone()),
            None,
            200,
        )
        .await;
    let runs = match listed {
        Ok(page) => page.experiments,
        Err(err) => return store_error(err),
    };
    let body = html! {
        (crumbs(&detail))
        h1 { "Experiments on " (detail.name) }
        @if runs.is_empty() { p { "No run of this dataset was recorded yet." } } @else {
            form.filter method="get" action="/ui/experiments/compare" {
                label for="base" { "Compare" }
                select #base name="base" {
                    @for (i, run) in runs.iter().enumerate() {
                        option value=(run.id) selected[i == 1] { (run.name) " · " (super::pages::when(run.started_at)) }
                    }
                }
                label for="candidate" { "with" }
                select #candidate name="candidate" {
                    @for (i, run) in runs.iter().enumerate() {
                        option value=(run.id) selected[i == 0] { (run.name) " · " (super::pages::when(run.started_at)) }
                    }
                }
                button type="submit" { "Compare" }
            }
            div.scroll {
                table {
                    thead { tr { th scope="col" { "Run" } th scope="col" { "Started" } th scope="col" { "Version" }
                        th scope="col" { "Cases" } th scope="col" { "Assertions passed" } th scope="col" { "From" } } }
                    tbody {
                        @for run in &runs {
                            tr {
                                td { a href={ "/ui/experiments/" (run.id) "/" } { (run.name) } }
                                td { (super::pages::when(run.started_at)) }
                                td.num { (run.dataset_version.map_or_else(|| "—".to_owned(), |v| v.to_string())) }
                                td.num { (run.n_cases.unwrap_or(0)) }
                                td.num { (percent(run.assertion_pass_rate)) }
                                td { (format!("{:?}", run.source).to_lowercase()) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        StatusCode::OK,
        layout(
            &format!("Experiments on {}", detail.name),
            Some(&session),
            body,
        ),
    )
}

fn results(side: &CaseSide) -> Markup {
    html! {
        @for (name, value) in &side.scores { span.result { (name) ": " (format!("{value:.3}")) } " " }
        @for (name, value) in &side.labels { span.result { (name) ": " (value) } " " }
        @for (name, passed) in &side.assertions {
            span class={ "result " (if *passed { "pass" } else { "fail" }) } {
                (if *passed { "✔ " } else { "✗ " }) (name)
            }
            " "
        }
        @if let Some((kind, message)) = &side.failure { span.result.fail { (kind.to_string()) ": " (message) } }
    }
}

pub(super) async fn experiment(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::try_parse(&id) else {
        return error_page(StatusCode::NOT_FOUND, "No such experiment.");
    };
    let report =
        match crate::routes::experiments::load_report(&state, session.key.project_id, id).await {
            Ok(report) => report,
            Err(err) => return error_page(err.status(), &err.to_string()),
        };
    // The run compared with itself gives each case's side, in order.
    let sides = report.compare(&report);
    let body = html! {
        h1 { "Run " (report.name) }
        dl.facts {
            dt { "Dataset" } dd { (report.dataset_name.as_deref().unwrap_or("—")) }
            dt { "Version" } dd { (report.dataset_version.map_or_else(|| "—".to_owned(), |v| v.to_string())) }
            dt { "Runs" } dd { (report.cases.len()) " passed the task, " (report.failures.len()) " failed" }
            dt { "Assertions passed" } dd { (percent(sides.current.assertions)) }
        }
        div.scroll {
            table.stack {
                thead { tr { th scope="col" { "Case" } th scope="col" { "Output" } th scope="col" { "Results" } } }
                tbody {
                    @for case in &sides.cases {
                        @if let Some(current) = &case.current {
                            tr {
                                td { strong { (case.name) } }
                                td data-label="Output" { @if let Some(output) = &current.output { (values::cell_value(output)) } }
                                td data-label="Results" { (results(current)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        StatusCode::OK,
        layout(&format!("Run {}", report.name), Some(&session), body),
    )
}

fn comparison(report: &ReportComparison) -> Markup {
    html! {
        h1 { (report.baseline_name) " → " (report.name) }
        dl.facts {
            dt { "Assertions passed" }
            dd { (percent(report.baseline.assertions)) " → " (percent(report.current.assertions)) }
        }
        div.scroll {
            table.stack {
                thead { tr { th scope="col" { "Case" } th scope="col" { "Before" } th scope="col" { "After" } th scope="col" { "Changes" } } }
                tbody {
                    @for case in &report.cases {
                        @let changed = case.changed_assertions();
                        @let worse = changed.iter().any(|(_, before, now)| *before == Some(true) && *now != Some(true));
                        @let better = changed.iter().any(|(_, before, now)| *before != Some(true) && *now == Some(true));
                        tr class=[if worse { Some("worse") } else if better { Some("better") } else { None }] {
                            td { strong { (case.name) } }
                            td data-label={ "Before: " (report.baseline_name) } { @if let Some(side) = &case.baseline { (results(side)) } @else { "(not run)" } }
                            td data-label={ "After: " (report.name) } { @if let Some(side) = &case.current { (results(side)) } @else { "(not run)" } }
                            td data-label="Changes" {
                                @for (name, before, now) in &changed {
                                    span class={ "result " (if *now == Some(true) { "pass" } else { "fail" }) } {
                                        (name) ": " (mark(*before)) " → " (mark(*now))
                                    }
                                    " "
                                }
                                @if let (Some(before), Some(now)) = (&case.baseline, &case.current) {
                                    @for (name, value) in &now.scores {
                                        @if let Some(old) = before.scores.get(name) {
                                            @if (value - old).abs() > f64::EPSILON {
                                                span class={ "result " (if value > old { "pass" } else { "fail" }) } {
                                                    (name) " " (format!("{:+.3}", value - old))
                                                }
                                                " "
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn mark(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "✔",
        Some(false) => "✗",
        None => "—",
    }
}

pub(super) async fn compare(
    State(state): State<AppState>,
    session: UiSession,
    RawQuery(query): RawQuery,
) -> Response {
    let (mut base, mut candidate) = (None, None);
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "base" => base = Uuid::try_parse(&value).ok(),
            "candidate" => candidate = Uuid::try_parse(&value).ok(),
            _ => {}
        }
    }
    let (Some(base), Some(candidate)) = (base, candidate) else {
        return error_page(StatusCode::NOT_FOUND, "Choose two experiments to compare.");
    };
    let project = session.key.project_id;
    let load = |id| crate::routes::experiments::load_report(&state, project, id);
    let (baseline, current) = match (load(base).await, load(candidate).await) {
        (Ok(baseline), Ok(current)) => (baseline, current),
        (Err(err), _) | (_, Err(err)) => return error_page(err.status(), &err.to_string()),
    };
    let report = current.compare(&baseline);
    page(
        StatusCode::OK,
        layout("Comparison", Some(&session), comparison(&report)),
    )
}
