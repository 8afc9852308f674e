//! PostgreSQL: the shared server on 5432 and a throwaway TLS cluster on 5433.

use super::sys::{self, Res, sh_path};
use super::{Ctx, POOL, Server};
use std::fs;
use std::path::{Path, PathBuf};

pub const PORT: u16 = 5432;
pub const TLS_PORT: u16 = 5433;

/// Creates (or repairs) role `pool` and database `pool`; safe to run on every `up`.
const SETUP_SQL: &str = "\
SELECT 'CREATE ROLE pool' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pool')\\gexec
ALTER ROLE pool LOGIN SUPERUSER PASSWORD 'pool';
SELECT 'CREATE DATABASE pool OWNER pool' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pool')\\gexec
";

fn psql() -> std::process::Command {
    let mut c = sys::cmd("psql");
    // -X: a person's ~/.psqlrc must not change what we parse.
    c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
    c
}

/// Logs in as `pool` over TCP and checks it is a superuser; `tls` also demands a certificate
/// chain to our CA and a name match, as the Rust clients will.
fn verify(port: u16, ca: Option<&Path>) -> Res<()> {
    let mut conninfo =
        format!("host=127.0.0.1 port={port} user={POOL} dbname={POOL} connect_timeout=5");
    if let Some(ca) = ca {
        conninfo.push_str(&format!(
            " sslmode=verify-full sslrootcert={}",
            ca.display()
        ));
    }
    let out = sys::output(
        psql()
            .env("PGPASSWORD", POOL)
            .arg("-d")
            .arg(&conninfo)
            .arg("-c")
            .arg("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"),
    )?;
    if out.trim() == "t" {
        Ok(())
    } else {
        Err(format!("role `{POOL}` on port {port} is not a superuser"))
    }
}

/// The version of the newest `main` cluster in /etc/postgresql.
fn existing_cluster() -> Option<String> {
    let mut versions: Vec<u32> = fs::read_dir("/etc/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            e.path()
                .join("main/postgresql.conf")
                .exists()
                .then_some(())?;
            e.file_name().to_str()?.parse().ok()
        })
        .collect();
    versions.sort();
    versions.pop().map(|v| v.to_string())
}

/// The system cluster (Debian's `pg_ctlcluster`), reused when it answers.
pub struct Shared<'a>(pub &'a Ctx);

impl Shared<'_> {
    /// The newest cluster Debian knows of; a machine with the server packages but no cluster
    /// gets one made.
    fn cluster_version(&self) -> Res<String> {
        if let Some(v) = existing_cluster() {
            return Ok(v);
        }
        let bindir = sys::pg_bindir().ok_or("PostgreSQL is not installed")?;
        let v = bindir
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|v| v.to_str())
            .ok_or("cannot tell the PostgreSQL version")?
            .to_string();
        sys::run_logged(
            sys::cmd("pg_createcluster").args([&v, "main"]),
            &self.dir().join("ctl.log"),
        )?;
        Ok(v)
    }
}

impl Server for Shared<'_> {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn port(&self) -> u16 {
        PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("postgres")
    }
    fn shared(&self) -> bool {
        true
    }
    fn log(&self) -> PathBuf {
        let v = existing_cluster().unwrap_or_else(|| "*".into());
        PathBuf::from(format!("/var/log/postgresql/postgresql-{v}-main.log"))
    }
    fn ours(&self) -> bool {
        super::started_here(&self.dir())
    }
    fn prepare(&self) -> Res<PathBuf> {
        let v = self.cluster_version()?;
        let body = format!(
            r#"V={v}
do_start() {{
  pg_ctlcluster --skip-systemctl-redirect "$V" main start || fail "pg_ctlcluster start failed"
  wait_until 60 port_open {PORT} || fail "not answering on {PORT} after 60 s; see /var/log/postgresql/postgresql-$V-main.log"
}}
do_stop() {{
  if pg_ctlcluster "$V" main status >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$V" main stop -m fast
  fi
}}
do_status() {{ port_open {PORT}; }}"#
        );
        sys::write_ctl(&self.dir(), "postgres", &body)
    }
    fn setup(&self) -> Res<()> {
        // Over the socket as `postgres`: the one login a Debian cluster always allows.
        let mut c = sys::cmd_as("postgres", "psql");
        c.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-p",
            &PORT.to_string(),
            "-d",
            "postgres",
        ]);
        sys::output_with_stdin(&mut c, SETUP_SQL).map(drop)
    }
    fn verify(&self) -> Res<()> {
        verify(PORT, None)
    }
}

/// A cluster of our own with TLS and password (SCRAM) logins, which tests may stop, restart
/// and whose backends they may terminate.
pub struct Tls<'a>(pub &'a Ctx);

impl Tls<'_> {
    fn data(&self) -> PathBuf {
        self.dir().join("data")
    }
    /// Unix sockets have a 108-byte path limit; a deep target folder falls back to /tmp.
    fn socket_dir(&self) -> PathBuf {
        let dir = self.dir();
        if dir.as_os_str().len() + ".s.PGSQL.5433".len() + 1 < 100 {
            dir
        } else {
            PathBuf::from(format!("/tmp/outgoing-pools-pg-tls-{TLS_PORT}"))
        }
    }
}

impl Server for Tls<'_> {
    fn name(&self) -> &'static str {
        "postgres-tls"
    }
    fn port(&self) -> u16 {
        TLS_PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("postgres-tls")
    }
    fn log(&self) -> PathBuf {
        self.dir().join("server.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.data().join("postmaster.pid"))
    }
    fn prepare(&self) -> Res<PathBuf> {
        let dir = self.dir();
        let data = self.data();
        let sock = self.socket_dir();
        let bindir = sys::pg_bindir().ok_or("PostgreSQL is not installed")?;
        sys::dir_for_user(&dir, "postgres")?;
        sys::dir_for_user(&sock, "postgres")?;
        let ready = dir.join("initialized");
        if !ready.exists() {
            sys::remove_dir(&data)?;
            let mut initdb = sys::cmd_as("postgres", bindir.join("initdb"));
            initdb
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .args(["--no-sync", "--encoding=UTF8", "--locale=C.UTF-8"]);
            sys::run_logged(&mut initdb, &dir.join("initdb.log"))?;
            let conf = format!(
                "\n# Added by `cargo xtask services up`.\n\
                 listen_addresses = '127.0.0.1'\n\
                 port = {TLS_PORT}\n\
                 unix_socket_directories = '{}'\n\
                 ssl = on\n\
                 ssl_cert_file = 'server.crt'\n\
                 ssl_key_file = 'server.key'\n\
                 max_connections = 200\n\
                 # Throwaway data: durability only costs time.\n\
                 fsync = off\n\
                 synchronous_commit = off\n\
                 full_page_writes = off\n",
                sock.display()
            );
            let path = data.join("postgresql.conf");
            let mut text = fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            text.push_str(&conf);
            fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            sys::write_atomic(&ready, b"", 0o644)?;
        }
        // Copied on every start, so a server always runs with the current certificates.
        let tls = &self.0.tls;
        sys::install_file(&tls.cert, &data.join("server.crt"), "postgres", 0o644)?;
        sys::install_file(&tls.key, &data.join("server.key"), "postgres", 0o600)?;
        let body = format!(
            r#"DATA={data}
LOG={log}
as_pg() {{ if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }}
do_start() {{
  as_pg {pg_ctl} -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null || fail "pg_ctl start failed; see $LOG"
}}
do_stop() {{
  if [ -f "$DATA/postmaster.pid" ]; then
    as_pg {pg_ctl} -D "$DATA" -m fast -w -t 60 stop >/dev/null || fail "pg_ctl stop failed; see $LOG"
  fi
  wait_until 30 port_closed {TLS_PORT} || fail "port {TLS_PORT} still open after stop"
}}
do_status() {{ as_pg {pg_ctl} -D "$DATA" status >/dev/null 2>&1 && port_open {TLS_PORT}; }}"#,
            data = sh_path(&data),
            log = sh_path(&self.log()),
            pg_ctl = sh_path(&bindir.join("pg_ctl")),
        );
        sys::write_ctl(&dir, "postgres-tls", &body)
    }
    fn setup(&self) -> Res<()> {
        // Local socket logins are `trust` in this cluster, so root may connect as `postgres`.
        let mut c = psql();
        c.arg("-h").arg(self.socket_dir()).args([
            "-p",
            &TLS_PORT.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]);
        sys::output_with_stdin(&mut c, SETUP_SQL).map(drop)
    }
    fn verify(&self) -> Res<()> {
        verify(TLS_PORT, Some(&self.0.tls.ca))
    }
}
