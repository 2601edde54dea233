//! Uploads of many cases: cut into chunks under the request budget, each
//! one request and one server transaction, with progress and the caller's
//! indexes in errors; `add_cases` and `import_cases`.

use reqwest::Method;
use serde_json::Value;

use super::super::answer::{ElementSink, decode_element};
use super::super::split::Target;
use super::super::{Async, Call, DatasetsClient, finish};
use super::*;
use crate::error::{Error, Result};
use crate::wire::{CaseDetail, NewCase, OnConflict};

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
pub(crate) struct Chunk {
    index: usize,
    first_case: usize,
    len: usize,
    body: Vec<u8>,
    /// Where each case's text ends in `body`, for progress as it is sent.
    case_ends: Vec<usize>,
}

/// Cuts cases into request bodies under `budget` bytes, encoding each only
/// when it is about to be sent.
pub(crate) struct Chunker<'a> {
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
pub(crate) async fn upload_in_chunks(
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
                call.progress = Some(super::super::SendProgress::new(
                    std::sync::Arc::clone(progress),
                    chunk.case_ends,
                ));
            }
            let mut sink = ElementSink::new(Target::Root, |index, bytes| {
                decode_element::<CaseDetail>("list of cases", "", index, bytes)
            });
            let result = match client.execute_streaming(&call, &mut sink).await {
                Ok(_) => sink.finish("list of cases").map(|(cases, _)| cases),
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
pub(crate) fn offset_case_indexes(err: Error, offset: usize) -> Error {
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
