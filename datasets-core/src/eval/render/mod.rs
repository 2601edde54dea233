//! Reports as terminal tables, after pydantic-evals' (rich) layout: one row
//! per case, an averages row, a table of failures, and for a comparison the
//! changes from the baseline.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

mod analyses;
mod table;

use table::{Cell, Column, Table, cut, marks, percent, signed, value};
pub(crate) use table::{duration, number};

use super::report::{CaseDiff, CaseSide, EvaluationReport, ReportAggregate, ReportComparison};

/// What a rendered report shows. The defaults are pydantic-evals': results,
/// durations, averages and failures, without the cases' values, in a table
/// as wide as the terminal (`COLUMNS`, else 120 characters);
/// [`with_values`](Self::with_values) adds inputs, expected outputs and
/// outputs, each cut to `max_value_chars`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Show each case's inputs.
    pub include_input: bool,
    /// Show each case's metadata.
    pub include_metadata: bool,
    /// Show each case's expected output.
    pub include_expected_output: bool,
    /// Show each case's output.
    pub include_output: bool,
    /// Show the reasons evaluators gave, under the results.
    pub include_reasons: bool,
    /// Show durations.
    pub include_durations: bool,
    /// Show the averages row and the duration percentiles.
    pub include_averages: bool,
    /// Show the table of failed cases.
    pub include_failures: bool,
    /// Longest value shown, in characters; longer ones are cut with `…`.
    pub max_value_chars: usize,
    /// The table's width in characters.
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|columns| columns.trim().parse().ok())
            .filter(|&width: &usize| width >= 40)
            .unwrap_or(120);
        Self {
            include_input: false,
            include_metadata: false,
            include_expected_output: false,
            include_output: false,
            include_reasons: false,
            include_durations: true,
            include_averages: true,
            include_failures: true,
            max_value_chars: 60,
            width,
        }
    }
}

impl RenderOptions {
    /// These options, showing each case's inputs, expected output and output too.
    pub fn with_values(self) -> Self {
        Self {
            include_input: true,
            include_expected_output: true,
            include_output: true,
            ..self
        }
    }
}

fn named_lines<T>(items: &BTreeMap<String, T>, show: impl Fn(&T) -> String) -> Cell {
    items
        .iter()
        .map(|(name, item)| format!("{name}: {}", show(item)))
        .collect()
}

fn label_shares(labels: &BTreeMap<String, BTreeMap<String, f64>>) -> Cell {
    labels
        .iter()
        .map(|(name, shares)| {
            let shares: Vec<String> = shares
                .iter()
                .map(|(value, share)| format!("{value} {:.0}%", share * 100.0))
                .collect();
            format!("{name}: {}", shares.join(" · "))
        })
        .collect()
}

fn duration_summary(label: &str, aggregate: &ReportAggregate, out: &mut String) {
    let d = &aggregate.task_duration;
    let _ = writeln!(
        out,
        "{label}: {} passed the task, {} failed; task duration mean {}, p50 {}, p90 {}, p99 {}, max {}",
        aggregate.cases,
        aggregate.failures,
        duration(d.mean),
        duration(d.p50),
        duration(d.p90),
        duration(d.p99),
        duration(d.max)
    );
}

impl<I: Serialize, O: Serialize, M: Serialize> EvaluationReport<I, O, M> {
    /// Prints the report to stdout as [`render`](Self::render) draws it
    /// with the default options.
    pub fn print(&self) {
        self.print_with(&RenderOptions::default());
    }

    /// Prints the report to stdout with these options.
    pub fn print_with(&self, options: &RenderOptions) {
        print!("{}", self.render(options));
    }

    /// The report as terminal tables: a row per case (values cut to
    /// `max_value_chars`), an averages row, duration percentiles, and the
    /// failed cases.
    pub fn render(&self, options: &RenderOptions) -> String {
        let max = options.max_value_chars;
        let has = |f: &dyn Fn(&super::ReportCase<I, O, M>) -> bool| self.cases.iter().any(f);
        let scores = has(&|c| !c.scores.is_empty());
        let labels = has(&|c| !c.labels.is_empty());
        let metrics = has(&|c| !c.metrics.is_empty());
        let assertions = has(&|c| !c.assertions.is_empty());
        let failures = has(&|c| !c.evaluator_failures.is_empty());
        let mut table = Table::new(format!("Evaluation Summary: {}", self.name));
        table.column("Case ID", Column::Text);
        let columns = [
            ("Inputs", options.include_input, Column::Value),
            ("Metadata", options.include_metadata, Column::Value),
            (
                "Expected Output",
                options.include_expected_output,
                Column::Value,
            ),
            ("Outputs", options.include_output, Column::Value),
            ("Scores", scores, Column::Text),
            ("Labels", labels, Column::Text),
            ("Metrics", metrics, Column::Text),
            ("Assertions", assertions, Column::Text),
            ("Evaluator Failures", failures, Column::Value),
            ("Duration", options.include_durations, Column::Right),
        ];
        for (header, shown, kind) in columns {
            if shown {
                table.column(header, kind);
            }
        }
        let reasons = |name: &str, reason: &Option<String>| {
            reason
                .as_ref()
                .filter(|_| options.include_reasons)
                .map(|reason| format!("  {name}: {reason}"))
        };
        for case in &self.cases {
            let mut row: Vec<Cell> = vec![vec![case.name.clone()]];
            if options.include_input {
                row.push(vec![value(&case.inputs, max)]);
            }
            if options.include_metadata {
                row.push(vec![value(&case.metadata, max)]);
            }
            if options.include_expected_output {
                row.push(vec![value(&case.expected_output, max)]);
            }
            if options.include_output {
                row.push(vec![value(&case.output, max)]);
            }
            if scores {
                let mut cell = named_lines(&case.scores, |r| number(r.value));
                cell.extend(
                    case.scores
                        .iter()
                        .filter_map(|(n, r)| reasons(n, &r.reason)),
                );
                row.push(cell);
            }
            if labels {
                let mut cell = named_lines(&case.labels, |r| r.value.clone());
                cell.extend(
                    case.labels
                        .iter()
                        .filter_map(|(n, r)| reasons(n, &r.reason)),
                );
                row.push(cell);
            }
            if metrics {
                row.push(named_lines(&case.metrics, |v| number(*v)));
            }
            if assertions {
                let mut cell = vec![marks(case.assertions.values().map(|a| a.value))];
                cell.extend(
                    case.assertions
                        .iter()
                        .filter_map(|(n, r)| reasons(n, &r.reason)),
                );
                row.push(cell);
            }
            if failures {
                row.push(
                    case.evaluator_failures
                        .iter()
                        .map(|f| cut(&format!("{}: {}", f.name, f.error_message), max))
                        .collect(),
                );
            }
            if options.include_durations {
                let mut cell = vec![duration(case.task_duration)];
                if case.attempts > 1 {
                    cell.push(format!("({} attempts)", case.attempts));
                }
                row.push(cell);
            }
            table.rows.push(row);
        }
        let averages = self.averages();
        if options.include_averages && !self.cases.is_empty() {
            let mut row: Vec<Cell> = vec![vec!["Averages".to_owned()]];
            for shown in [
                options.include_input,
                options.include_metadata,
                options.include_expected_output,
                options.include_output,
            ] {
                if shown {
                    row.push(Vec::new());
                }
            }
            if scores {
                row.push(named_lines(&averages.scores, |v| number(*v)));
            }
            if labels {
                row.push(label_shares(&averages.labels));
            }
            if metrics {
                row.push(named_lines(&averages.metrics, |v| number(*v)));
            }
            if assertions {
                row.push(vec![
                    averages
                        .assertions
                        .map(|share| format!("{} ✔", percent(share)))
                        .unwrap_or_default(),
                ]);
            }
            if failures {
                row.push(Vec::new());
            }
            if options.include_durations {
                row.push(vec![duration(averages.task_duration.mean)]);
            }
            table.footer.push(row);
        }
        let mut out = String::new();
        table.render(options.width, &mut out);
        if options.include_averages {
            duration_summary(
                &format!("{} runs", self.cases.len() + self.failures.len()),
                &averages,
                &mut out,
            );
        }
        analyses::render(
            &self.analyses,
            &self.report_evaluator_failures,
            options.width,
            &mut out,
        );
        if options.include_failures && !self.failures.is_empty() {
            let mut table = Table::new("Case Failures");
            table.column("Case ID", Column::Text);
            if options.include_input {
                table.column("Inputs", Column::Value);
            }
            if options.include_expected_output {
                table.column("Expected Output", Column::Value);
            }
            table.column("Error", Column::Text);
            for failure in &self.failures {
                let mut row: Vec<Cell> = vec![vec![failure.name.clone()]];
                if options.include_input {
                    row.push(vec![value(&failure.inputs, max)]);
                }
                if options.include_expected_output {
                    row.push(vec![value(&failure.expected_output, max)]);
                }
                let mut error = vec![cut(
                    &format!("{}: {}", failure.kind, failure.error_message),
                    2 * max,
                )];
                if failure.attempts > 1 {
                    error.push(format!("after {} attempts", failure.attempts));
                }
                row.push(error);
                table.rows.push(row);
            }
            table.render(options.width, &mut out);
        }
        out
    }
}

fn change<T: PartialEq>(
    before: Option<&T>,
    now: Option<&T>,
    show: impl Fn(&T) -> String,
) -> String {
    match (before, now) {
        (Some(b), Some(n)) if b == n => show(n),
        (Some(b), Some(n)) => format!("{} → {}", show(b), show(n)),
        (None, Some(n)) => format!("(none) → {}", show(n)),
        (Some(b), None) => format!("{} → (none)", show(b)),
        (None, None) => String::new(),
    }
}

fn number_change(before: Option<f64>, now: Option<f64>) -> String {
    match (before, now) {
        (Some(b), Some(n)) if b != n => {
            let relative = if b != 0.0 {
                format!(" / {}%", signed((n - b) / b.abs() * 100.0))
            } else {
                String::new()
            };
            format!(
                "{} → {} ({}{relative})",
                number(b),
                number(n),
                signed(n - b)
            )
        }
        _ => change(before.as_ref(), now.as_ref(), |v| number(*v)),
    }
}

fn duration_change(before: Option<Duration>, now: Option<Duration>) -> String {
    match (before, now) {
        (Some(b), Some(n)) if b != n => {
            let delta = n.as_secs_f64() - b.as_secs_f64();
            let sign = if delta >= 0.0 { "+" } else { "-" };
            let relative = if b.is_zero() {
                String::new()
            } else {
                format!(" / {}%", signed(delta / b.as_secs_f64() * 100.0))
            };
            format!(
                "{} → {} ({sign}{}{relative})",
                duration(b),
                duration(n),
                duration(Duration::from_secs_f64(delta.abs()))
            )
        }
        _ => change(before.as_ref(), now.as_ref(), |d| duration(*d)),
    }
}

fn keys<'a, T: 'a>(
    maps: impl IntoIterator<Item = Option<&'a BTreeMap<String, T>>>,
) -> BTreeSet<&'a String> {
    maps.into_iter()
        .flatten()
        .flat_map(BTreeMap::keys)
        .collect()
}

impl ReportComparison {
    /// Prints the comparison to stdout as [`render`](Self::render) draws it
    /// with the default options.
    pub fn print(&self) {
        self.print_with(&RenderOptions::default());
    }

    /// Prints the comparison to stdout with these options.
    pub fn print_with(&self, options: &RenderOptions) {
        print!("{}", self.render(options));
    }

    /// The comparison as a terminal table: per case, what changed from the
    /// baseline (outputs, scores with their deltas, labels, assertions,
    /// durations), and the same for the averages.
    pub fn render(&self, options: &RenderOptions) -> String {
        let max = options.max_value_chars;
        let sides = || {
            self.cases
                .iter()
                .flat_map(|c| [&c.baseline, &c.current])
                .flatten()
        };
        let scores = sides().any(|s| !s.scores.is_empty());
        let labels = sides().any(|s| !s.labels.is_empty());
        let metrics = sides().any(|s| !s.metrics.is_empty());
        let assertions = sides().any(|s| !s.assertions.is_empty());
        let mut table = Table::new(format!(
            "Evaluation Diff: {} → {}",
            self.baseline_name, self.name
        ));
        table.column("Case ID", Column::Text);
        let columns = [
            ("Outputs", options.include_output, Column::Value),
            ("Scores", scores, Column::Text),
            ("Labels", labels, Column::Text),
            ("Metrics", metrics, Column::Text),
            ("Assertions", assertions, Column::Text),
            ("Duration", options.include_durations, Column::Right),
        ];
        for (header, shown, kind) in columns {
            if shown {
                table.column(header, kind);
            }
        }
        for case in &self.cases {
            table.rows.push(self.case_row(
                case,
                options,
                [scores, labels, metrics, assertions],
                max,
            ));
        }
        if options.include_averages {
            let (b, n) = (&self.baseline, &self.current);
            let mut row: Vec<Cell> = vec![vec!["Averages".to_owned()]];
            if options.include_output {
                row.push(Vec::new());
            }
            if scores {
                row.push(
                    keys([Some(&b.scores), Some(&n.scores)])
                        .into_iter()
                        .map(|k| {
                            format!(
                                "{k}: {}",
                                number_change(b.scores.get(k).copied(), n.scores.get(k).copied())
                            )
                        })
                        .collect(),
                );
            }
            if labels {
                row.push(label_shares(&n.labels));
            }
            if metrics {
                row.push(
                    keys([Some(&b.metrics), Some(&n.metrics)])
                        .into_iter()
                        .map(|k| {
                            format!(
                                "{k}: {}",
                                number_change(b.metrics.get(k).copied(), n.metrics.get(k).copied())
                            )
                        })
                        .collect(),
                );
            }
            if assertions {
                let rate = match (b.assertions, n.assertions) {
                    (Some(before), Some(now)) if before != now => format!(
                        "{} → {} ✔ ({}pp)",
                        percent(before),
                        percent(now),
                        signed((now - before) * 100.0)
                    ),
                    (before, now) => change(before.as_ref(), now.as_ref(), |s| {
                        format!("{} ✔", percent(*s))
                    }),
                };
                row.push(vec![rate]);
            }
            if options.include_durations {
                row.push(vec![duration_change(
                    Some(b.task_duration.mean),
                    Some(n.task_duration.mean),
                )]);
            }
            table.footer.push(row);
        }
        let mut out = String::new();
        table.render(options.width, &mut out);
        if options.include_averages {
            duration_summary(
                &format!("baseline {}", self.baseline_name),
                &self.baseline,
                &mut out,
            );
            duration_summary(&format!("current {}", self.name), &self.current, &mut out);
        }
        out
    }

    fn case_row(
        &self,
        case: &CaseDiff,
        options: &RenderOptions,
        shown: [bool; 4],
        max: usize,
    ) -> Vec<Cell> {
        let [scores, labels, metrics, assertions] = shown;
        let (b, n) = (case.baseline.as_ref(), case.current.as_ref());
        let mut name = vec![case.name.clone()];
        match (b, n) {
            (None, Some(_)) => name.push("(added)".to_owned()),
            (Some(_), None) => name.push("(removed)".to_owned()),
            _ => {}
        }
        let mut row = vec![name];
        let shown_output = |side: Option<&CaseSide>| -> Option<String> {
            let side = side?;
            Some(match (&side.output, &side.failure) {
                (_, Some((kind, message))) => cut(&format!("{kind}: {message}"), max),
                (Some(output), None) => value(output, max),
                (None, None) => String::new(),
            })
        };
        if options.include_output {
            row.push(vec![change(
                shown_output(b).as_ref(),
                shown_output(n).as_ref(),
                String::clone,
            )]);
        }
        if scores {
            row.push(
                keys([b.map(|s| &s.scores), n.map(|s| &s.scores)])
                    .into_iter()
                    .map(|k| {
                        let get =
                            |side: Option<&CaseSide>| side.and_then(|s| s.scores.get(k).copied());
                        format!("{k}: {}", number_change(get(b), get(n)))
                    })
                    .collect(),
            );
        }
        if labels {
            row.push(
                keys([b.map(|s| &s.labels), n.map(|s| &s.labels)])
                    .into_iter()
                    .map(|k| {
                        let before = b.and_then(|s| s.labels.get(k));
                        let now = n.and_then(|s| s.labels.get(k));
                        format!("{k}: {}", change(before, now, String::clone))
                    })
                    .collect(),
            );
        }
        if metrics {
            row.push(
                keys([b.map(|s| &s.metrics), n.map(|s| &s.metrics)])
                    .into_iter()
                    .map(|k| {
                        let get =
                            |side: Option<&CaseSide>| side.and_then(|s| s.metrics.get(k).copied());
                        format!("{k}: {}", number_change(get(b), get(n)))
                    })
                    .collect(),
            );
        }
        if assertions {
            // A failed side has no assertions to show: `(none)`.
            let all = |side: Option<&CaseSide>| {
                side.filter(|s| s.failure.is_none())
                    .map(|s| marks(s.assertions.values().copied()))
            };
            let mut cell = vec![change(all(b).as_ref(), all(n).as_ref(), String::clone)];
            cell.extend(
                case.changed_assertions()
                    .into_iter()
                    .map(|(name, before, now)| {
                        let mark = |v: Option<bool>| v.map_or("·".to_owned(), |v| marks([v]));
                        format!("{name}: {} → {}", mark(before), mark(now))
                    }),
            );
            row.push(cell);
        }
        if options.include_durations {
            row.push(vec![duration_change(
                b.and_then(|s| s.task_duration),
                n.and_then(|s| s.task_duration),
            )]);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::table::wrap;
    use super::*;

    #[test]
    fn numbers_have_three_significant_digits() {
        assert_eq!(number(0.5), "0.500");
        assert_eq!(number(7.75), "7.75");
        assert_eq!(number(15.0), "15.0");
        assert_eq!(number(1234.0), "1234");
        assert_eq!(number(0.0), "0");
        assert_eq!(signed(0.1), "+0.100");
        assert_eq!(signed(-2.0), "-2.00");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_nanos(420)), "420ns");
        assert_eq!(duration(Duration::from_micros(850)), "850µs");
        assert_eq!(duration(Duration::from_micros(1_300)), "1.3ms");
        assert_eq!(duration(Duration::from_millis(42)), "42ms");
        assert_eq!(duration(Duration::from_millis(2_510)), "2.51s");
        assert_eq!(duration(Duration::from_secs(65)), "1m05s");
    }

    #[test]
    fn long_values_are_cut_and_tables_fit_their_width() {
        assert_eq!(value(&"x".repeat(100), 10), format!("{}…", "x".repeat(9)));
        assert_eq!(
            value(&serde_json::json!({"a": "b\nc"}), 60),
            r#"{"a":"b\nc"}"#
        );
        assert_eq!(value(&"b\nc", 60), r"b\nc");
        let mut table = Table::new("T");
        table.column("Case ID", Column::Text);
        table.column("Value", Column::Value);
        table
            .rows
            .push(vec![vec!["a".into()], vec!["y".repeat(500)]]);
        let mut out = String::new();
        table.render(50, &mut out);
        assert!(out.lines().all(|line| line.chars().count() <= 50), "{out}");
        assert_eq!(out.matches('y').count(), 500, "long lines wrap:\n{out}");
        assert_eq!(wrap("aaa bbb ccc", 8), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }
}
