//! Report evaluators' analyses and failures under a rendered report, as
//! pydantic-evals prints them: a confusion matrix as a table, a scalar as
//! `title: value`, curves as their point counts (and AUC).

use std::fmt::Write as _;

use serde_json::Value;

use super::table::{Column, Table};
use crate::eval::analysis::ReportAnalysis;
use crate::eval::py::float_repr;

/// Appends the analyses, then the report evaluators' failures.
pub(super) fn render(analyses: &[Value], failures: &[Value], width: usize, out: &mut String) {
    for analysis in analyses {
        match serde_json::from_value::<ReportAnalysis>(analysis.clone()) {
            Ok(analysis) => one(&analysis, width, out),
            // A shape of a later pydantic-evals: shown as it is.
            Err(_) => {
                let _ = writeln!(out, "{analysis}");
            }
        }
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "\nReport Evaluator Failures:");
        for failure in failures {
            let text = |key: &str| failure.get(key).and_then(Value::as_str).unwrap_or("");
            let _ = writeln!(out, "  {}: {}", text("name"), text("error_message"));
        }
    }
}

/// Python's `str` of a number: `0.75`, `1.0`, `nan`.
fn number(x: f64) -> String {
    float_repr(x)
}

fn one(analysis: &ReportAnalysis, width: usize, out: &mut String) {
    match analysis {
        ReportAnalysis::ConfusionMatrix(matrix) => {
            let mut table = Table::new(matrix.title.clone());
            table.column("Expected \\ Predicted", Column::Text);
            for label in &matrix.class_labels {
                table.column(label, Column::Right);
            }
            for (label, counts) in matrix.class_labels.iter().zip(&matrix.matrix) {
                let mut row = vec![vec![label.clone()]];
                row.extend(counts.iter().map(|n| vec![n.to_string()]));
                table.rows.push(row);
            }
            table.render(width, out);
        }
        ReportAnalysis::Scalar(scalar) => {
            let mut value = number(scalar.value);
            if let Some(unit) = scalar.unit.as_deref().filter(|u| !u.is_empty()) {
                value = format!("{value} {unit}");
            }
            let _ = writeln!(out, "{}: {value}", scalar.title);
        }
        ReportAnalysis::PrecisionRecall(pr) => {
            let _ = writeln!(out, "{}", pr.title);
            for curve in &pr.curves {
                let auc = curve
                    .auc
                    .map(|auc| format!(", AUC={auc:.4}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "  {}: {} points{auc}", curve.name, curve.points.len());
            }
        }
        ReportAnalysis::LinePlot(plot) => {
            let _ = writeln!(out, "{}", plot.title);
            for curve in &plot.curves {
                let _ = writeln!(out, "  {}: {} points", curve.name, curve.points.len());
            }
        }
        ReportAnalysis::Table(result) => {
            let mut table = Table::new(result.title.clone());
            for column in &result.columns {
                table.column(column, Column::Text);
            }
            for row in &result.rows {
                table.rows.push(
                    row.iter()
                        .map(|cell| {
                            vec![match cell {
                                Value::Null => String::new(),
                                Value::String(text) => text.clone(),
                                Value::Bool(true) => "True".to_owned(),
                                Value::Bool(false) => "False".to_owned(),
                                Value::Number(n) if n.is_f64() => {
                                    number(n.as_f64().unwrap_or(f64::NAN))
                                }
                                other => other.to_string(),
                            }]
                        })
                        .collect(),
                );
            }
            table.render(width, out);
        }
    }
}
