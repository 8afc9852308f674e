//! The attribute's expansion: item → declaration (attribute or file) → plan → code.
//!
//! Errors never stop the expansion early: every error of the declaration, of the file and of
//! the item is reported at once, next to a stub expansion (thiserror's `fallback.rs`, tokio's
//! `DEFAULT_ERROR_CONFIG`) so the rest of the crate shows no follow-on errors.

use pool_spec::Declaration;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::codegen::{self, Cx};
use crate::file;
use crate::item::{self, ItemRead};
use crate::model;

pub(crate) fn outgoing_pools(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors: Vec<syn::Error> = Vec::new();
    let unit = match item::read(item) {
        ItemRead::Unit(unit) => unit,
        ItemRead::Struct(unit, error) => {
            errors.push(error);
            unit
        }
        ItemRead::Other(error, item) => {
            // Nothing to name the generated items after: keep the user's item as it is.
            let error = error.to_compile_error();
            return quote!(#item #error);
        }
    };

    let (decl, include) = declaration(args, &mut errors);
    let plan = pool_spec::plan(&decl);
    let model = model::build(&decl, &plan);
    let krate = match &decl.krate {
        Some(path) => quote!(#path),
        None => quote!(::outgoing_pools),
    };
    let cx = Cx {
        p: quote!(#krate::__private),
        item: &unit,
        builder: format_ident!("{}Builder", unit.ident),
        model: &model,
        stub: !errors.is_empty(),
    };
    let code = codegen::generate(&cx);
    let include = include.map(|path| {
        let p = &cx.p;
        quote!(const _: &#p::core::primitive::str = #p::core::include_str!(#path);)
    });
    let errors = errors.iter().map(syn::Error::to_compile_error);
    quote! {
        #(#errors)*
        #include
        #code
    }
}

/// The declaration: the attribute's, or the file's it names. Errors go to `errors`; the second
/// value is the file to track with `include_str!`.
fn declaration(args: TokenStream, errors: &mut Vec<syn::Error>) -> (Declaration, Option<String>) {
    let (decl, attr_errors) = pool_spec::parse_attr_recover(args);
    if !attr_errors.is_empty() {
        errors.push(attr_errors.to_syn_error());
    }
    let Some(written) = decl.file.clone() else {
        return (decl, None);
    };
    let span = written.loc.span();
    let text = match file::read(&written.value, span) {
        Ok(text) => text,
        Err(error) => {
            errors.push(error);
            return (decl, None);
        }
    };
    let (mut from_file, file_errors) = pool_spec::parse_toml_recover(&text.text, &written.value);
    if !file_errors.is_empty() {
        errors.push(file_errors.to_syn_error_at(span));
    }
    from_file.krate = decl.krate;
    from_file.file = decl.file;
    let include = text.path.to_str().map(str::to_owned);
    (from_file, include)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &str, item: &str) -> String {
        outgoing_pools(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn valid_declarations_expand_without_errors() {
        let out = expand(
            r#"hosts = ["a.com"], generic(tag = push), redis(scope = host)"#,
            "pub struct Pools;",
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("enum Host"));
        assert!(out.contains("fn generic_push"));
        assert!(out.contains("\"redis.a.com.default\""));
    }

    #[test]
    fn errors_come_with_a_stub() {
        let out = expand("redis(wrokers = 5)", "pub struct Pools;");
        assert!(out.contains("compile_error"));
        assert!(out.contains("unreachable"));
        assert!(out.contains("fn redis"));
    }

    #[test]
    fn other_items_are_kept() {
        let out = expand("generic", "enum Pools { A }");
        assert!(out.contains("compile_error"));
        assert!(out.contains("enum Pools"));
    }

    #[test]
    fn crate_path_is_used_everywhere() {
        let out = expand("crate = ::my::reexport, generic", "struct Pools;");
        assert!(!out.contains(":: outgoing_pools ::"), "{out}");
        assert!(out.contains(":: my :: reexport :: __private"));
    }
}
