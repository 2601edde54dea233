//! Experiments, a `datasets-server` addition to the protocol: evaluation
//! runs stored with their case results, listed, compared and deleted.

use reqwest::Method;
use uuid::Uuid;

use super::super::{Async, Call, DatasetsClient, finish};
use crate::error::{Error, Result};
use crate::eval::ReportComparison;
use crate::wire::{Experiment, ExperimentDetail, NewExperiment};

fn unsupported() -> Error {
    Error::InvalidArgument(
        "experiments are stored by datasets-server; against Logfire, send the harness's \
         spans to Logfire instead"
            .to_owned(),
    )
}

/// Experiments per page when listing, and case results per page when
/// reading one.
const PAGE: usize = 1_000;
const CASES_PAGE: usize = 5_000;

/// `POST /v1/experiments/`: stores a finished run; see
/// [`DatasetsClient::record_experiment`] and `EvaluationReport::record`.
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct RecordExperiment<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) body: Result<NewExperiment, String>,
}

impl<M> RecordExperiment<M> {
    /// The managed dataset the run used, by name or id (default: the
    /// report's dataset name, if the project has a dataset so named). The
    /// server refuses a dataset it does not have.
    pub fn dataset(mut self, dataset: impl Into<String>) -> Self {
        if let Ok(body) = &mut self.body {
            body.dataset = Some(dataset.into());
        }
        self
    }

    /// The dataset version the run used (default: the report's).
    pub fn dataset_version(mut self, version: u64) -> Self {
        if let Ok(body) = &mut self.body {
            body.dataset_version = Some(version);
        }
        self
    }

    pub(crate) async fn run(self) -> Result<Experiment> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        let body = self.body.map_err(Error::InvalidArgument)?;
        let call = Call::new(Method::POST, "/v1/experiments/".to_owned()).json(&body)?;
        self.client.json(call, "Experiment").await
    }
}
finish!(RecordExperiment => Experiment);

/// `GET /v1/experiments/`: newest first; see [`DatasetsClient::list_experiments`].
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct ListExperiments<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: Option<String>,
    pub(crate) limit: Option<usize>,
}

impl<M> ListExperiments<M> {
    /// Only the runs on this dataset (by id, or by the name the runs gave).
    pub fn dataset(mut self, dataset: impl Into<String>) -> Self {
        self.dataset = Some(dataset.into());
        self
    }

    /// At most this many, the newest (default: all).
    pub fn limit(mut self, experiments: usize) -> Self {
        self.limit = Some(experiments.max(1));
        self
    }

    pub(crate) async fn run(self) -> Result<Vec<Experiment>> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        let mut experiments = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let want = self
                .limit
                .map_or(PAGE, |limit| (limit - experiments.len()).min(PAGE));
            let mut call = Call::new(Method::GET, "/v1/experiments/".to_owned());
            call.query.push(("limit", want.to_string()));
            if let Some(dataset) = &self.dataset {
                call.query.push(("dataset", dataset.clone()));
            }
            if let Some(cursor) = &cursor {
                call.query.push(("cursor", cursor.clone()));
            }
            let (body, headers) = self.client.execute_with_headers(&call).await?;
            experiments.extend(super::super::decode::<Vec<Experiment>>(
                "list of experiments",
                &body,
            )?);
            cursor = next_cursor(&headers);
            let full = self.limit.is_some_and(|limit| experiments.len() >= limit);
            if cursor.is_none() || full {
                return Ok(experiments);
            }
        }
    }
}
finish!(ListExperiments => Vec<Experiment>);

fn next_cursor(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get("next-cursor")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// `GET /v1/experiments/{id}/`, every page of its case results; see
/// [`DatasetsClient::get_experiment`].
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct GetExperiment<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) id: Uuid,
}

impl<M> GetExperiment<M> {
    pub(crate) async fn run(self) -> Result<ExperimentDetail> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        let path = format!("/v1/experiments/{}/", self.id);
        let mut whole: Option<ExperimentDetail> = None;
        let mut cursor: Option<String> = None;
        loop {
            let mut call = Call::new(Method::GET, path.clone());
            call.query.push(("limit", CASES_PAGE.to_string()));
            if let Some(cursor) = &cursor {
                call.query.push(("cursor", cursor.clone()));
            }
            let (body, headers) = self.client.execute_with_headers(&call).await?;
            let page: ExperimentDetail = super::super::decode("ExperimentDetail", &body)?;
            match &mut whole {
                None => whole = Some(page),
                Some(whole) => {
                    whole.cases.extend(page.cases);
                    whole.failures.extend(page.failures);
                }
            }
            cursor = next_cursor(&headers);
            if cursor.is_none() {
                return whole.ok_or_else(|| Error::InvalidArgument("no answer".to_owned()));
            }
        }
    }
}
finish!(GetExperiment => ExperimentDetail);

/// `GET /v1/experiments/compare/?base=A&candidate=B`; see
/// [`DatasetsClient::compare_experiments`].
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct CompareExperiments<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) base: Uuid,
    pub(crate) candidate: Uuid,
}

impl<M> CompareExperiments<M> {
    pub(crate) async fn run(self) -> Result<ReportComparison> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        let mut call = Call::new(Method::GET, "/v1/experiments/compare/".to_owned());
        call.query.push(("base", self.base.to_string()));
        call.query.push(("candidate", self.candidate.to_string()));
        self.client.json(call, "ReportComparison").await
    }
}
finish!(CompareExperiments => ReportComparison);

/// `DELETE /v1/experiments/{id}/`; see [`DatasetsClient::delete_experiment`].
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct DeleteExperiment<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) id: Uuid,
}

impl<M> DeleteExperiment<M> {
    pub(crate) async fn run(self) -> Result<()> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        let path = format!("/v1/experiments/{}/", self.id);
        self.client
            .execute(&Call::new(Method::DELETE, path))
            .await
            .map(drop)
    }
}
finish!(DeleteExperiment => ());

impl<I: serde::Serialize, O: serde::Serialize, Me: serde::Serialize>
    crate::eval::EvaluationReport<I, O, Me>
{
    /// Stores this report as an experiment on `client`'s server
    /// (`datasets-server` only): `.await` (or `.send()` on a blocking
    /// client) gives the stored [`Experiment`]. It names the report's
    /// dataset and version; `.dataset(..)` names a managed dataset
    /// explicitly.
    ///
    /// ```no_run
    /// # async fn run(client: datasets_core::DatasetsClient,
    /// #              report: datasets_core::eval::EvaluationReport) -> datasets_core::Result<()> {
    /// let stored = report.record(&client).await?;
    /// println!("stored experiment {}", stored.id);
    /// # Ok(()) }
    /// ```
    pub fn record<Md: super::super::Mode>(
        &self,
        client: &DatasetsClient<Md>,
    ) -> RecordExperiment<Md> {
        RecordExperiment {
            client: client.as_async(),
            mode: client.mode.clone(),
            body: self.to_new_experiment().map_err(|err| err.to_string()),
        }
    }
}

#[cfg(feature = "eval")]
impl<'a, I, O, Me, F, Fut, Mk> crate::eval::Evaluate<'a, I, O, Me, F, Mk>
where
    I: Clone + serde::Serialize + Send + Sync + 'static,
    O: Clone + serde::Serialize + Send + Sync + 'static,
    Me: Clone + serde::Serialize + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'a,
    Fut: std::future::Future + Send + 'a,
    Fut::Output: crate::eval::TaskOutput<O, Mk>,
    Mk: 'a,
{
    /// Runs the evaluation, then stores its report as an experiment of the
    /// handle's dataset (`datasets-server` only). Gives the report and the
    /// stored experiment; a failure to store is the error (the report is
    /// lost with it only if the run itself was: run and
    /// [`EvaluationReport::record`](crate::eval::EvaluationReport::record)
    /// apart to keep it regardless).
    pub async fn record_to<D: crate::DatasetSchema>(
        self,
        handle: &crate::DatasetHandle<D>,
    ) -> Result<(crate::eval::EvaluationReport<I, O, Me>, Experiment)> {
        let report = self.await;
        let stored = handle.record(&report).await?;
        Ok((report, stored))
    }
}
