//! Naming rules shared by the client, the server and the derive macro.

/// The longest dataset name the API accepts, in bytes.
pub const DATASET_NAME_MAX_LEN: usize = 255;

/// The rule a dataset name must follow, as written in error messages.
pub const DATASET_NAME_RULE: &str = "names must match ^[a-zA-Z0-9][a-zA-Z0-9._-]*$ and be at most 255 characters: \
     start with a letter or digit, then letters, digits, dots, hyphens and underscores";

/// Checks a dataset name against the API's rule (`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`,
/// at most 255 characters). The error says which rule the name breaks.
///
/// ```
/// use datasets_core::validate_dataset_name;
///
/// assert!(validate_dataset_name("qa-golden-set").is_ok());
/// assert!(validate_dataset_name("-leading-dash").is_err());
/// assert!(validate_dataset_name("has space").is_err());
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for name in ["a", "0", "qa-golden-set", "v1.2_final", &"x".repeat(255)] {
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
