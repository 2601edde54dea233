//! CI gates: a run passes when enough of its cases pass and nothing that
//! passed in a baseline run got worse. For `cargo test`:
//! `report.gate().pass_rate_at_least(0.9).no_regressions_against(&baseline, 0.05)?`.

use std::collections::BTreeMap;
use std::fmt;

use super::report::EvaluationReport;

/// How many regressions a [`GateFailure`] names; the rest are counted.
const SHOWN: usize = 10;

/// Why a gate failed: every check that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct GateFailure {
    /// The run's name.
    pub experiment: String,
    /// The checks that failed, in the order they were asked for.
    pub problems: Vec<GateProblem>,
}

/// One check that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub enum GateProblem {
    /// Too few runs passed.
    PassRate {
        /// The share of runs that passed (NaN when none ran).
        rate: f64,
        /// The share asked for.
        required: f64,
        /// Runs whose task succeeded and whose assertions all passed.
        passed: usize,
        /// Every run, failed tasks included.
        runs: usize,
    },
    /// Cases got worse than in the baseline.
    Regressions {
        /// The baseline's name.
        baseline: String,
        /// Every regression, worst first.
        regressions: Vec<Regression>,
    },
}

/// A case that got worse than in the baseline (matched by name).
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// The case's name.
    pub case: String,
    /// How it got worse.
    pub kind: RegressionKind,
}

/// How a case got worse.
#[derive(Debug, Clone, PartialEq)]
pub enum RegressionKind {
    /// Its task succeeded in the baseline and fails now.
    TaskFailed {
        /// The failure's message.
        error: String,
    },
    /// An assertion passed in the baseline and fails now.
    AssertionFailed {
        /// The assertion's name.
        name: String,
        /// Why it fails, if the evaluator said.
        reason: Option<String>,
    },
    /// A score is lower by more than the tolerance.
    ScoreDropped {
        /// The score's name.
        name: String,
        /// In the baseline.
        before: f64,
        /// Now.
        now: f64,
    },
}

impl RegressionKind {
    /// Worst first: failed tasks, failed assertions, then the largest drops.
    fn severity(&self) -> (u8, f64) {
        match self {
            RegressionKind::TaskFailed { .. } => (0, 0.0),
            RegressionKind::AssertionFailed { .. } => (1, 0.0),
            RegressionKind::ScoreDropped { before, now, .. } => (2, -(before - now)),
        }
    }
}

impl<I, O, M> EvaluationReport<I, O, M> {
    /// A gate over this run, for CI: add checks, then
    /// [`check`](Gate::check) them.
    ///
    /// ```
    /// use datasets_core::Case;
    /// use datasets_core::eval::{Dataset, EqualsExpected};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let dataset: Dataset<String, String, ()> = Dataset::new("shout", vec![
    ///     Case::new("hi".to_owned()).expected_output("HI".to_owned()).name("hi"),
    ///     Case::new("yo".to_owned()).expected_output("YO".to_owned()).name("yo"),
    /// ]);
    /// let baseline = dataset
    ///     .evaluate(|t: String| async move { t.to_uppercase() })
    ///     .evaluator(EqualsExpected::default())
    ///     .await;
    /// let worse = dataset
    ///     .evaluate(|t: String| async move { if t == "yo" { t } else { t.to_uppercase() } })
    ///     .evaluator(EqualsExpected::default())
    ///     .await;
    /// let failure = worse.gate().pass_rate_at_least(0.9).no_regressions_against(&baseline, 0.0).unwrap_err();
    /// assert!(failure.to_string().contains("yo: assertion EqualsExpected passed in the baseline, fails now"));
    /// # }
    /// ```
    pub fn gate(&self) -> Gate<'_, I, O, M> {
        Gate {
            report: self,
            problems: Vec::new(),
        }
    }
}

/// Checks of a report, from [`EvaluationReport::gate`]: add them with its
/// methods, then [`check`](Self::check).
#[must_use = "a gate checks nothing until `.check()`"]
#[derive(Debug)]
pub struct Gate<'r, I, O, M> {
    report: &'r EvaluationReport<I, O, M>,
    problems: Vec<GateProblem>,
}

impl<I, O, M> Gate<'_, I, O, M> {
    /// At least `rate` (0 to 1) of the runs pass: their task succeeded and
    /// every assertion they have passed (a run without assertions passes).
    /// A report without runs fails this check.
    pub fn pass_rate_at_least(mut self, rate: f64) -> Self {
        let report = self.report;
        let runs = report.cases.len() + report.failures.len();
        let passed = report
            .cases
            .iter()
            .filter(|case| case.assertions.values().all(|a| a.value))
            .count();
        let actual = if runs == 0 {
            f64::NAN
        } else {
            passed as f64 / runs as f64
        };
        // NaN (no runs) fails too.
        if actual.is_nan() || actual < rate {
            self.problems.push(GateProblem::PassRate {
                rate: actual,
                required: rate,
                passed,
                runs,
            });
        }
        self
    }

    /// Checks, with the checks before it, that no case got worse than in
    /// `baseline`; the result. Cases are matched by name, and a case got
    /// worse when its task succeeded there and fails now, an assertion that
    /// passed there fails now, or a score is lower by more than
    /// `tolerance`. Cases, assertions and scores that are not in both runs
    /// are not compared. [`regressions_against`](Self::regressions_against)
    /// is the same check without ending the chain.
    pub fn no_regressions_against<BI, BO, BM>(
        self,
        baseline: &EvaluationReport<BI, BO, BM>,
        tolerance: f64,
    ) -> Result<(), GateFailure> {
        self.regressions_against(baseline, tolerance).check()
    }

    /// The check of [`no_regressions_against`](Self::no_regressions_against),
    /// to chain more checks after it.
    pub fn regressions_against<BI, BO, BM>(
        mut self,
        baseline: &EvaluationReport<BI, BO, BM>,
        tolerance: f64,
    ) -> Self {
        let report = self.report;
        let now: BTreeMap<&str, _> = report.cases.iter().map(|c| (c.name.as_str(), c)).collect();
        let failed: BTreeMap<&str, _> = report
            .failures
            .iter()
            .map(|f| (f.name.as_str(), f))
            .collect();
        let mut regressions = Vec::new();
        for before in &baseline.cases {
            let case = before.name.clone();
            if let Some(failure) = failed.get(before.name.as_str()) {
                regressions.push(Regression {
                    case,
                    kind: RegressionKind::TaskFailed {
                        error: failure.error_message.clone(),
                    },
                });
                continue;
            }
            let Some(current) = now.get(before.name.as_str()) else {
                continue;
            };
            for (name, passed) in &before.assertions {
                if let Some(result) = current.assertions.get(name)
                    && passed.value
                    && !result.value
                {
                    regressions.push(Regression {
                        case: case.clone(),
                        kind: RegressionKind::AssertionFailed {
                            name: name.clone(),
                            reason: result.reason.clone(),
                        },
                    });
                }
            }
            for (name, score) in &before.scores {
                if let Some(result) = current.scores.get(name)
                    && score.value - result.value > tolerance
                {
                    regressions.push(Regression {
                        case: case.clone(),
                        kind: RegressionKind::ScoreDropped {
                            name: name.clone(),
                            before: score.value,
                            now: result.value,
                        },
                    });
                }
            }
        }
        if !regressions.is_empty() {
            regressions.sort_by(|a, b| {
                let (ka, kb) = (a.kind.severity(), b.kind.severity());
                ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
            });
            self.problems.push(GateProblem::Regressions {
                baseline: baseline.name.clone(),
                regressions,
            });
        }
        self
    }

    /// Whether every check so far held.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Whether a check so far failed.
    pub fn is_err(&self) -> bool {
        !self.is_ok()
    }

    /// Panics with the [`GateFailure`] (its `Display`: the worst cases)
    /// unless every check held: the gate of a `#[test]`.
    #[track_caller]
    pub fn unwrap(self) {
        if let Err(failure) = self.check() {
            panic!("{failure}");
        }
    }

    /// The [`GateFailure`]; panics if every check held.
    #[track_caller]
    pub fn unwrap_err(self) -> GateFailure {
        match self.check() {
            Err(failure) => failure,
            Ok(()) => panic!("the gate held"),
        }
    }

    /// `Ok(())` when every check held; otherwise the [`GateFailure`],
    /// whose `Display` names the worst cases.
    pub fn check(self) -> Result<(), GateFailure> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(GateFailure {
                experiment: self.report.name.clone(),
                problems: self.problems,
            })
        }
    }
}

impl fmt::Display for GateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "evaluation gate failed for {:?}:", self.experiment)?;
        for problem in &self.problems {
            match problem {
                GateProblem::PassRate {
                    rate,
                    required,
                    passed,
                    runs,
                } => {
                    if *runs == 0 {
                        write!(
                            f,
                            "\n  no case ran (a pass rate of at least {required} was required)"
                        )?;
                    } else {
                        write!(
                            f,
                            "\n  pass rate {rate:.3} is below {required} ({passed} of {runs} runs passed)"
                        )?;
                    }
                }
                GateProblem::Regressions {
                    baseline,
                    regressions,
                } => {
                    write!(
                        f,
                        "\n  {} regression(s) against {baseline:?}, worst first:",
                        regressions.len()
                    )?;
                    for regression in regressions.iter().take(SHOWN) {
                        write!(f, "\n    {regression}")?;
                    }
                    if regressions.len() > SHOWN {
                        write!(f, "\n    ... and {} more", regressions.len() - SHOWN)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Regression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RegressionKind::TaskFailed { error } => {
                write!(
                    f,
                    "{}: the task succeeded in the baseline, fails now: {error}",
                    self.case
                )
            }
            RegressionKind::AssertionFailed { name, reason } => {
                write!(
                    f,
                    "{}: assertion {name} passed in the baseline, fails now",
                    self.case
                )?;
                if let Some(reason) = reason {
                    write!(f, " ({reason})")?;
                }
                Ok(())
            }
            RegressionKind::ScoreDropped { name, before, now } => write!(
                f,
                "{}: score {name} fell from {before} to {now} ({:+})",
                self.case,
                now - before
            ),
        }
    }
}

impl std::error::Error for GateFailure {}
