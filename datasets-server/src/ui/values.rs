//! Values as people read them. A string is shown as text, with its line
//! breaks, indentation and tabs, in a monospace block when it runs over
//! lines (code, transcripts), never JSON-escaped; a structure is shown as
//! JSON whose strings are shown as text; a long text folds, with the whole
//! of it a click away. Side by side, what changed inside a value is
//! marked: the lines of a text, the keys of an object.

use maud::{Markup, html};
use serde_json::Value;

/// Lines of a text shown before it folds.
const FOLD_LINES: usize = 24;
/// Characters of a text shown before it folds.
const FOLD_CHARS: usize = 3_000;
/// Lines of a text in a table cell.
const CELL_LINES: usize = 4;
/// Characters of a text in a table cell.
const CELL_CHARS: usize = 240;
/// Lines of a text diffed line by line (beyond it, the middle that differs
/// is marked whole).
const DIFF_LINES: usize = 2_000;

/// A stored JSON text, as read (`—` for none; text that is not JSON as it is).
pub(super) fn stored(text: Option<&str>) -> Markup {
    match text.map(serde_json::from_str::<Value>) {
        None => html! { p.muted { "—" } },
        Some(Ok(value)) => value_block(&value),
        Some(Err(_)) => html! { pre.text { (text.unwrap_or_default()) } },
    }
}

/// A value, in full (long texts folded).
pub(super) fn value_block(value: &Value) -> Markup {
    html! { div.value { (node(value, Mode::Full)) } }
}

/// A stored JSON text, short enough for a table cell.
pub(super) fn cell(text: &str) -> Markup {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => cell_value(&value),
        Err(_) => html! { (clip(text, CELL_LINES, CELL_CHARS).0) },
    }
}

/// A value, short enough for a table cell.
pub(super) fn cell_value(value: &Value) -> Markup {
    html! { div.value.cell { (node(value, Mode::Cell)) } }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Cell,
}

/// The first `lines` lines and `chars` characters of a text, and whether
/// that is all of it.
fn clip(text: &str, lines: usize, chars: usize) -> (String, bool) {
    let mut end = text.len();
    if let Some((at, _)) = text.match_indices('\n').nth(lines.saturating_sub(1)) {
        end = end.min(at);
    }
    if let Some((at, _)) = text.char_indices().nth(chars) {
        end = end.min(at);
    }
    (text[..end].to_owned(), end == text.len())
}

/// Whether a text reads as a block (code, a transcript) rather than a phrase.
fn is_block(text: &str) -> bool {
    text.contains('\n') || text.contains('\t') || text.starts_with(' ') || text.ends_with(' ')
}

fn text_node(text: &str, mode: Mode) -> Markup {
    let lines = text.lines().count();
    let size = text.chars().count();
    match mode {
        Mode::Cell => {
            let (shown, whole) = clip(text, CELL_LINES, CELL_CHARS);
            html! {
                @if is_block(text) { pre.text.code { (shown) @if !whole { "…" } } }
                @else { span.text { (shown) @if !whole { "…" } } }
            }
        }
        Mode::Full if lines > FOLD_LINES || size > FOLD_CHARS => {
            let (preview, _) = clip(text, FOLD_LINES / 2, FOLD_CHARS / 2);
            html! {
                pre.text.code.preview { (preview) "…" }
                details.fold {
                    summary { "Show all " (lines) " lines (" (size) " characters)" }
                    pre.text.code { (text) }
                }
            }
        }
        Mode::Full => html! {
            @if text.is_empty() { span.muted { "(empty text)" } }
            @else if is_block(text) { pre.text.code { (text) } }
            @else { span.text { (text) } }
        },
    }
}

fn node(value: &Value, mode: Mode) -> Markup {
    match value {
        Value::String(text) => text_node(text, mode),
        Value::Null => html! { span.lit { "null" } },
        Value::Bool(_) | Value::Number(_) => html! { span.lit { (value.to_string()) } },
        Value::Array(items) if items.is_empty() => html! { span.lit { "[]" } },
        Value::Object(map) if map.is_empty() => html! { span.lit { "{}" } },
        Value::Array(items) => html! {
            ol.items start="0" {
                @for item in items { li { (node(item, mode)) } }
            }
        },
        Value::Object(map) => html! {
            dl.keys {
                @for (key, item) in map {
                    div { dt { (key) } dd { (node(item, mode)) } }
                }
            }
        },
    }
}

/// Two states of a value side by side (`None`: absent), with what changed
/// marked on each side: lines of a text, keys of an object, a whole value
/// that was replaced.
pub(super) fn pair(before: Option<&Value>, after: Option<&Value>) -> (Markup, Markup) {
    match (before, after) {
        (None, None) => (absent(), absent()),
        (Some(a), Some(b)) if a == b => (node(a, Mode::Full), node(b, Mode::Full)),
        (Some(Value::String(a)), Some(Value::String(b))) => lines_pair(a, b),
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().collect();
            keys.extend(b.keys().filter(|key| !a.contains_key(*key)));
            let rows: Vec<_> = keys
                .into_iter()
                .map(|key| {
                    let (x, y) = (a.get(key), b.get(key));
                    let class = match (x, y) {
                        (Some(_), None) => "removed",
                        (None, Some(_)) => "added",
                        (Some(x), Some(y)) if x != y => "changed",
                        _ => "same",
                    };
                    let (left, right) = pair(x, y);
                    (key, class, x.is_some(), left, y.is_some(), right)
                })
                .collect();
            let side = |first: bool| {
                html! {
                    dl.keys {
                        @for (key, class, in_a, left, in_b, right) in &rows {
                            @if (first && *in_a) || (!first && *in_b) {
                                div class=(class) {
                                    dt { (key) @if *class != "same" { " " span.mark { (class) } } }
                                    dd { (if first { left.clone() } else { right.clone() }) }
                                }
                            }
                        }
                    }
                }
            };
            (side(true), side(false))
        }
        (a, b) => (
            html! { div.removed { (a.map_or_else(absent, |v| node(v, Mode::Full))) } },
            html! { div.added { (b.map_or_else(absent, |v| node(v, Mode::Full))) } },
        ),
    }
}

fn absent() -> Markup {
    html! { span.muted { "(none)" } }
}

/// A text's lines on both sides, those only on one side marked.
fn lines_pair(a: &str, b: &str) -> (Markup, Markup) {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.split('\n').collect(), b.split('\n').collect());
    let (kept_x, kept_y) = common_lines(&x, &y);
    let side = |lines: &[&str], kept: &[bool], class: &str| {
        html! {
            pre.text.code.lines {
                @for (line, same) in lines.iter().zip(kept) {
                    @if *same { span.line { (line) "\n" } }
                    @else { span class={ "line " (class) } { (line) "\n" } }
                }
            }
        }
    };
    (side(&x, &kept_x, "removed"), side(&y, &kept_y, "added"))
}

/// Which lines of each side are common to both: the longest common
/// subsequence, after the shared first and last lines; a middle too long
/// to compare is all changed.
fn common_lines(x: &[&str], y: &[&str]) -> (Vec<bool>, Vec<bool>) {
    let prefix = x.iter().zip(y).take_while(|(a, b)| a == b).count();
    let suffix = x[prefix..]
        .iter()
        .rev()
        .zip(y[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (mx, my) = (&x[prefix..x.len() - suffix], &y[prefix..y.len() - suffix]);
    let mut kept_x = vec![true; x.len()];
    let mut kept_y = vec![true; y.len()];
    let (mut in_x, mut in_y) = (vec![false; mx.len()], vec![false; my.len()]);
    if mx.len() <= DIFF_LINES && my.len() <= DIFF_LINES {
        // lengths[i][j]: the common subsequence of mx[i..] and my[j..].
        let width = my.len() + 1;
        let mut lengths = vec![0u16; (mx.len() + 1) * width];
        for i in (0..mx.len()).rev() {
            for j in (0..my.len()).rev() {
                lengths[i * width + j] = if mx[i] == my[j] {
                    lengths[(i + 1) * width + j + 1] + 1
                } else {
                    lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < mx.len() && j < my.len() {
            if mx[i] == my[j] {
                in_x[i] = true;
                in_y[j] = true;
                i += 1;
                j += 1;
            } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    kept_x[prefix..prefix + mx.len()].copy_from_slice(&in_x);
    kept_y[prefix..prefix + my.len()].copy_from_slice(&in_y);
    (kept_x, kept_y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_lines_marks_only_what_changed() {
        let x = ["def f():", "    return 1", "", "# end"];
        let y = ["def f():", "    return 2", "", "# end", "extra"];
        let (kx, ky) = common_lines(&x, &y);
        assert_eq!(kx, [true, false, true, true]);
        assert_eq!(ky, [true, false, true, true, false]);
    }

    #[test]
    fn clip_keeps_whole_lines_and_says_when_it_cut() {
        assert_eq!(clip("a\nb\nc", 2, 100), ("a\nb".to_owned(), false));
        assert_eq!(clip("abc", 2, 100), ("abc".to_owned(), true));
        assert_eq!(clip("héllo", 2, 2), ("hé".to_owned(), false));
    }

    #[test]
    fn text_is_shown_as_text_not_json() {
        let code = Value::String("def f():\n\treturn \"x\"  \n".to_owned());
        let html = value_block(&code).into_string();
        assert!(
            html.contains("def f():\n\treturn &quot;x&quot;  \n"),
            "{html}"
        );
        assert!(!html.contains("\\n"), "{html}");
    }
}
