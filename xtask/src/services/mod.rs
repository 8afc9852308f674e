//! `cargo xtask services up|down|env`: the real servers the tests talk to.
//!
//! `up` reuses a server that already answers on its usual port (the machines start
//! PostgreSQL, MariaDB, Redis and RabbitMQ before a session) and starts one that does not,
//! installing Debian's packages first when some are missing (one `apt-get update`, one
//! `apt-get install -y`; root only). Servers that tests may stop, restart or must reach over TLS
//! with a password are throwaway instances of our own on other ports. Every server is checked
//! with a real client (credentials, and TLS against our CA) before `up` says it is ready, and
//! `up` is idempotent: a second run takes about a second. `down` stops only what `up` started
//! (a `started-by-xtask` file in the server's state folder says so), never a shared server.
//! `env` prints the variables below as `export` lines, for `eval "$(cargo xtask services env)"`.
//!
//! Starting servers and installing packages needs root, as on the development and CI
//! machines; without root, `up` still works when every server already answers. When a
//! throwaway port is held by a server that another checkout or `CARGO_TARGET_DIR` started,
//! `up` shares it (and takes that folder's certificates) rather than fighting over the port.
//!
//! State lives in `$CARGO_TARGET_DIR/test-services/` (else `<workspace>/target/test-services/`):
//! one folder per server with its data, log and `ctl` script, `tls/` with the certificates, and
//! the file `env` with the variables, which `up` writes last, only when every server is ready.
//!
//! # The contract with the tests
//!
//! `cargo xtask test` exports these to `cargo test`; the `test-support` crate reads them (from
//! the process environment, else from the `env` file) and documents the same table.
//! Every `*_CTL` is the path of an executable script taking `start`, `stop`, `restart` or
//! `status`; `start` and `restart` return once the server answers, `stop` once it is gone.
//!
//! | variable | value |
//! |---|---|
//! | `OP_SERVICES_DIR` | the state folder (`…/test-services`) |
//! | `OP_PG_HOST`, `OP_PG_PORT` | `127.0.0.1`, `5432` (shared server, no TLS required) |
//! | `OP_PG_USER`, `OP_PG_PASSWORD`, `OP_PG_DB` | `pool`, `pool`, `pool` (`pool` is a superuser) |
//! | `OP_PG_URL` | `postgres://pool:pool@127.0.0.1:5432/pool` |
//! | `OP_PGTLS_HOST`, `OP_PGTLS_PORT` | `127.0.0.1`, `5433` (throwaway; TLS with `OP_TLS_CERT`, SCRAM passwords) |
//! | `OP_PGTLS_USER`, `OP_PGTLS_PASSWORD`, `OP_PGTLS_DB` | `pool`, `pool`, `pool` |
//! | `OP_PGTLS_URL` | `postgres://pool:pool@127.0.0.1:5433/pool?sslmode=require` |
//! | `OP_PGTLS_DATA` | its data folder |
//! | `OP_PGTLS_CTL` | its control script (tests may stop/restart it, terminate backends) |
//! | `OP_MYSQL_HOST`, `OP_MYSQL_PORT` | `127.0.0.1`, `3306` (shared MariaDB) |
//! | `OP_MYSQL_USER`, `OP_MYSQL_PASSWORD`, `OP_MYSQL_DB` | `pool`, `pool`, `pool` (ALL PRIVILEGES) |
//! | `OP_MYSQL_URL` | `mysql://pool:pool@127.0.0.1:3306/pool` |
//! | `OP_MYSQLTLS_HOST`, `OP_MYSQLTLS_PORT` | `127.0.0.1`, `3307` (throwaway MariaDB with TLS) |
//! | `OP_MYSQLTLS_USER`, `OP_MYSQLTLS_PASSWORD`, `OP_MYSQLTLS_DB` | `pool`, `pool`, `pool` |
//! | `OP_MYSQLTLS_URL` | `mysql://pool:pool@127.0.0.1:3307/pool` (TLS offered, not forced) |
//! | `OP_MYSQLTLS_DATA`, `OP_MYSQLTLS_CTL` | its data folder and control script |
//! | `OP_REDIS_HOST`, `OP_REDIS_PORT`, `OP_REDIS_URL` | `127.0.0.1`, `6379`, `redis://127.0.0.1:6379/` |
//! | `OP_REDISTLS_HOST`, `OP_REDISTLS_PORT` | `127.0.0.1`, `6380` (throwaway; TLS only; a client certificate is optional, but checked against `OP_TLS_CA` when presented) |
//! | `OP_REDISTLS_PASSWORD` | `secret` |
//! | `OP_REDISTLS_URL` | `rediss://:secret@127.0.0.1:6380/` |
//! | `OP_REDISTLS_CTL` | its control script |
//! | `OP_REDISTLS_USER`, `OP_REDISTLS_USER_PASSWORD` | `pool`, `poolpass` (an ACL user, all commands) |
//! | `OP_REDIS_CLUSTER` | `127.0.0.1:7001,…,127.0.0.1:7006` (throwaway cluster: 3 masters, a replica each) |
//! | `OP_REDIS_CLUSTER_CTL` | its control script (`restart` makes the cluster anew) |
//! | `OP_REDIS_CLUSTER_TLS` | `127.0.0.1:7101,…,127.0.0.1:7103` (throwaway cluster, TLS only: 3 masters) |
//! | `OP_REDIS_CLUSTER_TLS_CTL` | its control script |
//! | `OP_REDIS_SENTINEL`, `OP_REDIS_SENTINEL_MASTER` | `127.0.0.1:26390`, `pool-master` |
//! | `OP_REDIS_SENTINEL_NODES` | `127.0.0.1:6390,127.0.0.1:6391` (master and replica at start) |
//! | `OP_REDIS_SENTINEL_CTL` | its control script (`restart` undoes a failover) |
//! | `OP_AMQP_HOST`, `OP_AMQP_PORT` | `127.0.0.1`, `5672` |
//! | `OP_AMQP_USER`, `OP_AMQP_PASSWORD` | `guest`, `guest` |
//! | `OP_AMQP_URL` | `amqp://guest:guest@127.0.0.1:5672/%2f` |
//! | `OP_LDAP_URL`, `OP_LDAP_TLS_URL` | `ldap://127.0.0.1:3389` (StartTLS works), `ldaps://127.0.0.1:3636` |
//! | `OP_LDAP_BASE_DN` | `dc=example,dc=com` |
//! | `OP_LDAP_ADMIN_DN`, `OP_LDAP_ADMIN_PASSWORD` | `cn=admin,dc=example,dc=com`, `adminpass` |
//! | `OP_LDAP_USER_DN`, `OP_LDAP_USER_PASSWORD` | `uid=testuser,ou=people,dc=example,dc=com`, `testpass` |
//! | `OP_LDAP_CTL` | slapd's control script |
//! | `OP_ODBC_DSN` | `pooltest` (in /etc/odbc.ini: the shared PostgreSQL, db/user/password `pool`) |
//! | `OP_ODBC_CONNECTION_STRING` | `Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=pool;Uid=pool;Pwd=pool;` |
//! | `OP_TLS_CA` | the CA that signed every server's certificate (PEM) |
//! | `OP_TLS_WRONG_CA` | an unrelated CA, for tests that expect verification to fail |
//! | `OP_TLS_CERT`, `OP_TLS_KEY` | the servers' certificate (SAN `localhost`, `127.0.0.1`) and key |
//! | `OP_TLS_CRL_EMPTY`, `OP_TLS_CRL_REVOKED` | CRLs of the CA (PEM): revoking nothing, revoking the servers' certificate |
//!
//! The `env` file holds one `KEY=VALUE` a line; a value a shell would split is in single quotes,
//! so `set -a; . target/test-services/env` also works.

mod ldap;
mod mariadb;
mod odbc;
mod postgres;
mod rabbitmq;
mod redis;
mod sys;
mod tls;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use sys::Res;

/// User, password and database name on every SQL server.
const POOL: &str = "pool";
const STARTED: &str = "started-by-xtask";

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("up") => up().map(drop),
        Some("down") => down(),
        Some("env") => {
            let ctx = Ctx::new()?;
            let vars = read_env_file(&ctx.env_file())?;
            for (k, v) in vars {
                println!("export {k}={}", quote_value(&v, true));
            }
            Ok(())
        }
        _ => Err("usage: cargo xtask services up|down|env".into()),
    }
}

/// Where everything lives.
pub struct Ctx {
    state: PathBuf,
    tls: tls::Tls,
    /// Throwaway servers reused from another state folder (service folder name -> that
    /// folder's `test-services`): their `ctl` and data are there.
    adopted: Mutex<HashMap<String, PathBuf>>,
}

impl Ctx {
    fn new() -> Res<Ctx> {
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            // Relative to where cargo was started, as cargo reads it.
            Some(t) if !t.is_empty() => std::env::current_dir()
                .map_err(|e| format!("no current folder: {e}"))?
                .join(t),
            _ => crate::project_root().join("target"),
        };
        let state = target.join("test-services");
        sys::mkdir(&state)?;
        // Absolute and without `..`, since the paths end up in config files and in tests.
        let state = state
            .canonicalize()
            .map_err(|e| format!("cannot resolve {}: {e}", state.display()))?;
        Ok(Ctx {
            tls: tls::Tls::at(state.join("tls")),
            state,
            adopted: Mutex::default(),
        })
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.state.join(name)
    }

    /// The folder of the server the tests will reach: ours, or the one we reuse.
    fn owner_dir(&self, name: &str) -> PathBuf {
        let adopted = self.adopted.lock().expect("not poisoned");
        adopted.get(name).unwrap_or(&self.state).join(name)
    }

    fn env_file(&self) -> PathBuf {
        self.state.join("env")
    }

    /// Serialises `up` and `down` runs on one state folder (two shells, or two engineers).
    fn lock(&self) -> Res<fs::File> {
        let path = self.state.join("lock");
        let file =
            fs::File::create(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        if file.try_lock().is_err() {
            eprintln!(
                "services: waiting for another `services` run ({})",
                path.display()
            );
            file.lock()
                .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        }
        Ok(file)
    }
}

/// A server that `up` reuses or starts and `down` stops.
trait Server: Sync {
    fn name(&self) -> &'static str;
    fn port(&self) -> u16;
    /// Its state folder (ctl script, data, logs, the `started-by-xtask` marker).
    fn dir(&self) -> PathBuf;
    /// A server on this port that we did not start is the expected one (the machines start it
    /// before a session), not a stranger in the way.
    fn shared(&self) -> bool {
        false
    }
    /// The server's own log, quoted when it fails.
    fn log(&self) -> PathBuf;
    /// Whether the server on the port was started from this state folder.
    fn ours(&self) -> bool;
    /// The port whose process tells which state folder started the server (its command line
    /// or working folder names it), when it is not [`Server::port`].
    fn owner_port(&self) -> u16 {
        self.port()
    }
    /// With the server down: data folder, config and control script; returns the script.
    fn prepare(&self) -> Res<PathBuf>;
    /// With the server up: users and databases. Idempotent.
    fn setup(&self) -> Res<()> {
        Ok(())
    }
    /// A real client's login, as the tests will do it (credentials, TLS against our CA).
    fn verify(&self) -> Res<()>;
    fn answers(&self) -> bool {
        sys::port_open(self.port())
    }
}

fn started_here(dir: &Path) -> bool {
    dir.join(STARTED).exists()
}

/// Reuses the server on its port or starts ours; returns what it did.
fn bring_up(ctx: &Ctx, s: &dyn Server) -> Res<String> {
    let dir = s.dir();
    let ctl_log = dir.join("ctl.log");
    let failed_start = |e: String| {
        format!(
            "{} did not start: {e}\n--- {} (last lines):\n{}",
            s.name(),
            s.log().display(),
            sys::tail_file(&s.log(), 20)
        )
    };
    if s.answers() {
        let ours = s.ours();
        let setup = if ours || s.shared() {
            s.setup()
        } else {
            Ok(())
        };
        let verified = s.verify();
        match (setup, verified) {
            (_, Ok(())) if ours => return Ok("reused (started earlier by xtask)".into()),
            // Another checkout's or target folder's throwaway server: the ports are the
            // machine's, so share it (our certificates were taken from there, see `up`).
            (_, Ok(())) if !s.shared() => {
                let Some(other) = sys::owner_state(s.owner_port()) else {
                    return Ok("reused".into());
                };
                let name = dir.file_name().unwrap_or_default().to_string_lossy();
                let mut adopted = ctx.adopted.lock().expect("not poisoned");
                adopted.insert(name.into_owned(), other.clone());
                return Ok(format!("reused (started from {})", other.display()));
            }
            // Users on a shared server we may not administer (say, not root) may already be
            // right; the client check is what counts.
            (_, Ok(())) => return Ok("reused".into()),
            (_, Err(e)) if ours => {
                // E.g. the certificates were made anew since it started.
                let why = e
                    .lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                eprintln!("services: {}: restarting ours ({why})", s.name());
                sys::ctl(&dir.join("ctl"), "stop", &ctl_log)?;
                let ctl = s.prepare()?;
                sys::ctl(&ctl, "start", &ctl_log).map_err(failed_start)?;
                s.setup()?;
                s.verify()?;
                return Ok("restarted".into());
            }
            (setup, Err(e)) => {
                let setup = setup
                    .err()
                    .map(|e| format!("\n(setting it up: {e})"))
                    .unwrap_or_default();
                return Err(format!(
                    "127.0.0.1:{} is taken by {}, which fails the {} check: {e}{setup}\n\
                     Stop it or free the port (a server that another checkout or target folder \
                     started stops with its own `…/test-services/{}/ctl stop`).",
                    s.port(),
                    sys::who_listens(s.port()),
                    s.name(),
                    dir.file_name().unwrap_or_default().to_string_lossy(),
                ));
            }
        }
    }
    sys::mkdir(&dir)?;
    let ctl = s.prepare()?;
    sys::ctl(&ctl, "start", &ctl_log).map_err(failed_start)?;
    // Written before the checks: a server that started but fails them is still ours to stop.
    sys::write_atomic(&dir.join(STARTED), b"", 0o644)?;
    s.setup().map_err(|e| format!("{}: {e}", s.name()))?;
    s.verify()
        .map_err(|e| format!("{} started but fails its check: {e}", s.name()))?;
    Ok(format!("started on 127.0.0.1:{}", s.port()))
}

/// Every server, in the order `down` stops them.
fn servers(ctx: &Ctx) -> Vec<Box<dyn Server + '_>> {
    vec![
        Box::new(postgres::Shared(ctx)),
        Box::new(postgres::Tls(ctx)),
        Box::new(mariadb::Shared(ctx)),
        Box::new(mariadb::Tls(ctx)),
        Box::new(redis::Shared(ctx)),
        Box::new(redis::Tls(ctx)),
        Box::new(redis::Cluster::plain(ctx)),
        Box::new(redis::Cluster::tls(ctx)),
        Box::new(redis::Sentinel(ctx)),
        Box::new(rabbitmq::Rabbit(ctx)),
        Box::new(ldap::Ldap(ctx)),
    ]
}

/// The Debian packages the servers and their client checks need.
fn packages(need_rabbitmq: bool) -> Vec<&'static str> {
    let mut p = vec![
        "openssl",
        "mariadb-server",
        "mariadb-client",
        "redis-server",
        "redis-tools",
        "slapd",
        "ldap-utils",
        "unixodbc",
        "odbc-postgresql",
        "unixodbc-dev",
    ];
    // Any version will do; the machines come with one.
    if sys::pg_bindir().is_none() || !Path::new("/usr/bin/pg_ctlcluster").exists() {
        p.push("postgresql");
    }
    if need_rabbitmq {
        p.push("rabbitmq-server");
    }
    p
}

/// Brings every server up and writes the `env` file; returns the variables.
pub fn up() -> Res<Vec<(String, String)>> {
    let t0 = Instant::now();
    let ctx = Ctx::new()?;
    let _lock = ctx.lock()?;
    // A failed run must not leave the previous run's promise behind.
    let _ = fs::remove_file(ctx.env_file());

    let rabbit = rabbitmq::Rabbit(&ctx);
    let need_rabbitmq =
        !rabbit.answers() && !Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server").exists();
    let missing = sys::missing_packages(&packages(need_rabbitmq));
    sys::apt_install(&missing, &ctx.state.join("apt.log"))?;

    let tls_done = match adopt_tls(&ctx)? {
        Some(other) => format!("taken from {} (its servers are running)", other.display()),
        None => ctx.tls.ensure()?.to_string(),
    };
    let tls_done = format!("{tls_done}; CRLs {}", ctx.tls.ensure_crls()?);
    report("tls", &tls_done, t0.elapsed());

    let all = servers(&ctx);
    let shared_ctx = &ctx;
    let errors: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .iter()
            .map(|s| {
                scope.spawn(move || {
                    let t = Instant::now();
                    let result = bring_up(shared_ctx, s.as_ref());
                    if let Ok(what) = &result {
                        report(s.name(), what, t.elapsed());
                    }
                    // ODBC goes through the shared PostgreSQL, so it waits for it.
                    if s.name() == "postgres" && result.is_ok() {
                        let t = Instant::now();
                        let odbc = odbc::ensure().map_err(|e| format!("odbc: {e}"))?;
                        report("odbc", odbc, t.elapsed());
                    }
                    result.map(drop)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(r) => r.err(),
                Err(_) => Some("a service thread panicked".into()),
            })
            .collect()
    });
    if !errors.is_empty() {
        return Err(format!(
            "services up failed ({} of them):\n\n{}",
            errors.len(),
            errors.join("\n\n")
        ));
    }

    let vars = env_vars(&ctx);
    let mut text =
        String::from("# Written by `cargo xtask services up`; read by the test-support crate.\n");
    for (k, v) in &vars {
        text.push_str(&format!("{k}={}\n", quote_value(v, false)));
    }
    sys::write_atomic(&ctx.env_file(), text.as_bytes(), 0o644)?;
    eprintln!(
        "services: all up in {:.1} s; environment in {}",
        t0.elapsed().as_secs_f64(),
        ctx.env_file().display()
    );
    Ok(vars)
}

/// When a throwaway port is held by a server of another state folder (another checkout, or
/// another CARGO_TARGET_DIR on this machine), takes that folder's certificates, so that every
/// server the tests reach trusts one CA.
fn adopt_tls(ctx: &Ctx) -> Res<Option<PathBuf>> {
    for port in [
        postgres::TLS_PORT,
        mariadb::TLS_PORT,
        redis::TLS_PORT,
        ldap::PORT,
    ] {
        let Some(other) = sys::owner_state(port) else {
            continue;
        };
        let theirs = tls::Tls::at(other.join("tls"));
        if other == ctx.state || !theirs.complete() {
            continue;
        }
        ctx.tls.copy_from(&theirs)?;
        return Ok(Some(other));
    }
    Ok(None)
}

fn report(name: &str, what: &str, took: Duration) {
    eprintln!("services: {name:<13} {what} ({:.1} s)", took.as_secs_f64());
}

/// Stops what `up` started, here or in an earlier run.
pub fn down() -> Res<()> {
    let ctx = Ctx::new()?;
    let _lock = ctx.lock()?;
    let _ = fs::remove_file(ctx.env_file());
    let mut errors = Vec::new();
    for s in servers(&ctx) {
        let dir = s.dir();
        let ctl = dir.join("ctl");
        if !(started_here(&dir) || s.ours()) || !ctl.exists() {
            continue;
        }
        let t = Instant::now();
        match sys::ctl(&ctl, "stop", &dir.join("ctl.log")) {
            Ok(()) => {
                let _ = fs::remove_file(dir.join(STARTED));
                report(s.name(), "stopped", t.elapsed());
            }
            Err(e) => errors.push(format!("{}: {e}", s.name())),
        }
    }
    if errors.is_empty() {
        eprintln!("services: down (shared servers that were already running are left alone)");
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// The contract with the tests (the table in the module docs).
fn env_vars(ctx: &Ctx) -> Vec<(String, String)> {
    let path = |p: &Path| p.display().to_string();
    let ctl = |name: &str| path(&ctx.owner_dir(name).join("ctl"));
    let mut vars = Vec::new();
    let mut set = |k: &str, v: String| vars.push((k.to_string(), v));
    set("OP_SERVICES_DIR", path(&ctx.state));
    let sql =
        |set: &mut dyn FnMut(&str, String), prefix: &str, scheme: &str, port: u16, query: &str| {
            set(&format!("{prefix}_HOST"), "127.0.0.1".into());
            set(&format!("{prefix}_PORT"), port.to_string());
            set(&format!("{prefix}_USER"), POOL.into());
            set(&format!("{prefix}_PASSWORD"), POOL.into());
            set(&format!("{prefix}_DB"), POOL.into());
            set(
                &format!("{prefix}_URL"),
                format!("{scheme}://{POOL}:{POOL}@127.0.0.1:{port}/{POOL}{query}"),
            );
        };
    sql(&mut set, "OP_PG", "postgres", postgres::PORT, "");
    sql(
        &mut set,
        "OP_PGTLS",
        "postgres",
        postgres::TLS_PORT,
        "?sslmode=require",
    );
    set(
        "OP_PGTLS_DATA",
        path(&ctx.owner_dir("postgres-tls").join("data")),
    );
    set("OP_PGTLS_CTL", ctl("postgres-tls"));
    sql(&mut set, "OP_MYSQL", "mysql", mariadb::PORT, "");
    sql(&mut set, "OP_MYSQLTLS", "mysql", mariadb::TLS_PORT, "");
    set(
        "OP_MYSQLTLS_DATA",
        path(&ctx.owner_dir("mariadb-tls").join("data")),
    );
    set("OP_MYSQLTLS_CTL", ctl("mariadb-tls"));
    set("OP_REDIS_HOST", "127.0.0.1".into());
    set("OP_REDIS_PORT", redis::PORT.to_string());
    set(
        "OP_REDIS_URL",
        format!("redis://127.0.0.1:{}/", redis::PORT),
    );
    set("OP_REDISTLS_HOST", "127.0.0.1".into());
    set("OP_REDISTLS_PORT", redis::TLS_PORT.to_string());
    set("OP_REDISTLS_PASSWORD", redis::TLS_PASSWORD.into());
    set(
        "OP_REDISTLS_URL",
        format!(
            "rediss://:{}@127.0.0.1:{}/",
            redis::TLS_PASSWORD,
            redis::TLS_PORT
        ),
    );
    set("OP_REDISTLS_CTL", ctl("redis-tls"));
    set("OP_REDISTLS_USER", redis::TLS_USER.into());
    set("OP_REDISTLS_USER_PASSWORD", redis::TLS_USER_PASSWORD.into());
    set(
        "OP_REDIS_CLUSTER",
        redis::CLUSTER_PORTS
            .map(|p| format!("127.0.0.1:{p}"))
            .join(","),
    );
    set("OP_REDIS_CLUSTER_CTL", ctl("redis-cluster"));
    set(
        "OP_REDIS_CLUSTER_TLS",
        redis::CLUSTER_TLS_PORTS
            .map(|p| format!("127.0.0.1:{p}"))
            .join(","),
    );
    set("OP_REDIS_CLUSTER_TLS_CTL", ctl("redis-cluster-tls"));
    set(
        "OP_REDIS_SENTINEL",
        format!("127.0.0.1:{}", redis::SENTINEL_PORT),
    );
    set(
        "OP_REDIS_SENTINEL_MASTER",
        redis::SENTINEL_MASTER_NAME.into(),
    );
    set(
        "OP_REDIS_SENTINEL_NODES",
        format!(
            "127.0.0.1:{},127.0.0.1:{}",
            redis::SENTINEL_MASTER_PORT,
            redis::SENTINEL_REPLICA_PORT
        ),
    );
    set("OP_REDIS_SENTINEL_CTL", ctl("redis-sentinel"));
    set("OP_AMQP_HOST", "127.0.0.1".into());
    set("OP_AMQP_PORT", rabbitmq::PORT.to_string());
    set("OP_AMQP_USER", "guest".into());
    set("OP_AMQP_PASSWORD", "guest".into());
    set(
        "OP_AMQP_URL",
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", rabbitmq::PORT),
    );
    set("OP_LDAP_URL", format!("ldap://127.0.0.1:{}", ldap::PORT));
    set(
        "OP_LDAP_TLS_URL",
        format!("ldaps://127.0.0.1:{}", ldap::TLS_PORT),
    );
    set("OP_LDAP_BASE_DN", ldap::BASE_DN.into());
    set("OP_LDAP_ADMIN_DN", ldap::ADMIN_DN.into());
    set("OP_LDAP_ADMIN_PASSWORD", ldap::ADMIN_PASSWORD.into());
    set("OP_LDAP_USER_DN", ldap::USER_DN.into());
    set("OP_LDAP_USER_PASSWORD", ldap::USER_PASSWORD.into());
    set("OP_LDAP_CTL", ctl("slapd"));
    set("OP_ODBC_DSN", odbc::DSN.into());
    set("OP_ODBC_CONNECTION_STRING", odbc::connection_string());
    set("OP_TLS_CA", path(&ctx.tls.ca));
    set("OP_TLS_WRONG_CA", path(&ctx.tls.wrong_ca));
    set("OP_TLS_CERT", path(&ctx.tls.cert));
    set("OP_TLS_KEY", path(&ctx.tls.key));
    set("OP_TLS_CRL_EMPTY", path(&ctx.tls.crl_empty));
    set("OP_TLS_CRL_REVOKED", path(&ctx.tls.crl_revoked));
    vars
}

/// Single-quotes a value a shell would otherwise split or expand (`always` for `export` lines).
fn quote_value(v: &str, always: bool) -> String {
    let plain = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:@%,=+".contains(c));
    if plain && !always && !v.is_empty() {
        v.to_string()
    } else {
        sys::sh_quote(v)
    }
}

/// Parses the `env` file (the same rules as the test-support crate).
fn read_env_file(path: &Path) -> Res<Vec<(String, String)>> {
    let text = fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {} ({e}); run `cargo xtask services up` first",
            path.display()
        )
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .map(|v| v.replace(r"'\''", "'"))
                .unwrap_or_else(|| v.to_string());
            Some((k.trim().to_string(), v))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_env_file_format() {
        for v in [
            "127.0.0.1",
            "Driver={X};Server=a;",
            "it's",
            "",
            "/a b/c",
            "x?y&z",
        ] {
            let line = format!("K={}", quote_value(v, false));
            let dir = std::env::temp_dir().join(format!("xtask-env-{}", std::process::id()));
            fs::create_dir_all(&dir).unwrap();
            let file = dir.join("env");
            fs::write(&file, format!("# comment\n\n{line}\n")).unwrap();
            assert_eq!(
                read_env_file(&file).unwrap(),
                vec![("K".into(), v.to_string())]
            );
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}
