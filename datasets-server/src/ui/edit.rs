//! The UI's case writes: a new case, a case edited (with the
//! version it was opened at, so that two editors cannot overwrite each
//! other) and a case deleted after a confirmation. Every write checks the
//! form's CSRF token and the key's write scope, and goes through the same
//! rules and store calls as the API, so the server's 422 issues are shown
//! in its own words next to the field they name.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use datasets_core::Patch;
use datasets_core::wire::{CaseUpdate, DatasetDetail, NewCase, ValidationIssue};
use maud::{Markup, html};
use serde_json::Value;
use uuid::Uuid;

use super::forms::{
    Layout, PARTS, PartValue, Posted, by_field, described, errors, part_fields, tags_of,
};
use super::pages::{crumbs, forbidden, layout, page, store_error};
use super::{UiSession, token_matches};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{CaseRecord, InsertMode, StoreError};

/// The form's token checked, and the key allowed to write.
pub(super) fn allowed(session: &UiSession, posted: &Posted) -> Result<(), Box<Response>> {
    if !session.can_write() {
        return Err(Box::new(super::pages::error_page(
            StatusCode::FORBIDDEN,
            "This key may only read; nothing was changed.",
        )));
    }
    if !token_matches(posted.get("csrf"), &session.csrf) {
        return Err(Box::new(forbidden()));
    }
    Ok(())
}

/// A stored case's three values (`None` for a new case or an absent part).
type Stored = [Option<Value>; 3];

fn stored_of(case: Option<&CaseRecord>) -> Stored {
    let parse = |text: Option<&str>| text.and_then(|t| serde_json::from_str::<Value>(t).ok());
    match case {
        None => [None, None, None],
        Some(case) => [
            parse(Some(&case.inputs)),
            parse(case.expected_output.as_deref()),
            parse(case.metadata.as_deref()),
        ],
    }
}

fn layouts(detail: &DatasetDetail, stored: &Stored) -> Vec<(&'static str, Layout)> {
    vec![
        (
            "inputs",
            Layout::of(detail.input_schema.as_ref(), stored[0].as_ref()),
        ),
        (
            "expected_output",
            Layout::of(detail.output_schema.as_ref(), stored[1].as_ref()),
        ),
        (
            "metadata",
            Layout::of(detail.metadata_schema.as_ref(), stored[2].as_ref()),
        ),
    ]
}

/// The issues of an API error, as they would be answered.
pub(super) fn issues_of(err: ApiError) -> Result<Vec<ValidationIssue>, Box<Response>> {
    match err {
        ApiError::Invalid(issues) | ApiError::BadRequest(issues) => Ok(issues),
        ApiError::Conflict(message) => Ok(vec![ValidationIssue::new(
            vec!["body".into(), "name".into()],
            message,
            "conflict",
        )]),
        other => Err(Box::new(super::pages::error_page(
            other.status(),
            &other.to_string(),
        ))),
    }
}

/// A case form: new (`case` is `None`) or an edit of `case`.
fn case_form(
    session: &UiSession,
    detail: &DatasetDetail,
    case: Option<&CaseRecord>,
    posted: &Posted,
    issues: &[ValidationIssue],
    notice: Option<&str>,
) -> Markup {
    let stored = stored_of(case);
    let layouts = layouts(detail, &stored);
    let placed = by_field(issues, &layouts);
    let base = format!("/ui/datasets/{}/", detail.id);
    let (title, action) = match case {
        None => ("New case".to_owned(), format!("{base}cases/new")),
        Some(case) => (
            format!("Edit {}", case.name.as_deref().unwrap_or("(unnamed case)")),
            format!("{base}cases/{}/edit", case.id),
        ),
    };
    let body = html! {
        (crumbs(detail))
        h1 { (title) }
        @if let Some(notice) = notice {
            div.error #conflict role="alert" { p { (notice) } }
        }
        @if !issues.is_empty() {
            p.error role="alert" { "The case was not saved: see the fields marked below." }
        }
        (errors("", &placed))
        form.case method="post" action=(action) accept-charset="utf-8" {
            input type="hidden" name="csrf" value=(session.csrf);
            @if let Some(case) = case {
                input type="hidden" name="version" value=(posted.get("version").parse::<i64>().unwrap_or(case.version));
            }
            label for="name" { "Name" }
            input #name type="text" name="name" value=(posted.get("name"))
                aria-describedby=[described("name", &placed)];
            (errors("name", &placed))
            label for="tags" { "Tags (comma-separated)" }
            input #tags type="text" name="tags" value=(posted.get("tags"))
                aria-describedby=[described("tags", &placed)];
            (errors("tags", &placed))
            @for (((part, title), (_, layout)), stored) in PARTS.iter().zip(&layouts).zip(&stored) {
                (part_fields(part, title, layout, stored.as_ref(), posted, &placed))
            }
            button type="submit" { "Save" }
        }
    };
    layout(&title, Some(session), body)
}

/// The three parts a form describes, read against the stored values (an
/// edit) or none (a new case), or the issues of controls that do not read.
fn parts_of(
    posted: &Posted,
    detail: &DatasetDetail,
    case: Option<&CaseRecord>,
) -> Result<Vec<PartValue>, Vec<ValidationIssue>> {
    let stored = stored_of(case);
    let mut issues = Vec::new();
    let mut parts = Vec::new();
    for ((part, layout), stored) in layouts(detail, &stored).iter().zip(&stored) {
        match posted.value(part, layout, stored.as_ref(), case.is_some()) {
            Ok(value) => parts.push(value),
            Err(issue) => {
                issues.push(issue);
                parts.push(PartValue::Set(None));
            }
        }
    }
    if issues.is_empty() {
        Ok(parts)
    } else {
        Err(issues)
    }
}

/// The case a new-case form describes.
fn new_case_of(posted: &Posted, detail: &DatasetDetail) -> Result<NewCase, Vec<ValidationIssue>> {
    let mut parts = parts_of(posted, detail, None)?
        .into_iter()
        .map(|part| match part {
            PartValue::Set(value) => value,
            PartValue::Untouched => None,
        });
    let inputs = parts.next().flatten().unwrap_or(Value::Null);
    let name = posted.get("name").trim();
    Ok(NewCase {
        name: (!name.is_empty()).then(|| name.to_owned()),
        expected_output: parts.next().flatten(),
        metadata: parts.next().flatten(),
        tags: Some(tags_of(posted.get("tags"))),
        ..NewCase::new(inputs)
    })
}

/// The update an edit form describes: what the user left as it was is
/// kept as stored (never re-encoded), so saving a change of tags alone
/// changes the tags alone.
fn update_of(
    posted: &Posted,
    detail: &DatasetDetail,
    case: &CaseRecord,
) -> Result<CaseUpdate, Vec<ValidationIssue>> {
    let mut parts = parts_of(posted, detail, Some(case))?.into_iter();
    let mut next = || parts.next().unwrap_or(PartValue::Untouched);
    let patch = |part: PartValue| match part {
        PartValue::Untouched => Patch::Keep,
        PartValue::Set(None) => Patch::Clear,
        PartValue::Set(Some(value)) => Patch::Set(value),
    };
    let inputs = match next() {
        PartValue::Untouched => None,
        PartValue::Set(value) => Some(value.unwrap_or(Value::Null)),
    };
    let (expected_output, metadata) = (patch(next()), patch(next()));
    let name = posted.get("name").trim();
    let name = if Some(name) == case.name.as_deref() || (name.is_empty() && case.name.is_none()) {
        Patch::Keep
    } else if name.is_empty() {
        Patch::Clear
    } else {
        Patch::Set(name.to_owned())
    };
    let tags = tags_of(posted.get("tags"));
    let tags = if tags == case.tags {
        Patch::Keep
    } else {
        Patch::Set(tags)
    };
    Ok(CaseUpdate {
        name,
        inputs,
        expected_output,
        metadata,
        tags,
        ..CaseUpdate::default()
    })
}

pub(super) async fn dataset_of(
    state: &AppState,
    session: &UiSession,
    reference: &str,
) -> Result<DatasetDetail, Box<Response>> {
    state
        .store
        .get_dataset(session.key.project_id, reference)
        .await
        .map_err(|err| Box::new(store_error(err)))
}

pub(super) async fn new_case_form(
    State(state): State<AppState>,
    session: UiSession,
    Path(reference): Path<String>,
) -> Response {
    let detail = match dataset_of(&state, &session, &reference).await {
        Ok(detail) => detail,
        Err(response) => return *response,
    };
    if !session.can_write() {
        return forbidden();
    }
    page(
        StatusCode::OK,
        case_form(&session, &detail, None, &Posted::default(), &[], None),
    )
}

pub(super) async fn new_case(
    State(state): State<AppState>,
    session: UiSession,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    let posted = Posted::parse(&body);
    if let Err(response) = allowed(&session, &posted) {
        return *response;
    }
    let detail = match dataset_of(&state, &session, &reference).await {
        Ok(detail) => detail,
        Err(response) => return *response,
    };
    let refused = |issues: Vec<ValidationIssue>| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            case_form(&session, &detail, None, &posted, &issues, None),
        )
    };
    let case = match new_case_of(&posted, &detail) {
        Ok(case) => case,
        Err(issues) => return refused(issues),
    };
    let body = match serde_json::to_vec(&case) {
        Ok(body) => Bytes::from(body),
        Err(err) => {
            return super::pages::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string());
        }
    };
    let incoming = match crate::routes::cases::incoming(body, false) {
        Ok(incoming) => incoming,
        Err(err) => {
            return match issues_of(err) {
                Ok(issues) => refused(issues),
                Err(response) => *response,
            };
        }
    };
    let written = state
        .store
        .insert_cases(
            session.key.project_id,
            session.key.id,
            &detail.id.to_string(),
            incoming,
            InsertMode::Create,
            None,
        )
        .await;
    match written {
        Ok(written) => match written.into_inner().pop() {
            Some(case) => Redirect::to(&format!("/ui/datasets/{}/cases/{}/", detail.id, case.id))
                .into_response(),
            None => Redirect::to(&format!("/ui/datasets/{}/", detail.id)).into_response(),
        },
        Err(StoreError::Invalid(issues)) => {
            match issues_of(ApiError::store_invalid(issues, false)) {
                Ok(issues) => refused(issues),
                Err(response) => *response,
            }
        }
        Err(StoreError::Conflict(message)) => refused(vec![ValidationIssue::new(
            vec!["body".into(), "name".into()],
            message,
            "conflict",
        )]),
        Err(other) => store_error(other),
    }
}

/// The form's values for a stored case.
fn posted_of(case: &CaseRecord, detail: &DatasetDetail) -> Posted {
    let mut posted = Posted::default();
    posted
        .0
        .insert("name".into(), case.name.clone().unwrap_or_default());
    posted.0.insert("tags".into(), case.tags.join(", "));
    posted.0.insert("version".into(), case.version.to_string());
    let stored = stored_of(Some(case));
    for ((part, layout), value) in layouts(detail, &stored).iter().zip(&stored) {
        posted.fill(part, layout, value.as_ref());
    }
    posted
}

async fn case_of(
    state: &AppState,
    session: &UiSession,
    reference: &str,
    case: &str,
) -> Result<(DatasetDetail, CaseRecord), Box<Response>> {
    let detail = dataset_of(state, session, reference).await?;
    let id = Uuid::try_parse(case).map_err(|_| Box::new(store_error(StoreError::CaseNotFound)))?;
    let case = state
        .store
        .get_case(session.key.project_id, &detail.id.to_string(), id, None)
        .await
        .map_err(|err| Box::new(store_error(err)))?;
    Ok((detail, case))
}

pub(super) async fn edit_case_form(
    State(state): State<AppState>,
    session: UiSession,
    Path((reference, case)): Path<(String, String)>,
) -> Response {
    let (detail, case) = match case_of(&state, &session, &reference, &case).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if !session.can_write() {
        return forbidden();
    }
    let posted = posted_of(&case, &detail);
    page(
        StatusCode::OK,
        case_form(&session, &detail, Some(&case), &posted, &[], None),
    )
}

pub(super) async fn edit_case(
    State(state): State<AppState>,
    session: UiSession,
    Path((reference, case)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let posted = Posted::parse(&body);
    if let Err(response) = allowed(&session, &posted) {
        return *response;
    }
    let (detail, case) = match case_of(&state, &session, &reference, &case).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let refused = |issues: Vec<ValidationIssue>, notice: Option<&str>, status: StatusCode| {
        page(
            status,
            case_form(&session, &detail, Some(&case), &posted, &issues, notice),
        )
    };
    let update = match update_of(&posted, &detail, &case) {
        Ok(update) => update,
        Err(issues) => return refused(issues, None, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let mut issues = Vec::new();
    crate::validation::check_case_update(&update, &mut issues);
    if !issues.is_empty() {
        return refused(issues, None, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let expected = posted.get("version").parse::<i64>().ok();
    let updated = state
        .store
        .update_case(
            session.key.project_id,
            session.key.id,
            &detail.id.to_string(),
            case.id,
            update,
            expected.or(Some(case.version)),
        )
        .await;
    match updated {
        Ok(case) => {
            Redirect::to(&format!("/ui/datasets/{}/cases/{}/", detail.id, case.id)).into_response()
        }
        Err(StoreError::VersionMismatch { expected, current }) => refused(
            Vec::new(),
            Some(&format!(
                "This case changed since you opened it (it was at version {expected}, it is now \
                 at version {current}), so your changes were not saved. Open the case again to \
                 see what changed, then make your edit there."
            )),
            StatusCode::CONFLICT,
        ),
        Err(StoreError::Invalid(issues)) => match issues_of(ApiError::store_invalid(issues, false))
        {
            Ok(issues) => refused(issues, None, StatusCode::UNPROCESSABLE_ENTITY),
            Err(response) => *response,
        },
        Err(StoreError::Conflict(message)) => refused(
            vec![ValidationIssue::new(
                vec!["body".into(), "name".into()],
                message,
                "conflict",
            )],
            None,
            StatusCode::CONFLICT,
        ),
        Err(other) => store_error(other),
    }
}

pub(super) async fn delete_case_form(
    State(state): State<AppState>,
    session: UiSession,
    Path((reference, case)): Path<(String, String)>,
) -> Response {
    let (detail, case) = match case_of(&state, &session, &reference, &case).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if !session.can_write() {
        return forbidden();
    }
    let name = case
        .name
        .clone()
        .unwrap_or_else(|| "(unnamed case)".to_owned());
    let body = html! {
        (crumbs(&detail))
        h1 { "Delete " (name) "?" }
        p { "The case leaves the dataset's head; past versions keep it." }
        form method="post" action={ "/ui/datasets/" (detail.id) "/cases/" (case.id) "/delete" } {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="version" value=(case.version);
            button.danger type="submit" { "Delete the case" }
        }
        p { a href={ "/ui/datasets/" (detail.id) "/cases/" (case.id) "/" } { "Keep it" } }
    };
    page(
        StatusCode::OK,
        layout(&format!("Delete {name}"), Some(&session), body),
    )
}

pub(super) async fn delete_case(
    State(state): State<AppState>,
    session: UiSession,
    Path((reference, case)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let posted = Posted::parse(&body);
    if let Err(response) = allowed(&session, &posted) {
        return *response;
    }
    let (detail, case) = match case_of(&state, &session, &reference, &case).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let expected = posted.get("version").parse::<i64>().ok();
    let deleted = state
        .store
        .delete_case(
            session.key.project_id,
            session.key.id,
            &detail.id.to_string(),
            case.id,
            expected,
        )
        .await;
    match deleted {
        Ok(()) => Redirect::to(&format!("/ui/datasets/{}/", detail.id)).into_response(),
        Err(StoreError::VersionMismatch { .. }) => super::pages::error_page(
            StatusCode::CONFLICT,
            "This case changed since you opened it, so it was not deleted. Open it again.",
        ),
        Err(other) => store_error(other),
    }
}
