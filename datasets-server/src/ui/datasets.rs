//! The UI's dataset forms: create a dataset, and edit one (description,
//! guidance, the three JSON Schemas as JSON), with each schema checked and
//! the store's re-check of the existing cases shown where it applies.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use datasets_core::Patch;
use datasets_core::wire::{DatasetDetail, LocSegment, NewDataset, ValidationIssue};
use maud::{Markup, html};
use serde_json::Value;

use super::UiSession;
use super::edit::{allowed, dataset_of, issues_of};
use super::forms::{Posted, by_field, described, errors};
use super::pages::{forbidden, layout, page, store_error};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;
use crate::validation::{SchemaKind, check_schemas};

/// A dataset form's name and its three schemas (absent when left empty).
type DatasetFields = (String, Vec<Option<Value>>);

/// The dataset form: new (`existing` is `None`) or an edit.
fn dataset_form(
    session: &UiSession,
    existing: Option<&DatasetDetail>,
    posted: &Posted,
    issues: &[ValidationIssue],
) -> Markup {
    let placed = by_field(issues, &[]);
    let text_area = |id: &'static str, label: &'static str| {
        html! {
            label for=(id) { (label) }
            textarea id=(id) name=(id) rows="6" spellcheck="false"
                aria-describedby=[described(id, &placed)]
                aria-invalid=[described(id, &placed).map(|_| "true")] { (posted.get(id)) }
            (errors(id, &placed))
        }
    };
    let (title, action) = match existing {
        None => ("New dataset".to_owned(), "/ui/datasets/new".to_owned()),
        Some(detail) => (
            format!("Edit {}", detail.name),
            format!("/ui/datasets/{}/edit", detail.id),
        ),
    };
    let body = html! {
        @if let Some(detail) = existing { (super::pages::crumbs(detail)) }
        h1 { (title) }
        @if !issues.is_empty() {
            p.error role="alert" { "The dataset was not saved: see the fields marked below." }
        }
        (errors("", &placed))
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(session.csrf);
            label for="name" { "Name" }
            input #name type="text" name="name" required value=(posted.get("name"))
                aria-describedby=[described("name", &placed)];
            (errors("name", &placed))
            label for="description" { "Description" }
            input #description type="text" name="description" value=(posted.get("description"));
            (text_area("guidance", "Guidance"))
            (text_area("input_schema", "Input schema (JSON Schema)"))
            (text_area("output_schema", "Expected output schema (JSON Schema)"))
            (text_area("metadata_schema", "Metadata schema (JSON Schema)"))
            button type="submit" { @if existing.is_some() { "Save" } @else { "Create" } }
        }
    };
    layout(&title, Some(session), body)
}

pub(super) async fn new_dataset_form(session: UiSession) -> Response {
    if !session.can_write() {
        return forbidden();
    }
    page(
        StatusCode::OK,
        dataset_form(&session, None, &Posted::default(), &[]),
    )
}

pub(super) async fn new_dataset(
    State(state): State<AppState>,
    session: UiSession,
    body: Bytes,
) -> Response {
    let posted = Posted::parse(&body);
    if let Err(response) = allowed(&session, &posted) {
        return *response;
    }
    let refused = |issues: Vec<ValidationIssue>| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            dataset_form(&session, None, &posted, &issues),
        )
    };
    let (name, schemas) = match read_dataset_form(&posted) {
        Ok(read) => read,
        Err(issues) => return refused(issues),
    };
    let mut schemas = schemas.into_iter();
    let new = NewDataset {
        name,
        description: text(&posted, "description"),
        guidance: text(&posted, "guidance"),
        input_schema: schemas.next().flatten(),
        output_schema: schemas.next().flatten(),
        metadata_schema: schemas.next().flatten(),
        ..NewDataset::default()
    };
    match state
        .store
        .create_dataset(session.key.project_id, session.key.id, new, None)
        .await
    {
        Ok(created) => {
            Redirect::to(&format!("/ui/datasets/{}/", created.into_inner().id)).into_response()
        }
        Err(StoreError::Conflict(message)) => refused(vec![ValidationIssue::new(
            vec!["body".into(), "name".into()],
            message,
            "conflict",
        )]),
        Err(other) => store_error(other),
    }
}

/// A text field, `None` when left empty.
fn text(posted: &Posted, field: &str) -> Option<String> {
    let value = posted.get(field).trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The name and the three schemas of a dataset form, checked: the name by
/// the protocol's rule, each schema as JSON and as a JSON Schema.
fn read_dataset_form(posted: &Posted) -> Result<DatasetFields, Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    let name = posted.get("name").trim().to_owned();
    if let Err(message) = datasets_core::validate_dataset_name(&name) {
        issues.push(ValidationIssue::new(
            vec!["body".into(), "name".into()],
            message,
            "invalid_name",
        ));
    }
    let mut schemas: Vec<Option<Value>> = Vec::new();
    for field in ["input_schema", "output_schema", "metadata_schema"] {
        let text = posted.get(field).trim();
        if text.is_empty() {
            schemas.push(None);
            continue;
        }
        // The API's guard, as every way in has it: depth, a key twice,
        // numbers a 64-bit value cannot hold.
        if let Err(problem) = crate::json_guard::check(text.as_bytes()) {
            let mut loc: Vec<LocSegment> = vec!["body".into(), field.into()];
            loc.extend(problem.path);
            issues.push(ValidationIssue::new(loc, problem.message, problem.kind));
            schemas.push(None);
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(schema) => schemas.push(Some(schema)),
            Err(err) => {
                issues.push(ValidationIssue::new(
                    vec!["body".into(), field.into()],
                    format!("this is not JSON: {err}"),
                    "json_invalid",
                ));
                schemas.push(None);
            }
        }
    }
    if issues.is_empty()
        && let Err(mut found) = check_schemas(
            SchemaKind::ALL
                .into_iter()
                .zip(schemas.iter().map(Option::as_ref)),
        )
    {
        issues.append(&mut found);
    }
    if issues.is_empty() {
        Ok((name, schemas))
    } else {
        Err(issues)
    }
}

/// The form's values for a stored dataset.
fn posted_of_dataset(detail: &DatasetDetail) -> Posted {
    let mut posted = Posted::default();
    let mut put = |field: &str, value: Option<String>| {
        posted.0.insert(field.to_owned(), value.unwrap_or_default());
    };
    put("name", Some(detail.name.clone()));
    put("description", detail.description.clone());
    put("guidance", detail.guidance.clone());
    let pretty = |schema: &Option<Value>| {
        schema
            .as_ref()
            .and_then(|s| serde_json::to_string_pretty(s).ok())
    };
    put("input_schema", pretty(&detail.input_schema));
    put("output_schema", pretty(&detail.output_schema));
    put("metadata_schema", pretty(&detail.metadata_schema));
    posted
}

pub(super) async fn edit_dataset_form(
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
    let posted = posted_of_dataset(&detail);
    page(
        StatusCode::OK,
        dataset_form(&session, Some(&detail), &posted, &[]),
    )
}

pub(super) async fn edit_dataset(
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
    let refused = |issues: Vec<ValidationIssue>, status: StatusCode| {
        page(
            status,
            dataset_form(&session, Some(&detail), &posted, &issues),
        )
    };
    let (name, schemas) = match read_dataset_form(&posted) {
        Ok(read) => read,
        Err(issues) => return refused(issues, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let patch = |value: Option<String>| value.map_or(Patch::Clear, Patch::Set);
    let mut schemas = schemas
        .into_iter()
        .map(|s| s.map_or(Patch::Clear, Patch::Set));
    let update = datasets_core::wire::DatasetUpdate {
        name: Patch::Set(name),
        description: patch(text(&posted, "description")),
        guidance: patch(text(&posted, "guidance")),
        input_schema: schemas.next().unwrap_or(Patch::Keep),
        output_schema: schemas.next().unwrap_or(Patch::Keep),
        metadata_schema: schemas.next().unwrap_or(Patch::Keep),
        ..Default::default()
    };
    match state
        .store
        .update_dataset(
            session.key.project_id,
            session.key.id,
            &detail.id.to_string(),
            update,
        )
        .await
    {
        Ok(updated) => Redirect::to(&format!("/ui/datasets/{}/", updated.id)).into_response(),
        Err(StoreError::Invalid(issues)) => {
            match issues_of(ApiError::store_invalid(issues, false)) {
                Ok(issues) => refused(issues, StatusCode::UNPROCESSABLE_ENTITY),
                Err(response) => *response,
            }
        }
        Err(StoreError::Conflict(message)) => refused(
            vec![ValidationIssue::new(
                vec!["body".into(), "name".into()],
                message,
                "conflict",
            )],
            StatusCode::CONFLICT,
        ),
        Err(other) => store_error(other),
    }
}
