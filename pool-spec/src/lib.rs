//! The declaration model of outgoing-pools: parse, validate, expand hosts, resolve defaults.
//!
//! No I/O and no async: `pool-macros` feeds it the tokens of `#[outgoing_pools(...)]` (or the
//! text of the file they name) and generates code from the [`Plan`]; the config importer uses
//! the same entry points. Every option name, default and rule lives here, in [`OPTIONS`],
//! [`combination_problems`] (which keys may go together; the runtime applies it again to values
//! read at start) and the `check` module, so the attribute, the TOML form and the importer
//! cannot disagree.
//!
//! ```
//! use pool_spec::{PoolType, Strategy, parse_attr, plan};
//! use quote::quote;
//!
//! let decl = parse_attr(quote! {
//!     hosts = ["a.com", "b.com", "c.eu", "d.eu"],
//!     redis(scope = "a.com", workers = 5, connection(host = "10.0.0.1")),
//!     redis(scope = host, strategy = random_worker, connection(host = "10.0.0.2")),
//!     http(tag = http_auth, strategy = available_worker,
//!          connection(host = "https://auth.example.com:8080", path_prefix = "/api")),
//! })
//! .expect("a valid declaration");
//!
//! let plan = plan(&decl);
//! let redis = plan.group(PoolType::Redis, "default").unwrap();
//! assert_eq!(redis.accessor_name, "redis");
//! assert_eq!(redis.resolve("a.com").unwrap().workers, 5);
//! assert_eq!(redis.resolve("b.com").unwrap().strategy, Strategy::RandomWorker);
//! assert_eq!(plan.group(PoolType::Http, "http_auth").unwrap().accessor_name, "http_http_auth");
//!
//! // Every mistake is reported at once, each on its own token.
//! let errors = parse_attr(quote! { redis(wrokers = 5, strategy = best_wroker) }).unwrap_err();
//! assert_eq!(
//!     errors.messages(),
//!     [
//!         "unknown key `wrokers` in `redis` pool; did you mean `workers`?",
//!         "unknown strategy `best_wroker`; did you mean `best_worker`?",
//!     ]
//! );
//! ```
//!
//! Values may come from the environment at start: `env("NAME")` or
//! `env("NAME", default = "...")` in the attribute, `{ env = "NAME" }` in TOML. They stay
//! [`Value::Env`] here; the runtime parses the text with [`OptionDesc::parse_text`].

#![warn(missing_docs)]
#![forbid(unsafe_code)]
// Without the readers, the names and helpers only they use are unused; they stay one table.
#![cfg_attr(not(feature = "parse"), allow(dead_code))]

// The option table and what it is written in: no syn, no toml (the runtime reads these).
mod combinations;
mod kinds;
mod names;
mod options;
mod text;

// The declaration: readers, checks and the plan (the `parse` feature).
#[cfg(feature = "parse")]
mod attr;
#[cfg(feature = "parse")]
mod check;
#[cfg(feature = "parse")]
mod error;
#[cfg(feature = "parse")]
mod model;
#[cfg(feature = "parse")]
mod plan;
#[cfg(feature = "parse")]
mod raw;
#[cfg(feature = "parse")]
mod toml_form;

#[cfg(all(test, feature = "parse"))]
mod tests;

pub use combinations::{KeyProblem, SetKey, combination_problems};
pub use kinds::{ConnectorKind, Driver, PoolType, QueueType, Scope, Server, Strategy, Value};
pub use options::{
    Const, DefaultValue, Kind, Level, Need, OPTIONS, OptionDesc, REDIS_CLUSTER_TLS,
    REDIS_CLUSTER_VERIFY_MODES, Range, key_of, lookup, options_for, reference_markdown, tls_key,
};
pub use text::{closest, hint};

#[cfg(feature = "parse")]
pub use error::{Error, Errors, FileLoc, Loc, Spanned};
#[cfg(feature = "parse")]
pub use model::{Declaration, Origin, PoolDecl, Setting, TlsDecl, accessor_name, host_variant};
#[cfg(feature = "parse")]
pub use plan::{
    Plan, PlannedHost, PlannedPool, PlannedSetting, PlannedTls, PoolGroup, PoolOrigin, plan,
};

#[cfg(feature = "parse")]
use error::Ctxt;
#[cfg(feature = "parse")]
use proc_macro2::TokenStream;

#[cfg(feature = "parse")]
/// Parses and validates the inside of `#[outgoing_pools(...)]`.
///
/// With `file = "..."`, the returned declaration only carries [`Declaration::file`] (and
/// [`Declaration::krate`]): read that file and call [`parse_toml`].
pub fn parse_attr(tokens: TokenStream) -> Result<Declaration, Errors> {
    let (decl, errors) = parse_attr_recover(tokens);
    if errors.is_empty() {
        Ok(decl)
    } else {
        Err(errors)
    }
}

#[cfg(feature = "parse")]
/// Like [`parse_attr`], but also returns what could be read when there are errors, so the macro
/// can expand a stub next to them and the rest of the crate keeps compiling.
pub fn parse_attr_recover(tokens: TokenStream) -> (Declaration, Errors) {
    let cx = Ctxt::new();
    let decl = attr::parse(&cx, tokens);
    if decl.file.is_none() {
        check::check(&cx, &decl);
    }
    (decl, error::errors_from(cx.take()))
}

#[cfg(feature = "parse")]
/// Parses and validates a MongooseIM-style TOML file; `file_name` is used in messages
/// (`pools.toml:12:3: ...`).
pub fn parse_toml(text: &str, file_name: &str) -> Result<Declaration, Errors> {
    let (decl, errors) = parse_toml_recover(text, file_name);
    if errors.is_empty() {
        Ok(decl)
    } else {
        Err(errors)
    }
}

#[cfg(feature = "parse")]
/// Like [`parse_toml`], but also returns what could be read when there are errors.
pub fn parse_toml_recover(text: &str, file_name: &str) -> (Declaration, Errors) {
    let cx = Ctxt::new();
    let (decl, valid_toml) = toml_form::parse(&cx, text, file_name);
    if valid_toml && (cx.error_count() == 0 || !decl.pools.is_empty()) {
        check::check(&cx, &decl);
    }
    (decl, error::errors_from(cx.take()))
}

#[cfg(feature = "parse")]
/// Runs the cross-pool rules again on a parsed declaration that was edited afterwards (say, an
/// importer merging hosts into it).
pub fn validate(decl: &Declaration) -> Result<(), Errors> {
    let cx = Ctxt::new();
    check::check(&cx, decl);
    cx.check()
}
