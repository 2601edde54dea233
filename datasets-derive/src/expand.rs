//! Writes the `DatasetSchema` impl and the registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::ast::Container;
use crate::check;
use crate::ctxt::Ctxt;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let container = Container::from_ast(&mut cx, input);
    check::check(&mut cx, &container);
    match cx.check() {
        Ok(()) => expand(&container),
        Err(err) => {
            let mut tokens = err.to_compile_error();
            tokens.extend(fallback(&container));
            tokens
        }
    }
}

fn krate(container: &Container<'_>) -> TokenStream {
    match &container.attr.krate {
        Some(path) => quote!(#path),
        None => quote!(::datasets),
    }
}

fn optional_string(value: &Option<String>) -> TokenStream {
    match value {
        Some(text) => {
            quote!(::core::option::Option::Some(<::std::string::String as ::core::convert::From<&str>>::from(#text)))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn expand(container: &Container<'_>) -> TokenStream {
    let krate = krate(container);
    let private = quote!(#krate::__private);
    let ident = container.ident;
    let name = &container.attr.name.as_ref().expect("checked").value;
    let description = optional_string(&container.attr.description);
    let guidance = optional_string(&container.attr.guidance);
    let ai_managed_guidance = match container.attr.ai_managed_guidance {
        Some(flag) => quote!(::core::option::Option::Some(#flag)),
        None => quote!(::core::option::Option::None),
    };
    // Each associated type carries its field's span, so a type lacking a
    // trait is reported at the field, by a trait named after the field.
    let field_type = |field: &str| match container.field(field) {
        Some(f) => {
            let ty = f.ty;
            quote_spanned!(ty.span()=> #ty)
        }
        None => quote!(#private::serde_json::Value),
    };
    let field_idents: Vec<&syn::Ident> =
        container.fields.iter().flatten().map(|f| f.ident).collect();
    let input = field_type("inputs");
    let output = field_type("expected_output");
    let metadata = field_type("metadata");
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl #private::DatasetSchema for #ident {
                type Input = #input;
                type Output = #output;
                type Metadata = #metadata;
                const NAME: &'static str = #name;

                fn definition() -> #private::DatasetDefinition {
                    let [input_schema, output_schema, metadata_schema] =
                        <Self as #private::DatasetSchema>::__schemas();
                    #private::DatasetDefinition {
                        name: <::std::string::String as ::core::convert::From<&str>>::from(#name),
                        description: #description,
                        guidance: #guidance,
                        ai_managed_guidance: #ai_managed_guidance,
                        input_schema,
                        output_schema,
                        metadata_schema,
                    }
                }
            }

            #[automatically_derived]
            impl #private::DeclaredFields for #ident {
                fn declared_fields(&self) {
                    #(let _ = &self.#field_idents;)*
                }
            }

            #private::inventory::submit! {
                #private::Registration::of::<#ident>()
            }
        };
    }
}

/// After errors, an impl with the declared types where they parse, so uses
/// of the type elsewhere do not add a cascade of "not implemented" errors.
fn fallback(container: &Container<'_>) -> TokenStream {
    let input = container.input;
    if !input.generics.params.is_empty() || container.fields.is_none() {
        return TokenStream::new();
    }
    let krate = krate(container);
    let private = quote!(#krate::__private);
    let ident = container.ident;
    let field_type = |field: &str| match container.field(field) {
        Some(f) => {
            let ty = f.ty;
            quote!(#ty)
        }
        None => quote!(#private::serde_json::Value),
    };
    let (input_ty, output, metadata) = (
        field_type("inputs"),
        field_type("expected_output"),
        field_type("metadata"),
    );
    quote! {
        const _: () = {
            impl #private::DatasetSchema for #ident {
                type Input = #input_ty;
                type Output = #output;
                type Metadata = #metadata;
                const NAME: &'static str = "";

                fn definition() -> #private::DatasetDefinition {
                    ::core::unreachable!("the DatasetSchema derive failed")
                }
            }
        };
    }
}
