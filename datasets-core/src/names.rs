//! Naming rules shared by the client, the server and the derive macro.

/// The longest dataset name the API accepts, in bytes.
pub const DATASET_NAME_MAX_LEN: usize = 255;

/// The rule a dataset name must follow, as written in error messages.
pub const DATASET_NAME_RULE: &str = "names must match ^[a-zA-Z0-9][a-zA-Z0-9._-]*$, be at most 255 characters \
     and not be a UUID: start with a letter or digit, then letters, digits, dots, hyphens and underscores";

/// Whether `name` is written as a UUID (32 hex digits, or 8-4-4-4-12 with
/// hyphens, in either case): the forms a path segment resolves as a dataset
/// id, so a dataset named so would shadow, or be shadowed by, another's id.
pub fn is_uuid_like(name: &str) -> bool {
    let bytes = name.as_bytes();
    match bytes.len() {
        32 => bytes.iter().all(u8::is_ascii_hexdigit),
        36 => bytes.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        }),
        _ => false,
    }
}

/// Checks a dataset name against the API's rule (`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`,
/// at most 255 characters), and that it is not written as a UUID: a path
/// segment that is a UUID names a dataset by id, so such a name would open
/// another dataset. The error says which rule the name breaks.
///
/// ```
/// use datasets_core::validate_dataset_name;
///
/// assert!(validate_dataset_name("qa-golden-set").is_ok());
/// assert!(validate_dataset_name("-leading-dash").is_err());
/// assert!(validate_dataset_name("has space").is_err());
/// assert!(validate_dataset_name("67e55044-10b1-426f-9247-bb680e5fe0c8").is_err());
/// ```
pub fn validate_dataset_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err(format!("dataset name is empty; {DATASET_NAME_RULE}"));
    };
    if name.len() > DATASET_NAME_MAX_LEN {
        return Err(format!(
            "dataset name is {} characters long; {DATASET_NAME_RULE}",
            name.len()
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(format!(
            "dataset name {name:?} starts with {first:?}; {DATASET_NAME_RULE}"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "dataset name {name:?} contains {bad:?}; {DATASET_NAME_RULE}"
        ));
    }
    if is_uuid_like(name) {
        return Err(format!(
            "dataset name {name:?} is a UUID, which names a dataset by its id; {DATASET_NAME_RULE}"
        ));
    }
    Ok(())
}

/// The tag rule, the same in the client, the typed handles and the server:
/// a case's tags keep their first-seen order, without repeats.
///
/// ```
/// use datasets_core::names::dedup_tags;
///
/// assert_eq!(dedup_tags(["b", "a", "b", "c", "a"]), ["b", "a", "c"]);
/// ```
pub fn dedup_tags<T: Into<String>>(tags: impl IntoIterator<Item = T>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.into();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// Adds `extra` to `tags` by the tag rule ([`dedup_tags`]).
pub fn merge_tags(tags: &mut Vec<String>, extra: impl IntoIterator<Item = String>) {
    let merged = dedup_tags(std::mem::take(tags).into_iter().chain(extra));
    *tags = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for name in [
            "a",
            "0",
            "qa-golden-set",
            "v1.2_final",
            &"x".repeat(255),
            // Near UUIDs are names: one digit short, a non-hex letter, hyphens misplaced.
            "67e55044-10b1-426f-9247-bb680e5fe0c",
            "67e55044-10b1-426f-9247-bb680e5fe0cg",
            "67e5504410b1-426f-9247-bb680e5fe0c8-",
            "67e5504410b1426f9247bb680e5fe0c",
        ] {
            assert!(validate_dataset_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("-a", "starts with '-'"),
            (".a", "starts with '.'"),
            ("a b", "contains ' '"),
            ("a/b", "contains '/'"),
            ("é", "starts with 'é'"),
            ("67e55044-10b1-426f-9247-bb680e5fe0c8", "is a UUID"),
            ("67E55044-10B1-426F-9247-BB680E5FE0C8", "is a UUID"),
            ("67e5504410b1426f9247bb680e5fe0c8", "is a UUID"),
        ];
        for (name, reason) in cases {
            let err = validate_dataset_name(name).unwrap_err();
            assert!(err.contains(reason), "{name:?}: {err}");
        }
        assert!(
            validate_dataset_name(&"x".repeat(256))
                .unwrap_err()
                .contains("256 characters")
        );
    }
}
