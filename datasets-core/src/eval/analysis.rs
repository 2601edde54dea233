//! What report evaluators produce: experiment-wide analyses, in
//! pydantic-evals' shapes (`pydantic_evals.reporting.analyses`), tagged by
//! `type` in JSON as pydantic-evals dumps them.

use serde::{Deserialize, Serialize};

/// One experiment-wide analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReportAnalysis {
    /// Expected against predicted labels.
    ConfusionMatrix(ConfusionMatrix),
    /// Precision-recall curves.
    PrecisionRecall(PrecisionRecall),
    /// One number.
    #[serde(rename = "scalar")]
    Scalar(ScalarResult),
    /// A table of anything.
    Table(TableResult),
    /// Curves on labelled axes (ROC, KS, calibration, ...).
    LinePlot(LinePlot),
}

/// A confusion matrix: `matrix[expected][predicted]` counts cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Its title.
    pub title: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The labels of both axes, in order.
    pub class_labels: Vec<String>,
    /// `matrix[expected_index][predicted_index]`: how many cases.
    pub matrix: Vec<Vec<u64>>,
}

/// One point of a precision-recall curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecallPoint {
    /// The score at or above which a case counts as positive.
    pub threshold: f64,
    /// Precision at that threshold.
    pub precision: f64,
    /// Recall at that threshold.
    pub recall: f64,
}

/// One precision-recall curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecallCurve {
    /// Its name (the experiment's).
    pub name: String,
    /// Its points, by threshold, highest first.
    pub points: Vec<PrecisionRecallPoint>,
    /// The area under it.
    #[serde(default)]
    pub auc: Option<f64>,
}

/// Precision-recall curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecall {
    /// Its title.
    pub title: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The curves.
    pub curves: Vec<PrecisionRecallCurve>,
}

/// One number, e.g. an AUC or an F1 score. NaN (no data) is `null` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalarResult {
    /// Its title.
    pub title: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The value.
    #[serde(deserialize_with = "nan_for_null")]
    pub value: f64,
    /// A unit, e.g. `%` or `ms`.
    #[serde(default)]
    pub unit: Option<String>,
}

fn nan_for_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableResult {
    /// Its title.
    pub title: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The column headers.
    pub columns: Vec<String>,
    /// The rows: text, numbers, booleans or null.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// One point of a line plot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinePlotPoint {
    /// Its x.
    pub x: f64,
    /// Its y.
    pub y: f64,
}

/// How a curve is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStyle {
    /// A solid line.
    #[default]
    Solid,
    /// A dashed line.
    Dashed,
}

/// Step interpolation of a curve (`End` for empirical CDFs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStep {
    /// Steps at the start of each interval.
    Start,
    /// Steps in the middle.
    Middle,
    /// Steps at the end (right-continuous).
    End,
}

/// One curve of a line plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinePlotCurve {
    /// Its name, in the legend.
    pub name: String,
    /// Its points, by x.
    pub points: Vec<LinePlotPoint>,
    /// Its line style.
    #[serde(default)]
    pub style: LineStyle,
    /// Its step interpolation, if any.
    #[serde(default)]
    pub step: Option<LineStep>,
}

/// Curves on labelled axes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinePlot {
    /// Its title.
    pub title: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The x axis's label.
    pub x_label: String,
    /// The y axis's label.
    pub y_label: String,
    /// A fixed range of x, if any.
    #[serde(default)]
    pub x_range: Option<(f64, f64)>,
    /// A fixed range of y, if any.
    #[serde(default)]
    pub y_range: Option<(f64, f64)>,
    /// The curves.
    pub curves: Vec<LinePlotCurve>,
}

impl From<ConfusionMatrix> for ReportAnalysis {
    fn from(analysis: ConfusionMatrix) -> Self {
        ReportAnalysis::ConfusionMatrix(analysis)
    }
}

impl From<PrecisionRecall> for ReportAnalysis {
    fn from(analysis: PrecisionRecall) -> Self {
        ReportAnalysis::PrecisionRecall(analysis)
    }
}

impl From<ScalarResult> for ReportAnalysis {
    fn from(analysis: ScalarResult) -> Self {
        ReportAnalysis::Scalar(analysis)
    }
}

impl From<TableResult> for ReportAnalysis {
    fn from(analysis: TableResult) -> Self {
        ReportAnalysis::Table(analysis)
    }
}

impl From<LinePlot> for ReportAnalysis {
    fn from(analysis: LinePlot) -> Self {
        ReportAnalysis::LinePlot(analysis)
    }
}

impl ReportAnalysis {
    /// Its title.
    pub fn title(&self) -> &str {
        match self {
            ReportAnalysis::ConfusionMatrix(a) => &a.title,
            ReportAnalysis::PrecisionRecall(a) => &a.title,
            ReportAnalysis::Scalar(a) => &a.title,
            ReportAnalysis::Table(a) => &a.title,
            ReportAnalysis::LinePlot(a) => &a.title,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn analyses_dump_as_pydantic_evals_does() {
        let scalar = ReportAnalysis::from(ScalarResult {
            title: "ROC Curve AUC".into(),
            description: None,
            value: f64::NAN,
            unit: None,
        });
        let json = serde_json::to_value(&scalar).unwrap();
        assert_eq!(
            json,
            json!({"type": "scalar", "title": "ROC Curve AUC", "description": null, "value": null, "unit": null})
        );
        let back: ReportAnalysis = serde_json::from_value(json).unwrap();
        assert!(matches!(back, ReportAnalysis::Scalar(s) if s.value.is_nan()));
        let plot = ReportAnalysis::from(LinePlot {
            title: "KS Plot".into(),
            description: None,
            x_label: "Score".into(),
            y_label: "Cumulative Probability".into(),
            x_range: None,
            y_range: Some((0.0, 1.0)),
            curves: vec![LinePlotCurve {
                name: "Positive".into(),
                points: vec![LinePlotPoint { x: 0.5, y: 1.0 }],
                style: LineStyle::Solid,
                step: Some(LineStep::End),
            }],
        });
        assert_eq!(
            serde_json::to_value(&plot).unwrap(),
            json!({"type": "line_plot", "title": "KS Plot", "description": null,
                   "x_label": "Score", "y_label": "Cumulative Probability",
                   "x_range": null, "y_range": [0.0, 1.0],
                   "curves": [{"name": "Positive", "points": [{"x": 0.5, "y": 1.0}],
                               "style": "solid", "step": "end"}]})
        );
    }
}
