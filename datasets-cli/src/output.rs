//! What commands print: aligned tables for people, JSON for programs.

use std::io::Write;

use datasets_core::VersionRef;
use serde::Serialize;

use crate::fail::Outcome;

/// The widest a table cell is drawn; longer text ends in `…`.
const MAX_CELL: usize = 60;

/// A table with a header row, printed with its columns aligned.
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: Vec<&'static str>) -> Self {
        Self {
            header,
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| clip(&c)).collect());
    }

    pub(crate) fn print(&self, out: &mut impl Write) -> Outcome {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if i + 1 < widths.len() {
                    text.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
                }
            }
            text.trim_end().to_owned()
        };
        writeln!(out, "{}", line(&mut self.header.iter().copied()))?;
        for row in &self.rows {
            writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
        }
        Ok(())
    }
}

/// One line of at most `MAX_CELL` characters: line breaks shown as `⏎`.
fn clip(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { '⏎' } else { c })
        .collect();
    if flat.chars().count() <= MAX_CELL {
        flat
    } else {
        let mut cut: String = flat.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    }
}

/// Prints `value` as indented JSON.
pub(crate) fn print_json(value: &impl Serialize) -> Outcome {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// A timestamp as `2026-12-02 10:04:05Z`, to the second.
pub(crate) fn when(time: &time::OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_else(|_| time.to_string())
}

/// A version named on the command line: digits are a number, anything
/// else a tag.
pub(crate) fn version_ref(text: &str) -> VersionRef {
    match text.parse::<u64>() {
        Ok(number) => VersionRef::Number(number),
        Err(_) => VersionRef::Tag(text.to_owned()),
    }
}

/// A JSON value on one line.
pub(crate) fn compact(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_clip() {
        let mut table = Table::new(vec!["NAME", "CASES"]);
        table.row(vec!["a".into(), "1".into()]);
        table.row(vec!["longer-name".into(), "22".into()]);
        table.row(vec!["x".repeat(80), "3\n4".into()]);
        let mut out = Vec::new();
        table.print(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], format!("a{}1", " ".repeat(MAX_CELL + 1)));
        assert!(lines[3].starts_with(&format!("{}…  3⏎4", "x".repeat(MAX_CELL - 1))));
    }

    #[test]
    fn versions_are_numbers_or_tags() {
        assert_eq!(version_ref("12"), VersionRef::Number(12));
        assert_eq!(
            version_ref("release-1"),
            VersionRef::Tag("release-1".into())
        );
    }
}
