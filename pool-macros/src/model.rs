//! What the generated code is made of, derived from `pool-spec`'s [`Plan`]: the pools in field
//! order, and for each (type, tag) how its accessor routes a host to a pool.

use pool_spec::{
    ConnectorKind, Declaration, Loc, Plan, PlannedPool, PoolDecl, PoolType, Scope, Strategy,
};
use proc_macro2::{Ident, Span};

/// `shutdown()` waits at most this long, whatever the pools' `call_timeout`s.
const MAX_GRACE_MS: u64 = 30_000;

/// A concrete `Pool<C, S>`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PoolTy {
    pub connector: ConnectorKind,
    pub strategy: Strategy,
}

impl PoolTy {
    /// The variant of an accessor enum holding this type: `RedisBestWorker`.
    pub fn variant(self) -> Ident {
        ident(&format!(
            "{}{}",
            self.connector.type_name(),
            self.strategy.type_name()
        ))
    }
}

/// A declared host and its `Host` variant.
pub(crate) struct Host {
    pub name: String,
    pub variant: Ident,
}

/// One planned pool: one field of the struct, one `PoolSpec`.
pub(crate) struct Pool {
    pub field: Ident,
    /// `<type>.<host or global>.<tag>`.
    pub name: String,
    pub planned: PlannedPool,
    pub ty: PoolTy,
}

/// How an accessor finds its pool.
pub(crate) enum Access {
    /// No host parameter: the group's global pool (`None` only in a stub expansion).
    Global(Option<usize>),
    /// A host parameter: for each host (index into [`Model::hosts`]), its pool, if any.
    PerHost(Vec<(usize, Option<usize>)>),
}

/// All pools of one (type, tag): one accessor.
pub(crate) struct Group {
    pub pool_type: PoolType,
    pub tag: String,
    pub accessor: Ident,
    pub access: Access,
    /// The distinct pool types the accessor can return, in order of first use.
    pub types: Vec<PoolTy>,
    /// The generated enum of references, when `types` has more than one entry.
    pub enum_ident: Option<Ident>,
}

impl Group {
    /// Whether some host has no pool at all, so the accessor returns an `Option`.
    pub fn optional(&self) -> bool {
        match &self.access {
            Access::Global(_) => false,
            Access::PerHost(routes) => routes.iter().any(|(_, pool)| pool.is_none()),
        }
    }
}

pub(crate) struct Model {
    pub hosts: Vec<Host>,
    pub pools: Vec<Pool>,
    pub groups: Vec<Group>,
    /// Grace of `shutdown()`: the largest `call_timeout`, capped.
    pub grace_ms: u64,
    /// Connectors behind a cargo feature that the declaration uses, each with the first pool
    /// of it and where its `driver` was written: the feature is checked there.
    pub gates: Vec<Gate>,
}

/// A connector the declaration needs whose cargo feature may be off.
pub(crate) struct Gate {
    pub connector: ConnectorKind,
    pub pool: String,
    pub span: Span,
    /// `"file:line:col: "` when the declaration is a TOML file, else empty.
    pub at: String,
}

/// Builds the model. `decl` is only consulted for a group without any pool, which happens
/// only in an invalid declaration (stub expansion).
pub(crate) fn build(decl: &Declaration, plan: &Plan) -> Model {
    let mut hosts: Vec<Host> = Vec::new();
    for host in &plan.hosts {
        // A recovered declaration may repeat a host or a variant; keep the first.
        if hosts
            .iter()
            .any(|h| h.name == host.name || h.variant == host.variant)
        {
            continue;
        }
        hosts.push(Host {
            name: host.name.clone(),
            variant: ident(&host.variant),
        });
    }

    let mut pools: Vec<Pool> = Vec::new();
    let mut groups = Vec::new();
    let mut enum_names: Vec<String> = Vec::new();
    for group in &plan.groups {
        // Every pool of the group gets a field; how a host reaches one is the plan's
        // (`PoolGroup::resolve`: its own pool, else the global one).
        let first = pools.len();
        for planned in group.pools() {
            // A recovered declaration may plan a host twice; the first pool serves it.
            if pools[first..].iter().all(|p| p.name != planned.name()) {
                push(&mut pools, planned);
            }
        }
        let index_of = |planned: &PlannedPool| {
            let name = planned.name();
            (first..pools.len()).find(|&i| pools[i].name == name)
        };
        // A group with no pool at all (a stub expansion) takes a host when there are hosts.
        let per_host = group.is_per_host() || (group.global.is_none() && !hosts.is_empty());
        let access = if per_host {
            Access::PerHost(
                hosts
                    .iter()
                    .enumerate()
                    .map(|(i, host)| (i, group.resolve(&host.name).and_then(index_of)))
                    .collect(),
            )
        } else {
            Access::Global(group.global.as_ref().and_then(index_of))
        };
        let reachable: Vec<usize> = match &access {
            Access::Global(pool) => pool.iter().copied().collect(),
            Access::PerHost(routes) => routes.iter().filter_map(|(_, p)| *p).collect(),
        };
        let mut types: Vec<PoolTy> = Vec::new();
        for ty in reachable.iter().map(|&i| pools[i].ty) {
            if !types.contains(&ty) {
                types.push(ty);
            }
        }
        if types.is_empty() {
            types.push(fallback_type(decl, group.pool_type, &group.tag));
        }
        let enum_ident = (types.len() > 1).then(|| {
            let base = format!("{}Pool", upper_camel(&group.accessor_name));
            let mut name = base.clone();
            let mut n = 2;
            while enum_names.contains(&name) {
                name = format!("{base}{n}");
                n += 1;
            }
            enum_names.push(name.clone());
            ident(&name)
        });
        groups.push(Group {
            pool_type: group.pool_type,
            tag: group.tag.clone(),
            accessor: ident(&group.accessor_name),
            access,
            types,
            enum_ident,
        });
    }

    let grace_ms = pools
        .iter()
        .map(|p| p.planned.call_timeout_ms)
        .max()
        .unwrap_or(0)
        .min(MAX_GRACE_MS);
    let gates = gates(decl, &pools);
    Model {
        hosts,
        pools,
        groups,
        grace_ms,
        gates,
    }
}

/// One [`Gate`] per connector behind a feature (the rdbms drivers, redis), in order of first
/// use.
fn gates(decl: &Declaration, pools: &[Pool]) -> Vec<Gate> {
    let mut gates: Vec<Gate> = Vec::new();
    for pool in pools {
        let connector = pool.ty.connector;
        let gated = matches!(
            connector,
            ConnectorKind::Pgsql
                | ConnectorKind::Mysql
                | ConnectorKind::Odbc
                | ConnectorKind::Redis
        );
        if !gated || gates.iter().any(|g| g.connector == connector) {
            continue;
        }
        let written = decl
            .pools
            .iter()
            .find(|p| ConnectorKind::of(p.pool_type, p.driver()) == connector)
            // The driver names an rdbms connector; any other type's name is its own.
            .map(|p| p.driver_loc().unwrap_or(&p.loc));
        // A file's locations are not tokens: point at its `file = "..."` and name the place.
        let (span, at) = match written {
            Some(Loc::Span(span)) => (*span, String::new()),
            Some(Loc::File(place)) => (file_span(decl), format!("{place}: ")),
            None => (file_span(decl), String::new()),
        };
        gates.push(Gate {
            connector,
            pool: pool.name.clone(),
            span,
            at,
        });
    }
    gates
}

/// The `file = "..."` literal, or the attribute.
fn file_span(decl: &Declaration) -> Span {
    decl.file
        .as_ref()
        .map_or_else(Span::call_site, |f| f.loc.span())
}

/// Adds a planned pool; returns its index.
fn push(pools: &mut Vec<Pool>, planned: &PlannedPool) -> usize {
    let index = pools.len();
    pools.push(Pool {
        field: ident(&format!("__pool_{index}")),
        name: planned.name(),
        planned: planned.clone(),
        ty: PoolTy {
            connector: planned.connector,
            strategy: planned.strategy,
        },
    });
    index
}

/// The type a group's entries ask for, when the plan has no pool for it (a stub expansion of
/// an entry whose scope is invalid).
fn fallback_type(decl: &Declaration, pool_type: PoolType, tag: &str) -> PoolTy {
    let entry = decl
        .pools
        .iter()
        .filter(|p| p.pool_type == pool_type && p.tag.value == tag)
        .find(|p| p.scope.value != Scope::Global)
        .or_else(|| decl.pools.iter().find(|p| p.pool_type == pool_type));
    PoolTy {
        connector: ConnectorKind::of(pool_type, entry.and_then(PoolDecl::driver)),
        strategy: entry.map_or(Strategy::BestWorker, PoolDecl::strategy),
    }
}

/// `http_http_auth` → `HttpHttpAuth`.
pub(crate) fn upper_camel(snake: &str) -> String {
    let mut out = String::new();
    for word in snake.split('_').filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// An identifier the generated code declares; every name passed here is valid by
/// construction (pool-spec validates tags and host variants).
pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(src: &str) -> Model {
        let (decl, _) = pool_spec::parse_attr_recover(src.parse().unwrap());
        build(&decl, &pool_spec::plan(&decl))
    }

    #[test]
    fn seed_expansion_routes_each_host() {
        let m = model(
            r#"hosts = ["a.com", "b.com", "c.eu", "d.eu"],
               redis(scope = "a.com", connection(host = "h1")),
               redis(scope = host, connection(host = "h2")),
               redis(scope = "c.eu", connection(host = "h3"))"#,
        );
        let names: Vec<&str> = m.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "redis.a.com.default",
                "redis.b.com.default",
                "redis.c.eu.default",
                "redis.d.eu.default"
            ]
        );
        let Access::PerHost(routes) = &m.groups[0].access else {
            panic!("per host");
        };
        assert_eq!(
            routes,
            &[(0, Some(0)), (1, Some(1)), (2, Some(2)), (3, Some(3))]
        );
        assert!(m.groups[0].enum_ident.is_none());
        assert!(!m.groups[0].optional());
    }

    #[test]
    fn fallback_to_global_and_unserved_hosts() {
        let m = model(
            r#"hosts = ["a.com", "b.com"],
               generic(scope = "a.com"), generic(workers = 3),
               generic(tag = only_a, scope = "a.com", strategy = hash_worker)"#,
        );
        let Access::PerHost(routes) = &m.groups[0].access else {
            panic!("per host");
        };
        // The global pool comes first, then a.com's own.
        assert_eq!(routes, &[(0, Some(1)), (1, Some(0))]);
        assert!(m.groups[1].optional());
        assert_eq!(m.grace_ms, 5000);
    }

    #[test]
    fn mixed_groups_get_an_enum() {
        let m = model(
            r#"hosts = ["a.com", "b.com"], generic(scope = "a.com", strategy = hash_worker),
               generic(scope = host)"#,
        );
        assert_eq!(m.groups[0].types.len(), 2);
        assert_eq!(m.groups[0].enum_ident.as_ref().unwrap(), "GenericPool");
        assert_eq!(
            m.groups[0].types[0].variant().to_string(),
            "GenericHashWorker"
        );
    }

    #[test]
    fn stub_models_survive_broken_declarations() {
        let m = model(r#"hosts = ["a.com", "a.com", "a-com"], redis(scope = "x.org")"#);
        assert_eq!(m.hosts.len(), 1);
        assert!(m.pools.is_empty());
        assert!(m.groups[0].optional());
        let m = model("redis(scope = host, strategy = random_worker)");
        assert!(matches!(m.groups[0].access, Access::Global(None)));
        assert_eq!(m.groups[0].types[0].strategy, Strategy::RandomWorker);
    }

    #[test]
    fn camel_case() {
        assert_eq!(upper_camel("http_http_auth"), "HttpHttpAuth");
        assert_eq!(upper_camel("generic_2fa"), "Generic2fa");
    }
}
