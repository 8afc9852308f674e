//! Host expansion and default resolution: what the macro generates code from.

use std::fmt;

use crate::model::{
    ConnectorKind, Declaration, PoolDecl, PoolType, QueueType, Scope, Strategy, Value,
    accessor_name, host_variant,
};
use crate::names;
use crate::options::{self, Level};

/// A declared host and its `Host` enum variant.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PlannedHost {
    /// The host, e.g. `a.com`.
    pub name: String,
    /// The variant, e.g. `ACom`.
    pub variant: String,
}

/// One resolved option: its key, its value (defaults applied) and whether it is secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PlannedSetting {
    /// Canonical key, dotted inside groups.
    pub key: &'static str,
    /// The value; `Value::Env` is for the runtime to read.
    pub value: Value,
    /// Print as `"***"`.
    pub secret: bool,
    /// Whether it was written rather than defaulted.
    pub explicit: bool,
}

impl fmt::Debug for PlannedSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.key)?;
        self.value.fmt_redacted(self.secret, f)
    }
}

impl fmt::Display for PlannedSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// TLS settings of a planned pool.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PlannedTls {
    /// pgsql only: fail rather than fall back to plain text (`tls(required = true)`); without it
    /// a pgsql pool tries TLS and falls back. Always false for other connectors.
    pub required: bool,
    /// Every TLS key with defaults applied (`verify_mode`, `server_name_indication.enabled`, ...).
    pub settings: Vec<PlannedSetting>,
}

impl PlannedTls {
    /// The value of a TLS key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.settings
            .iter()
            .find(|s| s.key == key)
            .map(|s| &s.value)
    }
}

/// Why a planned pool exists.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PoolOrigin {
    /// A `scope = global` entry.
    Global,
    /// An entry for this very host.
    Literal,
    /// A `scope = host` entry, expanded to a host without an entry of its own.
    Expanded,
}

/// One pool as the runtime starts it: every option resolved.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PlannedPool {
    /// The pool type.
    pub pool_type: PoolType,
    /// The tag.
    pub tag: String,
    /// The host it serves; `None` for a global pool.
    pub host: Option<String>,
    /// Why it exists.
    pub origin: PoolOrigin,
    /// The runtime connector.
    pub connector: ConnectorKind,
    /// Number of workers.
    pub workers: u32,
    /// Worker selection strategy.
    pub strategy: Strategy,
    /// Call timeout in milliseconds.
    pub call_timeout_ms: u64,
    /// Waiting order of `available_worker` callers.
    pub queue_type: QueueType,
    /// Fail fast at this queue length (`best_worker` only).
    pub max_worker_queue_len: Option<u64>,
    /// Overrun warning interval in milliseconds; `None` is `infinity`.
    pub overrun_warning_ms: Option<u64>,
    /// Warnings before the worker is replaced; `None` is `infinity`.
    pub max_overrun_warnings: Option<u64>,
    /// Every pool option that can still be set at start (`workers`, `call_timeout`, …; not
    /// `scope`, `tag` or `strategy`), in table order, defaults applied (unset ones left out).
    pub options: Vec<PlannedSetting>,
    /// Connection keys in table order, defaults applied (unset optional keys left out).
    pub connection: Vec<PlannedSetting>,
    /// TLS, when the connection uses it.
    pub tls: Option<PlannedTls>,
}

impl PlannedPool {
    /// The value of a connection key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.connection
            .iter()
            .find(|s| s.key == key)
            .map(|s| &s.value)
    }
}

/// All pools of one (type, tag): one accessor in the generated code.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PoolGroup {
    /// The pool type.
    pub pool_type: PoolType,
    /// The tag.
    pub tag: String,
    /// The accessor method: `redis`, `http_http_auth`.
    pub accessor_name: String,
    /// The global pool, if declared.
    pub global: Option<PlannedPool>,
    /// Pools of single hosts, in declared host order.
    pub per_host: Vec<(String, PlannedPool)>,
    /// Same connector and strategy for every pool of the group, so the accessor can return one
    /// concrete `Pool<C, S>`.
    pub uniform: bool,
    /// Declared hosts with neither a pool of their own nor a global pool to fall back to.
    pub unserved_hosts: Vec<String>,
}

impl PoolGroup {
    /// The pool serving `host`: its own, else the global one (MongooseIM's `get_pool/3`).
    pub fn resolve(&self, host: &str) -> Option<&PlannedPool> {
        self.per_host
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, p)| p)
            .or(self.global.as_ref())
    }

    /// Whether the accessor takes a host (some pool is per host).
    pub fn is_per_host(&self) -> bool {
        !self.per_host.is_empty()
    }

    /// Every pool of the group: the global one first.
    pub fn pools(&self) -> impl Iterator<Item = &PlannedPool> {
        self.global
            .iter()
            .chain(self.per_host.iter().map(|(_, p)| p))
    }
}

/// The expanded declaration.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Plan {
    /// Declared hosts, in order, with their variants.
    pub hosts: Vec<PlannedHost>,
    /// One group per (type, tag), in order of first appearance.
    pub groups: Vec<PoolGroup>,
}

impl Plan {
    /// The group of (type, tag).
    pub fn group(&self, pool_type: PoolType, tag: &str) -> Option<&PoolGroup> {
        self.groups
            .iter()
            .find(|g| g.pool_type == pool_type && g.tag == tag)
    }
}

/// Expands hosts and applies defaults. Meant for a declaration that passed validation; on an
/// invalid one it does not panic, it just skips what it cannot make sense of.
pub fn plan(decl: &Declaration) -> Plan {
    let hosts: Vec<PlannedHost> = decl
        .hosts
        .iter()
        .filter_map(|h| {
            Some(PlannedHost {
                name: h.value.clone(),
                variant: host_variant(&h.value)?,
            })
        })
        .collect();
    let mut keys: Vec<(PoolType, &str)> = Vec::new();
    for pool in &decl.pools {
        let key = (pool.pool_type, pool.tag.value.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let groups = keys
        .into_iter()
        .map(|(pool_type, tag)| plan_group(decl, &hosts, pool_type, tag))
        .collect();
    Plan { hosts, groups }
}

fn plan_group(
    decl: &Declaration,
    hosts: &[PlannedHost],
    pool_type: PoolType,
    tag: &str,
) -> PoolGroup {
    let entries: Vec<&PoolDecl> = decl
        .pools
        .iter()
        .filter(|p| p.pool_type == pool_type && p.tag.value == tag)
        .collect();
    let global = entries
        .iter()
        .find(|p| p.scope.value == Scope::Global)
        .map(|p| plan_pool(p, None, PoolOrigin::Global));
    let host_entry = entries.iter().find(|p| p.scope.value == Scope::Host);
    let mut per_host = Vec::new();
    let mut unserved_hosts = Vec::new();
    for host in hosts {
        let literal = entries
            .iter()
            .find(|p| matches!(&p.scope.value, Scope::Literal(h) if *h == host.name));
        let planned = match (literal, host_entry) {
            (Some(p), _) => Some(plan_pool(p, Some(&host.name), PoolOrigin::Literal)),
            (None, Some(p)) => Some(plan_pool(p, Some(&host.name), PoolOrigin::Expanded)),
            (None, None) => None,
        };
        match planned {
            Some(pool) => per_host.push((host.name.clone(), pool)),
            None if global.is_none() => unserved_hosts.push(host.name.clone()),
            None => {}
        }
    }
    let mut kinds = global
        .iter()
        .chain(per_host.iter().map(|(_, p)| p))
        .map(|p| (p.connector, p.strategy));
    let first = kinds.next();
    let uniform = kinds.all(|k| Some(k) == first);
    PoolGroup {
        pool_type,
        tag: tag.to_owned(),
        accessor_name: accessor_name(pool_type, tag),
        global,
        per_host,
        uniform,
        unserved_hosts,
    }
}

fn plan_pool(pool: &PoolDecl, host: Option<&str>, origin: PoolOrigin) -> PlannedPool {
    let driver = pool.driver();
    let tls_on = pool.tls_enabled();
    let pool_value = |name: &str| -> Option<Value> {
        match pool.get(Level::Pool, name) {
            Some(s) => Some(s.value.value.clone()),
            None => options::lookup(Level::Pool, pool.pool_type, name)?.default_for(
                pool.pool_type,
                driver,
                tls_on,
            ),
        }
    };
    let unsigned = |name: &str| -> Option<u64> {
        pool_value(name)
            .and_then(|v| v.as_int())
            .and_then(|i| u64::try_from(i).ok())
    };
    let connection = resolve(pool, Level::Connection, driver, tls_on)
        .into_iter()
        .filter(|s| s.key != names::ENCRYPT)
        .collect();
    let tls = tls_on.then(|| {
        let settings = resolve(pool, Level::Tls, driver, true);
        let required = settings
            .iter()
            .any(|s| s.key == names::REQUIRED && s.value == Value::Bool(true));
        PlannedTls { required, settings }
    });
    PlannedPool {
        pool_type: pool.pool_type,
        tag: pool.tag.value.clone(),
        host: host.map(str::to_owned),
        origin,
        connector: ConnectorKind::of(pool.pool_type, driver),
        workers: unsigned(names::WORKERS)
            .and_then(|w| u32::try_from(w).ok())
            .unwrap_or(1),
        strategy: pool.strategy(),
        call_timeout_ms: unsigned(names::CALL_TIMEOUT).unwrap_or(1),
        queue_type: pool_value(names::QUEUE_TYPE)
            .as_ref()
            .and_then(Value::as_str)
            .and_then(QueueType::from_name)
            .unwrap_or(QueueType::Fifo),
        max_worker_queue_len: unsigned(names::MAX_WORKER_QUEUE_LEN),
        overrun_warning_ms: unsigned(names::OVERRUN_WARNING),
        max_overrun_warnings: unsigned(names::MAX_OVERRUN_WARNINGS),
        options: resolve(pool, Level::Pool, driver, tls_on)
            .into_iter()
            .filter(|s| {
                options::lookup(Level::Pool, pool.pool_type, s.key)
                    .is_some_and(|d| d.fixed.is_none())
            })
            .collect(),
        connection,
        tls,
    }
}

/// Every option of a level that applies to the driver: the written value, else the default.
fn resolve(
    pool: &PoolDecl,
    level: Level,
    driver: Option<crate::model::Driver>,
    tls_on: bool,
) -> Vec<PlannedSetting> {
    options::options_for(level, pool.pool_type)
        .filter(|d| d.honoured_by(pool.pool_type, driver))
        .filter_map(|desc| {
            let (value, explicit) = match pool.get(level, desc.name) {
                Some(s) => (s.value.value.clone(), true),
                None => (desc.default_for(pool.pool_type, driver, tls_on)?, false),
            };
            Some(PlannedSetting {
                key: desc.name,
                value,
                secret: desc.secret,
                explicit,
            })
        })
        .collect()
}

impl PlannedPool {
    /// The declared `rdbms` driver (`cockroachdb` runs on the pgsql connector but keeps its
    /// own defaults), `None` for other types.
    pub fn driver(&self) -> Option<crate::Driver> {
        self.get(names::DRIVER)
            .and_then(Value::as_str)
            .and_then(crate::Driver::from_name)
    }

    /// The pool's name, as logs, metrics and errors show it: `<type>.<host or global>.<tag>`
    /// (`redis.a.com.default`, `rdbms.global.default`).
    pub fn name(&self) -> String {
        format!(
            "{}.{}.{}",
            self.pool_type,
            self.host.as_deref().unwrap_or(names::GLOBAL),
            self.tag
        )
    }
}

impl fmt::Display for PlannedPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} workers={} strategy={} call_timeout={}ms queue_type={}",
            self.connector.type_name(),
            self.workers,
            self.strategy,
            self.call_timeout_ms,
            self.queue_type
        )?;
        if let Some(max) = self.max_worker_queue_len {
            write!(f, " max_worker_queue_len={max}")?;
        }
        if let Some(ms) = self.overrun_warning_ms {
            write!(f, " overrun_warning={ms}ms")?;
        }
        if let Some(n) = self.max_overrun_warnings {
            write!(f, " max_overrun_warnings={n}")?;
        }
        for s in &self.connection {
            write!(f, " {s}")?;
        }
        if let Some(tls) = &self.tls {
            f.write_str(" tls(")?;
            for (i, s) in tls.settings.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{s}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hosts:")?;
        for h in &self.hosts {
            write!(f, " {} ({})", h.name, h.variant)?;
        }
        for g in &self.groups {
            write!(
                f,
                "\n{} tag {} -> `{}`{}",
                g.pool_type,
                g.tag,
                g.accessor_name,
                if g.uniform { "" } else { " (mixed)" }
            )?;
            if let Some(p) = &g.global {
                write!(f, "\n  global: {p}")?;
            }
            for (host, p) in &g.per_host {
                write!(f, "\n  {host}: {p}")?;
            }
            if !g.unserved_hosts.is_empty() {
                write!(f, "\n  no pool: {}", g.unserved_hosts.join(", "))?;
            }
        }
        Ok(())
    }
}
