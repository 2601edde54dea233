//! Checks across the attribute and the fields, each error at its token.

use datasets_rule::{NAME_MAX_LEN, name_problem};
use syn::{Data, Fields};

use crate::ast::{Container, FIELDS};
use crate::ctxt::Ctxt;
use crate::suggest::did_you_mean;

pub(crate) fn check(cx: &mut Ctxt, container: &Container<'_>) {
    check_shape(cx, container);
    check_attr(cx, container);
    check_fields(cx, container);
}

fn check_shape(cx: &mut Ctxt, container: &Container<'_>) {
    let input = container.input;
    let ident = quote::ToTokens::to_token_stream(&input.ident);
    let what = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(_) => None,
            Fields::Unnamed(_) => Some(("a tuple struct", ident)),
            Fields::Unit => Some(("a unit struct", ident)),
        },
        Data::Enum(data) => Some((
            "an enum",
            quote::ToTokens::to_token_stream(&data.enum_token),
        )),
        Data::Union(data) => Some((
            "a union",
            quote::ToTokens::to_token_stream(&data.union_token),
        )),
    };
    if let Some((what, span)) = what {
        cx.error_spanned_by(
            span,
            format!(
                "`DatasetSchema` cannot be derived for {what}; declare a struct with named fields \
                 `inputs` and optionally `expected_output` and `metadata`"
            ),
        );
    }
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &input.generics,
            "`DatasetSchema` cannot be derived for a generic struct: a dataset's types are fixed, \
             so its schemas can be generated and registered",
        );
    }
}

fn check_attr(cx: &mut Ctxt, container: &Container<'_>) {
    let attr = &container.attr;
    if !attr.seen {
        cx.error_spanned_by(
            container.ident,
            "missing `#[dataset(name = \"...\")]` attribute: a dataset needs a name",
        );
        return;
    }
    match &attr.name {
        None if attr.name_written => {}
        None => cx.error_spanned_by(
            container.ident,
            "missing dataset attribute `name`: add `#[dataset(name = \"...\")]`",
        ),
        Some(name) => {
            if let Some(problem) = name_problem(&name.value) {
                let rule = format!(
                    "names must match ^[a-zA-Z0-9][a-zA-Z0-9._-]*$ and be at most {NAME_MAX_LEN} characters"
                );
                let message = if name.value.is_empty() {
                    format!("dataset name is empty; {rule}")
                } else {
                    format!(
                        "dataset name `{}` is invalid: {problem}; {rule}",
                        name.value
                    )
                };
                cx.error_spanned_by(&name.lit, message);
            }
        }
    }
}

fn check_fields(cx: &mut Ctxt, container: &Container<'_>) {
    let Some(fields) = &container.fields else {
        return;
    };
    for field in fields {
        let name = field.ident.to_string();
        if FIELDS.contains(&name.as_str()) {
            continue;
        }
        let hint = did_you_mean(&name, FIELDS)
            .map(|f| format!("; did you mean `{f}`?"))
            .unwrap_or_else(|| {
                "; a dataset declares only `inputs`, `expected_output` and `metadata`".to_owned()
            });
        cx.error_spanned_by(
            field.ident,
            format!("unexpected field `{name}` in a dataset declaration{hint}"),
        );
    }
    if container.field("inputs").is_none() {
        cx.error_spanned_by(
            container.ident,
            "missing field `inputs`: a dataset declaration needs `inputs: YourInputType`",
        );
    }
}

/// The dataset name rule of API.md, as `datasets_core::validate_dataset_name`
/// applies it at run time. Written out here to keep the proc-macro free of
/// the runtime's dependencies; the tests of both, and the UI tests, pin the
/// same cases.
mod datasets_rule {
    pub(crate) const NAME_MAX_LEN: usize = 255;

    pub(crate) fn name_problem(name: &str) -> Option<String> {
        let Some(first) = name.chars().next() else {
            return Some("it is empty".to_owned());
        };
        if name.len() > NAME_MAX_LEN {
            return Some(format!("it is {} characters long", name.len()));
        }
        if !first.is_ascii_alphanumeric() {
            return Some(format!("it starts with {first:?}"));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Some(format!("it contains {bad:?}"));
        }
        is_uuid_like(name).then(|| "it is a UUID, which names a dataset by its id".to_owned())
    }

    /// As `datasets_core::names::is_uuid_like`.
    fn is_uuid_like(name: &str) -> bool {
        let bytes = name.as_bytes();
        match bytes.len() {
            32 => bytes.iter().all(u8::is_ascii_hexdigit),
            36 => bytes.iter().enumerate().all(|(i, b)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    *b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                }
            }),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(did_you_mean("input", FIELDS), Some("inputs"));
        assert_eq!(did_you_mean("output", FIELDS), Some("expected_output"));
        assert_eq!(did_you_mean("expected", FIELDS), Some("expected_output"));
        assert_eq!(did_you_mean("meta", FIELDS), Some("metadata"));
        assert_eq!(did_you_mean("description", FIELDS), None);
        assert_eq!(
            did_you_mean("desciption", crate::attr::KEYS),
            Some("description")
        );
    }

    #[test]
    fn the_name_rule() {
        assert_eq!(datasets_rule::name_problem("qa-golden-set"), None);
        assert!(datasets_rule::name_problem("a b").unwrap().contains("' '"));
        assert!(
            datasets_rule::name_problem("_a")
                .unwrap()
                .contains("starts with")
        );
        assert!(datasets_rule::name_problem("").is_some());
        assert!(
            datasets_rule::name_problem("67e55044-10b1-426f-9247-bb680e5fe0c8")
                .unwrap()
                .contains("UUID")
        );
        assert_eq!(
            datasets_rule::name_problem("67e55044-10b1-426f-9247-bb680e5fe0cx"),
            None
        );
    }
}
