//! Typed dataset handles: [`DatasetHandle`], from
//! [`DatasetsClient::dataset`], whose methods accept only the declared
//! input, output and metadata types.
//!
//! ```no_run
//! # use datasets_core::{Case, DatasetSchema, DatasetsClient};
//! # fn typed<D: DatasetSchema<Input = String>>(client: DatasetsClient) {}
//! # async fn run<D: DatasetSchema<Input = String>>(client: DatasetsClient) -> datasets_core::Result<()> {
//! let handle = client.dataset::<D>();
//! handle.ensure().await?; // create, or bring the schemas up to date
//! let stored = handle.add_case(Case::new("What is 2+2?".to_owned()).name("q1")).tags(["math"]).await?;
//! let input: &String = &stored.inputs; // typed
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use serde_json::Value;
use uuid::Uuid;

use crate::Patch;
use crate::case::{Case, StoredCase};
use crate::client::Blocking;
use crate::client::{self, Async, DatasetsClient, Mode, finish};
use crate::error::{Error, Result};
use crate::eval::Dataset;
use crate::schema::{DatasetSchema, Ensured, ensure_definition};
use crate::wire::{CaseDetail, EvaluatorSpec, NewCase, NewDataset, OnConflict};

/// A case of dataset `D`.
pub type CaseOf<D> =
    Case<<D as DatasetSchema>::Input, <D as DatasetSchema>::Output, <D as DatasetSchema>::Metadata>;
/// A stored case of dataset `D`.
pub type StoredCaseOf<D> = StoredCase<
    <D as DatasetSchema>::Input,
    <D as DatasetSchema>::Output,
    <D as DatasetSchema>::Metadata,
>;
/// A local dataset of `D`'s types.
pub type DatasetOf<D> = Dataset<
    <D as DatasetSchema>::Input,
    <D as DatasetSchema>::Output,
    <D as DatasetSchema>::Metadata,
>;

/// A handle on the dataset declared by `D`. Cheap to clone; `M` is the
/// client's mode (async, or blocking with `.send()`).
pub struct DatasetHandle<D, M: Mode = Async> {
    /// The client in the handle's mode, refusing every request when `D`'s
    /// name is declared twice; its operations build the untyped requests.
    client: DatasetsClient<M>,
    schema: PhantomData<fn() -> D>,
}

impl<D, M: Mode> Clone for DatasetHandle<D, M> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            schema: PhantomData,
        }
    }
}

impl<D: DatasetSchema, M: Mode> std::fmt::Debug for DatasetHandle<D, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetHandle")
            .field("dataset", &D::NAME)
            .finish_non_exhaustive()
    }
}

impl<M: Mode> DatasetsClient<M> {
    /// A handle on the dataset `D` declares, typed by its input, output and
    /// metadata types, in this client's mode.
    ///
    /// If another Rust type of the binary declares the same dataset name,
    /// every request of the handle fails with [`Error::InvalidArgument`]
    /// naming both types, before anything is sent.
    pub fn dataset<D: DatasetSchema>(&self) -> DatasetHandle<D, M> {
        DatasetHandle {
            client: guarded::<D, M>(self),
            schema: PhantomData,
        }
    }
}

/// The client a handle on `D` uses: one that refuses every request when
/// `D`'s dataset name is declared by another Rust type too.
fn guarded<D: DatasetSchema, M: Mode>(client: &DatasetsClient<M>) -> DatasetsClient<M> {
    match crate::schema::declaration_conflict::<D>() {
        Some(why) => client.refusing(why),
        None => client.clone(),
    }
}

fn decode_cases<D: DatasetSchema>(cases: Vec<CaseDetail>) -> Result<Vec<StoredCaseOf<D>>> {
    cases.into_iter().map(StoredCase::from_detail).collect()
}

impl<D: DatasetSchema, M: Mode> DatasetHandle<D, M> {
    /// The dataset's name.
    pub fn name(&self) -> &'static str {
        D::NAME
    }

    /// The handle's parts for a typed builder: the async client it runs
    /// on, and the mode it finishes in.
    fn parts(&self) -> (DatasetsClient, M) {
        (self.client.as_async(), self.client.mode().clone())
    }

    /// Creates the dataset if missing, or updates what differs from the
    /// declaration (schemas, and description and guidance when declared);
    /// writes nothing when it matches. Idempotent.
    pub fn ensure(&self) -> Ensure<D, M> {
        let (client, mode) = self.parts();
        Ensure {
            client,
            mode,
            schema: PhantomData,
        }
    }

    /// Creates the dataset from the declaration (409 if it exists).
    pub fn create(&self) -> client::CreateDataset<M> {
        self.client
            .create_dataset_from(D::definition().to_new_dataset())
    }

    /// The dataset as stored.
    pub fn info(&self) -> client::GetDataset<M> {
        self.client.get_dataset(D::NAME)
    }

    /// Deletes the dataset and its cases.
    pub fn delete(&self) -> client::DeleteDataset<M> {
        self.client.delete_dataset(D::NAME)
    }

    /// Adds one case; `.tags(..)`, `.source_trace_id(..)` and
    /// `.source_span_id(..)` add tags and the link to its trace.
    pub fn add_case(&self, case: CaseOf<D>) -> AddCase<D, M> {
        let (client, mode) = self.parts();
        AddCase {
            client,
            mode,
            case: case.to_new_case(),
            schema: PhantomData,
        }
    }

    /// Adds cases (`/cases/bulk/`, chunked like
    /// [`DatasetsClient::add_cases`]); `.tags(..)` adds tags to every case.
    pub fn add_cases(&self, cases: Vec<CaseOf<D>>) -> AddCases<D, M> {
        let (client, mode) = self.parts();
        AddCases {
            client,
            mode,
            cases: cases.iter().map(Case::to_new_case).collect(),
            tags: Vec::new(),
            upload: Default::default(),
            schema: PhantomData,
        }
    }

    /// Lists the cases, typed; `.tags(..)` keeps those with any of the tags.
    pub fn list_cases(&self) -> ListCases<D, M> {
        ListCases {
            inner: self.client.list_cases(D::NAME),
            mode: self.client.mode().clone(),
            schema: PhantomData,
        }
    }

    /// Gets one case, typed.
    pub fn get_case(&self, case_id: Uuid) -> GetCase<D, M> {
        GetCase {
            inner: self.client.get_case(D::NAME, case_id),
            mode: self.client.mode().clone(),
            schema: PhantomData,
        }
    }

    /// Updates a case with typed values: each setter sets a field, each
    /// `clear_` setter clears one, everything else is left as it is.
    pub fn update_case(&self, case_id: Uuid) -> UpdateCase<D, M> {
        UpdateCase {
            inner: self.client.update_case(D::NAME, case_id),
            mode: self.client.mode().clone(),
            error: None,
            schema: PhantomData,
        }
    }

    /// Deletes a case.
    pub fn delete_case(&self, case_id: Uuid) -> client::DeleteCase<M> {
        self.client.delete_case(D::NAME, case_id)
    }

    /// Deletes many cases in one request, by id or by tag; see
    /// [`DatasetsClient::delete_cases`](crate::DatasetsClient::delete_cases).
    pub fn delete_cases(&self) -> client::DeleteCases<M> {
        self.client.delete_cases(D::NAME)
    }

    /// Exports the dataset as a local, typed [`Dataset`].
    pub fn export(&self) -> Export<D, M> {
        let (client, mode) = self.parts();
        Export {
            client,
            mode,
            at: client::ops::At::Head,
            schema: PhantomData,
        }
    }

    /// Lists the dataset's versions, newest first (`datasets-server` only).
    pub fn list_versions(&self) -> client::ListVersions<M> {
        self.client.list_versions(D::NAME)
    }

    /// Gets one version, by number or tag (`datasets-server` only).
    pub fn get_version(&self, version: impl Into<client::VersionRef>) -> client::GetVersion<M> {
        self.client.get_version(D::NAME, version)
    }

    /// Puts `tag` on a version, moving it from another (`datasets-server` only).
    pub fn tag_version(
        &self,
        version: impl Into<client::VersionRef>,
        tag: impl Into<String>,
    ) -> client::TagVersion<M> {
        self.client.tag_version(D::NAME, version, tag)
    }

    /// The cases that differ between two versions (`datasets-server` only).
    pub fn diff(
        &self,
        from: impl Into<client::VersionRef>,
        to: impl Into<client::VersionRef>,
    ) -> client::Diff<M> {
        self.client.diff(D::NAME, from, to)
    }

    /// Stores a report of a run on this dataset as an experiment
    /// (`datasets-server` only).
    pub fn record<I: serde::Serialize, O: serde::Serialize, Me: serde::Serialize>(
        &self,
        report: &crate::eval::EvaluationReport<I, O, Me>,
    ) -> client::RecordExperiment<M> {
        report.record(&self.client).dataset(D::NAME)
    }

    /// The experiments run on this dataset, newest first (`datasets-server` only).
    pub fn list_experiments(&self) -> client::ListExperiments<M> {
        self.client.list_experiments().dataset(D::NAME)
    }

    /// Publishes a local dataset: ensures the declared dataset, sets its
    /// evaluators to the local ones, and upserts the cases by name (as the
    /// Python SDK's `push_dataset`).
    pub fn push(&self, dataset: &DatasetOf<D>) -> Push<D, M> {
        let (client, mode) = self.parts();
        Push {
            client,
            mode,
            cases: dataset.to_new_cases(),
            evaluators: dataset.evaluators.clone(),
            report_evaluators: dataset.report_evaluators.clone(),
            upload: Default::default(),
            schema: PhantomData,
        }
    }
}

/// See [`DatasetHandle::ensure`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct Ensure<D, M = Async> {
    client: DatasetsClient,
    mode: M,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> Ensure<D, M> {
    async fn run(self) -> Result<Ensured> {
        ensure_definition(&self.client, &D::definition()).await
    }
}
finish!(Ensure<D: DatasetSchema> => Ensured);

/// See [`DatasetHandle::add_case`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct AddCase<D, M = Async> {
    client: DatasetsClient,
    mode: M,
    case: Result<NewCase>,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> AddCase<D, M> {
    fn with(mut self, f: impl FnOnce(&mut NewCase)) -> Self {
        if let Ok(case) = &mut self.case {
            f(case);
        }
        self
    }

    /// Tags for the case.
    pub fn tags(self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        self.with(|case| crate::names::merge_tags(case.tags.get_or_insert_with(Vec::new), tags))
    }

    /// The trace the case was taken from.
    pub fn source_trace_id(self, trace_id: impl Into<String>) -> Self {
        let trace_id = trace_id.into();
        self.with(|case| case.source_trace_id = Some(trace_id))
    }

    /// The span the case was taken from.
    pub fn source_span_id(self, span_id: impl Into<String>) -> Self {
        let span_id = span_id.into();
        self.with(|case| case.source_span_id = Some(span_id))
    }

    async fn run(self) -> Result<StoredCaseOf<D>> {
        let case = self.case?;
        precheck::cases::<D>(&self.client, std::slice::from_ref(&case), false)?;
        StoredCase::from_detail(self.client.add_case(D::NAME, case).await?)
    }
}
finish!(AddCase<D: DatasetSchema> => StoredCaseOf<D>);

/// See [`DatasetHandle::add_cases`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct AddCases<D, M = Async> {
    client: DatasetsClient,
    mode: M,
    cases: Vec<Result<NewCase>>,
    tags: Vec<String>,
    upload: client::UploadOptions,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> AddCases<D, M> {
    /// Tags added to every case.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    client::upload_options!();

    async fn run(self) -> Result<Vec<StoredCaseOf<D>>> {
        let mut cases = self.cases.into_iter().collect::<Result<Vec<_>>>()?;
        // Checked as they will be sent: with the tags added to each.
        for case in &mut cases {
            crate::names::merge_tags(case.tags.get_or_insert_with(Vec::new), self.tags.clone());
        }
        precheck::cases::<D>(&self.client, &cases, true)?;
        let mut request = self.client.add_cases(D::NAME, cases).tags(self.tags);
        request.upload = self.upload;
        decode_cases::<D>(request.await?)
    }
}
finish!(AddCases<D: DatasetSchema> => Vec<StoredCaseOf<D>>);

/// See [`DatasetHandle::list_cases`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct ListCases<D, M = Async> {
    inner: client::ListCases<M>,
    mode: M,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> ListCases<D, M> {
    /// The cases as they were at this version (a number or a version tag);
    /// `datasets-server` only.
    pub fn version(mut self, version: impl Into<client::VersionRef>) -> Self {
        self.inner = self.inner.version(version);
        self
    }

    /// The cases as they were at the latest version at or before `time`.
    pub fn as_of(mut self, time: time::OffsetDateTime) -> Self {
        self.inner = self.inner.as_of(time);
        self
    }

    /// Only cases having any of these tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.inner = self.inner.tags(tags);
        self
    }

    /// Cases per page for `stream` and `iter` (default 1,000).
    pub fn page_size(mut self, cases: usize) -> Self {
        self.inner = self.inner.page_size(cases);
        self
    }

    async fn run(self) -> Result<Vec<StoredCaseOf<D>>> {
        decode_cases::<D>(self.inner.run().await?)
    }
}
finish!(ListCases<D: DatasetSchema> => Vec<StoredCaseOf<D>>);

impl<D: DatasetSchema> ListCases<D, Async> {
    /// The typed cases a page at a time, following the server's cursor;
    /// see [`CaseStream`](client::CaseStream). A case that no longer fits
    /// the Rust types is an [`Error::Decode`] item naming it.
    pub fn stream(self) -> client::CaseStream<StoredCaseOf<D>> {
        self.inner.into_stream(StoredCase::from_detail)
    }
}

impl<D: DatasetSchema> ListCases<D, Blocking> {
    /// The typed cases a page at a time, for blocking code.
    pub fn iter(self) -> client::CaseIter<StoredCaseOf<D>> {
        let mode = self.mode.clone();
        client::CaseIter::new(self.inner.into_stream(StoredCase::from_detail), mode)
    }
}

/// See [`DatasetHandle::get_case`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct GetCase<D, M = Async> {
    inner: client::GetCase<M>,
    mode: M,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> GetCase<D, M> {
    /// The case as it was at this version (a number or a version tag);
    /// `datasets-server` only.
    pub fn version(mut self, version: impl Into<client::VersionRef>) -> Self {
        self.inner = self.inner.version(version);
        self
    }

    /// The case as it was at the latest version at or before `time`.
    pub fn as_of(mut self, time: time::OffsetDateTime) -> Self {
        self.inner = self.inner.as_of(time);
        self
    }

    async fn run(self) -> Result<StoredCaseOf<D>> {
        StoredCase::from_detail(self.inner.run().await?)
    }
}
finish!(GetCase<D: DatasetSchema> => StoredCaseOf<D>);

/// See [`DatasetHandle::update_case`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct UpdateCase<D, M = Async> {
    inner: client::UpdateCase<M>,
    mode: M,
    error: Option<Error>,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> UpdateCase<D, M> {
    fn encode<T: serde::Serialize>(&mut self, field: &str, value: &T) -> Option<Value> {
        match serde_json::to_value(value) {
            Ok(value) => Some(value),
            Err(err) => {
                self.error.get_or_insert(Error::InvalidArgument(format!(
                    "the new {field} cannot be encoded as JSON: {err}"
                )));
                None
            }
        }
    }

    /// Replaces the inputs.
    pub fn inputs(mut self, inputs: D::Input) -> Self {
        self.inner.body.inputs = self.encode("inputs", &inputs);
        self
    }

    /// Replaces the expected output.
    pub fn expected_output(mut self, output: D::Output) -> Self {
        if let Some(value) = self.encode("expected output", &output) {
            self.inner.body.expected_output = Patch::Set(value);
        }
        self
    }

    /// Clears the expected output.
    pub fn clear_expected_output(mut self) -> Self {
        self.inner.body.expected_output = Patch::Clear;
        self
    }

    /// Replaces the metadata.
    pub fn metadata(mut self, metadata: D::Metadata) -> Self {
        if let Some(value) = self.encode("metadata", &metadata) {
            self.inner.body.metadata = Patch::Set(value);
        }
        self
    }

    /// Clears the metadata.
    pub fn clear_metadata(mut self) -> Self {
        self.inner.body.metadata = Patch::Clear;
        self
    }

    /// Renames the case.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner = self.inner.name(name);
        self
    }

    /// Removes the case's name.
    pub fn clear_name(mut self) -> Self {
        self.inner = self.inner.clear_name();
        self
    }

    /// Replaces the case-level evaluators.
    pub fn evaluators(mut self, evaluators: impl IntoIterator<Item = EvaluatorSpec>) -> Self {
        self.inner.body.evaluators = Patch::Set(evaluators.into_iter().collect());
        self
    }

    /// Replaces the tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.inner = self.inner.tags(tags);
        self
    }

    /// Removes every tag.
    pub fn clear_tags(mut self) -> Self {
        self.inner = self.inner.clear_tags();
        self
    }

    /// Updates only if the case is still at `version`, e.g. the
    /// [`StoredCase::version`] it was read at; otherwise
    /// [`Error::PreconditionFailed`] with the current version.
    pub fn if_version(mut self, version: u64) -> Self {
        self.inner = self.inner.if_version(version);
        self
    }

    async fn run(self) -> Result<StoredCaseOf<D>> {
        if let Some(err) = self.error {
            return Err(err);
        }
        precheck::update::<D>(&self.inner.client, &self.inner.body)?;
        StoredCase::from_detail(self.inner.run().await?)
    }
}
finish!(UpdateCase<D: DatasetSchema> => StoredCaseOf<D>);

/// See [`DatasetHandle::export`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct Export<D, M = Async> {
    client: DatasetsClient,
    mode: M,
    at: client::ops::At,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> Export<D, M> {
    client::ops::version_setters!();

    async fn run(self) -> Result<DatasetOf<D>> {
        // Each case decodes straight into the Rust types as it arrives.
        let mut export = self.client.export_dataset(D::NAME);
        export.at = self.at;
        let (cases, rest) = export.run_with(decode_typed_case::<D>).await?;
        Ok(Dataset {
            name: rest.name,
            cases,
            evaluators: rest.evaluators,
            report_evaluators: rest.report_evaluators,
            version: rest.version,
        })
    }
}

/// An exported case in `D`'s types.
#[derive(serde::Deserialize)]
#[serde(bound(
    deserialize = "I: serde::de::DeserializeOwned, O: serde::de::DeserializeOwned, \
                             M: serde::de::DeserializeOwned"
))]
struct TypedExportCase<I, O, M> {
    #[serde(default)]
    name: Option<String>,
    inputs: I,
    #[serde(default = "Option::default")]
    metadata: Option<M>,
    #[serde(default = "Option::default")]
    expected_output: Option<O>,
    #[serde(default)]
    evaluators: Option<Vec<EvaluatorSpec>>,
}

/// Decodes case `index` of an export into `D`'s types; an error names the
/// case (index and name) and the JSON path.
fn decode_typed_case<D: DatasetSchema>(index: usize, bytes: &[u8]) -> Result<CaseOf<D>> {
    let case: TypedExportCase<D::Input, D::Output, D::Metadata> =
        client::answer::decode_element("export", "cases", index, bytes).map_err(|err| {
            #[derive(serde::Deserialize)]
            struct Named {
                #[serde(default)]
                name: Option<String>,
            }
            let name = serde_json::from_slice::<Named>(bytes)
                .ok()
                .and_then(|n| n.name);
            match err {
                Error::Decode {
                    path,
                    message,
                    excerpt,
                    ..
                } => Error::Decode {
                    what: match name {
                        Some(name) => format!("exported case {index} ({name:?})"),
                        None => format!("exported case {index}"),
                    },
                    case_id: None,
                    path,
                    message,
                    excerpt,
                },
                other => other,
            }
        })?;
    Ok(Case {
        name: case.name,
        inputs: case.inputs,
        expected_output: case.expected_output,
        metadata: case.metadata,
        evaluators: case.evaluators.unwrap_or_default(),
    })
}
finish!(Export<D: DatasetSchema> => DatasetOf<D>);

/// See [`DatasetHandle::push`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct Push<D, M = Async> {
    client: DatasetsClient,
    mode: M,
    cases: Result<Vec<NewCase>>,
    evaluators: Vec<EvaluatorSpec>,
    report_evaluators: Vec<EvaluatorSpec>,
    upload: client::UploadOptions,
    schema: PhantomData<fn() -> D>,
}

impl<D: DatasetSchema, M> Push<D, M> {
    client::upload_options!();

    async fn run(self) -> Result<crate::wire::DatasetDetail> {
        let cases = self.cases?;
        precheck::cases::<D>(&self.client, &cases, true)?;
        let dataset = NewDataset {
            evaluators: Some(self.evaluators),
            report_evaluators: Some(self.report_evaluators),
            ..D::definition().to_new_dataset()
        };
        let mut push = self.client.push_dataset(dataset, cases);
        push.on_case_conflict = OnConflict::Update;
        push.upload = self.upload;
        push.await
    }
}
finish!(Push<D: DatasetSchema> => crate::wire::DatasetDetail);

#[cfg(feature = "client-validation")]
mod precheck;

/// Without the `client-validation` feature, cases are checked by the
/// server alone. The type parameter keeps the calls the same either way.
#[cfg(not(feature = "client-validation"))]
#[allow(clippy::extra_unused_type_parameters)]
mod precheck {
    use crate::client::DatasetsClient;
    use crate::error::Result;
    use crate::schema::DatasetSchema;
    use crate::wire::{CaseUpdate, NewCase};

    pub(super) fn cases<D: DatasetSchema>(
        _: &DatasetsClient,
        _: &[NewCase],
        _: bool,
    ) -> Result<()> {
        Ok(())
    }

    pub(super) fn update<D: DatasetSchema>(_: &DatasetsClient, _: &CaseUpdate) -> Result<()> {
        Ok(())
    }
}
