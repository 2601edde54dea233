//! Parses `#[dataset(...)]`.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, Lit, LitBool};

use crate::ctxt::Ctxt;

/// The keys `#[dataset(...)]` accepts.
pub(crate) const KEYS: &[&str] = &[
    "name",
    "description",
    "guidance",
    "ai_managed_guidance",
    "crate",
];

/// A value with the token it came from, for error spans.
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) lit: proc_macro2::TokenStream,
}

/// The parsed attribute.
#[derive(Default)]
pub(crate) struct DatasetAttr {
    /// The first `#[dataset]` attribute, for errors about the whole.
    pub(crate) seen: bool,
    pub(crate) name: Option<Spanned<String>>,
    /// Whether a `name` key was written, valid or not (so a bad value is
    /// not also reported as a missing name).
    pub(crate) name_written: bool,
    pub(crate) description: Option<String>,
    pub(crate) guidance: Option<String>,
    pub(crate) ai_managed_guidance: Option<bool>,
    pub(crate) krate: Option<syn::Path>,
}

impl DatasetAttr {
    pub(crate) fn parse(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut parsed = DatasetAttr::default();
        let mut seen_keys: Vec<String> = Vec::new();
        for attr in attrs.iter().filter(|a| a.path().is_ident("dataset")) {
            parsed.seen = true;
            if let syn::Meta::Path(_) | syn::Meta::NameValue(_) = &attr.meta {
                cx.error_spanned_by(
                    attr,
                    "expected `#[dataset(name = \"...\", ...)]`, with the keys in parentheses",
                );
                continue;
            }
            let result = attr.parse_nested_meta(|meta| {
                let key = meta
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| {
                        quote::ToTokens::to_token_stream(&meta.path)
                            .to_string()
                            .replace(' ', "")
                    });
                if seen_keys.contains(&key) && KEYS.contains(&key.as_str()) {
                    cx.error_spanned_by(&meta.path, format!("duplicate dataset attribute `{key}`"));
                    skip_value(&meta);
                    return Ok(());
                }
                seen_keys.push(key.clone());
                match key.as_str() {
                    "name" => {
                        parsed.name_written = true;
                        if let Some((value, lit)) = string_value(cx, &meta, "name") {
                            parsed.name = Some(Spanned { value, lit });
                        }
                    }
                    "description" => {
                        parsed.description = string_value(cx, &meta, "description").map(|v| v.0)
                    }
                    "guidance" => {
                        parsed.guidance = string_value(cx, &meta, "guidance").map(|v| v.0)
                    }
                    "ai_managed_guidance" => parsed.ai_managed_guidance = bool_value(cx, &meta),
                    "crate" => {
                        if let Some((path, lit)) = string_value(cx, &meta, "crate") {
                            match syn::parse_str::<syn::Path>(&path) {
                                Ok(path) => parsed.krate = Some(path),
                                Err(_) => cx.error_spanned_by(
                                    lit,
                                    format!("`crate = {path:?}` is not a path"),
                                ),
                            }
                        }
                    }
                    other => {
                        let hint = crate::suggest::did_you_mean(other, KEYS)
                            .map(|k| format!("; did you mean `{k}`?"))
                            .unwrap_or_else(|| format!("; expected one of {}", quoted(KEYS)));
                        cx.error_spanned_by(
                            &meta.path,
                            format!("unknown dataset attribute `{other}`{hint}"),
                        );
                        skip_value(&meta);
                    }
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        parsed
    }
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Consumes `= value` after an unknown or repeated key so parsing goes on.
fn skip_value(meta: &ParseNestedMeta<'_>) {
    if meta.input.peek(syn::Token![=]) {
        let _ = meta.value().and_then(|v| v.parse::<Expr>());
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.parse_nested_meta(|inner| {
            skip_value(&inner);
            Ok(())
        });
    }
}

fn string_value(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
) -> Option<(String, proc_macro2::TokenStream)> {
    let expr = value_expr(cx, meta, key, "a string literal")?;
    match &expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some((lit.value(), quote::quote!(#lit))),
        other => {
            cx.error_spanned_by(
                other,
                format!("expected a string literal for `{key}`, as in `{key} = \"...\"`"),
            );
            None
        }
    }
}

fn bool_value(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> Option<bool> {
    // A bare `ai_managed_guidance` means true, as flags do in serde.
    if !meta.input.peek(syn::Token![=]) {
        return Some(true);
    }
    let expr = value_expr(cx, meta, "ai_managed_guidance", "`true` or `false`")?;
    match &expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(LitBool { value, .. }),
            ..
        }) => Some(*value),
        other => {
            cx.error_spanned_by(
                other,
                "expected `true` or `false` for `ai_managed_guidance`",
            );
            None
        }
    }
}

fn value_expr(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, key: &str, what: &str) -> Option<Expr> {
    match meta.value().and_then(|v| v.parse::<Expr>()) {
        Ok(expr) => Some(expr),
        Err(_) => {
            cx.error_spanned_by(
                &meta.path,
                format!("expected `{key} = ` followed by {what}"),
            );
            None
        }
    }
}
