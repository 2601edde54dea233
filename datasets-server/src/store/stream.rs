//! Case listings as streams: the type, the hand-over of a backend's
//! reading task, and the listing read a page at a time above any backend.

use uuid::Uuid;

use super::{CaseFilter, CasePosition, CaseRecord, Store, StoreError, VersionRef};
use datasets_core::wire::DatasetDetail;

/// Cases in one page of a streamed listing ([`stream_in_pages`]).
const STREAM_PAGE: usize = 1_000;

/// A dataset's cases as [`Store::stream_cases`] gives them, read a page at a
/// time and only as the consumer asks for more: between pages nothing is
/// held (no connection, snapshot or lock), so an answer its client reads
/// slowly, or not at all, keeps nothing from other requests. The listing
/// stays one consistent version: the dataset's version is read first, and
/// every page is read at that version (a past version never changes), so a
/// write while it streams shows in none of its pages. A version pruned
/// while it streams (`--keep-versions`) ends the stream with an error.
pub(crate) async fn stream_in_pages(
    store: std::sync::Arc<dyn Store>,
    project: Uuid,
    dataset: &str,
    filter: CaseFilter,
) -> Result<(DatasetDetail, CaseStream), StoreError> {
    let detail = match &filter.version {
        Some(at) => store.get_dataset_at(project, dataset, at.clone()).await?,
        None => store.get_dataset(project, dataset).await?,
    };
    let Some(version) = detail.version else {
        // A store that keeps no versions streams as it can.
        return store.stream_cases(project, dataset, filter).await;
    };
    let pinned = CaseFilter {
        tags: filter.tags,
        version: Some(VersionRef::Number(version)),
    };
    let id = detail.id.to_string();
    // `Some(after)` while pages remain, `None` once the last was read.
    let first: Option<Option<CasePosition>> = Some(None);
    let pages = futures_util::stream::try_unfold(first, move |state| {
        let (store, id, pinned) = (std::sync::Arc::clone(&store), id.clone(), pinned.clone());
        async move {
            let Some(after) = state else {
                return Ok(None);
            };
            let page = store
                .page_cases(project, &id, pinned, after, STREAM_PAGE)
                .await?;
            let next = page.next.map(Some);
            Ok(Some((page.cases, next)))
        }
    });
    Ok((detail, Box::pin(pages)))
}

/// Cases streamed from one consistent snapshot, in batches, in insertion
/// order. The stream ends after the last batch or after an error.
pub type CaseStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Vec<CaseRecord>, StoreError>> + Send>>;

/// The dataset and case stream a store's reading task hands over: the
/// dataset (or why it cannot be read) first, then the batches.
pub(crate) async fn handed_over_stream(
    head: tokio::sync::oneshot::Receiver<Result<DatasetDetail, StoreError>>,
    mut rows: tokio::sync::mpsc::Receiver<Result<Vec<CaseRecord>, StoreError>>,
) -> Result<(DatasetDetail, CaseStream), StoreError> {
    let detail = head
        .await
        .map_err(|_| StoreError::Transient("the case stream could not start".to_owned()))??;
    let stream = futures_util::stream::poll_fn(move |cx| rows.poll_recv(cx));
    Ok((detail, Box::pin(stream)))
}
