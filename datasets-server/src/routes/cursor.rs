//! Page cursors: opaque to clients, bound to the listing that gave them.

use axum::http::HeaderName;
use uuid::Uuid;

use crate::error::ApiError;
use crate::store::CasePosition;

/// The header carrying the cursor of the next page.
pub(crate) const NEXT_CURSOR: HeaderName = HeaderName::from_static("next-cursor");

/// Where a listing stands, as a cursor holds it: the position after the
/// last item given, and the listing it belongs to (the dataset, a hash of
/// the filter, and the dataset version read), so that a cursor passed to
/// another listing is refused instead of silently paging through the wrong
/// items, and a listing at a version goes on at that version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) position: CasePosition,
    pub(crate) dataset: Uuid,
    pub(crate) filter: u64,
    /// The dataset version the listing reads; 0 for the head.
    pub(crate) version: u64,
}

/// A hash binding a cursor to a listing other than cases by tag (versions,
/// a diff of two versions).
pub(crate) fn listing_hash(listing: &str) -> u64 {
    filter_hash(&[format!("\u{0}{listing}")])
}

/// A hash of a tag filter, the same for the same set of tags in any order.
pub(crate) fn filter_hash(tags: &[String]) -> u64 {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&str> = tags.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hash = Sha256::new();
    for tag in sorted {
        hash.update(tag.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

/// A page cursor as clients see it: opaque, versioned.
pub(crate) fn encode_cursor(cursor: Cursor) -> String {
    format!(
        "v3.{:x}.{}.{:016x}.{:x}",
        cursor.position.0,
        cursor.dataset.simple(),
        cursor.filter,
        cursor.version
    )
}

/// A cursor this server gave: `v3`, or `v2` (before versions: the head).
pub(crate) fn decode_cursor(text: &str) -> Option<Cursor> {
    let (mut parts, versioned) = match text.strip_prefix("v3.") {
        Some(rest) => (rest.split('.'), true),
        None => (text.strip_prefix("v2.")?.split('.'), false),
    };
    let position = i64::from_str_radix(parts.next()?, 16)
        .ok()
        .filter(|pk| *pk >= 0)?;
    let dataset = Uuid::try_parse(parts.next()?).ok()?;
    let filter = u64::from_str_radix(parts.next()?, 16).ok()?;
    let version = if versioned {
        u64::from_str_radix(parts.next()?, 16).ok()?
    } else {
        0
    };
    parts.next().is_none().then_some(Cursor {
        position: CasePosition(position),
        dataset,
        filter,
        version,
    })
}

/// A 422 at `["query", "cursor"]`.
pub(crate) fn cursor_issue(msg: &str) -> ApiError {
    ApiError::invalid(vec!["query".into(), "cursor".into()], msg, "invalid_cursor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_old_ones_still_read() {
        let cursor = Cursor {
            position: CasePosition(77),
            dataset: Uuid::now_v7(),
            filter: filter_hash(&["a".into()]),
            version: 12,
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)), Some(cursor));
        let old = format!("v2.4d.{}.{:016x}", cursor.dataset.simple(), cursor.filter);
        assert_eq!(
            decode_cursor(&old).map(|c| (c.position, c.version)),
            Some((CasePosition(77), 0))
        );
        assert_eq!(decode_cursor("v3.1.x.0.0"), None);
        assert_ne!(listing_hash("versions"), filter_hash(&[]));
    }
}
