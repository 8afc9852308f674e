//! Unit tests: parsing, every rule, expansion, both forms, and a no-panic property test.

mod attr_form;
mod defaults;
mod fuzz;
mod mongooseim_suite;
mod plan;
mod rules;
mod toml_form;

use proc_macro2::TokenStream;

use crate::*;

/// Parses attribute source text (so spans carry line and column).
pub(super) fn attr(src: &str) -> Result<Declaration, Errors> {
    let tokens: TokenStream = src.parse().expect("test source tokenizes");
    parse_attr(tokens)
}

pub(super) fn attr_ok(src: &str) -> Declaration {
    match attr(src) {
        Ok(decl) => decl,
        Err(errors) => panic!("unexpected errors:\n{errors}"),
    }
}

pub(super) fn attr_errors(src: &str) -> Vec<String> {
    match attr(src) {
        Ok(decl) => panic!("expected errors, got {decl:?}"),
        Err(errors) => errors.messages(),
    }
}

/// The single error of `src`, with the 1-based line and 0-based column of its token.
pub(super) fn attr_error(src: &str) -> (String, usize, usize) {
    let errors = match attr(src) {
        Ok(decl) => panic!("expected an error, got {decl:?}"),
        Err(errors) => errors,
    };
    assert_eq!(errors.len(), 1, "expected one error, got:\n{errors}");
    let error = errors.iter().next().unwrap();
    let start = error.loc().span().start();
    (error.message().to_owned(), start.line, start.column)
}

pub(super) fn toml_ok(text: &str) -> Declaration {
    match parse_toml(text, "pools.toml") {
        Ok(decl) => decl,
        Err(errors) => panic!("unexpected errors:\n{errors}"),
    }
}

/// Errors of a TOML text, each rendered as `file:line:col: message`.
pub(super) fn toml_errors(text: &str) -> Vec<String> {
    match parse_toml(text, "pools.toml") {
        Ok(decl) => panic!("expected errors, got {decl:?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// The planned pool of a single-pool declaration.
pub(super) fn only_pool(src: &str) -> PlannedPool {
    let plan = plan(&attr_ok(src));
    assert_eq!(plan.groups.len(), 1);
    plan.groups[0].global.clone().expect("a global pool")
}
