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
/// The cursor of a dataset listing: after the dataset named `name`.
pub(crate) fn encode_name_cursor(name: &str) -> String {
    let hex: String = name.bytes().map(|byte| format!("{byte:02x}")).collect();
    format!("n1.{hex}")
}

/// A dataset listing's cursor this server gave: the name it follows.
pub(crate) fn decode_name_cursor(text: &str) -> Option<String> {
    let hex = text.strip_prefix("n1.")?;
    if hex.len() % 2 != 0 || hex.is_empty() {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

pub(crate) fn cursor_issue(msg: &str) -> ApiError {
    ApiError::invalid(vec!["query".into(), "cursor".into()], msg, "invalid_cursor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_cursors_round_trip_and_others_are_refused() {
        for name in ["qa", "a", "déjà-vu_2", "x".repeat(255).as_str()] {
            assert_eq!(
                decode_name_cursor(&encode_name_cursor(name)).as_deref(),
                Some(name)
            );
        }
        for text in ["", "n1.", "n1.6", "n1.zz", "n1.ff", "v3.1.2.3.4", "qa"] {
            assert_eq!(decode_name_cursor(text), None, "{text}");
        }
    }

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
