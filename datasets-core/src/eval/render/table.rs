//! The table primitives of the rendered reports: rich's box-drawing table,
//! cells that wrap and cut, and the number and duration formats.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// A duration the way people read it: `850µs`, `1.3ms`, `42ms`, `2.51s`, `1m05s`.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1e-6 {
        format!("{}ns", d.as_nanos())
    } else if secs < 1e-3 {
        format!("{:.0}µs", secs * 1e6)
    } else if secs < 1e-2 {
        format!("{:.1}ms", secs * 1e3)
    } else if secs < 1.0 {
        format!("{:.0}ms", secs * 1e3)
    } else if secs < 60.0 {
        format!("{secs:.2}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// A number to three significant digits, as pydantic-evals shows scores:
/// `0.500`, `7.75`, `15.0`, `1234`.
pub(crate) fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 6) as usize;
    format!("{x:.decimals$}")
}

pub(super) fn signed(x: f64) -> String {
    let text = number(x);
    if x > 0.0 { format!("+{text}") } else { text }
}

pub(super) fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A value on one line: a string as its text, anything else as compact
/// JSON; newlines escaped; cut to `max` characters.
pub(super) fn value<T: Serialize>(v: &T, max: usize) -> String {
    let json = serde_json::to_value(v).unwrap_or(Value::Null);
    let text = match &json {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    cut(&text.replace('\n', "\\n").replace('\r', "\\r"), max)
}

pub(super) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `line` in pieces of at most `width` characters, broken after a space
/// where one is near the end of a piece.
pub(super) fn wrap(line: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= width || width == 0 {
        return vec![line.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    while chars.len() - start > width {
        let window = &chars[start..start + width];
        let end = match window.iter().rposition(|c| *c == ' ') {
            Some(space) if space >= width / 2 => start + space + 1,
            _ => start + width,
        };
        pieces.push(
            chars[start..end]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_owned(),
        );
        start = end;
    }
    pieces.push(chars[start..].iter().collect());
    pieces
}

pub(super) fn marks(assertions: impl IntoIterator<Item = bool>) -> String {
    assertions
        .into_iter()
        .map(|passed| if passed { '✔' } else { '✗' })
        .collect()
}

/// A table cell: one or more lines.
pub(super) type Cell = Vec<String>;

/// How a column lays out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    /// Names and results: left-aligned, narrowed last.
    Text,
    /// Inputs and outputs: left-aligned, narrowed first.
    Value,
    /// Durations: right-aligned.
    Right,
}

pub(super) struct Table {
    pub(super) title: String,
    pub(super) headers: Vec<(String, Column)>,
    pub(super) rows: Vec<Vec<Cell>>,
    /// Rows after a heavier rule: the averages.
    pub(super) footer: Vec<Vec<Cell>>,
}

impl Table {
    pub(super) fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            headers: Vec::new(),
            rows: Vec::new(),
            footer: Vec::new(),
        }
    }

    pub(super) fn column(&mut self, header: &str, kind: Column) {
        self.headers.push((header.to_owned(), kind));
    }

    pub(super) fn render(&self, width: usize, out: &mut String) {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|(header, _)| header.chars().count())
            .collect();
        for row in self.rows.iter().chain(&self.footer) {
            for (i, cell) in row.iter().enumerate() {
                let longest = cell
                    .iter()
                    .map(|line| line.chars().count())
                    .max()
                    .unwrap_or(0);
                widths[i] = widths[i].max(longest);
            }
        }
        let available = width.saturating_sub(3 * columns + 1);
        // Narrow the widest value column down to 16, then the widest of all
        // down to 6, until the table fits.
        for (only_values, floor) in [(true, 16), (false, 6)] {
            while widths.iter().sum::<usize>() > available {
                let widest = widths
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !only_values || self.headers[*i].1 == Column::Value)
                    .max_by_key(|(_, w)| **w);
                match widest {
                    Some((i, &w)) if w > floor => widths[i] -= 1,
                    _ => break,
                }
            }
        }
        let total: usize = widths.iter().sum::<usize>() + 3 * columns + 1;
        let title = cut(&self.title, total);
        let pad = total.saturating_sub(title.chars().count()) / 2;
        let _ = writeln!(out, "{}{title}", " ".repeat(pad));
        let rule = |left: &str, fill: &str, joint: &str, right: &str| {
            let parts: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
            format!("{left}{}{right}\n", parts.join(joint))
        };
        let line = |cells: &[Cell], bar: &str, out: &mut String| {
            // Lines wider than their column wrap, as rich's do.
            let cells: Vec<Cell> = cells
                .iter()
                .enumerate()
                .map(|(i, cell)| cell.iter().flat_map(|line| wrap(line, widths[i])).collect())
                .collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            for l in 0..height {
                out.push_str(bar);
                for (i, cell) in cells.iter().enumerate() {
                    let text = cut(cell.get(l).map(String::as_str).unwrap_or(""), widths[i]);
                    let gap = widths[i] - text.chars().count();
                    if self.headers[i].1 == Column::Right {
                        let _ = write!(out, " {}{text} {bar}", " ".repeat(gap));
                    } else {
                        let _ = write!(out, " {text}{} {bar}", " ".repeat(gap));
                    }
                }
                out.push('\n');
            }
        };
        out.push_str(&rule("┏", "━", "┳", "┓"));
        let headers: Vec<Cell> = self.headers.iter().map(|(h, _)| vec![h.clone()]).collect();
        line(&headers, "┃", out);
        out.push_str(&rule("┡", "━", "╇", "┩"));
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push_str(&rule("├", "─", "┼", "┤"));
            }
            line(row, "│", out);
        }
        for row in &self.footer {
            out.push_str(&rule("├", "━", "┿", "┤"));
            line(row, "│", out);
        }
        out.push_str(&rule("└", "─", "┴", "┘"));
    }
}
