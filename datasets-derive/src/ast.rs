//! A model of the derive input that keeps the original syntax for spans.

use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::DatasetAttr;
use crate::ctxt::Ctxt;

/// The three fields a dataset declaration may have.
pub(crate) const FIELDS: &[&str] = &["inputs", "expected_output", "metadata"];

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
}

pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) input: &'a DeriveInput,
    pub(crate) attr: DatasetAttr,
    /// Named fields, or `None` when the input is not a struct with named fields.
    pub(crate) fields: Option<Vec<Field<'a>>>,
}

impl<'a> Container<'a> {
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &'a DeriveInput) -> Self {
        let attr = DatasetAttr::parse(cx, &input.attrs);
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(
                    named
                        .named
                        .iter()
                        .filter_map(|f| f.ident.as_ref().map(|ident| Field { ident, ty: &f.ty }))
                        .collect(),
                ),
                _ => None,
            },
            _ => None,
        };
        Container {
            ident: &input.ident,
            input,
            attr,
            fields,
        }
    }

    /// The type of a field, if declared.
    pub(crate) fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.as_ref()?.iter().find(|f| f.ident == name)
    }
}
