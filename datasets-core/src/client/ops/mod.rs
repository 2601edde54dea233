//! Request builders, one per operation of the Logfire SDK guide. Each is
//! returned by a [`DatasetsClient`] method, takes its optional arguments as
//! chained setters, and is finished by `.await` (or `.send()` on the
//! blocking client). One module per resource.

/// Setters for three-state fields: `field(value)` sets, `clear_field()` clears.
macro_rules! patch_setters {
    ($($field:ident, $clear:ident: $ty:ty, $what:literal;)*) => {$(
        #[doc = concat!("Sets ", $what, ".")]
        pub fn $field(mut self, value: impl Into<$ty>) -> Self {
            self.body.$field = Patch::Set(value.into());
            self
        }

        #[doc = concat!("Clears ", $what, " (sends `null`).")]
        pub fn $clear(mut self) -> Self {
            self.body.$field = Patch::Clear;
            self
        }
    )*};
}

mod cases;
mod datasets;
mod experiments;
mod uploads;
mod versions;

use uuid::Uuid;

pub use cases::{AddCase, CreateCase, DeleteCase, DeleteCases, GetCase, ListCases, UpdateCase};
pub use datasets::{
    CreateDataset, DeleteDataset, ExportDataset, GetDataset, ListDatasets, PushDataset,
    UpdateDataset,
};
pub use experiments::{
    CompareExperiments, DeleteExperiment, GetExperiment, ListExperiments, RecordExperiment,
};
pub use uploads::{AddCases, ImportCases};
pub(crate) use uploads::{UploadOptions, upload_options};
pub(crate) use versions::{At, version_setters};
pub use versions::{Diff, GetVersion, ListVersions, TagVersion, VersionRef};

use super::{dataset_segment, segment};
use crate::Patch;
use crate::error::Result;
use crate::wire::NewCase;

/// `Some` sets a field, `None` leaves it as it is.
fn keep_or_set<T>(value: Option<T>) -> Patch<T> {
    value.map_or(Patch::Keep, Patch::Set)
}

fn tag_list(tags: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    tags.into_iter().map(Into::into).collect()
}

/// Adds `extra` to a case's tags, keeping order and dropping repeats.
fn merge_tags(case: &mut NewCase, extra: &[String]) {
    if extra.is_empty() && case.tags.is_none() {
        return;
    }
    crate::names::merge_tags(
        case.tags.get_or_insert_with(Vec::new),
        extra.iter().cloned(),
    );
}

fn dataset_path(reference: &str, rest: &str) -> Result<String> {
    Ok(format!(
        "/v1/datasets/{}/{rest}",
        dataset_segment(reference)?
    ))
}

fn case_path(reference: &str, case: Uuid) -> Result<String> {
    dataset_path(reference, &format!("cases/{}/", segment(&case.to_string())))
}
