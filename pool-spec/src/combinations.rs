//! The rules on which keys of one pool may go together (a Redis Cluster, Sentinels). Values
//! read at start must pass them as literals do, so they live in the table layer: `check`
//! applies them to a declaration, the runtime to the settings it resolves at start, and both
//! report the same words, as both report [`OptionDesc::value_problem`]'s.

use crate::kinds::{PoolType, Value};
use crate::names;
use crate::options::{
    self, Level, OptionDesc, REDIS_CLUSTER_TLS, REDIS_CLUSTER_VERIFY_MODES, key_of,
};
use crate::text::join_names;

/// A key a pool sets (written in its declaration, or given at start), as
/// [`combination_problems`] reads it. Keys left to their default are not given.
#[derive(Clone, Copy, Debug)]
pub struct SetKey<'a> {
    /// The option.
    pub desc: &'static OptionDesc,
    /// Its value; `None` while it is not known: read from the environment at start, or
    /// already reported as invalid. A rule that needs the value then waits for the start.
    pub value: Option<&'a Value>,
}

/// A key that may not go with the others a pool sets.
#[derive(Clone, Debug)]
pub struct KeyProblem {
    /// The key at fault.
    pub desc: &'static OptionDesc,
    /// Whether its value is at fault, rather than the key being written at all: the
    /// declaration's error then points at the value.
    pub at_value: bool,
    /// What is wrong and what would be valid, to follow the key's name (as
    /// [`OptionDesc::value_problem`]'s does): `` `database` must be 0 with … ``.
    pub problem: String,
}

/// Every rule the keys `set` on a pool of `pool_type` break, in the order of the rules.
pub fn combination_problems(pool_type: PoolType, set: &[SetKey<'_>]) -> Vec<KeyProblem> {
    let given = Given { pool_type, set };
    let mut out = Vec::new();
    if pool_type == PoolType::Redis {
        redis(&given, &mut out);
    }
    out
}

struct Given<'s, 'a> {
    pool_type: PoolType,
    set: &'s [SetKey<'a>],
}

impl<'a> Given<'_, 'a> {
    fn get(&self, level: Level, name: &str) -> Option<&SetKey<'a>> {
        self.set
            .iter()
            .find(|k| k.desc.level == level && k.desc.name == name)
    }

    /// The value of a boolean key, given or defaulted; `None` while unknown.
    fn flag(&self, level: Level, name: &str) -> Option<bool> {
        match self.get(level, name) {
            Some(key) => key.value?.as_bool(),
            None => options::lookup(level, self.pool_type, name)?
                .default_for(self.pool_type, None, false)?
                .as_bool(),
        }
    }
}

fn problem(key: &SetKey<'_>, at_value: bool, text: impl Into<String>) -> KeyProblem {
    KeyProblem {
        desc: key.desc,
        at_value,
        problem: text.into(),
    }
}

// A pool follows one server, a Redis Cluster (`cluster = true`, seeded by `servers` or by
// `host` and `port`) or the master some Sentinels name; keys of another topology would be
// silently ignored by the client that serves it.
fn redis(given: &Given<'_, '_>, out: &mut Vec<KeyProblem>) {
    use Level::{Connection as C, Tls as T};
    let cluster = given.flag(C, names::CLUSTER);
    let servers = given.get(C, names::SERVERS);
    let sentinels = given.get(C, names::SENTINELS);

    if let (Some(servers), Some(false)) = (servers, cluster) {
        out.push(problem(
            servers,
            false,
            "lists the seed nodes of a Redis Cluster and needs `cluster = true`; a single server goes in `host` and `port`",
        ));
    }
    if let (Some(sentinels), Some(true)) = (sentinels, cluster) {
        out.push(problem(
            sentinels,
            false,
            "cannot be combined with `cluster = true`; a pool follows a Redis Cluster or a master named by Sentinels, not both",
        ));
    }
    for name in [names::HOST_KEY, names::PORT] {
        let Some(key) = given.get(C, name) else {
            continue;
        };
        if sentinels.is_some() {
            out.push(problem(
                key,
                false,
                "cannot be combined with `sentinels`; the master's address comes from the Sentinels",
            ));
        } else if servers.is_some() && cluster == Some(true) {
            out.push(problem(
                key,
                false,
                "cannot be combined with `servers`; a Redis Cluster's seed nodes go in `servers`, or a single seed in `host` and `port`",
            ));
        }
    }
    if cluster != Some(true) {
        return;
    }
    if let Some(database) = given.get(C, names::DATABASE)
        && let Some(n) = database.value.and_then(Value::as_int)
        && n != 0
    {
        out.push(problem(
            database,
            true,
            format!(
                "must be 0 with `cluster = true`, got {n}; a Redis Cluster serves database 0 only"
            ),
        ));
    }
    for key in given.set.iter().filter(|k| k.desc.level == T) {
        if !REDIS_CLUSTER_TLS.contains(&key.desc.name) {
            out.push(problem(
                key,
                false,
                format!(
                    "is not supported with `cluster = true`; the Redis Cluster client takes only {}",
                    cluster_tls()
                ),
            ));
        } else if key.desc.name == names::VERIFY_MODE
            && let Some(mode) = key.value.and_then(Value::as_str)
            && !REDIS_CLUSTER_VERIFY_MODES.contains(&mode)
        {
            out.push(problem(
                key,
                true,
                format!(
                    "cannot be `{mode}` with `cluster = true`; the Redis Cluster client takes {}",
                    join_names(REDIS_CLUSTER_VERIFY_MODES, "or")
                ),
            ));
        }
    }
}

/// "`tls.cacertfile`, … and `tls.verify_mode` (`peer` or `none`)".
fn cluster_tls() -> String {
    let keys: Vec<String> = REDIS_CLUSTER_TLS
        .iter()
        .map(|name| key_of(Level::Tls, name))
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let verify_mode = format!("`{}`", key_of(Level::Tls, names::VERIFY_MODE));
    join_names(&keys, "and").replacen(
        &verify_mode,
        &format!(
            "{verify_mode} ({})",
            join_names(REDIS_CLUSTER_VERIFY_MODES, "or")
        ),
        1,
    )
}
