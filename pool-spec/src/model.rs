//! The declaration model: what the user wrote, with locations, after per-value checks.

use std::fmt;

use crate::error::{Loc, Spanned};
pub use crate::kinds::{
    ConnectorKind, Driver, PoolType, QueueType, Scope, Server, Strategy, Value,
};
use crate::options::{Level, OptionDesc};

/// One `key = value` of a declaration, checked against its descriptor.
#[derive(Clone)]
pub struct Setting {
    /// The option's descriptor (name, kind, default, secrecy, ...).
    pub desc: &'static OptionDesc,
    /// Where the key was written (possibly under an alias).
    pub key_loc: Loc,
    /// The value and where it was written.
    pub value: Spanned<Value>,
}

impl Setting {
    /// The canonical key name (dotted inside groups: `reconnect.attempts`).
    pub fn name(&self) -> &'static str {
        self.desc.name
    }

    /// Whether the value must never be printed.
    pub fn is_secret(&self) -> bool {
        self.desc.secret
    }
}

impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.desc.name)?;
        self.value.value.fmt_redacted(self.desc.secret, f)
    }
}

/// The `tls(...)` section of a connection.
#[derive(Clone, Debug)]
pub struct TlsDecl {
    /// The `tls` key.
    pub loc: Loc,
    /// Its keys.
    pub settings: Vec<Setting>,
}

/// Which input form a pool came from, so messages name it the way the user wrote it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Origin {
    /// An entry of `#[outgoing_pools(...)]`.
    Attr,
    /// A TOML section, e.g. `outgoing_pools.redis.default`.
    Toml {
        /// The dotted section path without brackets.
        section: String,
    },
}

/// One pool entry: `TYPE(...)` or `[outgoing_pools.TYPE.TAG]`.
#[derive(Clone)]
pub struct PoolDecl {
    /// The pool type.
    pub pool_type: PoolType,
    /// The type name (attribute) or the section header (TOML).
    pub loc: Loc,
    /// Which hosts it serves.
    pub scope: Spanned<Scope>,
    /// The tag (`default` unless given).
    pub tag: Spanned<String>,
    /// Pool keys other than `scope` and `tag`.
    pub options: Vec<Setting>,
    /// The `connection` key, if written.
    pub connection_loc: Option<Loc>,
    /// Connection keys, dotted inside groups (`reconnect.delay`, `auth.plain.username`).
    pub connection: Vec<Setting>,
    /// The `tls(...)` section, if written.
    pub tls: Option<TlsDecl>,
    /// Which form it came from.
    pub origin: Origin,
    /// Keys whose value was already reported as invalid, so they do not also count as missing.
    pub(crate) poisoned: Vec<(Level, &'static str)>,
}

impl PoolDecl {
    /// The setting for `name` at `level`, if written.
    pub fn get(&self, level: Level, name: &str) -> Option<&Setting> {
        let list = match level {
            Level::Pool => &self.options,
            Level::Connection => &self.connection,
            Level::Tls => match &self.tls {
                Some(tls) => &tls.settings,
                None => return None,
            },
        };
        list.iter().find(|s| s.desc.name == name)
    }

    pub(crate) fn is_poisoned(&self, level: Level, name: &str) -> bool {
        self.poisoned.iter().any(|(l, n)| *l == level && *n == name)
    }

    /// The `rdbms` driver, when written as a plain value.
    pub fn driver(&self) -> Option<Driver> {
        if self.pool_type != PoolType::Rdbms {
            return None;
        }
        let setting = self.get(Level::Connection, crate::names::DRIVER)?;
        Driver::from_name(setting.value.as_str()?)
    }

    /// Where the `driver` value was written, for an `rdbms` entry that has one.
    pub fn driver_loc(&self) -> Option<&Loc> {
        if self.pool_type != PoolType::Rdbms {
            return None;
        }
        Some(&self.get(Level::Connection, crate::names::DRIVER)?.value.loc)
    }

    /// The strategy, `best_worker` unless given.
    pub fn strategy(&self) -> Strategy {
        self.get(Level::Pool, crate::names::STRATEGY)
            .and_then(|s| s.value.as_str())
            .and_then(Strategy::from_name)
            .unwrap_or(Strategy::BestWorker)
    }

    /// Whether connections use TLS: a `tls(...)` section, or ldap's `encrypt = tls`.
    pub fn tls_enabled(&self) -> bool {
        if self.tls.is_some() {
            return true;
        }
        self.get(Level::Connection, crate::names::ENCRYPT)
            .and_then(|s| s.value.as_str())
            == Some(crate::names::TLS)
    }

    /// How messages name a section of this pool: `` `redis` pool `` or
    /// `` `[outgoing_pools.redis.default.connection]` ``.
    pub fn label(&self, level: Level) -> String {
        section_label(&self.origin, self.pool_type, level)
    }
}

pub(crate) fn section_label(origin: &Origin, pool_type: PoolType, level: Level) -> String {
    match origin {
        Origin::Attr => match level {
            Level::Pool => format!("`{pool_type}` pool"),
            Level::Connection => format!("`{pool_type}` connection"),
            Level::Tls => format!("`{pool_type}` tls"),
        },
        Origin::Toml { section } => match level {
            Level::Pool => format!("`[{section}]`"),
            Level::Connection => format!("`[{section}.{}]`", crate::names::CONNECTION),
            Level::Tls => format!(
                "`[{section}.{}.{}]`",
                crate::names::CONNECTION,
                crate::names::TLS
            ),
        },
    }
}

impl fmt::Debug for PoolDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolDecl")
            .field("pool_type", &self.pool_type)
            .field("scope", &self.scope.value)
            .field("tag", &self.tag.value)
            .field("options", &self.options)
            .field("connection", &self.connection)
            .field("tls", &self.tls.as_ref().map(|t| &t.settings))
            .finish()
    }
}

/// A whole declaration: the inside of `#[outgoing_pools(...)]` or a TOML file.
#[derive(Clone, Default)]
pub struct Declaration {
    /// The declared hosts, in order, MongooseIM 6's host types (`host_types = [...]`)
    /// among them: both are served alike.
    pub hosts: Vec<Spanned<String>>,
    /// Which of [`Declaration::hosts`] were declared as host types: names, not domains, so
    /// they may hold spaces (MongooseIM's `"test type"`).
    pub host_types: Vec<String>,
    /// The `hosts` key, if written.
    pub hosts_loc: Option<Loc>,
    /// `crate = path`: where generated code finds the runtime.
    pub krate: Option<syn::Path>,
    /// `file = "pools.toml"`: the declaration lives in that file (relative to
    /// `CARGO_MANIFEST_DIR`); the macro reads it and calls [`parse_toml`](crate::parse_toml).
    pub file: Option<Spanned<String>>,
    /// The pool entries, in source order.
    pub pools: Vec<PoolDecl>,
}

impl fmt::Debug for Declaration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Declaration")
            .field("hosts", &self.hosts)
            .field(
                "krate",
                &self
                    .krate
                    .as_ref()
                    .map(|p| quote::ToTokens::to_token_stream(p).to_string()),
            )
            .field("file", &self.file)
            .field("pools", &self.pools)
            .finish()
    }
}

/// The method name generated for a (type, tag): `redis`, `http_http_auth`, `generic_push`.
pub fn accessor_name(pool_type: PoolType, tag: &str) -> String {
    if tag == crate::names::DEFAULT_TAG {
        pool_type.name().to_owned()
    } else {
        format!("{}_{tag}", pool_type.name())
    }
}

/// The `Host` enum variant for a host: `"a.com"` → `ACom`, `"c.eu"` → `CEu`.
///
/// Every run of ASCII letters and digits becomes a word with its first letter upper-cased; a
/// leading digit gets an `H` prefix. `None` when the host has no ASCII letter or digit. Distinct
/// hosts can map to the same name (`a.com`, `a-com`): validation rejects that.
pub fn host_variant(host: &str) -> Option<String> {
    let mut out = String::new();
    for word in host
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'H');
    }
    if out == "Self" {
        // `Self` is the one keyword an upper-camel-case word can spell.
        out.push_str("Host");
    }
    Some(out)
}
