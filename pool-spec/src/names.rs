//! The structural words of both input forms (serde's `symbol.rs`): option names live in the
//! descriptor table, everything else a user can type lives here.

// Attribute top level.
pub(crate) const HOSTS: &str = "hosts";
/// MongooseIM 6's host types (dynamic domains): declared beside `hosts`, and served alike.
pub(crate) const HOST_TYPES: &str = "host_types";
pub(crate) const CRATE: &str = "crate";
pub(crate) const FILE: &str = "file";

// Pool entry structure.
pub(crate) const SCOPE: &str = "scope";
pub(crate) const TAG: &str = "tag";
pub(crate) const CONNECTION: &str = "connection";
pub(crate) const TLS: &str = "tls";
pub(crate) const DEFAULT_TAG: &str = "default";

// Options the checks single out.
pub(crate) const WORKERS: &str = "workers";
pub(crate) const STRATEGY: &str = "strategy";
pub(crate) const QUEUE_TYPE: &str = "queue_type";
pub(crate) const OVERRUN_WARNING: &str = "overrun_warning";
pub(crate) const MAX_OVERRUN_WARNINGS: &str = "max_overrun_warnings";
pub(crate) const CALL_TIMEOUT: &str = "call_timeout";
pub(crate) const MAX_WORKER_QUEUE_LEN: &str = "max_worker_queue_len";
pub(crate) const CONNECT_TIMEOUT: &str = "connect_timeout";
pub(crate) const SHARED_DEPTH: &str = "shared_depth";
pub(crate) const REQUEST_TIMEOUT: &str = "request_timeout";
pub(crate) const DRIVER: &str = "driver";
pub(crate) const ENCRYPT: &str = "encrypt";
pub(crate) const HOST_KEY: &str = "host";
pub(crate) const PORT: &str = "port";
pub(crate) const REQUIRED: &str = "required";
pub(crate) const DATABASE: &str = "database";
pub(crate) const SERVERS: &str = "servers";
pub(crate) const CLUSTER: &str = "cluster";
pub(crate) const SENTINELS: &str = "sentinels";
pub(crate) const MASTER_NAME: &str = "master_name";
pub(crate) const VERIFY_MODE: &str = "verify_mode";

// Values.
pub(crate) const GLOBAL: &str = "global";
pub(crate) const HOST: &str = "host";
pub(crate) const HOST_TYPE: &str = "host_type";
pub(crate) const SINGLE_HOST: &str = "single_host";
pub(crate) const INFINITY: &str = "infinity";
pub(crate) const NONE: &str = "none";
pub(crate) const TRUE: &str = "true";
pub(crate) const FALSE: &str = "false";

// `env("NAME", default = "...")`, TOML `{ env = "NAME", default = "..." }`.
pub(crate) const ENV: &str = "env";
pub(crate) const ENV_DEFAULT: &str = "default";

// TOML file structure.
pub(crate) const GENERAL: &str = "general";
pub(crate) const OUTGOING_POOLS: &str = "outgoing_pools";
pub(crate) const HOST_CONFIG: &str = "host_config";

/// MongooseIM top-level sections a pools file may carry along and that are not ours to read.
pub(crate) const FOREIGN_SECTIONS: &[&str] = &[
    "listen",
    "auth",
    "internal_databases",
    "services",
    "modules",
    "shaper",
    "acl",
    "access",
    "s2s",
    "instrumentation",
];

/// The fields of a `{ host = "...", port = N }` server item.
pub(crate) const SERVER_HOST: &str = "host";
pub(crate) const SERVER_PORT: &str = "port";
