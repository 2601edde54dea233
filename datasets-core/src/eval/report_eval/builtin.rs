//! pydantic-evals' built-in report evaluators (`report_common.py` of
//! pydantic-evals 2.62), with its arguments, its arithmetic (the same
//! operations in the same order, so the figures agree to the last bit)
//! and its result shapes.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{ReportEvaluator, ReportEvaluatorContext, ReportEvaluatorFuture};
use crate::eval::analysis::{
    ConfusionMatrix, LinePlot, LinePlotCurve, LinePlotPoint, LineStep, LineStyle, PrecisionRecall,
    PrecisionRecallCurve, PrecisionRecallPoint, ReportAnalysis, ScalarResult,
};
use crate::eval::py::{PyValue, to_py};
use crate::eval::report::ReportCase;

/// Where [`ConfusionMatrixEvaluator`] reads a case's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFrom {
    /// The case's expected output.
    ExpectedOutput,
    /// The task's output.
    Output,
    /// The case's metadata (or one key of it).
    Metadata,
    /// A label an evaluator gave (its key required).
    Labels,
}

/// Where a binary evaluator reads whether a case is positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositiveFrom {
    /// The truth of the expected output (Python's `bool`).
    ExpectedOutput,
    /// An assertion (its key required).
    Assertions,
    /// The truth of a label (its key required).
    Labels,
}

/// Where a binary evaluator reads a case's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreFrom {
    /// A score an evaluator gave.
    #[default]
    Scores,
    /// A metric the task recorded.
    Metrics,
}

/// A confusion matrix of the cases' expected against predicted classes,
/// each read as Python's `str` of a value; cases missing either are left
/// out. pydantic-evals' `ConfusionMatrixEvaluator`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfusionMatrixEvaluator {
    /// Where the predicted class is (default: the output).
    #[serde(default = "output")]
    pub predicted_from: ValueFrom,
    /// The metadata key or label name of the predicted class.
    #[serde(default)]
    pub predicted_key: Option<String>,
    /// Where the expected class is (default: the expected output).
    #[serde(default = "expected_output")]
    pub expected_from: ValueFrom,
    /// The metadata key or label name of the expected class.
    #[serde(default)]
    pub expected_key: Option<String>,
    /// The analysis's title.
    #[serde(default = "confusion_title")]
    pub title: String,
}

fn output() -> ValueFrom {
    ValueFrom::Output
}

fn expected_output() -> ValueFrom {
    ValueFrom::ExpectedOutput
}

fn confusion_title() -> String {
    "Confusion Matrix".to_owned()
}

impl Default for ConfusionMatrixEvaluator {
    fn default() -> Self {
        Self {
            predicted_from: ValueFrom::Output,
            predicted_key: None,
            expected_from: ValueFrom::ExpectedOutput,
            expected_key: None,
            title: confusion_title(),
        }
    }
}

/// A value as Python's `str` would show it.
fn py_str<T: Serialize>(value: &T) -> Option<PyValue> {
    to_py(value).ok()
}

/// Python's truth of a value.
fn truthy(value: &PyValue) -> bool {
    match value {
        PyValue::None => false,
        PyValue::Bool(b) => *b,
        PyValue::Int(i) => *i != 0,
        PyValue::BigInt(_) | PyValue::Model(..) => true,
        PyValue::Float(x) => *x != 0.0,
        PyValue::Str(s) => !s.is_empty(),
        PyValue::List(items) => !items.is_empty(),
        PyValue::Dict(entries) => !entries.is_empty(),
    }
}

/// A present value: `None` for an absent one or Python's `None`.
fn present<T: Serialize>(value: Option<&T>) -> Option<PyValue> {
    value
        .and_then(py_str)
        .filter(|v| !matches!(v, PyValue::None))
}

impl ConfusionMatrixEvaluator {
    fn extract<I, O: Serialize, M: Serialize>(
        case: &ReportCase<I, O, M>,
        from: ValueFrom,
        key: Option<&str>,
    ) -> Result<Option<String>, String> {
        Ok(match from {
            ValueFrom::ExpectedOutput => present(case.expected_output.as_ref()).map(|v| v.str()),
            ValueFrom::Output => present(Some(&case.output)).map(|v| v.str()),
            ValueFrom::Metadata => {
                let metadata = present(case.metadata.as_ref());
                match (key, metadata) {
                    (Some(key), Some(PyValue::Dict(entries))) => entries
                        .into_iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v)
                        .filter(|v| !matches!(v, PyValue::None))
                        .map(|v| v.str()),
                    // A key asked for, but the metadata is not a dict: skipped.
                    (Some(_), _) => None,
                    (None, metadata) => metadata.map(|v| v.str()),
                }
            }
            ValueFrom::Labels => {
                let key = key.ok_or("ValueError: 'key' is required when from_='labels'")?;
                case.labels.get(key).map(|label| label.value.clone())
            }
        })
    }
}

impl<I, O, M> ReportEvaluator<I, O, M> for ConfusionMatrixEvaluator
where
    I: Sync,
    O: Serialize + Sync,
    M: Serialize + Sync,
{
    fn name(&self) -> Cow<'_, str> {
        "ConfusionMatrixEvaluator".into()
    }

    fn evaluate<'a>(
        &'a self,
        ctx: &'a ReportEvaluatorContext<'a, I, O, M>,
    ) -> ReportEvaluatorFuture<'a> {
        Box::pin(async move {
            let mut pairs = Vec::new();
            for case in &ctx.report.cases {
                let predicted =
                    Self::extract(case, self.predicted_from, self.predicted_key.as_deref())?;
                let expected =
                    Self::extract(case, self.expected_from, self.expected_key.as_deref())?;
                if let (Some(predicted), Some(expected)) = (predicted, expected) {
                    pairs.push((expected, predicted));
                }
            }
            let labels: Vec<String> = pairs
                .iter()
                .flat_map(|(e, p)| [e.clone(), p.clone()])
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let index = |label: &str| labels.binary_search_by(|l| l.as_str().cmp(label)).ok();
            let mut matrix = vec![vec![0u64; labels.len()]; labels.len()];
            for (expected, predicted) in &pairs {
                if let (Some(e), Some(p)) = (index(expected), index(predicted)) {
                    matrix[e][p] += 1;
                }
            }
            Ok(vec![ReportAnalysis::from(ConfusionMatrix {
                title: self.title.clone(),
                description: None,
                class_labels: labels,
                matrix,
            })])
        })
    }
}

/// What the three binary evaluators share: where scores and positives are.
#[derive(Debug, Clone, PartialEq)]
struct Binary<'a> {
    score_key: &'a str,
    score_from: ScoreFrom,
    positive_from: PositiveFrom,
    positive_key: Option<&'a str>,
}

impl Binary<'_> {
    /// `(score, positive)` of every case that has both, in case order.
    fn scored<I, O: Serialize, M>(
        &self,
        cases: &[ReportCase<I, O, M>],
    ) -> Result<Vec<(f64, bool)>, String> {
        let mut scored = Vec::new();
        for case in cases {
            let score = match self.score_from {
                ScoreFrom::Scores => case.scores.get(self.score_key).map(|r| r.value),
                ScoreFrom::Metrics => case.metrics.get(self.score_key).copied(),
            };
            let positive = match self.positive_from {
                PositiveFrom::ExpectedOutput => {
                    present(case.expected_output.as_ref()).map(|v| truthy(&v))
                }
                PositiveFrom::Assertions => {
                    let key = self.positive_key.ok_or(
                        "ValueError: 'positive_key' is required when positive_from='assertions'",
                    )?;
                    case.assertions.get(key).map(|a| a.value)
                }
                PositiveFrom::Labels => {
                    let key = self.positive_key.ok_or(
                        "ValueError: 'positive_key' is required when positive_from='labels'",
                    )?;
                    case.labels.get(key).map(|l| !l.value.is_empty())
                }
            };
            if let (Some(score), Some(positive)) = (score, positive) {
                scored.push((score, positive));
            }
        }
        Ok(scored)
    }
}

/// The distinct scores, highest first.
fn thresholds_descending(scored: &[(f64, bool)]) -> Vec<f64> {
    let mut unique: Vec<f64> = scored.iter().map(|(s, _)| *s).collect();
    unique.sort_by(|a, b| b.total_cmp(a));
    unique.dedup_by(|a, b| a == b);
    unique
}

/// For each threshold (descending), the positives and negatives scored at
/// or above it.
fn threshold_counts(scored: &[(f64, bool)], thresholds: &[f64]) -> Vec<(f64, u64, u64)> {
    if scored.iter().any(|(s, _)| s.is_nan()) {
        return thresholds
            .iter()
            .map(|&t| {
                let tp = scored.iter().filter(|(s, p)| *s >= t && *p).count() as u64;
                let fp = scored.iter().filter(|(s, p)| *s >= t && !*p).count() as u64;
                (t, tp, fp)
            })
            .collect();
    }
    let mut sorted = scored.to_vec();
    // Python's sort is stable; so is this, and the counts do not depend on
    // the order of equal scores anyway.
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp, mut index) = (0u64, 0u64, 0usize);
    let mut out = Vec::with_capacity(thresholds.len());
    for &threshold in thresholds {
        while index < sorted.len() && sorted[index].0 >= threshold {
            if sorted[index].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            index += 1;
        }
        out.push((threshold, tp, fp));
    }
    out
}

/// At most `n` evenly spaced entries of `points`, as pydantic-evals picks them.
fn downsample<T: Copy>(points: &[T], n: usize) -> Vec<T> {
    if points.len() <= n || n <= 1 {
        return points.to_vec();
    }
    let last = points.len() - 1;
    let indices: BTreeSet<usize> = (0..n)
        .map(|i| ((i * last) as f64 / (n - 1) as f64) as usize)
        .collect();
    indices.into_iter().map(|i| points[i]).collect()
}

/// The trapezoidal area under `(x, y)` points, in their order.
fn trapezoidal_auc(points: &[(f64, f64)]) -> f64 {
    let mut auc = 0.0;
    for pair in points.windows(2) {
        auc += (pair[1].0 - pair[0].0).abs() * (pair[1].1 + pair[0].1) / 2.0;
    }
    auc
}

fn scalar(title: String, value: f64) -> ReportAnalysis {
    ReportAnalysis::from(ScalarResult {
        title,
        description: None,
        value,
        unit: None,
    })
}

macro_rules! binary_evaluator {
    ($(#[$doc:meta])* $name:ident, $title:literal, $title_fn:ident, $title_path:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The score (or metric) that ranks the cases.
            pub score_key: String,
            /// Where a case's truth is.
            pub positive_from: PositiveFrom,
            /// The assertion or label holding it.
            #[serde(default)]
            pub positive_key: Option<String>,
            /// Whether the score is an evaluator's score or a task metric.
            #[serde(default)]
            pub score_from: ScoreFrom,
            /// The analysis's title.
            #[serde(default = $title_path)]
            pub title: String,
            /// The most points drawn (the AUC uses them all).
            #[serde(default = "hundred")]
            pub n_thresholds: usize,
        }

        fn $title_fn() -> String {
            $title.to_owned()
        }

        impl $name {
            /// An evaluator of `score_key`, positives read from `positive_from`.
            pub fn new(score_key: impl Into<String>, positive_from: PositiveFrom) -> Self {
                Self {
                    score_key: score_key.into(),
                    positive_from,
                    positive_key: None,
                    score_from: ScoreFrom::Scores,
                    title: $title_fn(),
                    n_thresholds: 100,
                }
            }

            /// The assertion or label that says whether a case is positive.
            pub fn positive_key(mut self, key: impl Into<String>) -> Self {
                self.positive_key = Some(key.into());
                self
            }

            /// Reads the score from the task's metrics instead of scores.
            pub fn from_metrics(mut self) -> Self {
                self.score_from = ScoreFrom::Metrics;
                self
            }

            fn binary(&self) -> Binary<'_> {
                Binary {
                    score_key: &self.score_key,
                    score_from: self.score_from,
                    positive_from: self.positive_from,
                    positive_key: self.positive_key.as_deref(),
                }
            }
        }

        impl<I, O, M> ReportEvaluator<I, O, M> for $name
        where
            I: Sync,
            O: Serialize + Sync,
            M: Sync,
        {
            fn name(&self) -> Cow<'_, str> {
                stringify!($name).into()
            }

            fn evaluate<'a>(
                &'a self,
                ctx: &'a ReportEvaluatorContext<'a, I, O, M>,
            ) -> ReportEvaluatorFuture<'a> {
                Box::pin(async move {
                    let scored = self.binary().scored(&ctx.report.cases)?;
                    Ok(self.analyse(ctx.name, &scored))
                })
            }
        }
    };
}

fn hundred() -> usize {
    100
}

binary_evaluator!(
    /// A precision-recall curve of a score against the cases' truth, and
    /// its exact area (every distinct score a threshold; the curve drawn
    /// at most `n_thresholds` points). pydantic-evals' `PrecisionRecallEvaluator`.
    PrecisionRecallEvaluator,
    "Precision-Recall Curve",
    precision_recall_title,
    "precision_recall_title"
);

binary_evaluator!(
    /// An ROC curve of a score against the cases' truth, with the random
    /// baseline, and its exact area. pydantic-evals' `ROCAUCEvaluator`.
    ROCAUCEvaluator,
    "ROC Curve",
    roc_title,
    "roc_title"
);

binary_evaluator!(
    /// The empirical distributions of a score over positive and negative
    /// cases, and the Kolmogorov-Smirnov statistic (their largest gap).
    /// pydantic-evals' `KolmogorovSmirnovEvaluator`.
    KolmogorovSmirnovEvaluator,
    "KS Plot",
    ks_title,
    "ks_title"
);

impl PrecisionRecallEvaluator {
    fn analyse(&self, experiment: &str, scored: &[(f64, bool)]) -> Vec<ReportAnalysis> {
        let auc_title = format!("{} AUC", self.title);
        if scored.is_empty() {
            return vec![
                ReportAnalysis::from(PrecisionRecall {
                    title: self.title.clone(),
                    description: None,
                    curves: Vec::new(),
                }),
                scalar(auc_title, f64::NAN),
            ];
        }
        let positives = scored.iter().filter(|(_, p)| *p).count() as u64;
        let thresholds = thresholds_descending(scored);
        let mut points = vec![PrecisionRecallPoint {
            threshold: thresholds[0],
            precision: 1.0,
            recall: 0.0,
        }];
        for (threshold, tp, fp) in threshold_counts(scored, &thresholds) {
            let fn_ = positives - tp;
            let precision = if tp + fp > 0 {
                tp as f64 / (tp + fp) as f64
            } else {
                1.0
            };
            let recall = if fn_ + tp > 0 {
                tp as f64 / (fn_ + tp) as f64
            } else {
                0.0
            };
            points.push(PrecisionRecallPoint {
                threshold,
                precision,
                recall,
            });
        }
        let auc = trapezoidal_auc(
            &points
                .iter()
                .map(|p| (p.recall, p.precision))
                .collect::<Vec<_>>(),
        );
        let shown = downsample(&points, self.n_thresholds);
        vec![
            ReportAnalysis::from(PrecisionRecall {
                title: self.title.clone(),
                description: None,
                curves: vec![PrecisionRecallCurve {
                    name: experiment.to_owned(),
                    points: shown,
                    auc: Some(auc),
                }],
            }),
            scalar(auc_title, auc),
        ]
    }
}

fn points(xy: &[(f64, f64)]) -> Vec<LinePlotPoint> {
    xy.iter().map(|&(x, y)| LinePlotPoint { x, y }).collect()
}

impl ROCAUCEvaluator {
    fn analyse(&self, experiment: &str, scored: &[(f64, bool)]) -> Vec<ReportAnalysis> {
        let plot = |curves| {
            ReportAnalysis::from(LinePlot {
                title: self.title.clone(),
                description: None,
                x_label: "False Positive Rate".into(),
                y_label: "True Positive Rate".into(),
                x_range: Some((0.0, 1.0)),
                y_range: Some((0.0, 1.0)),
                curves,
            })
        };
        let auc_title = format!("{} AUC", self.title);
        let positives = scored.iter().filter(|(_, p)| *p).count() as u64;
        let negatives = scored.len() as u64 - positives;
        if positives == 0 || negatives == 0 {
            return vec![plot(Vec::new()), scalar(auc_title, f64::NAN)];
        }
        let thresholds = thresholds_descending(scored);
        let mut rates = vec![(0.0, 0.0)];
        for (_, tp, fp) in threshold_counts(scored, &thresholds) {
            rates.push((fp as f64 / negatives as f64, tp as f64 / positives as f64));
        }
        rates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let auc = trapezoidal_auc(&rates);
        let curves = vec![
            LinePlotCurve {
                name: format!("{experiment} (AUC: {auc:.3})"),
                points: points(&downsample(&rates, self.n_thresholds)),
                style: LineStyle::Solid,
                step: None,
            },
            LinePlotCurve {
                name: "Random".into(),
                points: points(&[(0.0, 0.0), (1.0, 1.0)]),
                style: LineStyle::Dashed,
                step: None,
            },
        ];
        vec![plot(curves), scalar(auc_title, auc)]
    }
}

impl KolmogorovSmirnovEvaluator {
    fn analyse(&self, _experiment: &str, scored: &[(f64, bool)]) -> Vec<ReportAnalysis> {
        let plot = |curves| {
            ReportAnalysis::from(LinePlot {
                title: self.title.clone(),
                description: None,
                x_label: "Score".into(),
                y_label: "Cumulative Probability".into(),
                x_range: None,
                y_range: Some((0.0, 1.0)),
                curves,
            })
        };
        let mut positive: Vec<f64> = scored.iter().filter(|(_, p)| *p).map(|(s, _)| *s).collect();
        let mut negative: Vec<f64> = scored
            .iter()
            .filter(|(_, p)| !*p)
            .map(|(s, _)| *s)
            .collect();
        if positive.is_empty() || negative.is_empty() {
            return vec![plot(Vec::new()), scalar("KS Statistic".into(), f64::NAN)];
        }
        positive.sort_by(f64::total_cmp);
        negative.sort_by(f64::total_cmp);
        let mut all: Vec<f64> = scored.iter().map(|(s, _)| *s).collect();
        all.sort_by(f64::total_cmp);
        all.dedup_by(|a, b| a == b);
        // bisect_right: how many are at most `score`.
        let share = |sorted: &[f64], score: f64| {
            sorted.partition_point(|s| *s <= score) as f64 / sorted.len() as f64
        };
        let mut positive_cdf = vec![(all[0], 0.0)];
        let mut negative_cdf = vec![(all[0], 0.0)];
        let mut statistic: f64 = 0.0;
        for &score in &all {
            let (p, n) = (share(&positive, score), share(&negative, score));
            positive_cdf.push((score, p));
            negative_cdf.push((score, n));
            statistic = statistic.max((p - n).abs());
        }
        let curve = |name: &str, cdf: &[(f64, f64)]| LinePlotCurve {
            name: name.into(),
            points: points(&downsample(cdf, self.n_thresholds)),
            style: LineStyle::Solid,
            step: Some(LineStep::End),
        };
        vec![
            plot(vec![
                curve("Positive", &positive_cdf),
                curve("Negative", &negative_cdf),
            ]),
            scalar("KS Statistic".into(), statistic),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_picks_pydantic_evals_indices() {
        let points: Vec<usize> = (0..10).collect();
        assert_eq!(downsample(&points, 4), [0, 3, 6, 9]);
        assert_eq!(downsample(&points, 3), [0, 4, 9]);
        assert_eq!(downsample(&points, 20), points);
        assert_eq!(downsample(&points, 1), points);
    }

    #[test]
    fn auc_of_a_perfect_and_a_random_ranking() {
        let perfect = [(0.9, true), (0.8, true), (0.2, false), (0.1, false)];
        let roc = ROCAUCEvaluator::new("s", PositiveFrom::Assertions).analyse("x", &perfect);
        let ReportAnalysis::Scalar(auc) = &roc[1] else {
            panic!()
        };
        assert_eq!(auc.value, 1.0);
        let tied = [(0.5, true), (0.5, false)];
        let roc = ROCAUCEvaluator::new("s", PositiveFrom::Assertions).analyse("x", &tied);
        let ReportAnalysis::Scalar(auc) = &roc[1] else {
            panic!()
        };
        assert_eq!(auc.value, 0.5);
        let ks =
            KolmogorovSmirnovEvaluator::new("s", PositiveFrom::Assertions).analyse("x", &perfect);
        let ReportAnalysis::Scalar(statistic) = &ks[1] else {
            panic!()
        };
        assert_eq!(statistic.value, 1.0);
    }
}
