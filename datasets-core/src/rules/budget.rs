//! The step budget of a case check. JSON Schema lets a small schema apply
//! itself to one value an exponential number of times (`$defs` that each
//! `allOf` the next one twice; recursion that meets every value through two
//! branches), so the time a check takes cannot be read from the schema's
//! size. Every schema object of a compiled schema carries one extra keyword,
//! [`KEYWORD`], which counts a step each time the validator applies that
//! schema to a value; a check runs [`within`] a number of steps, and the
//! step past them unwinds out of the validator at once, whatever it was
//! doing, so an exhausted check costs nothing more.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jsonschema::{Keyword, ValidationError};
use serde_json::{Map, Value};

/// The keyword each schema object gets in the compiled copy.
pub(super) const KEYWORD: &str = "x-datasets-step";

/// Steps every value may take, whatever its size.
pub const BASE_STEPS: u64 = 1_000_000;
/// Further steps per JSON value (node) in the value checked: a schema may
/// apply this many of its subschemas to each part of a value.
pub const STEPS_PER_NODE: u64 = 256;

thread_local! {
    /// Steps left to the check running on this thread (unbounded outside one).
    static LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
    /// Set when the checks running on this thread are no longer wanted.
    static CANCEL: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Steps between two looks at whether the checks are still wanted.
const CANCEL_EVERY: u64 = 4096;

/// The unwind payload of a check out of steps.
struct Exhausted;

/// A check that ran out of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OutOfSteps {
    /// The steps it had.
    pub(super) steps: u64,
}

/// The budget of a check of `value`: [`BASE_STEPS`] plus
/// [`STEPS_PER_NODE`] per JSON value in it.
pub(super) fn steps_for(value: &Value) -> u64 {
    fn nodes(value: &Value) -> u64 {
        match value {
            Value::Array(items) => 1 + items.iter().map(nodes).sum::<u64>(),
            Value::Object(map) => 1 + map.values().map(nodes).sum::<u64>(),
            _ => 1,
        }
    }
    BASE_STEPS.saturating_add(nodes(value).saturating_mul(STEPS_PER_NODE))
}

/// Runs `check` with at most `steps` schema applications, fewer when a
/// [`StepBudget`] being run has fewer left, which it then spends.
pub(super) fn within<T>(steps: u64, check: impl FnOnce() -> T) -> Result<T, OutOfSteps> {
    let before = LEFT.get();
    let steps = steps.min(before);
    LEFT.set(steps);
    let outcome = catch_unwind(AssertUnwindSafe(check));
    let used = steps - LEFT.get();
    LEFT.set(before.saturating_sub(used));
    match outcome {
        Ok(value) => Ok(value),
        Err(payload) if payload.is::<Exhausted>() => Err(OutOfSteps { steps }),
        Err(payload) => resume_unwind(payload),
    }
}

/// How many steps of a check one step of collecting its errors is worth:
/// a failure builds an error, where a check only answers no.
pub(super) const COLLECTING_COST: u64 = 16;

/// Further steps a request's checks may take per byte of the values they
/// check, beyond [`BASE_STEPS`].
pub const STEPS_PER_BYTE: u64 = 16;

/// Steps shared by the checks of one request (or one re-check of stored
/// cases), so that many small values cannot each spend a value's budget:
/// [`BASE_STEPS`] to start with, and [`STEPS_PER_BYTE`] for each byte of
/// the values granted with [`StepBudget::grant`].
#[derive(Debug, Clone)]
pub struct StepBudget {
    left: u64,
    cancel: Option<Arc<AtomicBool>>,
}

impl Default for StepBudget {
    fn default() -> Self {
        Self {
            left: BASE_STEPS,
            cancel: None,
        }
    }
}

impl StepBudget {
    /// A budget of [`BASE_STEPS`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A budget whose checks stop, as if it were spent, once `cancel` is
    /// set (its request's client has gone): looked at every few thousand
    /// steps, so a check nobody waits for ends within milliseconds.
    pub fn cancelled_by(mut self, cancel: Arc<AtomicBool>) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Adds the steps of `bytes` bytes of values to check.
    pub fn grant(&mut self, bytes: usize) {
        self.left = self
            .left
            .saturating_add((bytes as u64).saturating_mul(STEPS_PER_BYTE));
    }

    /// The steps left.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// Runs `checks` (on this thread), every check in them drawing on this
    /// budget; one that finds it spent is refused as out of steps.
    pub fn run<T>(&mut self, checks: impl FnOnce() -> T) -> T {
        if self
            .cancel
            .as_ref()
            .is_some_and(|cancel| cancel.load(Ordering::Relaxed))
        {
            self.left = 0;
        }
        let before = LEFT.replace(self.left);
        let cancel_before = CANCEL.replace(self.cancel.clone());
        let outcome = catch_unwind(AssertUnwindSafe(checks));
        self.left = LEFT.replace(before);
        CANCEL.set(cancel_before);
        outcome.unwrap_or_else(|payload| resume_unwind(payload))
    }
}

fn step(weight: u64) {
    let left = LEFT.get();
    let after = left.checked_sub(weight);
    let cancelled = || {
        CANCEL.with_borrow(|flag| {
            flag.as_ref()
                .is_some_and(|flag| flag.load(Ordering::Relaxed))
        })
    };
    let crossed = after.is_some_and(|after| left / CANCEL_EVERY != after / CANCEL_EVERY);
    match after {
        Some(after) if !(crossed && cancelled()) => LEFT.set(after),
        // Spent, or no longer wanted: the rest of the checks find nothing left.
        _ => {
            LEFT.set(0);
            // `resume_unwind` runs no panic hook: nothing is printed.
            resume_unwind(Box::new(Exhausted));
        }
    }
}

/// The counting keyword of one schema object. The validator runs a custom
/// keyword after the schema's others, so a step is counted once the schema
/// has been applied, and weighs the schema's own work: one, plus one for
/// each subschema it applies directly (the alternatives of an `anyOf` that
/// failed on a cheap keyword never count steps of their own).
struct Step {
    weight: u64,
}

impl<'i> Keyword<'i> for Step {
    fn validate(&self, _instance: &'i Value) -> Result<(), ValidationError<'i>> {
        step(self.weight);
        Ok(())
    }

    fn is_valid(&self, _instance: &'i Value) -> bool {
        step(self.weight);
        true
    }
}

/// The subschemas `schema` applies directly.
fn fan_out(schema: &Map<String, Value>) -> u64 {
    schema
        .iter()
        .map(|(key, value)| match (key.as_str(), value) {
            ("allOf" | "anyOf" | "oneOf" | "prefixItems" | "items", Value::Array(items)) => {
                items.len() as u64
            }
            (
                "properties" | "patternProperties" | "dependentSchemas" | "dependencies",
                Value::Object(map),
            ) => map.len() as u64,
            (
                "not"
                | "if"
                | "then"
                | "else"
                | "items"
                | "additionalItems"
                | "contains"
                | "additionalProperties"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "contentSchema"
                | "$ref"
                | "$dynamicRef"
                | "$recursiveRef",
                _,
            ) => 1,
            _ => 0,
        })
        .sum()
}

/// The factory [`jsonschema::ValidationOptions::with_keyword`] takes.
#[allow(clippy::unnecessary_wraps)] // the signature jsonschema asks for
pub(super) fn factory<'a>(
    parent: &'a Map<String, Value>,
    _value: &'a Value,
    _path: jsonschema::paths::Location,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    Ok(Box::new(Step {
        weight: 1 + fan_out(parent),
    }))
}

/// Keywords whose values are data, not schemas: nothing below them is
/// counted (a `const` object must stay as written).
const DATA_KEYWORDS: [&str; 9] = [
    "const",
    "enum",
    "default",
    "examples",
    "required",
    "dependentRequired",
    "$vocabulary",
    "discriminator",
    KEYWORD,
];

/// Keywords whose values map names to schemas: each value is a schema, the
/// map itself is not.
const SCHEMA_MAPS: [&str; 6] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "dependencies",
];

/// `schema` with [`KEYWORD`] in every schema object. Objects under keywords
/// the validator does not know get it too: a `$ref` may point into them.
pub(super) fn instrument(schema: &Value) -> Value {
    fn schema_at(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len() + 1);
                out.insert(KEYWORD.to_owned(), Value::Bool(true));
                for (key, item) in map {
                    if key == KEYWORD {
                        continue;
                    }
                    let item = if DATA_KEYWORDS.contains(&key.as_str()) {
                        item.clone()
                    } else if SCHEMA_MAPS.contains(&key.as_str()) {
                        match item {
                            Value::Object(entries) => Value::Object(
                                entries
                                    .iter()
                                    .map(|(name, sub)| (name.clone(), schema_at(sub)))
                                    .collect(),
                            ),
                            other => schema_at(other),
                        }
                    } else {
                        schema_at(item)
                    };
                    out.insert(key.clone(), item);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(schema_at).collect()),
            other => other.clone(),
        }
    }
    schema_at(schema)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::cost::tests::doubling;
    use super::*;

    fn validator(schema: &Value) -> jsonschema::Validator {
        jsonschema::options()
            .with_keyword(KEYWORD, factory)
            .build(&instrument(schema))
            .unwrap()
    }

    #[test]
    fn a_check_stops_at_its_budget_and_the_thread_goes_on() {
        let v = validator(&doubling(24));
        assert_eq!(
            within(10_000, || v.is_valid(&json!(1))),
            Err(OutOfSteps { steps: 10_000 })
        );
        assert_eq!(
            within(10_000, || v.iter_errors(&json!("x")).count()).map(|_| ()),
            Err(OutOfSteps { steps: 10_000 })
        );
        // The budget was put back: a later cheap check is unaffected.
        let cheap = validator(&json!({"type": "integer"}));
        assert_eq!(within(10, || cheap.is_valid(&json!(1))), Ok(true));
        assert!(cheap.is_valid(&json!(2)));
    }

    #[test]
    fn a_cheap_check_fits_and_data_keywords_are_left_as_written() {
        let schema = json!({
            "type": "object",
            "properties": {"a": {"const": {"k": 1}}, "x-datasets-step": {"type": "string"}},
            "required": ["a"],
        });
        let instrumented = instrument(&schema);
        assert_eq!(instrumented["properties"]["a"]["const"], json!({"k": 1}));
        assert_eq!(instrumented["properties"].as_object().unwrap().len(), 2);
        let v = validator(&schema);
        let ok = json!({"a": {"k": 1}, "x-datasets-step": "s"});
        assert_eq!(within(100, || v.is_valid(&ok)), Ok(true));
        assert_eq!(within(100, || v.is_valid(&json!({"a": 2}))), Ok(false));
        assert_eq!(
            within(100, || v
                .is_valid(&json!({"a": {"k": 1}, "x-datasets-step": 1}))),
            Ok(false)
        );
    }

    #[test]
    fn a_shared_budget_is_spent_across_checks() {
        // Each level's `$defs` entry (weight 3) and its two `$ref` objects
        // (weight 2 each): about 8 * 2^10 steps a check.
        let v = validator(&doubling(10));
        let mut shared = StepBudget {
            left: 20_000,
            cancel: None,
        };
        assert_eq!(
            shared.run(|| within(u64::MAX, || v.is_valid(&json!(1)))),
            Ok(true)
        );
        let after_one = shared.left();
        assert!((11_000..13_000).contains(&after_one), "{after_one}");
        assert_eq!(
            shared.run(|| within(u64::MAX, || v.is_valid(&json!(1)))),
            Ok(true)
        );
        // A third check finds too little left, and is refused at once.
        assert!(
            shared
                .run(|| within(u64::MAX, || v.is_valid(&json!(1))))
                .is_err()
        );
        assert_eq!(shared.left(), 0);
        shared.grant(1_000);
        assert_eq!(shared.left(), 16_000);
        // Outside a shared budget, checks are unbounded again.
        assert_eq!(within(u64::MAX, || v.is_valid(&json!(1))), Ok(true));
    }

    #[test]
    fn a_cancelled_budget_stops_its_checks_within_a_few_thousand_steps() {
        let v = validator(&doubling(16));
        let cancel = Arc::new(AtomicBool::new(false));
        let mut shared = StepBudget {
            left: u64::MAX / 2,
            cancel: None,
        }
        .cancelled_by(Arc::clone(&cancel));
        assert_eq!(
            shared.run(|| within(u64::MAX, || v.is_valid(&json!(1)))),
            Ok(true)
        );
        cancel.store(true, Ordering::Relaxed);
        assert!(
            shared
                .run(|| within(u64::MAX, || v.is_valid(&json!(1))))
                .is_err()
        );
        assert_eq!(shared.left(), 0);
        // Outside the budget, the flag is not looked at.
        assert_eq!(within(u64::MAX, || v.is_valid(&json!(1))), Ok(true));
    }

    #[test]
    fn the_budget_grows_with_the_value() {
        assert_eq!(steps_for(&json!(1)), BASE_STEPS + STEPS_PER_NODE);
        assert_eq!(
            steps_for(&json!({"a": [1, 2]})),
            BASE_STEPS + 4 * STEPS_PER_NODE
        );
    }
}
