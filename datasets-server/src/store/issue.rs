//! [`Issue`]: a broken rule, located as the store sees it.

use datasets_core::wire::{LocSegment, ValidationIssue};

/// A broken rule, located as the store sees it: which case of the write
/// (by its index in the request), which field of the case or the dataset,
/// and where inside that field's value. The HTTP layer turns it into the
/// protocol's `loc` for the body the request had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The case's index in the write, for a multi-case write.
    pub case: Option<usize>,
    /// The field: of the case (`inputs`, `tags`, ...) or of the dataset
    /// (`input_schema`, ...); `None` for the write as a whole.
    pub field: Option<String>,
    /// The JSON path inside the field's value.
    pub path: Vec<LocSegment>,
    /// What is wrong, for people.
    pub msg: String,
    /// What is wrong, for programs (e.g. `"type"`, `"json_invalid"`).
    pub kind: String,
}

impl Issue {
    /// An issue of the write as a whole.
    pub fn whole(msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            case: None,
            field: None,
            path: Vec::new(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    /// An issue at `field` of the write (of the dataset, or of a one-case update).
    pub fn at_field(
        field: impl Into<String>,
        msg: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::whole(msg, kind)
        }
    }

    /// An issue found by a rule of `datasets_core::rules` located relative
    /// to a case (`loc` = `[field, path...]`), of case `case` of the write.
    pub fn of_case(case: Option<usize>, issue: ValidationIssue) -> Self {
        let mut loc = issue.loc.into_iter();
        Self {
            case,
            field: loc.next().map(|segment| segment.to_string()),
            path: loc.collect(),
            msg: issue.msg,
            kind: issue.kind,
        }
    }

    /// Its `loc` in a body of `["body", "cases", i, ...]` (`listed`) or of
    /// one case or a dataset (`["body", ...]`).
    pub fn loc(&self, listed: bool) -> Vec<LocSegment> {
        let mut loc = vec![LocSegment::from("body")];
        if let (Some(index), true) = (self.case, listed) {
            loc.extend([LocSegment::from("cases"), index.into()]);
        }
        loc.extend(self.field.as_deref().map(LocSegment::from));
        loc.extend(self.path.iter().cloned());
        loc
    }

    /// The protocol's issue, for a body as [`Issue::loc`] says.
    pub fn located(self, listed: bool) -> ValidationIssue {
        ValidationIssue::new(self.loc(listed), self.msg, self.kind)
    }
}
