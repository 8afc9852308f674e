//! MariaDB: the shared server on 3306 and a throwaway TLS server on 3307.

use super::sys::{self, Res, sh_path};
use super::{Ctx, POOL, Server};
use std::path::{Path, PathBuf};

pub const PORT: u16 = 3306;
pub const TLS_PORT: u16 = 3307;

/// `pool` from every address a client on this machine may come from (the server resolves no
/// names, so `localhost` only covers the socket); safe to run on every `up`.
const SETUP_SQL: &str = "\
CREATE DATABASE IF NOT EXISTS pool;
CREATE USER IF NOT EXISTS 'pool'@'127.0.0.1' IDENTIFIED BY 'pool';
CREATE USER IF NOT EXISTS 'pool'@'::1' IDENTIFIED BY 'pool';
CREATE USER IF NOT EXISTS 'pool'@'localhost' IDENTIFIED BY 'pool';
ALTER USER 'pool'@'127.0.0.1' IDENTIFIED BY 'pool';
ALTER USER 'pool'@'::1' IDENTIFIED BY 'pool';
ALTER USER 'pool'@'localhost' IDENTIFIED BY 'pool';
GRANT ALL PRIVILEGES ON *.* TO 'pool'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'pool'@'::1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'pool'@'localhost' WITH GRANT OPTION;
";

/// Logs in as `pool` over TCP; `ca` also demands TLS with a chain to our CA and a name match.
fn verify(port: u16, ca: Option<&Path>) -> Res<()> {
    let mut c = sys::cmd("mariadb");
    c.args(["--no-defaults", "--connect-timeout=5", "-h", "127.0.0.1"])
        .arg(format!("-P{port}"))
        .arg(format!("-u{POOL}"))
        .arg(format!("-p{POOL}"));
    if let Some(ca) = ca {
        c.args(["--ssl", "--ssl-verify-server-cert"])
            .arg(format!("--ssl-ca={}", ca.display()));
    }
    c.args([
        POOL,
        "-N",
        "-B",
        "-e",
        "SHOW SESSION STATUS LIKE 'Ssl_version'",
    ]);
    let out = sys::output(&mut c)?;
    if ca.is_some() && !out.contains("TLS") {
        return Err(format!(
            "port {port}: the session is not encrypted ({})",
            out.trim()
        ));
    }
    Ok(())
}

/// The system server (Debian's config in /etc/mysql), reused when it answers.
pub struct Shared<'a>(pub &'a Ctx);

impl Server for Shared<'_> {
    fn name(&self) -> &'static str {
        "mariadb"
    }
    fn port(&self) -> u16 {
        PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("mariadb")
    }
    fn shared(&self) -> bool {
        true
    }
    fn log(&self) -> PathBuf {
        PathBuf::from("/var/log/mysql/error.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.dir().join("mariadbd.pid"))
    }
    fn prepare(&self) -> Res<PathBuf> {
        let dir = self.dir();
        // Made by the init script on a systemd machine; mariadbd puts its socket there.
        let run = Path::new("/run/mysqld");
        sys::mkdir(run)?;
        sys::chown(run, "mysql")?;
        let body = format!(
            r#"PID={pid}
do_start() {{
  # --pidfile: match only the server we start, not the throwaway one (same binary).
  start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$PID" --exec /usr/sbin/mariadbd \
    || fail "start-stop-daemon failed"
  wait_until 60 port_open {PORT} || fail "not answering on {PORT} after 60 s; see /var/log/mysql/error.log"
}}
do_stop() {{
  if [ -f "$PID" ]; then kill "$(cat "$PID")" 2>/dev/null || true; fi
  wait_until 60 port_closed {PORT} || fail "still answering on {PORT} 60 s after SIGTERM"
  rm -f "$PID"
}}
do_status() {{ port_open {PORT}; }}"#,
            pid = sh_path(&dir.join("mariadbd.pid")),
        );
        sys::write_ctl(&dir, "mariadb", &body)
    }
    fn setup(&self) -> Res<()> {
        // root over the socket (unix_socket authentication on Debian).
        let mut c = sys::cmd("mariadb");
        c.args(["-uroot", "--connect-timeout=5"]);
        sys::output_with_stdin(&mut c, SETUP_SQL).map(drop)
    }
    fn verify(&self) -> Res<()> {
        verify(PORT, None)
    }
}

/// A server of our own with TLS, which tests may stop and restart.
pub struct Tls<'a>(pub &'a Ctx);

impl Tls<'_> {
    fn socket(&self) -> PathBuf {
        let dir = self.dir();
        if dir.as_os_str().len() + "/mysqld.sock".len() < 100 {
            dir.join("mysqld.sock")
        } else {
            PathBuf::from(format!("/tmp/outgoing-pools-mariadb-tls-{TLS_PORT}.sock"))
        }
    }
    fn pidfile(&self) -> PathBuf {
        self.dir().join("mariadbd.pid")
    }
    fn data(&self) -> PathBuf {
        self.dir().join("data")
    }
}

impl Server for Tls<'_> {
    fn name(&self) -> &'static str {
        "mariadb-tls"
    }
    fn port(&self) -> u16 {
        TLS_PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("mariadb-tls")
    }
    fn log(&self) -> PathBuf {
        self.dir().join("error.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.pidfile())
    }
    fn prepare(&self) -> Res<PathBuf> {
        let dir = self.dir();
        let data = self.data();
        sys::dir_for_user(&dir, "mysql")?;
        let ready = dir.join("initialized");
        if !ready.exists() {
            sys::remove_dir(&data)?;
            let mut install = sys::cmd("mariadb-install-db");
            install
                .args(["--no-defaults", "--user=mysql", "--skip-test-db"])
                .arg(format!("--datadir={}", data.display()))
                .arg("--auth-root-authentication-method=socket");
            sys::run_logged(&mut install, &dir.join("install.log"))?;
            sys::write_atomic(&ready, b"", 0o644)?;
        }
        let tls = &self.0.tls;
        sys::install_file(&tls.ca, &dir.join("ca.crt"), "mysql", 0o644)?;
        sys::install_file(&tls.cert, &dir.join("server.crt"), "mysql", 0o644)?;
        sys::install_file(&tls.key, &dir.join("server.key"), "mysql", 0o600)?;
        let arg = |k: &str, p: &Path| sh_quote_arg(k, p);
        let body = format!(
            r#"SOCK={sock}
PID={pid}
LOG={log}
ARGS=(--no-defaults --user=mysql {datadir} --bind-address=127.0.0.1 --port={TLS_PORT}
  {socket} {pidfile} {logerr} --skip-name-resolve
  {ssl_ca} {ssl_cert} {ssl_key}
  --character-set-server=utf8mb4 --max-connections=200
  --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2)
admin() {{ mariadb-admin --no-defaults --connect-timeout=2 --socket="$SOCK" -uroot "$@"; }}
ready() {{
  kill -0 "$SERVER" 2>/dev/null || fail "mariadbd exited; see $LOG"
  admin ping >/dev/null 2>&1 && port_open {TLS_PORT}
}}
gone() {{ [ ! -e "$PID" ] && port_closed {TLS_PORT}; }}
do_start() {{
  setsid /usr/sbin/mariadbd "${{ARGS[@]}}" </dev/null >>"$LOG" 2>&1 &
  SERVER=$!
  wait_until 60 ready || fail "not ready after 60 s; see $LOG"
}}
do_stop() {{
  if [ -f "$PID" ]; then
    admin shutdown >/dev/null 2>&1 || kill "$(cat "$PID")" 2>/dev/null || true
  fi
  wait_until 60 gone || fail "still running 60 s after shutdown; see $LOG"
}}
do_status() {{ admin ping >/dev/null 2>&1 && port_open {TLS_PORT}; }}"#,
            sock = sh_path(&self.socket()),
            pid = sh_path(&self.pidfile()),
            log = sh_path(&self.log()),
            datadir = arg("--datadir", &data),
            socket = arg("--socket", &self.socket()),
            pidfile = arg("--pid-file", &self.pidfile()),
            logerr = arg("--log-error", &self.log()),
            ssl_ca = arg("--ssl-ca", &dir.join("ca.crt")),
            ssl_cert = arg("--ssl-cert", &dir.join("server.crt")),
            ssl_key = arg("--ssl-key", &dir.join("server.key")),
        );
        sys::write_ctl(&dir, "mariadb-tls", &body)
    }
    fn setup(&self) -> Res<()> {
        let mut c = sys::cmd("mariadb");
        c.args(["--no-defaults", "-uroot", "--connect-timeout=5"])
            .arg(format!("--socket={}", self.socket().display()));
        sys::output_with_stdin(&mut c, SETUP_SQL).map(drop)
    }
    fn verify(&self) -> Res<()> {
        verify(TLS_PORT, Some(&self.0.tls.ca))
    }
}

/// `--key=path`, quoted for the shell as one word.
fn sh_quote_arg(key: &str, path: &Path) -> String {
    sys::sh_quote(format!("{key}={}", path.display()))
}
