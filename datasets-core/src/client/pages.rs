//! Case lists a page at a time, following the server's cursor:
//! [`CaseStream`] for async code, [`CaseIter`] for blocking code.
//!
//! Paging is an addition of `datasets-server` (`limit`, `cursor` and the
//! `Next-Cursor` header). A server without it, such as Logfire's, answers
//! the whole list to the first request and sends no cursor, so the stream
//! yields that list and ends: the same cases, in one page.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use reqwest::Method;

use super::Blocking;
use super::{BoxFuture, Call, DatasetsClient, decode};
use crate::error::{Error, Result};
use crate::wire::CaseDetail;

/// Cases per page when none is set.
pub const DEFAULT_PAGE_SIZE: usize = 1_000;

/// Fetches pages one after another.
pub(crate) struct Pager {
    pub(crate) client: DatasetsClient,
    pub(crate) path: String,
    pub(crate) tags: Vec<String>,
    /// The `version` or `as_of` parameter of a listing at a version.
    pub(crate) at: Vec<(&'static str, String)>,
    pub(crate) page_size: usize,
    pub(crate) cursor: Option<String>,
    pub(crate) finished: bool,
    /// An error to answer the first fetch with (a dataset name that can never be valid).
    pub(crate) error: Option<Error>,
}

impl Pager {
    /// A pager whose first fetch fails with `err`.
    pub(crate) fn failing(client: DatasetsClient, err: Error) -> Self {
        Self {
            client,
            path: String::new(),
            tags: Vec::new(),
            at: Vec::new(),
            page_size: 0,
            cursor: None,
            finished: false,
            error: None,
        }
        .with_error(err)
    }

    fn with_error(mut self, err: Error) -> Self {
        self.error = Some(err);
        self
    }

    /// The next page (empty once finished), and the pager for the one after.
    async fn fetch(mut self) -> (Self, Result<Vec<CaseDetail>>) {
        if let Some(err) = self.error.take() {
            self.finished = true;
            return (self, Err(err));
        }
        if self.finished {
            return (self, Ok(Vec::new()));
        }
        let mut call = Call::new(Method::GET, self.path.clone());
        if !self.client.is_datasets_server() {
            // Logfire: the whole list in one answer, filtered here, as its
            // SDK sends neither `limit` nor `tags`.
            self.finished = true;
            let result = self
                .client
                .execute(&call)
                .await
                .and_then(|body| decode::<Vec<CaseDetail>>("list of cases", &body))
                .map(|cases| filter_by_tags(cases, &self.tags));
            return (self, result);
        }
        call.query = self.tags.iter().map(|tag| ("tags", tag.clone())).collect();
        call.query.extend(self.at.iter().cloned());
        call.query.push(("limit", self.page_size.to_string()));
        if let Some(cursor) = &self.cursor {
            call.query.push(("cursor", cursor.clone()));
        }
        let result = match self.client.execute_with_headers(&call).await {
            Ok((body, headers)) => {
                self.cursor = headers
                    .get("next-cursor")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                self.finished = self.cursor.is_none();
                decode::<Vec<CaseDetail>>("page of cases", &body)
            }
            Err(err) => Err(err),
        };
        (self, result)
    }
}

type Fetch = BoxFuture<(Pager, Result<Vec<CaseDetail>>)>;

/// The cases of a listing, a page at a time, as a [`Stream`](futures_core::Stream);
/// from `list_cases(..).stream()` (and the typed handle's). Memory holds one
/// page, whatever the dataset's size.
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let mut cases = client.list_cases("qa-golden-set").page_size(500).stream();
/// while let Some(case) = cases.next().await {
///     println!("{}", case?.id);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a stream does nothing until polled"]
pub struct CaseStream<T> {
    pager: Option<Pager>,
    fetching: Option<Fetch>,
    buffer: VecDeque<CaseDetail>,
    decode: fn(CaseDetail) -> Result<T>,
    failed: bool,
}

impl<T> std::fmt::Debug for CaseStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseStream")
            .field("buffered", &self.buffer.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<T> CaseStream<T> {
    pub(crate) fn new(pager: Pager, decode: fn(CaseDetail) -> Result<T>) -> Self {
        Self {
            pager: Some(pager),
            fetching: None,
            buffer: VecDeque::new(),
            decode,
            failed: false,
        }
    }

    /// The next case: `None` at the end. After an error, the stream ends.
    pub async fn next(&mut self) -> Option<Result<T>> {
        std::future::poll_fn(|cx| self.poll_case(cx)).await
    }

    /// Every remaining case, or the first error.
    pub async fn try_collect(mut self) -> Result<Vec<T>> {
        let mut cases = Vec::new();
        while let Some(case) = self.next().await {
            cases.push(case?);
        }
        Ok(cases)
    }

    fn poll_case(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        loop {
            if self.failed {
                return Poll::Ready(None);
            }
            if let Some(case) = self.buffer.pop_front() {
                return Poll::Ready(Some((self.decode)(case)));
            }
            if self.fetching.is_none() {
                let Some(pager) = self.pager.take() else {
                    return Poll::Ready(None);
                };
                if pager.finished {
                    return Poll::Ready(None);
                }
                self.fetching = Some(Box::pin(pager.fetch()));
            }
            let fetching = self.fetching.as_mut().expect("a fetch is in flight");
            let (pager, page) = match fetching.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(done) => done,
            };
            self.fetching = None;
            self.pager = Some(pager);
            match page {
                Ok(cases) => self.buffer.extend(cases),
                Err(err) => {
                    self.failed = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }
}

impl<T> futures_core::Stream for CaseStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_case(cx)
    }
}

/// The cases of a listing, a page at a time, for blocking code; from
/// `list_cases(..).iter()` on the blocking client (and typed handle).
#[must_use = "an iterator does nothing until iterated"]
pub struct CaseIter<T> {
    stream: CaseStream<T>,
    mode: Blocking,
}

impl<T> std::fmt::Debug for CaseIter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseIter")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<T> CaseIter<T> {
    pub(crate) fn new(stream: CaseStream<T>, mode: Blocking) -> Self {
        Self { stream, mode }
    }
}

impl<T> Iterator for CaseIter<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.stream.failed {
            return None;
        }
        let stream = &mut self.stream;
        match self
            .mode
            .block_on(async { Ok::<_, Error>(stream.next().await) })
        {
            Ok(next) => next,
            Err(err) => {
                self.stream.failed = true;
                Some(Err(err))
            }
        }
    }
}

/// The cases having any of `tags` (all of them when `tags` is empty), as
/// the server's `?tags=` filter chooses them.
pub(crate) fn filter_by_tags(cases: Vec<CaseDetail>, tags: &[String]) -> Vec<CaseDetail> {
    if tags.is_empty() {
        return cases;
    }
    cases
        .into_iter()
        .filter(|case| case.tags.iter().any(|tag| tags.contains(tag)))
        .collect()
}
