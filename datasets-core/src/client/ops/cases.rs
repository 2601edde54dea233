//! The case operations: list, get, add, create, update, delete, bulk delete.

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::super::answer::{ElementSink, decode_element};
use super::super::pages::{CaseIter, CaseStream, Pager, filter_by_tags};
use super::super::split::Target;
use super::super::{Async, Call, DatasetsClient, finish};
use super::*;
use crate::Patch;
use crate::error::{Error, Result};
use crate::wire::{CaseDetail, CaseUpdate, EvaluatorSpec, NewCase, OnConflict};

/// `GET /v1/datasets/{dataset}/cases/`; see [`DatasetsClient::list_cases`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let geography = client.list_cases("qa-golden-set").tags(["geography"]).await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct ListCases<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) tags: Vec<String>,
    pub(crate) page_size: usize,
    pub(crate) at: At,
}

impl<M> ListCases<M> {
    version_setters!();

    /// Only cases having any of these tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags.extend(tag_list(tags));
        self
    }

    /// Cases per page for [`stream`](ListCases::stream) and
    /// [`iter`](ListCases::iter) (default 1,000; the server allows up to
    /// 10,000). Awaiting the builder still fetches the whole list at once.
    pub fn page_size(mut self, cases: usize) -> Self {
        self.page_size = cases.max(1);
        self
    }

    pub(crate) async fn run(self) -> Result<Vec<CaseDetail>> {
        let mut call = Call::new(Method::GET, dataset_path(&self.dataset, "cases/")?);
        let on_server = self.client.is_datasets_server();
        if on_server {
            call.query = self.tags.iter().map(|tag| ("tags", tag.clone())).collect();
        }
        self.at.apply(&self.client, &mut call)?;
        // Decoded case by case as the answer arrives.
        let mut sink = ElementSink::new(Target::Root, |index, bytes| {
            decode_element::<CaseDetail>("list of cases", "", index, bytes)
        });
        self.client.execute_streaming(&call, &mut sink).await?;
        let cases = sink.finish("list of cases")?.0;
        // Logfire's SDK sends no tag filter: the list is filtered here.
        Ok(if on_server {
            cases
        } else {
            filter_by_tags(cases, &self.tags)
        })
    }

    pub(crate) fn into_stream<T>(self, decode: fn(CaseDetail) -> Result<T>) -> CaseStream<T> {
        // A name that can never be valid fails the first poll, like a request would.
        let pager = match dataset_path(&self.dataset, "cases/").and_then(|path| {
            // The version's parameter, checked before the first page.
            let mut probe = Call::new(Method::GET, path.clone());
            self.at.apply(&self.client, &mut probe)?;
            Ok((path, probe.query))
        }) {
            Ok((path, at)) => Pager {
                client: self.client,
                path,
                tags: self.tags,
                at,
                page_size: self.page_size,
                cursor: None,
                finished: false,
                error: None,
            },
            Err(err) => Pager::failing(self.client, err),
        };
        CaseStream::new(pager, decode)
    }
}
finish!(ListCases => Vec<CaseDetail>);

impl ListCases<Async> {
    /// The cases a page at a time, following the server's cursor: memory
    /// holds one page, so this suits datasets of any size. See [`CaseStream`].
    pub fn stream(self) -> CaseStream<CaseDetail> {
        self.into_stream(Ok)
    }
}

impl ListCases<super::super::Blocking> {
    /// The cases a page at a time, for blocking code. See [`CaseIter`].
    pub fn iter(self) -> CaseIter<CaseDetail> {
        let mode = self.mode.clone();
        CaseIter::new(self.into_stream(Ok), mode)
    }
}

/// `GET /v1/datasets/{dataset}/cases/{case_id}/`; see [`DatasetsClient::get_case`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let first = &client.list_cases("qa-golden-set").await?[0];
/// let case = client.get_case("qa-golden-set", first.id).await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct GetCase<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) case: Uuid,
    pub(crate) at: At,
}

impl<M> GetCase<M> {
    version_setters!();

    pub(crate) async fn run(self) -> Result<CaseDetail> {
        let mut call = Call::new(Method::GET, case_path(&self.dataset, self.case)?).case_endpoint();
        self.at.apply(&self.client, &mut call)?;
        self.client.json(call, "CaseDetail").await
    }
}
finish!(GetCase => CaseDetail);

/// `POST /v1/datasets/{dataset}/cases/` with a whole case; see
/// [`DatasetsClient::add_case`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// use datasets_core::wire::NewCase;
/// use serde_json::json;
///
/// let case = NewCase {
///     name: Some("capital-question".into()),
///     expected_output: Some(json!({"answer": "Paris", "confidence": 0.99})),
///     ..NewCase::new(json!({"question": "What is the capital of France?"}))
/// };
/// client.add_case("qa-golden-set", case).tags(["geography", "easy"]).await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct AddCase<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) case: NewCase,
}

impl<M> AddCase<M> {
    /// Tags, added to the case's own.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        merge_tags(&mut self.case, &tag_list(tags));
        self
    }

    pub(crate) async fn run(self) -> Result<CaseDetail> {
        add_one(&self.client, &self.dataset, self.case).await
    }
}
finish!(AddCase => CaseDetail);

/// Adds one case: `POST .../cases/` on `datasets-server`; on Logfire,
/// `POST .../import/?on_conflict=error` with a list of one case, as its
/// SDK adds cases (same all-or-nothing and 409 on a taken name).
async fn add_one(client: &DatasetsClient, dataset: &str, case: NewCase) -> Result<CaseDetail> {
    if client.is_datasets_server() {
        let call = Call::new(Method::POST, dataset_path(dataset, "cases/")?).json(&case)?;
        return client.json(call, "CaseDetail").await;
    }
    let mut call = Call::new(Method::POST, dataset_path(dataset, "import/")?)
        .json(&serde_json::json!({ "cases": [case] }))?;
    call.query = vec![("on_conflict", OnConflict::Error.as_str().to_owned())];
    let body = client.execute(&call).await?;
    let cases: Vec<CaseDetail> = super::super::decode("list of cases", &body)?;
    cases.into_iter().next().ok_or_else(|| Error::Decode {
        what: "list of cases".to_owned(),
        case_id: None,
        path: None,
        message: "the import of one case answered no case".to_owned(),
        excerpt: String::new(),
    })
}

/// `POST /v1/datasets/{dataset}/cases/` from raw values; see
/// [`DatasetsClient::create_case`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// use serde_json::json;
///
/// client
///     .create_case("qa-golden-set", json!({"question": "What color is the sky?"}))
///     .name("sky-color")
///     .expected_output(json!({"answer": "Blue", "confidence": 0.95}))
///     .source_trace_id("0af7651916cd43dd8448eb211c80319c")
///     .source_span_id("b7ad6b7169203331")
///     .tags(["science", "easy"])
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct CreateCase<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) case: NewCase,
}

impl<M> CreateCase<M> {
    /// A name, unique within the dataset.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.case.name = Some(name.into());
        self
    }

    /// The expected output.
    pub fn expected_output(mut self, output: impl Into<Value>) -> Self {
        self.case.expected_output = Some(output.into());
        self
    }

    /// Metadata.
    pub fn metadata(mut self, metadata: impl Into<Value>) -> Self {
        self.case.metadata = Some(metadata.into());
        self
    }

    /// Case-level evaluators.
    pub fn evaluators(mut self, evaluators: impl IntoIterator<Item = EvaluatorSpec>) -> Self {
        self.case.evaluators = Some(evaluators.into_iter().collect());
        self
    }

    /// The trace the case was taken from.
    pub fn source_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.case.source_trace_id = Some(trace_id.into());
        self
    }

    /// The span the case was taken from.
    pub fn source_span_id(mut self, span_id: impl Into<String>) -> Self {
        self.case.source_span_id = Some(span_id.into());
        self
    }

    /// Tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        merge_tags(&mut self.case, &tag_list(tags));
        self
    }

    pub(crate) async fn run(self) -> Result<CaseDetail> {
        add_one(&self.client, &self.dataset, self.case).await
    }
}
finish!(CreateCase => CaseDetail);

/// `PATCH /v1/datasets/{dataset}/cases/{case_id}/`; see
/// [`DatasetsClient::update_case`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// use serde_json::json;
///
/// let first = &client.list_cases("qa-golden-set").await?[0];
/// client
///     .update_case("qa-golden-set", first.id)
///     .metadata(json!({"category": "geography", "difficulty": "easy", "reviewed": true}))
///     .tags(["verified", "geography"])
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct UpdateCase<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) case: Uuid,
    pub(crate) body: CaseUpdate,
    pub(crate) if_version: Option<u64>,
}

impl<M> UpdateCase<M> {
    /// Replaces the inputs.
    pub fn inputs(mut self, inputs: impl Into<Value>) -> Self {
        self.body.inputs = Some(inputs.into());
        self
    }

    patch_setters! {
        name, clear_name: String, "the name";
        expected_output, clear_expected_output: Value, "the expected output";
        metadata, clear_metadata: Value, "the metadata";
        evaluators, clear_evaluators: Vec<EvaluatorSpec>, "the case-level evaluators";
        source_trace_id, clear_source_trace_id: String, "the source trace id";
        source_span_id, clear_source_span_id: String, "the source span id";
    }

    /// Replaces the tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.body.tags = Patch::Set(tag_list(tags));
        self
    }

    /// Removes every tag.
    pub fn clear_tags(mut self) -> Self {
        self.body.tags = Patch::Clear;
        self
    }

    /// Replaces the whole body, e.g. one built elsewhere.
    pub fn body(mut self, body: CaseUpdate) -> Self {
        self.body = body;
        self
    }

    /// Updates only if the case is still at `version` (`If-Match`): a
    /// writer that changed it since is not overwritten, and the update
    /// fails with [`Error::PreconditionFailed`] giving the current version.
    /// An addition of `datasets-server`'s.
    pub fn if_version(mut self, version: u64) -> Self {
        self.if_version = Some(version);
        self
    }

    pub(crate) async fn run(self) -> Result<CaseDetail> {
        let mut call = Call::new(Method::PATCH, case_path(&self.dataset, self.case)?)
            .case_endpoint()
            .json(&self.body)?;
        call.if_version = self.if_version;
        self.client.json(call, "CaseDetail").await
    }
}
finish!(UpdateCase => CaseDetail);

/// `DELETE /v1/datasets/{dataset}/cases/{case_id}/`; see
/// [`DatasetsClient::delete_case`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let first = &client.list_cases("qa-golden-set").await?[0];
/// client.delete_case("qa-golden-set", first.id).await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct DeleteCase<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) case: Uuid,
    pub(crate) if_version: Option<u64>,
}

impl<M> DeleteCase<M> {
    /// Deletes only if the case is still at `version` (`If-Match`); see
    /// [`UpdateCase::if_version`].
    pub fn if_version(mut self, version: u64) -> Self {
        self.if_version = Some(version);
        self
    }

    pub(crate) async fn run(self) -> Result<()> {
        let mut call =
            Call::new(Method::DELETE, case_path(&self.dataset, self.case)?).case_endpoint();
        call.if_version = self.if_version;
        self.client.execute(&call).await.map(drop)
    }
}
finish!(DeleteCase => ());

/// `POST /v1/datasets/{dataset}/cases/delete/` (an addition of
/// `datasets-server`'s): deletes the cases with any of the given ids, or
/// having any of the given tags, in one transaction, and answers how many
/// were deleted. Ids that name no case are ignored. See
/// [`DatasetsClient::delete_cases`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let deleted = client.delete_cases("qa-golden-set").tags(["draft"]).await?;
/// println!("deleted {deleted} draft cases");
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct DeleteCases<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) ids: Vec<Uuid>,
    pub(crate) tags: Vec<String>,
}

impl<M> DeleteCases<M> {
    /// Deletes the cases with these ids.
    pub fn ids(mut self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        self.ids.extend(ids);
        self
    }

    /// Deletes the cases having any of these tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags.extend(tag_list(tags));
        self
    }

    pub(crate) async fn run(self) -> Result<u64> {
        if !self.client.is_datasets_server() {
            return Err(Error::InvalidArgument(
                "bulk deletion is an addition of datasets-server; Logfire's API has no such \
                 route: delete the cases one by one with delete_case"
                    .into(),
            ));
        }
        let body = match (self.ids.is_empty(), self.tags.is_empty()) {
            (false, true) => serde_json::json!({ "ids": self.ids }),
            (true, false) => serde_json::json!({ "tags": self.tags }),
            (false, false) => {
                return Err(Error::InvalidArgument(
                    "delete_cases takes ids or tags, not both: send two requests".into(),
                ));
            }
            (true, true) => {
                return Err(Error::InvalidArgument(
                    "delete_cases needs .ids(...) or .tags(...): it never deletes everything"
                        .into(),
                ));
            }
        };
        let call =
            Call::new(Method::POST, dataset_path(&self.dataset, "cases/delete/")?).json(&body)?;
        #[derive(serde::Deserialize)]
        struct Deleted {
            deleted: u64,
        }
        let body = self.client.execute(&call).await?;
        let answer: Deleted = super::super::decode("deletion count", &body)?;
        Ok(answer.deleted)
    }
}
finish!(DeleteCases => u64);
