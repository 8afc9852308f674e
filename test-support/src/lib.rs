//! The tests' view of the real servers that `cargo xtask services up` provides.
//!
//! Add it to a crate's tests with `test-support = { path = "../test-support" }` under
//! `[dev-dependencies]`, then:
//!
//! ```no_run
//! use test_support::{PG, PG_TLS, require, require_or_skip};
//!
//! // Fails the test, naming what is missing, when the services are not up.
//! let pg = require(PG);
//! let url = pg.url(); // postgres://pool:pool@127.0.0.1:5432/pool
//!
//! // Skips instead, but only when OP_ALLOW_MISSING_SERVICES=1.
//! let Some(tls_pg) = require_or_skip(PG_TLS) else { return };
//! test_support::ctl(PG_TLS, "restart"); // returns once the server answers again
//! # let _ = (url, tls_pg);
//! ```
//!
//! Under `cargo xtask test` every service is up and every variable set, so [`require`] never
//! panics there, and a test of a missing service fails rather than passing unseen. Plain
//! `cargo test` also works once `cargo xtask services up` has run: the variables are then read
//! from the `env` file it wrote. Accessors such as [`pg`] return `None` rather than panic.
//!
//! # Where the values come from
//!
//! Each variable is taken from the process environment, else from the first `env` file found
//! at: `$OP_SERVICES_ENV`; `$OP_SERVICES_DIR/env`; `$CARGO_TARGET_DIR/test-services/env`; a
//! `test-services/env` in a folder above the running test binary (i.e. its target folder);
//! `<workspace>/target/test-services/env`. The file holds `KEY=VALUE` lines; `#` starts a
//! comment line; a value may be in single quotes (then `'\''` stands for `'`).
//!
//! # The variables
//!
//! Every `*_CTL` is the path of an executable script taking `start`, `stop`, `restart` or
//! `status`; `start` and `restart` return once the server answers, `stop` once it is gone.
//! Only the throwaway servers have one: never stop the shared ones.
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
//! Two more variables steer this crate: `OP_ALLOW_MISSING_SERVICES=1` lets
//! [`require_or_skip`] skip (`cargo xtask test` always unsets it), and `OP_SERVICES_ENV` names
//! the `env` file explicitly.

#![warn(missing_docs)]

pub mod faults;
pub mod kit;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A PostgreSQL or MariaDB server and the `pool` login on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sql {
    /// `127.0.0.1`.
    pub host: String,
    /// 5432, 5433, 3306 or 3307.
    pub port: u16,
    /// `pool` (a superuser on PostgreSQL, ALL PRIVILEGES on MariaDB).
    pub user: String,
    /// `pool`.
    pub password: String,
    /// `pool`.
    pub db: String,
    /// `postgres` or `mysql`.
    pub scheme: &'static str,
    /// The data folder, for the throwaway servers only.
    pub data: Option<PathBuf>,
    /// The control script, for the throwaway servers only.
    pub ctl: Option<PathBuf>,
}

/// PostgreSQL ([`PG`], [`PG_TLS`]).
pub type Pg = Sql;
/// MariaDB ([`MYSQL`], [`MYSQL_TLS`]).
pub type Mysql = Sql;

impl Sql {
    /// `scheme://user:password@host:port/db`, with no TLS parameters: for the TLS servers
    /// configure the client with [`Tls::ca`] (or add `?sslmode=require` for PostgreSQL).
    pub fn url(&self) -> String {
        format!(
            "{}://{}:{}@{}:{}/{}",
            self.scheme, self.user, self.password, self.host, self.port, self.db
        )
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Runs the server's control script (`start`, `stop`, `restart`); panics when it fails or
    /// when this server has none (the shared servers are not ours to stop).
    pub fn ctl(&self, action: &str) {
        run_ctl(self.ctl.as_deref(), &self.addr(), action)
    }
}

/// A Redis server ([`REDIS`], [`REDIS_TLS`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redis {
    /// `127.0.0.1`.
    pub host: String,
    /// 6379 or 6380.
    pub port: u16,
    /// `redis://…` or, for the TLS server, `rediss://:secret@…`.
    pub url: String,
    /// `secret` on the TLS server; none on the shared one.
    pub password: Option<String>,
    /// An ACL user and its password (`pool`, `poolpass` on the TLS server).
    pub user: Option<(String, String)>,
    /// Whether the server speaks TLS only (trust [`Tls::ca`]).
    pub tls: bool,
    /// The control script, for the throwaway server only.
    pub ctl: Option<PathBuf>,
}

impl Redis {
    /// The connection URL (a copy of the `url` field).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Runs the server's control script; see [`Sql::ctl`].
    pub fn ctl(&self, action: &str) {
        run_ctl(self.ctl.as_deref(), &self.url, action)
    }
}

/// A throwaway Redis Cluster: [`REDIS_CLUSTER`] (three masters with a replica each) or
/// [`REDIS_CLUSTER_TLS`] (three masters, TLS only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisCluster {
    /// Every node, `(host, port)`; the first three start as masters.
    pub nodes: Vec<(String, u16)>,
    /// The control script (`restart` makes the cluster anew).
    pub ctl: PathBuf,
}

impl RedisCluster {
    /// Runs the control script; see [`Sql::ctl`].
    pub fn ctl(&self, action: &str) {
        run_ctl(Some(&self.ctl), "the Redis cluster", action)
    }
}

/// The throwaway Redis Sentinel ([`REDIS_SENTINEL`]): a master, its replica, one sentinel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisSentinel {
    /// The sentinel, `(host, port)`.
    pub sentinel: (String, u16),
    /// The name it monitors.
    pub master_name: String,
    /// The master and the replica at start, `(host, port)`.
    pub nodes: Vec<(String, u16)>,
    /// The control script (`restart` undoes a failover).
    pub ctl: PathBuf,
}

impl RedisSentinel {
    /// Runs the control script; see [`Sql::ctl`].
    pub fn ctl(&self, action: &str) {
        run_ctl(Some(&self.ctl), "the Redis Sentinel", action)
    }
}

/// A RabbitMQ broker ([`AMQP`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amqp {
    /// `127.0.0.1`.
    pub host: String,
    /// 5672.
    pub port: u16,
    /// `guest`.
    pub user: String,
    /// `guest`.
    pub password: String,
    /// `amqp://guest:guest@127.0.0.1:5672/%2f` (the default vhost).
    pub url: String,
}

impl Amqp {
    /// The connection URL (a copy of the `url` field).
    pub fn url(&self) -> String {
        self.url.clone()
    }
}

/// The slapd instance ([`LDAP`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ldap {
    /// `ldap://127.0.0.1:3389` (StartTLS works there too).
    pub url: String,
    /// `ldaps://127.0.0.1:3636`.
    pub tls_url: String,
    /// `dc=example,dc=com`.
    pub base_dn: String,
    /// The directory's root: `cn=admin,dc=example,dc=com`.
    pub admin_dn: String,
    /// `adminpass`.
    pub admin_password: String,
    /// A person who can bind: `uid=testuser,ou=people,dc=example,dc=com`.
    pub user_dn: String,
    /// `testpass`.
    pub user_password: String,
    /// slapd's control script.
    pub ctl: Option<PathBuf>,
}

impl Ldap {
    /// Runs slapd's control script; see [`Sql::ctl`].
    pub fn ctl(&self, action: &str) {
        run_ctl(self.ctl.as_deref(), &self.url, action)
    }
}

/// The ODBC data source ([`ODBC`]): the shared PostgreSQL through psqlODBC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Odbc {
    /// `pooltest`, registered in /etc/odbc.ini with user and password.
    pub dsn: String,
    /// A DSN-less connection string with driver, server, database and credentials.
    pub connection_string: String,
}

/// The certificates ([`TLS`]), all PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    /// The CA that signed every server's certificate: trust this one.
    pub ca: PathBuf,
    /// An unrelated CA: a client trusting only this must reject every server.
    pub wrong_ca: PathBuf,
    /// The servers' certificate (SAN `localhost` and `127.0.0.1`).
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// A revocation list of the CA that revokes nothing.
    pub crl_empty: PathBuf,
    /// A revocation list of the CA that revokes the servers' certificate.
    pub crl_revoked: PathBuf,
}

impl Tls {
    /// A client certificate signed by the test CA and its key, encrypted (PKCS#8, AES-256)
    /// with `password`, written into `dir`: what `tls.certfile`, `tls.keyfile` and
    /// `tls.password` take. Returns (certificate, key).
    pub fn encrypted_client_identity(&self, dir: &Path, password: &str) -> (PathBuf, PathBuf) {
        self.client_identity_signed_by(&self.ca, &self.ca.with_extension("key"), dir, password)
    }

    /// [`Tls::encrypted_client_identity`], signed by a CA made for it in `dir`: a server that
    /// checks client certificates against the test CA refuses it. The CA is the test's own, not
    /// the state folder's unrelated CA, whose key a folder whose certificates were adopted from
    /// another checkout's running servers may not hold.
    pub fn unrelated_client_identity(&self, dir: &Path, password: &str) -> (PathBuf, PathBuf) {
        std::fs::create_dir_all(dir).expect("a folder for the unrelated CA");
        let (ca, ca_key) = (dir.join("foreign-ca.crt"), dir.join("foreign-ca.key"));
        run_openssl(&[
            "req",
            "-x509",
            "-newkey",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=outgoing-pools foreign CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-keyout",
            &path(&ca_key),
            "-out",
            &path(&ca),
        ]);
        self.client_identity_signed_by(&ca, &ca_key, dir, password)
    }

    /// A client identity signed by the CA `ca` whose key is `ca_key`.
    fn client_identity_signed_by(
        &self,
        ca: &Path,
        ca_key: &Path,
        dir: &Path,
        password: &str,
    ) -> (PathBuf, PathBuf) {
        std::fs::create_dir_all(dir).expect("a folder for the client identity");
        let (key, csr, cert) = (
            dir.join("key.pem"),
            dir.join("client.csr"),
            dir.join("cert.pem"),
        );
        let pass = format!("pass:{password}");
        // A serial of its own (not the CA's serial file, which tests would race on).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let serial = format!("{}", nanos ^ u128::from(std::process::id()));
        let (k, r, c) = (path(&key), path(&csr), path(&cert));
        // Extensions make it a version 3 certificate, the only kind webpki takes.
        let ext = dir.join("client.ext");
        std::fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=clientAuth\n",
        )
        .expect("the extensions file");
        let ca_key = path(ca_key);
        run_openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            &pass,
            "-out",
            &k,
        ]);
        run_openssl(&[
            "req",
            "-new",
            "-key",
            &k,
            "-passin",
            &pass,
            "-subj",
            "/CN=client",
            "-out",
            &r,
        ]);
        run_openssl(&[
            "x509",
            "-req",
            "-in",
            &r,
            "-CA",
            &path(ca),
            "-CAkey",
            &ca_key,
            "-set_serial",
            &serial,
            "-days",
            "1",
            "-extfile",
            &path(&ext),
            "-out",
            &c,
        ]);
        (cert, key)
    }
}

/// `p` as the `&str` argument `openssl` takes.
fn path(p: &Path) -> String {
    p.to_str().expect("a UTF-8 path").to_owned()
}

/// Runs `openssl` with `args`, panicking with them if it fails.
fn run_openssl(args: &[&str]) {
    let ok = std::process::Command::new("openssl")
        .args(args)
        .status()
        .expect("openssl runs")
        .success();
    assert!(ok, "openssl {args:?}");
}

/// One kind of service the tests can ask for: pass it to [`require`], [`require_or_skip`],
/// [`get`] or [`ctl`].
pub struct Service<T> {
    name: &'static str,
    what: &'static str,
    ctl: Option<&'static str>,
    load: fn(&Lookup) -> Result<T, String>,
}

// By hand: a derive would demand `T: Copy`.
impl<T> Clone for Service<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Service<T> {}

impl<T> fmt::Debug for Service<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.what)
    }
}

impl<T> Service<T> {
    /// Its short name, e.g. `pg_tls`.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// The shared PostgreSQL on 5432.
pub const PG: Service<Pg> = Service {
    name: "pg",
    what: "PostgreSQL",
    ctl: None,
    load: |l| sql(l, "OP_PG", "postgres"),
};
/// The throwaway PostgreSQL with TLS on 5433, which tests may restart.
pub const PG_TLS: Service<Pg> = Service {
    name: "pg_tls",
    what: "PostgreSQL with TLS",
    ctl: Some("OP_PGTLS_CTL"),
    load: |l| sql(l, "OP_PGTLS", "postgres"),
};
/// The shared MariaDB on 3306.
pub const MYSQL: Service<Mysql> = Service {
    name: "mysql",
    what: "MariaDB",
    ctl: None,
    load: |l| sql(l, "OP_MYSQL", "mysql"),
};
/// The throwaway MariaDB with TLS on 3307, which tests may restart.
pub const MYSQL_TLS: Service<Mysql> = Service {
    name: "mysql_tls",
    what: "MariaDB with TLS",
    ctl: Some("OP_MYSQLTLS_CTL"),
    load: |l| sql(l, "OP_MYSQLTLS", "mysql"),
};
/// The shared Redis on 6379.
pub const REDIS: Service<Redis> = Service {
    name: "redis",
    what: "Redis",
    ctl: None,
    load: |l| redis_from(l, "OP_REDIS", false),
};
/// The throwaway Redis with TLS and a password on 6380, which tests may restart.
pub const REDIS_TLS: Service<Redis> = Service {
    name: "redis_tls",
    what: "Redis with TLS",
    ctl: Some("OP_REDISTLS_CTL"),
    load: |l| redis_from(l, "OP_REDISTLS", true),
};
/// The throwaway Redis Cluster on 7001–7006, which tests may restart.
pub const REDIS_CLUSTER: Service<RedisCluster> = Service {
    name: "redis_cluster",
    what: "Redis Cluster",
    ctl: Some("OP_REDIS_CLUSTER_CTL"),
    load: |l| {
        Ok(RedisCluster {
            nodes: addresses(l, "OP_REDIS_CLUSTER")?,
            ctl: PathBuf::from(l.need("OP_REDIS_CLUSTER_CTL")?),
        })
    },
};
/// The throwaway TLS-only Redis Cluster on 7101–7103 (three masters), which tests may
/// restart.
pub const REDIS_CLUSTER_TLS: Service<RedisCluster> = Service {
    name: "redis_cluster_tls",
    what: "Redis Cluster over TLS",
    ctl: Some("OP_REDIS_CLUSTER_TLS_CTL"),
    load: |l| {
        Ok(RedisCluster {
            nodes: addresses(l, "OP_REDIS_CLUSTER_TLS")?,
            ctl: PathBuf::from(l.need("OP_REDIS_CLUSTER_TLS_CTL")?),
        })
    },
};
/// The throwaway Redis Sentinel (sentinel 26390, master 6390, replica 6391), which tests may
/// restart.
pub const REDIS_SENTINEL: Service<RedisSentinel> = Service {
    name: "redis_sentinel",
    what: "Redis Sentinel",
    ctl: Some("OP_REDIS_SENTINEL_CTL"),
    load: |l| {
        let sentinel = addresses(l, "OP_REDIS_SENTINEL")?;
        Ok(RedisSentinel {
            sentinel: sentinel
                .into_iter()
                .next()
                .ok_or("OP_REDIS_SENTINEL is empty")?,
            master_name: l.need("OP_REDIS_SENTINEL_MASTER")?,
            nodes: addresses(l, "OP_REDIS_SENTINEL_NODES")?,
            ctl: PathBuf::from(l.need("OP_REDIS_SENTINEL_CTL")?),
        })
    },
};
/// RabbitMQ on 5672.
pub const AMQP: Service<Amqp> = Service {
    name: "amqp",
    what: "RabbitMQ",
    ctl: None,
    load: |l| {
        Ok(Amqp {
            host: l.need("OP_AMQP_HOST")?,
            port: l.port("OP_AMQP_PORT")?,
            user: l.need("OP_AMQP_USER")?,
            password: l.need("OP_AMQP_PASSWORD")?,
            url: l.need("OP_AMQP_URL")?,
        })
    },
};
/// slapd on 3389 (ldap) and 3636 (ldaps).
pub const LDAP: Service<Ldap> = Service {
    name: "ldap",
    what: "LDAP (slapd)",
    ctl: Some("OP_LDAP_CTL"),
    load: |l| {
        Ok(Ldap {
            url: l.need("OP_LDAP_URL")?,
            tls_url: l.need("OP_LDAP_TLS_URL")?,
            base_dn: l.need("OP_LDAP_BASE_DN")?,
            admin_dn: l.need("OP_LDAP_ADMIN_DN")?,
            admin_password: l.need("OP_LDAP_ADMIN_PASSWORD")?,
            user_dn: l.need("OP_LDAP_USER_DN")?,
            user_password: l.need("OP_LDAP_USER_PASSWORD")?,
            ctl: l.get("OP_LDAP_CTL").map(PathBuf::from),
        })
    },
};
/// The ODBC DSN `pooltest`.
pub const ODBC: Service<Odbc> = Service {
    name: "odbc",
    what: "ODBC (DSN pooltest)",
    ctl: None,
    load: |l| {
        Ok(Odbc {
            dsn: l.need("OP_ODBC_DSN")?,
            connection_string: l.need("OP_ODBC_CONNECTION_STRING")?,
        })
    },
};
/// The test certificates.
pub const TLS: Service<Tls> = Service {
    name: "tls",
    what: "TLS certificates",
    ctl: None,
    load: |l| {
        Ok(Tls {
            ca: l.file("OP_TLS_CA")?,
            wrong_ca: l.file("OP_TLS_WRONG_CA")?,
            cert: l.file("OP_TLS_CERT")?,
            key: l.file("OP_TLS_KEY")?,
            crl_empty: l.file("OP_TLS_CRL_EMPTY")?,
            crl_revoked: l.file("OP_TLS_CRL_REVOKED")?,
        })
    },
};

fn sql(l: &Lookup, prefix: &str, scheme: &'static str) -> Result<Sql, String> {
    let key = |suffix: &str| format!("{prefix}_{suffix}");
    Ok(Sql {
        host: l.need(&key("HOST"))?,
        port: l.port(&key("PORT"))?,
        user: l.need(&key("USER"))?,
        password: l.need(&key("PASSWORD"))?,
        db: l.need(&key("DB"))?,
        scheme,
        data: l.get(&key("DATA")).map(PathBuf::from),
        ctl: l.get(&key("CTL")).map(PathBuf::from),
    })
}

fn redis_from(l: &Lookup, prefix: &str, tls: bool) -> Result<Redis, String> {
    let key = |suffix: &str| format!("{prefix}_{suffix}");
    Ok(Redis {
        host: l.need(&key("HOST"))?,
        port: l.port(&key("PORT"))?,
        url: l.need(&key("URL"))?,
        password: l.get(&key("PASSWORD")),
        user: l.get(&key("USER")).zip(l.get(&key("USER_PASSWORD"))),
        tls,
        ctl: l.get(&key("CTL")).map(PathBuf::from),
    })
}

/// Polls `cond` every millisecond until it holds, panicking after `secs` seconds (on tokio's
/// clock, so a paused test clock moves it too).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let started = std::time::Instant::now();
/// test_support::eventually(5, "10 ms passed", || started.elapsed().as_millis() >= 10).await;
/// # }
/// ```
pub async fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// `host:port,host:port` from the variable `key`.
fn addresses(l: &Lookup, key: &str) -> Result<Vec<(String, u16)>, String> {
    l.need(key)?
        .split(',')
        .map(|a| {
            let (h, p) = a
                .trim()
                .rsplit_once(':')
                .ok_or(format!("{key}: `{a}` is not host:port"))?;
            let p = p
                .parse()
                .map_err(|_| format!("{key}: `{a}` has no numeric port"))?;
            Ok((h.to_string(), p))
        })
        .collect()
}

/// The service, or `None` when its variables are not set anywhere.
pub fn get<T>(service: Service<T>) -> Option<T> {
    (service.load)(lookup()).ok()
}

/// The service, or a panic that says what is missing and how to provide it.
#[track_caller]
pub fn require<T>(service: Service<T>) -> T {
    match (service.load)(lookup()) {
        Ok(s) => s,
        Err(missing) => panic!("{}", missing_message(service, &missing)),
    }
}

/// Like [`require`], except that with `OP_ALLOW_MISSING_SERVICES=1` a missing service gives
/// `None` (and a note on stderr), so the test can return early:
/// `let Some(pg) = require_or_skip(PG) else { return };`.
#[track_caller]
pub fn require_or_skip<T>(service: Service<T>) -> Option<T> {
    match (service.load)(lookup()) {
        Ok(s) => Some(s),
        Err(missing) if allow_missing() => {
            eprintln!(
                "skipped: {} is not available (OP_ALLOW_MISSING_SERVICES is set): {missing}",
                service.what
            );
            None
        }
        Err(missing) => panic!("{}", missing_message(service, &missing)),
    }
}

/// Runs the service's control script with `action` (`start`, `stop`, `restart`, `status`)
/// and waits for it; panics when the service has no script or the script fails.
#[track_caller]
pub fn ctl<T>(service: Service<T>, action: &str) {
    let Some(var) = service.ctl else {
        panic!(
            "{} is a shared server: tests must not {action} it (use the throwaway TLS server)",
            service.what
        );
    };
    let l = lookup();
    match l.file(var) {
        Ok(script) => run_ctl(Some(&script), service.what, action),
        Err(missing) => panic!("{}", missing_message(service, &missing)),
    }
}

/// Holds one of the cross-process locks of [`lock_exclusive`] and [`lock_shared`].
#[derive(Debug)]
pub struct ServiceLock {
    _file: std::fs::File,
}

/// Waits until no other test (in this process or another) holds the service's lock, then
/// holds it alone: take it around a `stop`/`restart` of a throwaway server, so that tests
/// taking [`lock_shared`] never see it down.
pub fn lock_exclusive<T>(service: Service<T>) -> ServiceLock {
    let file = lock_file(service);
    file.lock().expect("cannot lock the service lock file");
    ServiceLock { _file: file }
}

/// Shares the service's lock with other users of the service; see [`lock_exclusive`].
pub fn lock_shared<T>(service: Service<T>) -> ServiceLock {
    let file = lock_file(service);
    file.lock_shared()
        .expect("cannot lock the service lock file");
    ServiceLock { _file: file }
}

fn lock_file<T>(service: Service<T>) -> std::fs::File {
    let dir = lookup()
        .get("OP_SERVICES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("{}.test-lock", service.name));
    std::fs::File::create(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()))
}

/// The shared PostgreSQL ([`PG`]), if configured.
pub fn pg() -> Option<Pg> {
    get(PG)
}
/// The throwaway PostgreSQL with TLS ([`PG_TLS`]), if configured.
pub fn pg_tls() -> Option<Pg> {
    get(PG_TLS)
}
/// The shared MariaDB ([`MYSQL`]), if configured.
pub fn mysql() -> Option<Mysql> {
    get(MYSQL)
}
/// The throwaway MariaDB with TLS ([`MYSQL_TLS`]), if configured.
pub fn mysql_tls() -> Option<Mysql> {
    get(MYSQL_TLS)
}
/// The shared Redis ([`REDIS`]), if configured.
pub fn redis() -> Option<Redis> {
    get(REDIS)
}
/// The throwaway Redis with TLS ([`REDIS_TLS`]), if configured.
pub fn redis_tls() -> Option<Redis> {
    get(REDIS_TLS)
}
/// RabbitMQ ([`AMQP`]), if configured.
pub fn amqp() -> Option<Amqp> {
    get(AMQP)
}
/// slapd ([`LDAP`]), if configured.
pub fn ldap() -> Option<Ldap> {
    get(LDAP)
}
/// The ODBC DSN ([`ODBC`]), if configured.
pub fn odbc() -> Option<Odbc> {
    get(ODBC)
}
/// The certificates ([`TLS`]), if configured.
pub fn tls() -> Option<Tls> {
    get(TLS)
}

fn allow_missing() -> bool {
    std::env::var("OP_ALLOW_MISSING_SERVICES")
        .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

fn missing_message<T>(service: Service<T>, missing: &str) -> String {
    let l = lookup();
    let file = match &l.file {
        Some(f) => format!("read {}", f.display()),
        None => format!(
            "found no env file (looked at: {})",
            l.tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "run `cargo xtask test` (or `cargo xtask services up`) first: {} ({}) is not available: \
         {missing}; {file}",
        service.what, service.name
    )
}

fn run_ctl(script: Option<&Path>, what: &str, action: &str) {
    let Some(script) = script else {
        panic!("{what} has no control script: it is a shared server, not ours to {action}");
    };
    let out = std::process::Command::new(script)
        .arg(action)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {action}: {e}", script.display()));
    if !out.status.success() {
        panic!(
            "`{} {action}` failed ({}):\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The variables: process environment first, then the `env` file.
struct Lookup {
    file: Option<PathBuf>,
    tried: Vec<PathBuf>,
    vars: HashMap<String, String>,
    from_process: fn(&str) -> Option<String>,
}

impl Lookup {
    fn get(&self, key: &str) -> Option<String> {
        (self.from_process)(key)
            .or_else(|| self.vars.get(key).cloned())
            .filter(|v| !v.is_empty())
    }

    fn need(&self, key: &str) -> Result<String, String> {
        self.get(key).ok_or_else(|| format!("{key} is not set"))
    }

    fn port(&self, key: &str) -> Result<u16, String> {
        let v = self.need(key)?;
        v.parse().map_err(|_| format!("{key}={v} is not a port"))
    }

    /// A path that must exist (a certificate, a script).
    fn file(&self, key: &str) -> Result<PathBuf, String> {
        let p = PathBuf::from(self.need(key)?);
        if p.exists() {
            Ok(p)
        } else {
            Err(format!("{key}={} does not exist", p.display()))
        }
    }
}

fn lookup() -> &'static Lookup {
    static LOOKUP: OnceLock<Lookup> = OnceLock::new();
    LOOKUP.get_or_init(|| {
        let tried = candidates();
        let found = tried
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok().map(|t| (p.clone(), t)));
        let (file, vars) = match found {
            Some((p, text)) => (Some(p), parse_env(&text).into_iter().collect()),
            None => (None, HashMap::new()),
        };
        Lookup {
            file,
            tried,
            vars,
            from_process: |k| std::env::var(k).ok(),
        }
    })
}

/// Where an `env` file may be, in order (see the crate docs).
fn candidates() -> Vec<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support lives one level below the workspace root")
        .to_path_buf();
    let mut c = Vec::new();
    c.extend(var("OP_SERVICES_ENV"));
    c.extend(var("OP_SERVICES_DIR").map(|d| d.join("env")));
    if let Some(t) = var("CARGO_TARGET_DIR") {
        if t.is_relative() {
            // Relative to where cargo ran, which is usually the workspace root; a test runs in
            // its own crate's folder.
            c.push(workspace.join(&t).join("test-services/env"));
        }
        c.push(t.join("test-services/env"));
    }
    if let Ok(exe) = std::env::current_exe() {
        // <target>/debug/deps/<test binary>: a few levels up is the target folder.
        c.extend(
            exe.ancestors()
                .skip(1)
                .take(4)
                .map(|d| d.join("test-services/env")),
        );
    }
    c.push(workspace.join("target/test-services/env"));
    c.dedup();
    c
}

/// `KEY=VALUE` lines; blank lines and `#` comments are skipped; a value in single quotes is
/// unquoted (`'\''` inside stands for `'`, as a shell writes it).
fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Some(inner) => inner.replace(r"'\''", "'"),
                None => v.to_string(),
            };
            Some((k.trim().to_string(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_from(text: &str, process: fn(&str) -> Option<String>) -> Lookup {
        Lookup {
            file: Some(PathBuf::from("/nowhere/env")),
            tried: vec![],
            vars: parse_env(text).into_iter().collect(),
            from_process: process,
        }
    }

    const SAMPLE: &str = "\
# Written by `cargo xtask services up`
OP_PG_HOST=127.0.0.1
OP_PG_PORT=5432
OP_PG_USER=pool
OP_PG_PASSWORD=pool
OP_PG_DB=pool

OP_PGTLS_HOST=127.0.0.1
OP_PGTLS_PORT=5433
OP_PGTLS_USER=pool
OP_PGTLS_PASSWORD='p w'
OP_PGTLS_DB=pool
OP_PGTLS_CTL=/x/postgres-tls/ctl
OP_REDISTLS_HOST=127.0.0.1
OP_REDISTLS_PORT=6380
OP_REDISTLS_PASSWORD=secret
OP_REDISTLS_URL=rediss://:secret@127.0.0.1:6380/
OP_REDISTLS_USER=pool
OP_REDISTLS_USER_PASSWORD=poolpass
OP_REDIS_CLUSTER=127.0.0.1:7001,127.0.0.1:7002
OP_REDIS_CLUSTER_CTL=/x/redis-cluster/ctl
OP_REDIS_SENTINEL=127.0.0.1:26390
OP_REDIS_SENTINEL_MASTER=pool-master
OP_REDIS_SENTINEL_NODES=127.0.0.1:6390,127.0.0.1:6391
OP_REDIS_SENTINEL_CTL=/x/redis-sentinel/ctl
OP_ODBC_DSN=pooltest
OP_ODBC_CONNECTION_STRING='Driver={PostgreSQL Unicode};Server=127.0.0.1;Uid=pool;Pwd=pool;'
";

    #[test]
    fn parses_lines_comments_quotes_and_exports() {
        let parsed = parse_env(
            "# c\n\nA=1\n  B = two words \nC='x;y{z}'\nD='it'\\''s'\nexport E=5\nnot a pair\nF=a=b\nG=\n",
        );
        let expect = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "x;y{z}"),
            ("D", "it's"),
            ("E", "5"),
            ("F", "a=b"),
            ("G", ""),
        ];
        let expect: Vec<(String, String)> = expect
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(parsed, expect);
    }

    #[test]
    fn builds_services_from_the_file() {
        let l = lookup_from(SAMPLE, |_| None);
        let pg = (PG.load)(&l).unwrap();
        assert_eq!(pg.url(), "postgres://pool:pool@127.0.0.1:5432/pool");
        assert_eq!(pg.ctl, None);
        let tls = (PG_TLS.load)(&l).unwrap();
        assert_eq!(tls.port, 5433);
        assert_eq!(tls.password, "p w");
        assert_eq!(tls.ctl, Some(PathBuf::from("/x/postgres-tls/ctl")));
        let r = (REDIS_TLS.load)(&l).unwrap();
        assert!(r.tls);
        assert_eq!(r.password.as_deref(), Some("secret"));
        assert_eq!(r.url(), "rediss://:secret@127.0.0.1:6380/");
        assert_eq!(r.user, Some(("pool".into(), "poolpass".into())));
        let c = (REDIS_CLUSTER.load)(&l).unwrap();
        assert_eq!(
            c.nodes,
            [("127.0.0.1".into(), 7001), ("127.0.0.1".into(), 7002)]
        );
        let st = (REDIS_SENTINEL.load)(&l).unwrap();
        assert_eq!(st.sentinel, ("127.0.0.1".into(), 26390));
        assert_eq!(st.master_name, "pool-master");
        assert_eq!(st.nodes.len(), 2);
        let o = (ODBC.load)(&l).unwrap();
        assert_eq!(o.dsn, "pooltest");
        assert!(
            o.connection_string
                .starts_with("Driver={PostgreSQL Unicode};")
        );
    }

    #[test]
    fn process_environment_wins_over_the_file() {
        let l = lookup_from(SAMPLE, |k| (k == "OP_PG_PORT").then(|| "6543".to_string()));
        assert_eq!((PG.load)(&l).unwrap().port, 6543);
        assert_eq!((PG.load)(&l).unwrap().host, "127.0.0.1");
    }

    #[test]
    fn says_what_is_missing() {
        let l = lookup_from("OP_MYSQL_HOST=127.0.0.1\nOP_MYSQL_PORT=x\n", |_| None);
        assert_eq!(
            (MYSQL.load)(&l).unwrap_err(),
            "OP_MYSQL_PORT=x is not a port"
        );
        assert_eq!((AMQP.load)(&l).unwrap_err(), "OP_AMQP_HOST is not set");
        let msg = missing_message(AMQP, "OP_AMQP_HOST is not set");
        assert!(
            msg.starts_with(
                "run `cargo xtask test` (or `cargo xtask services up`) first: RabbitMQ"
            ),
            "{msg}"
        );
        assert!(msg.contains("OP_AMQP_HOST is not set"), "{msg}");
    }

    #[test]
    fn missing_files_are_missing() {
        let l = lookup_from("OP_TLS_CA=/definitely/not/here.crt\n", |_| None);
        assert_eq!(
            (TLS.load)(&l).unwrap_err(),
            "OP_TLS_CA=/definitely/not/here.crt does not exist"
        );
    }

    #[test]
    fn candidates_end_with_the_workspace_target() {
        let c = candidates();
        let last = c.last().unwrap();
        assert!(
            last.ends_with("target/test-services/env"),
            "{}",
            last.display()
        );
    }
}
