//! Redis: the shared server on 6379 (or one of ours when none answers) and a throwaway TLS
//! server with a password on 6380.

use super::sys::{self, Res, sh_path, sh_quote};
use super::{Ctx, Server};
use std::path::{Path, PathBuf};

pub const PORT: u16 = 6379;
pub const TLS_PORT: u16 = 6380;
pub const TLS_PASSWORD: &str = "secret";

/// A control script for a `redis-server` of ours; `cli` is the `redis-cli` call that reaches it.
fn ctl(dir: &Path, name: &str, port: u16, server_args: &str, cli: &str) -> Res<PathBuf> {
    let body = format!(
        r#"D={d}
PID="$D/redis.pid"
LOG="$D/redis.log"
ready() {{ {cli} ping 2>/dev/null | grep -q PONG; }}
gone() {{ [ ! -e "$PID" ] && port_closed {port}; }}
do_start() {{
  redis-server {server_args} --daemonize yes --pidfile "$PID" --dir "$D" --logfile "$LOG" \
    --save '' --appendonly no || fail "redis-server failed; see $LOG"
  wait_until 30 ready || fail "not answering on {port} after 30 s; see $LOG"
}}
do_stop() {{
  if [ -f "$PID" ]; then kill "$(cat "$PID")" 2>/dev/null || true; fi
  wait_until 30 gone || fail "still running 30 s after SIGTERM; see $LOG"
}}
do_status() {{ ready; }}"#,
        d = sh_path(dir),
    );
    sys::write_ctl(dir, name, &body)
}

pub struct Shared<'a>(pub &'a Ctx);

impl Server for Shared<'_> {
    fn name(&self) -> &'static str {
        "redis"
    }
    fn port(&self) -> u16 {
        PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("redis")
    }
    fn shared(&self) -> bool {
        true
    }
    fn log(&self) -> PathBuf {
        self.dir().join("redis.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.dir().join("redis.pid"))
    }
    fn prepare(&self) -> Res<PathBuf> {
        sys::mkdir(&self.dir())?;
        ctl(
            &self.dir(),
            "redis",
            PORT,
            &format!("--port {PORT} --bind 127.0.0.1 -::1"),
            &format!("redis-cli -h 127.0.0.1 -p {PORT}"),
        )
    }
    fn verify(&self) -> Res<()> {
        match sys::probe(PORT, b"PING\r\n") {
            Some(r) if r.starts_with(b"+PONG") => Ok(()),
            Some(r) => Err(format!(
                "127.0.0.1:{PORT} answered PING with {:?}; the tests expect a Redis without a password",
                String::from_utf8_lossy(&r).trim()
            )),
            None => Err(format!("127.0.0.1:{PORT} does not answer PING")),
        }
    }
}

pub struct Tls<'a>(pub &'a Ctx);

impl Tls<'_> {
    fn cli(&self) -> String {
        format!(
            "redis-cli -h 127.0.0.1 -p {TLS_PORT} --tls --cacert {} -a {TLS_PASSWORD} --no-auth-warning",
            sh_path(&self.0.tls.ca)
        )
    }
}

impl Server for Tls<'_> {
    fn name(&self) -> &'static str {
        "redis-tls"
    }
    fn port(&self) -> u16 {
        TLS_PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("redis-tls")
    }
    fn log(&self) -> PathBuf {
        self.dir().join("redis.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.dir().join("redis.pid"))
    }
    fn prepare(&self) -> Res<PathBuf> {
        sys::mkdir(&self.dir())?;
        let tls = &self.0.tls;
        // Runs as root, so it reads the certificate folder directly.
        let args = format!(
            "--port 0 --tls-port {TLS_PORT} --bind 127.0.0.1 --requirepass {} \
             --tls-cert-file {} --tls-key-file {} --tls-ca-cert-file {} --tls-auth-clients no",
            sh_quote(TLS_PASSWORD),
            sh_path(&tls.cert),
            sh_path(&tls.key),
            sh_path(&tls.ca),
        );
        ctl(&self.dir(), "redis-tls", TLS_PORT, &args, &self.cli())
    }
    fn verify(&self) -> Res<()> {
        let out = sys::output(
            sys::cmd("bash")
                .arg("-c")
                .arg(format!("{} ping", self.cli())),
        )?;
        if out.contains("PONG") {
            Ok(())
        } else {
            Err(format!(
                "redis-cli over TLS on {TLS_PORT} answered {:?}",
                out.trim()
            ))
        }
    }
}
