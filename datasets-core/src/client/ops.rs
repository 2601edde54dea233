//! Request builders, one per operation of the Logfire SDK guide. Each is
//! returned by a [`DatasetsClient`] method, takes its optional arguments as
//! chained setters, and is finished by `.await` (or `.send()` on the
//! blocking client).

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::answer::{DecodeElement, ElementSink, ExportRest, decode_element};
use super::pages::{CaseIter, CaseStream, Pager, filter_by_tags};
use super::split::Target;
use super::{Async, Call, DatasetsClient, dataset_segment, finish, segment};
use crate::Patch;
use crate::error::{Error, Result};
use crate::wire::{
    CaseDetail, CaseUpdate, DatasetDetail, DatasetSummary, DatasetUpdate, EvaluatorSpec,
    ExportedCase, ExportedDataset, NewCase, NewDataset, OnConflict,
};

/// `Some` sets a field, `None` leaves it as it is.
fn keep_or_set<T>(value: Option<T>) -> Patch<T> {
    value.map_or(Patch::Keep, Patch::Set)
}

fn tag_list(tags: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    tags.into_iter().map(Into::into).collect()
}

/// Adds `extra` to a case's tags, keeping order and dropping repeats.
fn merge_tags(case: &mut NewCase, extra: &[String]) {
    if extra.is_empty() {
        return;
    }
    let tags = case.tags.get_or_insert_with(Vec::new);
    for tag in extra {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
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

/// How a multi-case upload is sent: see [`AddCases::concurrency`] and
/// [`AddCases::progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UploadOptions {
    pub(crate) concurrency: usize,
    pub(crate) progress: bool,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            concurrency: 1,
            progress: false,
        }
    }
}

/// The `.concurrency(n)` and `.progress(show)` methods of a builder that
/// uploads cases through an `upload: UploadOptions` field.
macro_rules! upload_options {
    () => {
        /// Sends up to `requests` chunks at once (default 1). With 1, cases
        /// land in the order given; with more, each chunk's cases keep their
        /// order but chunks may land in any order, which can be faster over
        /// a slow link. See
        /// [`DatasetsClient::add_cases`](crate::DatasetsClient::add_cases)
        /// for what a failed chunk leaves written.
        pub fn concurrency(mut self, requests: usize) -> Self {
            self.upload.concurrency = requests.max(1);
            self
        }

        /// Draws a progress bar of the cases written on stderr.
        pub fn progress(mut self, show: bool) -> Self {
            self.upload.progress = show;
            self
        }
    };
}
pub(crate) use upload_options;

/// One request's worth of cases.
struct Chunk {
    index: usize,
    first_case: usize,
    len: usize,
    body: Vec<u8>,
    /// Where each case's text ends in `body`, for progress as it is sent.
    case_ends: Vec<usize>,
}

/// Cuts cases into request bodies under `budget` bytes, encoding each only
/// when it is about to be sent.
struct Chunker<'a> {
    cases: &'a [NewCase],
    next_case: usize,
    next_chunk: usize,
    budget: usize,
}

impl Iterator for Chunker<'_> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Result<Chunk>> {
        const HEAD: &[u8] = br#"{"cases":["#;
        const TAIL: &[u8] = b"]}";
        if self.next_case >= self.cases.len() && self.next_chunk > 0 {
            return None;
        }
        let first_case = self.next_case;
        let mut body = HEAD.to_vec();
        let mut case_ends = Vec::new();
        while let Some(case) = self.cases.get(self.next_case) {
            let at = body.len();
            if self.next_case > first_case {
                body.push(b',');
            }
            if let Err(err) = serde_json::to_writer(&mut body, case) {
                let index = self.next_case;
                self.next_case = self.cases.len();
                return Some(Err(Error::InvalidArgument(format!(
                    "case {index} cannot be encoded: {err}"
                ))));
            }
            if self.next_case > first_case && body.len() + TAIL.len() > self.budget {
                body.truncate(at);
                break;
            }
            case_ends.push(body.len());
            self.next_case += 1;
        }
        body.extend_from_slice(TAIL);
        let chunk = Chunk {
            index: self.next_chunk,
            first_case,
            len: self.next_case - first_case,
            body,
            case_ends,
        };
        self.next_chunk += 1;
        Some(Ok(chunk))
    }
}

/// Sends cases in chunks whose bodies stay under the client's
/// `max_request_bytes`, one request (and so one server transaction) per
/// chunk, each chunk encoded only as it is sent and its answer decoded as
/// it arrives. See [`DatasetsClient::add_cases`] for the order cases land
/// in and what a failure leaves behind.
async fn upload_in_chunks(
    client: &DatasetsClient,
    path: String,
    query: Vec<(&'static str, String)>,
    cases: &[NewCase],
    options: UploadOptions,
) -> Result<Vec<CaseDetail>> {
    use futures_util::StreamExt;

    let budget = client.max_request_bytes();
    // Counts cases as their bytes go out, not chunks as they are answered,
    // so a one-chunk upload moves too.
    let progress = options.progress.then(|| {
        std::sync::Arc::new(crate::progress::Progress::new(
            Some(true),
            cases.len(),
            "Uploading cases".into(),
        ))
    });
    // After a failure, no further chunk is sent; those in flight finish.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let chunker = Chunker {
        cases,
        next_case: 0,
        next_chunk: 0,
        budget,
    }
    .take_while(|_| !stop.load(std::sync::atomic::Ordering::Relaxed));
    let send = |chunk: Result<Chunk>| {
        let (path, query) = (path.clone(), query.clone());
        let progress = progress.clone();
        async move {
            let chunk = chunk?;
            let mut call = Call::new(Method::POST, path);
            call.query = query;
            call.body = Some(chunk.body.into());
            if let Some(progress) = &progress {
                call.progress = Some(super::SendProgress::new(
                    std::sync::Arc::clone(progress),
                    chunk.case_ends,
                ));
            }
            let mut sink = ElementSink::new(Target::Root, |index, bytes| {
                decode_element::<CaseDetail>("list of cases", "", index, bytes)
            });
            let result = match client.execute_streaming(&call, &mut sink).await {
                Ok(()) => sink.finish("list of cases").map(|(cases, _)| cases),
                Err(err) => Err(offset_case_indexes(err, chunk.first_case)),
            };
            Ok::<_, Error>((chunk.index, chunk.first_case, chunk.len, result))
        }
    };
    let mut answers = futures_util::stream::iter(chunker)
        .map(send)
        .buffered(options.concurrency.max(1));
    let mut written = Vec::with_capacity(cases.len());
    let mut failure: Option<(usize, usize, usize, Error)> = None;
    while let Some(answer) = answers.next().await {
        let (index, first_case, len, result) = match answer {
            Ok(answer) => answer,
            // A case that cannot be encoded: nothing of its chunk was sent.
            Err(err) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                failure.get_or_insert((usize::MAX, 0, 0, err));
                continue;
            }
        };
        match result {
            Ok(cases) => written.extend(cases),
            Err(err) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                if failure.as_ref().is_none_or(|(failed, ..)| index < *failed) {
                    failure = Some((index, first_case, len, err));
                }
            }
        }
    }
    if let Some(progress) = &progress {
        progress.finish();
    }
    match failure {
        None => Ok(written),
        // Nothing was written: the error as it is.
        Some((usize::MAX, _, _, err)) => Err(err),
        Some((_, _, _, err)) if written.is_empty() => Err(err),
        Some((chunk, first_case, len, source)) => Err(Error::Chunk {
            chunk,
            // Counted only now, on the rare path, to not encode twice.
            chunks: Chunker {
                cases,
                next_case: 0,
                next_chunk: 0,
                budget,
            }
            .count(),
            first_case,
            len,
            written: written.len(),
            source: Box::new(source),
        }),
    }
}

/// Makes `["body", "cases", i, ...]` locations of a chunk's 422 point into
/// the caller's whole list.
fn offset_case_indexes(err: Error, offset: usize) -> Error {
    let Error::Api { status, mut detail } = err else {
        return err;
    };
    if offset > 0
        && let Some(issues) = detail.as_array_mut()
    {
        for issue in issues {
            let Some(loc) = issue.get_mut("loc").and_then(Value::as_array_mut) else {
                continue;
            };
            if loc.len() > 2
                && loc[0] == "body"
                && loc[1] == "cases"
                && let Some(index) = loc[2].as_u64()
            {
                loc[2] = Value::from(index + offset as u64);
            }
        }
    }
    Error::Api { status, detail }
}

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
}

impl<M> GetDataset<M> {
    pub(crate) async fn run(self) -> Result<DatasetDetail> {
        let call = Call::new(Method::GET, dataset_path(&self.dataset, "")?);
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
}

impl<M> ListCases<M> {
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
        let pager = match dataset_path(&self.dataset, "cases/") {
            Ok(path) => Pager {
                client: self.client,
                path,
                tags: self.tags,
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

impl ListCases<super::Blocking> {
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
}

impl<M> GetCase<M> {
    pub(crate) async fn run(self) -> Result<CaseDetail> {
        let call = Call::new(Method::GET, case_path(&self.dataset, self.case)?).case_endpoint();
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
    let cases: Vec<CaseDetail> = super::decode("list of cases", &body)?;
    cases.into_iter().next().ok_or_else(|| Error::Decode {
        what: "list of cases".to_owned(),
        case_id: None,
        path: None,
        message: "the import of one case answered no case".to_owned(),
        excerpt: String::new(),
    })
}

/// `POST /v1/datasets/{dataset}/cases/bulk/`, in chunks; see
/// [`DatasetsClient::add_cases`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// use datasets_core::wire::NewCase;
/// use serde_json::json;
///
/// let cases = vec![
///     NewCase::new(json!({"question": "What is 15 * 23?"})),
///     NewCase::new(json!({"question": "What is the chemical symbol for gold?"})),
/// ];
/// let added = client.add_cases("qa-golden-set", cases).tags(["batch-import"]).await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct AddCases<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) cases: Vec<NewCase>,
    pub(crate) tags: Vec<String>,
    pub(crate) upload: UploadOptions,
}

impl<M> AddCases<M> {
    /// Tags added to every case's own.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags.extend(tag_list(tags));
        self
    }

    upload_options!();

    pub(crate) async fn run(mut self) -> Result<Vec<CaseDetail>> {
        for case in &mut self.cases {
            merge_tags(case, &self.tags);
        }
        // Logfire's SDK adds cases through the import route only.
        let (path, query) = if self.client.is_datasets_server() {
            (dataset_path(&self.dataset, "cases/bulk/")?, Vec::new())
        } else {
            (
                dataset_path(&self.dataset, "import/")?,
                vec![("on_conflict", OnConflict::Error.as_str().to_owned())],
            )
        };
        upload_in_chunks(&self.client, path, query, &self.cases, self.upload).await
    }
}
finish!(AddCases => Vec<CaseDetail>);

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
        let answer: Deleted = super::decode("deletion count", &body)?;
        Ok(answer.deleted)
    }
}
finish!(DeleteCases => u64);

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
}

impl<M> ExportDataset<M> {
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
        })
    }

    /// The export, each case decoded by `decode` as soon as it has arrived.
    pub(crate) async fn run_with<C: Send>(
        self,
        decode: DecodeElement<C>,
    ) -> Result<(Vec<C>, ExportRest)> {
        let call = Call::new(Method::GET, dataset_path(&self.dataset, "export/")?);
        let mut sink = ElementSink::new(Target::Member("cases"), decode);
        self.client.execute_streaming(&call, &mut sink).await?;
        let (cases, rest) = sink.finish("export")?;
        Ok((cases, ExportRest::parse(&rest)?))
    }
}
finish!(ExportDataset => ExportedDataset);

/// `POST /v1/datasets/{dataset}/import/`, in chunks; see
/// [`DatasetsClient::import_cases`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// use datasets_core::wire::{NewCase, OnConflict};
/// use serde_json::json;
///
/// let cases = vec![NewCase {
///     name: Some("capital-question".into()),
///     ..NewCase::new(json!({"question": "What is the capital of France?"}))
/// }];
/// client.import_cases("qa-golden-set", cases).on_conflict(OnConflict::Update).await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct ImportCases<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) cases: Vec<NewCase>,
    pub(crate) on_conflict: OnConflict,
    pub(crate) upload: UploadOptions,
}

impl<M> ImportCases<M> {
    /// What a named case whose name exists does: [`OnConflict::Error`] (the
    /// default: 409, nothing written) or [`OnConflict::Update`] (upsert).
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_conflict = on_conflict;
        self
    }

    upload_options!();

    pub(crate) async fn run(self) -> Result<Vec<CaseDetail>> {
        let path = dataset_path(&self.dataset, "import/")?;
        let query = vec![("on_conflict", self.on_conflict.as_str().to_owned())];
        upload_in_chunks(&self.client, path, query, &self.cases, self.upload).await
    }
}
finish!(ImportCases => Vec<CaseDetail>);

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
        let create = CreateDataset {
            client: self.client.clone(),
            mode: Async,
            body: self.dataset.clone(),
        };
        match create.run().await {
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
                UpdateDataset {
                    client: self.client.clone(),
                    mode: Async,
                    dataset: name.clone(),
                    body,
                }
                .run()
                .await?;
            }
            Err(other) => return Err(other),
        }
        if !self.cases.is_empty() {
            ImportCases {
                client: self.client.clone(),
                mode: Async,
                dataset: name.clone(),
                cases: self.cases,
                on_conflict: self.on_case_conflict,
                upload: self.upload,
            }
            .run()
            .await?;
        }
        GetDataset {
            client: self.client,
            mode: Async,
            dataset: name,
        }
        .run()
        .await
    }
}
finish!(PushDataset => DatasetDetail);
