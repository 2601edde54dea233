//! The operations of the client, written once for both modes: each returns
//! its request builder, finished with `.await` (async) or `.send()`
//! (blocking).

use super::{DatasetsClient, Mode};

impl<M: Mode> DatasetsClient<M> {
    /// Lists the project's datasets (`GET /v1/datasets/`).
    pub fn list_datasets(&self) -> crate::client::ListDatasets<M> {
        crate::client::ListDatasets {
            client: self.as_async(),
            mode: self.mode.clone(),
        }
    }

    /// Gets a dataset by id or name.
    pub fn get_dataset(&self, dataset: impl Into<String>) -> crate::client::GetDataset<M> {
        crate::client::GetDataset {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            at: Default::default(),
        }
    }

    /// Creates a dataset; schemas, description, guidance and evaluators
    /// are optional setters. A taken name is `Error::Api { status: 409, .. }`.
    pub fn create_dataset(&self, name: impl Into<String>) -> crate::client::CreateDataset<M> {
        self.create_dataset_from(crate::wire::NewDataset {
            name: name.into(),
            ..crate::wire::NewDataset::default()
        })
    }

    /// Creates the dataset `body` describes whole (a typed handle's declaration).
    pub(crate) fn create_dataset_from(
        &self,
        body: crate::wire::NewDataset,
    ) -> crate::client::CreateDataset<M> {
        crate::client::CreateDataset {
            client: self.as_async(),
            mode: self.mode.clone(),
            body,
        }
    }

    /// Updates a dataset: each setter sets a field, each `clear_` setter
    /// clears one, everything else is left as it is.
    pub fn update_dataset(&self, dataset: impl Into<String>) -> crate::client::UpdateDataset<M> {
        crate::client::UpdateDataset {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            body: crate::wire::DatasetUpdate::default(),
        }
    }

    /// Deletes a dataset and all its cases.
    pub fn delete_dataset(&self, dataset: impl Into<String>) -> crate::client::DeleteDataset<M> {
        crate::client::DeleteDataset {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
        }
    }

    /// Lists a dataset's cases, in insertion order; `.tags(..)` keeps those
    /// having any of the tags.
    pub fn list_cases(&self, dataset: impl Into<String>) -> crate::client::ListCases<M> {
        crate::client::ListCases {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            tags: ::std::vec::Vec::new(),
            page_size: crate::client::DEFAULT_PAGE_SIZE,
            at: Default::default(),
        }
    }

    /// Gets one case.
    pub fn get_case(
        &self,
        dataset: impl Into<String>,
        case_id: ::uuid::Uuid,
    ) -> crate::client::GetCase<M> {
        crate::client::GetCase {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            case: case_id,
            at: Default::default(),
        }
    }

    /// Adds one case (`POST .../cases/`); `.tags(..)` adds tags to its own.
    pub fn add_case(
        &self,
        dataset: impl Into<String>,
        case: crate::wire::NewCase,
    ) -> crate::client::AddCase<M> {
        crate::client::AddCase {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            case,
        }
    }

    /// Adds cases (`POST .../cases/bulk/`); a taken name fails the request
    /// with 409. `.tags(..)` adds tags to every case.
    ///
    /// Uploads larger than the client's `max_request_bytes` go in chunks,
    /// one request and one server transaction each, in order. If chunk
    /// *k* fails, chunks before it are written and stay written; chunk
    /// *k* and those after it are not: the error is [`Error::Chunk`](crate::Error::Chunk),
    /// saying which cases were written, with 422 locations pointing into
    /// your list. A failure of the first chunk is returned as is, since
    /// nothing was written. To make a retry safe, name the cases and
    /// re-send them with `import_cases(..).on_conflict(crate::wire::OnConflict::Update)`.
    ///
    /// `.concurrency(n)` sends up to `n` chunks at once. Cases within a
    /// chunk keep their order, but chunks may then land in any order
    /// (the answer is still in your order); after a failure no new chunk
    /// is sent, those in flight finish, and `written` counts every case
    /// that landed, including any from chunks after the failed one.
    /// `.progress(true)` draws a bar of the cases written on stderr.
    pub fn add_cases(
        &self,
        dataset: impl Into<String>,
        cases: Vec<crate::wire::NewCase>,
    ) -> crate::client::AddCases<M> {
        crate::client::AddCases {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            cases,
            tags: ::std::vec::Vec::new(),
            upload: ::core::default::Default::default(),
        }
    }

    /// Creates a case from raw JSON values, with optional name, expected
    /// output, metadata, evaluators, tags and the `source_trace_id` /
    /// `source_span_id` linking it to the trace it came from.
    pub fn create_case(
        &self,
        dataset: impl Into<String>,
        inputs: impl Into<::serde_json::Value>,
    ) -> crate::client::CreateCase<M> {
        crate::client::CreateCase {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            case: crate::wire::NewCase::new(inputs.into()),
        }
    }

    /// Updates a case: each setter sets a field (tags included), each
    /// `clear_` setter clears one, everything else is left as it is.
    pub fn update_case(
        &self,
        dataset: impl Into<String>,
        case_id: ::uuid::Uuid,
    ) -> crate::client::UpdateCase<M> {
        crate::client::UpdateCase {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            case: case_id,
            body: crate::wire::CaseUpdate::default(),
            if_version: None,
        }
    }

    /// Deletes a case.
    pub fn delete_case(
        &self,
        dataset: impl Into<String>,
        case_id: ::uuid::Uuid,
    ) -> crate::client::DeleteCase<M> {
        crate::client::DeleteCase {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            case: case_id,
            if_version: None,
        }
    }

    /// Deletes many cases in one request, by id (`.ids(..)`) or by tag
    /// (`.tags(..)`, cases having any of them); answers how many. An
    /// addition of `datasets-server`'s to the protocol.
    pub fn delete_cases(&self, dataset: impl Into<String>) -> crate::client::DeleteCases<M> {
        crate::client::DeleteCases {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            ids: ::std::vec::Vec::new(),
            tags: ::std::vec::Vec::new(),
        }
    }

    /// Exports a dataset in pydantic-evals' format (`Dataset.from_dict`).
    pub fn export_dataset(&self, dataset: impl Into<String>) -> crate::client::ExportDataset<M> {
        crate::client::ExportDataset {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            at: Default::default(),
        }
    }

    /// Lists a dataset's versions, newest first (`datasets-server` only):
    /// each write to its cases, schemas or evaluators made one.
    pub fn list_versions(&self, dataset: impl Into<String>) -> crate::client::ListVersions<M> {
        crate::client::ListVersions {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            limit: None,
        }
    }

    /// Gets one version of a dataset, by number or tag (`datasets-server` only).
    pub fn get_version(
        &self,
        dataset: impl Into<String>,
        version: impl Into<crate::client::VersionRef>,
    ) -> crate::client::GetVersion<M> {
        crate::client::GetVersion {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            version: version.into(),
        }
    }

    /// Puts `tag` on a version (moving it from another version that has
    /// it); `.remove()` takes it off instead (`datasets-server` only). A tag
    /// then names the version wherever a number does.
    pub fn tag_version(
        &self,
        dataset: impl Into<String>,
        version: impl Into<crate::client::VersionRef>,
        tag: impl Into<String>,
    ) -> crate::client::TagVersion<M> {
        crate::client::TagVersion {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            version: version.into(),
            tag: tag.into(),
            remove: false,
        }
    }

    /// The cases that differ between two versions of a dataset, in case
    /// order (`datasets-server` only).
    pub fn diff(
        &self,
        dataset: impl Into<String>,
        from: impl Into<crate::client::VersionRef>,
        to: impl Into<crate::client::VersionRef>,
    ) -> crate::client::Diff<M> {
        crate::client::Diff {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    /// Stores a finished run as an experiment (`datasets-server` only);
    /// `EvaluationReport::record` builds the body from a report.
    pub fn record_experiment(
        &self,
        experiment: crate::wire::NewExperiment,
    ) -> crate::client::RecordExperiment<M> {
        crate::client::RecordExperiment {
            client: self.as_async(),
            mode: self.mode.clone(),
            body: Ok(experiment),
        }
    }

    /// Lists stored experiments, newest first (`datasets-server` only);
    /// `.dataset(..)` keeps one dataset's, `.limit(n)` the newest `n`.
    pub fn list_experiments(&self) -> crate::client::ListExperiments<M> {
        crate::client::ListExperiments {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: None,
            limit: None,
        }
    }

    /// Gets a stored experiment with all its case results
    /// (`datasets-server` only); `EvaluationReport::from_experiment` makes
    /// it a report again.
    pub fn get_experiment(&self, id: uuid::Uuid) -> crate::client::GetExperiment<M> {
        crate::client::GetExperiment {
            client: self.as_async(),
            mode: self.mode.clone(),
            id,
        }
    }

    /// Compares a candidate experiment with a base one, as
    /// `EvaluationReport::compare` does locally (`datasets-server` only).
    pub fn compare_experiments(
        &self,
        base: uuid::Uuid,
        candidate: uuid::Uuid,
    ) -> crate::client::CompareExperiments<M> {
        crate::client::CompareExperiments {
            client: self.as_async(),
            mode: self.mode.clone(),
            base,
            candidate,
        }
    }

    /// Deletes a stored experiment (`datasets-server` only).
    pub fn delete_experiment(&self, id: uuid::Uuid) -> crate::client::DeleteExperiment<M> {
        crate::client::DeleteExperiment {
            client: self.as_async(),
            mode: self.mode.clone(),
            id,
        }
    }

    /// Imports cases (`POST .../import/`); `.on_conflict(..)` says what a
    /// taken name does (default: error). Chunked like
    /// [`add_cases`](Self::add_cases).
    pub fn import_cases(
        &self,
        dataset: impl Into<String>,
        cases: Vec<crate::wire::NewCase>,
    ) -> crate::client::ImportCases<M> {
        crate::client::ImportCases {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset: dataset.into(),
            cases,
            on_conflict: crate::wire::OnConflict::Error,
            upload: ::core::default::Default::default(),
        }
    }

    /// Publishes a dataset: creates it, or on 409 updates it (fields given
    /// are set, fields absent are left; evaluators are always replaced, as
    /// the Python SDK's `push_dataset` does), then upserts the cases by
    /// name, and returns the dataset as it now is.
    pub fn push_dataset(
        &self,
        dataset: crate::wire::NewDataset,
        cases: Vec<crate::wire::NewCase>,
    ) -> crate::client::PushDataset<M> {
        crate::client::PushDataset {
            client: self.as_async(),
            mode: self.mode.clone(),
            dataset,
            cases,
            on_case_conflict: crate::wire::OnConflict::Update,
            upload: ::core::default::Default::default(),
        }
    }
}
