//! Dataset versions as both stores keep them: which version a read names,
//! what a version records, and how a case differs between two versions.
//!
//! Every committed write to a dataset's cases, schemas or evaluators makes
//! the dataset's next version, within the transaction that writes: the
//! dataset row is locked (or the database has one writer), its `version`
//! goes up by one, and a row of `dataset_versions` records the write. Head
//! case rows carry the version from which they are as they are; a row about
//! to be replaced or deleted is first copied to `case_revisions` with the
//! range of versions in which it was live. A past version is read as the
//! head rows that are older than it beside the revisions live at it.

use datasets_core::wire::{
    CaseChange, CaseDiff, DatasetDetail, DatasetVersion, EvaluatorSpec, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{CasePosition, CaseRecord, StoreError};

/// The columns of a revision, in the order of the stores' case columns
/// (`case_pk` standing for the case's `pk`): the same in both dialects.
pub(crate) const REVISION_COLUMNS: &str = "c.case_pk, c.id, c.name, c.inputs, \
     c.expected_output, c.metadata, c.evaluators, c.source_trace_id, c.source_span_id, c.tags, \
     c.version, c.created_at, c.updated_at, c.created_by, c.updated_by";

/// A version as a request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    /// By number.
    Number(u64),
    /// By a tag on it.
    Tag(String),
    /// The latest version committed at or before this time.
    AsOf(Timestamp),
}

impl VersionRef {
    /// A version number (all digits) or else a tag.
    pub fn parse(text: &str) -> Self {
        match text.parse::<u64>() {
            Ok(number) if text.bytes().all(|b| b.is_ascii_digit()) => VersionRef::Number(number),
            _ => VersionRef::Tag(text.to_owned()),
        }
    }
}

/// One page of a dataset's versions, newest first.
#[derive(Debug)]
pub struct VersionPage {
    /// The id of the dataset listed, to which a cursor is bound.
    pub dataset_id: Uuid,
    /// The versions.
    pub versions: Vec<DatasetVersion>,
    /// When older versions follow, the version the next page starts below.
    pub next: Option<u64>,
}

/// One page of the differences between two versions, in case order.
#[derive(Debug)]
pub struct DiffPage {
    /// The dataset's id, to which a cursor is bound.
    pub dataset_id: Uuid,
    /// The version compared from.
    pub from: u64,
    /// The version compared to.
    pub to: u64,
    /// The cases that differ.
    pub items: Vec<CaseDiff>,
    /// The position after the last case looked at, when more may follow.
    pub next: Option<CasePosition>,
}

/// How many versions a store keeps: all, or the latest `n` (plus every
/// tagged one).
#[derive(Debug, Default)]
pub(crate) struct Retention(std::sync::atomic::AtomicU64);

impl Retention {
    /// Keeps the latest `keep` versions; `None` keeps all.
    pub(crate) fn set(&self, keep: Option<u64>) {
        self.0.store(
            keep.unwrap_or(0).max(u64::from(keep.is_some())),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The newest version that may be pruned once `version` is written.
    pub(crate) fn prune_through(&self, version: i64) -> Option<i64> {
        let keep = self.0.load(std::sync::atomic::Ordering::Relaxed);
        if keep == 0 {
            return None;
        }
        let through = version - i64::try_from(keep).unwrap_or(i64::MAX);
        (through >= 1).then_some(through)
    }
}

/// What a dataset's schemas and evaluators were at a version, kept as JSON
/// on the version that set them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Definition {
    #[serde(default)]
    input_schema: Option<Value>,
    #[serde(default)]
    output_schema: Option<Value>,
    #[serde(default)]
    metadata_schema: Option<Value>,
    #[serde(default)]
    evaluators: Option<Vec<EvaluatorSpec>>,
    #[serde(default)]
    report_evaluators: Option<Vec<EvaluatorSpec>>,
}

impl Definition {
    /// The definition `detail` holds.
    pub(crate) fn of(detail: &DatasetDetail) -> Self {
        Self {
            input_schema: detail.input_schema.clone(),
            output_schema: detail.output_schema.clone(),
            metadata_schema: detail.metadata_schema.clone(),
            evaluators: detail.evaluators.clone(),
            report_evaluators: detail.report_evaluators.clone(),
        }
    }

    /// As stored.
    pub(crate) fn to_text(&self) -> String {
        crate::rules::json_text(self)
    }

    /// `detail` as it was at `version`, given the definition then (read
    /// from storage, which a newer server may have written: unreadable
    /// text is an error, not a panic) and the case count then.
    pub(crate) fn apply(
        text: Option<&str>,
        detail: &mut DatasetDetail,
        version: u64,
        case_count: u64,
    ) -> Result<(), StoreError> {
        if let Some(text) = text {
            let definition: Self = serde_json::from_str(text).map_err(|err| {
                StoreError::Backend(format!("stored definition of version {version}: {err}"))
            })?;
            detail.input_schema = definition.input_schema;
            detail.output_schema = definition.output_schema;
            detail.metadata_schema = definition.metadata_schema;
            detail.evaluators = definition.evaluators;
            detail.report_evaluators = definition.report_evaluators;
        }
        detail.version = Some(version);
        detail.case_count = case_count;
        Ok(())
    }
}

/// How the case at one position differs between two versions, given what
/// is there at each (`None` where nothing is). Two different cases at one
/// position (SQLite gives the position of a deleted last case to the next
/// one) are one removed and one added, the older case first.
pub(crate) fn position_diff(
    from: Option<&CaseRecord>,
    to: Option<&CaseRecord>,
) -> impl Iterator<Item = CaseDiff> {
    let (first, second) = match (from, to) {
        (Some(a), Some(b)) if a.id != b.id => {
            let (gone, new) = (case_diff(Some(a), None), case_diff(None, Some(b)));
            if (a.created_at, a.id) <= (b.created_at, b.id) {
                (gone, new)
            } else {
                (new, gone)
            }
        }
        _ => (case_diff(from, to), None),
    };
    first.into_iter().chain(second)
}

/// How a case differs between two versions, given its state at each
/// (`None` where it does not exist); `None` when it does not differ.
pub(crate) fn case_diff(from: Option<&CaseRecord>, to: Option<&CaseRecord>) -> Option<CaseDiff> {
    match (from, to) {
        (None, None) => None,
        (None, Some(case)) => Some(CaseDiff {
            case_id: case.id,
            name: case.name.clone(),
            change: CaseChange::Added,
            fields: Vec::new(),
        }),
        (Some(case), None) => Some(CaseDiff {
            case_id: case.id,
            name: case.name.clone(),
            change: CaseChange::Removed,
            fields: Vec::new(),
        }),
        (Some(before), Some(after)) => {
            let fields: Vec<String> = changed_fields(&before.content(), &after.content())
                .into_iter()
                .map(str::to_owned)
                .collect();
            (!fields.is_empty()).then(|| CaseDiff {
                case_id: after.id,
                name: after.name.clone(),
                change: CaseChange::Changed,
                fields,
            })
        }
    }
}

/// What a case holds, borrowed, as far as a change is concerned: the one
/// definition of "changed" that the diff and every write share, so that a
/// write which leaves a case equal makes no case version and the counts of
/// a version always agree with its diff.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CaseContent<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) inputs: &'a str,
    pub(crate) expected_output: Option<&'a str>,
    pub(crate) metadata: Option<&'a str>,
    pub(crate) evaluators: Option<&'a str>,
    pub(crate) source_trace_id: Option<&'a str>,
    pub(crate) source_span_id: Option<&'a str>,
    pub(crate) tags: &'a [String],
}

impl CaseRecord {
    /// What the case holds, for [`changed_fields`].
    pub(crate) fn content(&self) -> CaseContent<'_> {
        CaseContent {
            name: self.name.as_deref(),
            inputs: &self.inputs,
            expected_output: self.expected_output.as_deref(),
            metadata: self.metadata.as_deref(),
            evaluators: self.evaluators.as_deref(),
            source_trace_id: self.source_trace_id.as_deref(),
            source_span_id: self.source_span_id.as_deref(),
            tags: &self.tags,
        }
    }
}

/// The fields in which two states of a case differ, in the wire's order:
/// values compare as JSON (key order and `null` against absent are no
/// change), names, links and tags (in order) as text.
pub(crate) fn changed_fields(
    before: &CaseContent<'_>,
    after: &CaseContent<'_>,
) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if before.name != after.name {
        fields.push("name");
    }
    let values = [
        ("inputs", Some(before.inputs), Some(after.inputs)),
        (
            "expected_output",
            before.expected_output,
            after.expected_output,
        ),
        ("metadata", before.metadata, after.metadata),
        ("evaluators", before.evaluators, after.evaluators),
    ];
    for (field, a, b) in values {
        if !same_json(a, b) {
            fields.push(field);
        }
    }
    if before.source_trace_id != after.source_trace_id {
        fields.push("source_trace_id");
    }
    if before.source_span_id != after.source_span_id {
        fields.push("source_span_id");
    }
    if before.tags != after.tags {
        fields.push("tags");
    }
    fields
}

/// Whether two stored JSON texts hold the same value (`null` and absent
/// alike): equal text is, and otherwise the parsed values decide, so a
/// change of key order alone is no change.
fn same_json(a: Option<&str>, b: Option<&str>) -> bool {
    let a = a.filter(|text| *text != "null");
    let b = b.filter(|text| *text != "null");
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) if a == b => true,
        (Some(a), Some(b)) => {
            let parse = |text: &str| serde_json::from_str::<Value>(text).ok();
            matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

/// A tag for a version: not empty, at most 200 characters, no control
/// characters, and not all digits (which would read as a version number).
pub fn check_version_tag(tag: &str) -> Result<(), String> {
    if tag.trim().is_empty() {
        return Err("a version tag may not be empty".to_owned());
    }
    if tag.chars().count() > 200 {
        return Err("a version tag has at most 200 characters".to_owned());
    }
    if tag.chars().any(char::is_control) {
        return Err("a version tag may not hold control characters".to_owned());
    }
    if tag.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{tag:?} is all digits, which reads as a version number; add a letter"
        ));
    }
    if tag.contains('/') {
        return Err("a version tag may not hold '/', as it appears in paths".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(inputs: &str, tags: &[&str]) -> CaseRecord {
        CaseRecord {
            id: Uuid::nil(),
            dataset_id: Uuid::nil(),
            name: Some("a".into()),
            inputs: inputs.into(),
            expected_output: None,
            metadata: Some("null".into()),
            evaluators: None,
            source_trace_id: None,
            source_span_id: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            created_by: None,
            updated_by: None,
        }
    }

    #[test]
    fn a_change_of_key_order_or_null_is_no_change_but_a_value_is() {
        let a = case(r#"{"x":1,"y":2}"#, &["t"]);
        let b = case(r#"{"y":2,"x":1}"#, &["t"]);
        assert_eq!(case_diff(Some(&a), Some(&b)), None);
        let c = case(r#"{"x":1,"y":3}"#, &["t", "u"]);
        let diff = case_diff(Some(&a), Some(&c)).unwrap();
        assert_eq!(diff.change, CaseChange::Changed);
        assert_eq!(diff.fields, ["inputs", "tags"]);
        assert_eq!(case_diff(None, Some(&a)).unwrap().change, CaseChange::Added);
        assert_eq!(
            case_diff(Some(&a), None).unwrap().change,
            CaseChange::Removed
        );
    }

    #[test]
    fn version_refs_and_tags() {
        assert_eq!(VersionRef::parse("12"), VersionRef::Number(12));
        assert_eq!(VersionRef::parse("+12"), VersionRef::Tag("+12".into()));
        assert_eq!(VersionRef::parse("r-1"), VersionRef::Tag("r-1".into()));
        assert!(check_version_tag("release-2026-12").is_ok());
        assert!(check_version_tag("2026").unwrap_err().contains("digits"));
        assert!(check_version_tag("").is_err());
        assert!(check_version_tag("a/b").is_err());
    }

    #[test]
    fn retention_keeps_the_latest_n() {
        let keep = Retention::default();
        assert_eq!(keep.prune_through(100), None);
        keep.set(Some(10));
        assert_eq!(keep.prune_through(5), None);
        assert_eq!(keep.prune_through(11), Some(1));
        keep.set(Some(0));
        assert_eq!(keep.prune_through(3), Some(2));
    }
}
