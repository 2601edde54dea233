//! The dataset operations: list, get, create, update, delete, export, push.

use reqwest::Method;
use serde_json::Value;

use super::super::answer::{DecodeElement, ElementSink, ExportRest, decode_element};
use super::super::split::Target;
use super::super::{Async, Call, DatasetsClient, finish};
use super::*;
use crate::Patch;
use crate::error::{Error, Result};
use crate::wire::{
    DatasetDetail, DatasetSummary, DatasetUpdate, EvaluatorSpec, ExportedCase, ExportedDataset,
    NewCase, NewDataset, OnConflict,
};

/// `GET /v1/datasets/`; see [`DatasetsClient::list_datasets`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// for dataset in client.list_datasets().await? {
///     println!("{}: {} cases", dataset.name, dataset.case_count);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct ListDatasets<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
}

impl<M> ListDatasets<M> {
    pub(crate) async fn run(self) -> Result<Vec<DatasetSummary>> {
        let call = Call::new(Method::GET, "/v1/datasets/".to_owned());
        self.client.json(call, "list of datasets").await
    }
}
finish!(ListDatasets => Vec<DatasetSummary>);

/// `GET /v1/datasets/{dataset}/`; see [`DatasetsClient::get_dataset`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let dataset = client.get_dataset("qa-golden-set").await?;
/// println!("{:?}", dataset.input_schema);
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct GetDataset<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) at: At,
}

impl<M> GetDataset<M> {
    version_setters!();

    pub(crate) async fn run(self) -> Result<DatasetDetail> {
        let mut call = Call::new(Method::GET, dataset_path(&self.dataset, "")?);
        self.at.apply(&self.client, &mut call)?;
        self.client.json(call, "DatasetDetail").await
    }
}
finish!(GetDataset => DatasetDetail);

/// `POST /v1/datasets/`; see [`DatasetsClient::create_dataset`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// use serde_json::json;
///
/// let dataset = client
///     .create_dataset("qa-golden-set")
///     .description("Golden test cases for the Q&A system")
///     .input_schema(json!({"type": "object", "properties": {"question": {"type": "string"}}}))
///     .guidance("Each case should represent a realistic user question.")
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct CreateDataset<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) body: NewDataset,
}

impl<M> CreateDataset<M> {
    /// A free-text description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.body.description = Some(description.into());
        self
    }

    /// Replaces the whole body, e.g. one built from a declaration; its
    /// `name` replaces the one given to `create_dataset`.
    pub fn body(mut self, body: NewDataset) -> Self {
        self.body = body;
        self
    }

    /// The JSON Schema every case's `inputs` must satisfy.
    pub fn input_schema(mut self, schema: impl Into<Value>) -> Self {
        self.body.input_schema = Some(schema.into());
        self
    }

    /// The JSON Schema every non-null `expected_output` must satisfy.
    pub fn output_schema(mut self, schema: impl Into<Value>) -> Self {
        self.body.output_schema = Some(schema.into());
        self
    }

    /// The JSON Schema every non-null `metadata` must satisfy.
    pub fn metadata_schema(mut self, schema: impl Into<Value>) -> Self {
        self.body.metadata_schema = Some(schema.into());
        self
    }

    /// Free-text instructions on how cases should look.
    pub fn guidance(mut self, guidance: impl Into<String>) -> Self {
        self.body.guidance = Some(guidance.into());
        self
    }

    /// Whether Logfire's AI features may maintain the guidance.
    pub fn ai_managed_guidance(mut self, managed: bool) -> Self {
        self.body.ai_managed_guidance = Some(managed);
        self
    }

    /// Dataset-level evaluators.
    pub fn evaluators(mut self, evaluators: impl IntoIterator<Item = EvaluatorSpec>) -> Self {
        self.body.evaluators = Some(evaluators.into_iter().collect());
        self
    }

    /// Report-level evaluators.
    pub fn report_evaluators(
        mut self,
        evaluators: impl IntoIterator<Item = EvaluatorSpec>,
    ) -> Self {
        self.body.report_evaluators = Some(evaluators.into_iter().collect());
        self
    }

    pub(crate) async fn run(self) -> Result<DatasetDetail> {
        crate::validate_dataset_name(&self.body.name).map_err(Error::InvalidArgument)?;
        let call = Call::new(Method::POST, "/v1/datasets/".to_owned()).json(&self.body)?;
        self.client.json(call, "DatasetDetail").await
    }
}
finish!(CreateDataset => DatasetDetail);

/// `PATCH /v1/datasets/{dataset}/`; see [`DatasetsClient::update_dataset`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// client
///     .update_dataset("qa-golden-set")
///     .description("Updated description")
///     .clear_guidance()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct UpdateDataset<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) body: DatasetUpdate,
}

impl<M> UpdateDataset<M> {
    /// Renames the dataset.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.body.name = Patch::Set(name.into());
        self
    }

    patch_setters! {
        description, clear_description: String, "the description";
        input_schema, clear_input_schema: Value, "the input schema (existing cases are re-checked)";
        output_schema, clear_output_schema: Value, "the output schema (existing cases are re-checked)";
        metadata_schema, clear_metadata_schema: Value, "the metadata schema (existing cases are re-checked)";
        guidance, clear_guidance: String, "the guidance";
        evaluators, clear_evaluators: Vec<EvaluatorSpec>, "the dataset-level evaluators";
        report_evaluators, clear_report_evaluators: Vec<EvaluatorSpec>, "the report-level evaluators";
    }

    /// Whether Logfire's AI features may maintain the guidance.
    pub fn ai_managed_guidance(mut self, managed: bool) -> Self {
        self.body.ai_managed_guidance = Patch::Set(managed);
        self
    }

    /// Replaces the whole body, e.g. one built elsewhere.
    pub fn body(mut self, body: DatasetUpdate) -> Self {
        self.body = body;
        self
    }

    pub(crate) async fn run(self) -> Result<DatasetDetail> {
        if let Patch::Set(name) = &self.body.name {
            crate::validate_dataset_name(name).map_err(Error::InvalidArgument)?;
        }
        let call = Call::new(Method::PATCH, dataset_path(&self.dataset, "")?).json(&self.body)?;
        self.client.json(call, "DatasetDetail").await
    }
}
finish!(UpdateDataset => DatasetDetail);

/// `DELETE /v1/datasets/{dataset}/`; see [`DatasetsClient::delete_dataset`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// client.delete_dataset("qa-golden-set").await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct DeleteDataset<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
}

impl<M> DeleteDataset<M> {
    pub(crate) async fn run(self) -> Result<()> {
        let call = Call::new(Method::DELETE, dataset_path(&self.dataset, "")?);
        self.client.execute(&call).await.map(drop)
    }
}
finish!(DeleteDataset => ());

/// `GET /v1/datasets/{dataset}/export/`; see [`DatasetsClient::export_dataset`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let export = client.export_dataset("qa-golden-set").await?;
/// std::fs::write("qa.json", serde_json::to_vec_pretty(&export).unwrap()).unwrap();
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct ExportDataset<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) at: At,
}

impl<M> ExportDataset<M> {
    version_setters!();

    pub(crate) async fn run(self) -> Result<ExportedDataset> {
        let (cases, rest) = self
            .run_with(|index, bytes| {
                decode_element::<ExportedCase>("export", "cases", index, bytes)
            })
            .await?;
        Ok(ExportedDataset {
            name: rest.name,
            cases,
            evaluators: rest.evaluators,
            report_evaluators: rest.report_evaluators,
            version: rest.version,
        })
    }

    /// The export, each case decoded by `decode` as soon as it has arrived.
    pub(crate) async fn run_with<C: Send>(
        self,
        decode: DecodeElement<C>,
    ) -> Result<(Vec<C>, ExportRest)> {
        let mut call = Call::new(Method::GET, dataset_path(&self.dataset, "export/")?);
        self.at.apply(&self.client, &mut call)?;
        let mut sink = ElementSink::new(Target::Member("cases"), decode);
        let headers = self.client.execute_streaming(&call, &mut sink).await?;
        let (cases, rest) = sink.finish("export")?;
        let mut rest = ExportRest::parse(&rest)?;
        // The version the export holds (datasets-server says; Logfire does not).
        rest.version = headers
            .get("dataset-version")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        Ok((cases, rest))
    }
}
finish!(ExportDataset => ExportedDataset);

/// Create-or-update a dataset, then upsert its cases; see
/// [`DatasetsClient::push_dataset`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// use datasets_core::wire::{NewCase, NewDataset};
/// use serde_json::json;
///
/// let dataset = NewDataset {
///     name: "qa-golden-set".into(),
///     description: Some("Golden test cases".into()),
///     ..NewDataset::default()
/// };
/// let cases = vec![NewCase {
///     name: Some("q1".into()),
///     ..NewCase::new(json!({"question": "What is 2+2?"}))
/// }];
/// let info = client.push_dataset(dataset, cases).await?;
/// println!("{} now has {} cases", info.name, info.case_count);
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct PushDataset<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: NewDataset,
    pub(crate) cases: Vec<NewCase>,
    pub(crate) on_case_conflict: OnConflict,
    pub(crate) upload: UploadOptions,
}

impl<M> PushDataset<M> {
    /// What a pushed case whose name exists does (default
    /// [`OnConflict::Update`], so pushing twice is idempotent for named cases).
    pub fn on_case_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_case_conflict = on_conflict;
        self
    }

    upload_options!();

    pub(crate) async fn run(self) -> Result<DatasetDetail> {
        let name = self.dataset.name.clone();
        crate::validate_dataset_name(&name).map_err(Error::InvalidArgument)?;
        match self.client.create_dataset_from(self.dataset.clone()).await {
            Ok(_) => {}
            Err(Error::Api { status: 409, .. }) => {
                let given = self.dataset;
                // Evaluators are always sent, so pushing none clears them,
                // as the Python SDK's push_dataset does.
                let body = DatasetUpdate {
                    name: Patch::Keep,
                    description: keep_or_set(given.description),
                    input_schema: keep_or_set(given.input_schema),
                    output_schema: keep_or_set(given.output_schema),
                    metadata_schema: keep_or_set(given.metadata_schema),
                    guidance: keep_or_set(given.guidance),
                    ai_managed_guidance: keep_or_set(given.ai_managed_guidance),
                    evaluators: Patch::Set(given.evaluators.unwrap_or_default()),
                    report_evaluators: Patch::Set(given.report_evaluators.unwrap_or_default()),
                };
                let mut update = self.client.update_dataset(name.clone());
                update.body = body;
                update.await?;
            }
            Err(other) => return Err(other),
        }
        if !self.cases.is_empty() {
            let mut import = self
                .client
                .import_cases(name.clone(), self.cases)
                .on_conflict(self.on_case_conflict);
            import.upload = self.upload;
            import.await?;
        }
        self.client.get_dataset(name).await
    }
}
finish!(PushDataset => DatasetDetail);
