//! Suggestions for near misses ("did you mean `inputs`?"): a leaf module
//! that the attribute parser and the checks both use.

/// The known word closest to `word`, if close enough to be a likely typo
/// (e.g. `input` for `inputs`, `output` for `expected_output`).
pub(crate) fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    known
        .iter()
        .map(|k| {
            let distance = if k.contains(lower.as_str()) && lower.len() >= 4 {
                0
            } else {
                levenshtein(&lower, k)
            };
            (distance, *k)
        })
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_caught_and_strangers_are_not() {
        assert_eq!(did_you_mean("colour", &["color", "flavor"]), Some("color"));
        assert_eq!(did_you_mean("input", &["inputs"]), Some("inputs"));
        assert_eq!(did_you_mean("zebra", &["color"]), None);
    }
}
