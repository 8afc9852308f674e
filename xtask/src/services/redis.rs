//! Redis: the shared server on 6379 (or one of ours when none answers), a throwaway TLS
//! server with a password and an ACL user on 6380, a throwaway cluster (three masters with a
//! replica each, 7001–7006), a throwaway TLS-only cluster (three masters, 7101–7103) and a
//! throwaway Sentinel (master 6390, replica 6391, sentinel 26390).

use super::sys::{self, Res, sh_path, sh_quote};
use super::{Ctx, Server};
use std::path::{Path, PathBuf};

pub const PORT: u16 = 6379;
pub const TLS_PORT: u16 = 6380;
pub const TLS_PASSWORD: &str = "secret";
/// The ACL user of the TLS server, beside the `default` user's password.
pub const TLS_USER: &str = "pool";
pub const TLS_USER_PASSWORD: &str = "poolpass";
/// The cluster's nodes: the first three start as masters, each of the others as a replica.
pub const CLUSTER_PORTS: [u16; 6] = [7001, 7002, 7003, 7004, 7005, 7006];
/// The TLS cluster's nodes, three masters speaking TLS only (clients, replication and the
/// cluster bus, where each node presents a client identity of the test CA). Clients are not
/// asked for certificates.
pub const CLUSTER_TLS_PORTS: [u16; 3] = [7101, 7102, 7103];
/// The Sentinel's master, its replica, the sentinel, and the name it monitors.
pub const SENTINEL_MASTER_PORT: u16 = 6390;
pub const SENTINEL_REPLICA_PORT: u16 = 6391;
pub const SENTINEL_PORT: u16 = 26390;
pub const SENTINEL_MASTER_NAME: &str = "pool-master";

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
        // Runs as root, so it reads the certificate folder directly. The ACL user is part of
        // the command line, so a test that restarts the server finds it again. A client
        // certificate is optional, but one that is presented must be the test CA's: the
        // tests of client certificates present a good and a foreign one.
        let args = format!(
            "--port 0 --tls-port {TLS_PORT} --bind 127.0.0.1 --requirepass {} \
             --user {TLS_USER} on {} '~*' '&*' +@all \
             --tls-cert-file {} --tls-key-file {} --tls-ca-cert-file {} --tls-auth-clients optional",
            sh_quote(TLS_PASSWORD),
            sh_quote(format!(">{TLS_USER_PASSWORD}")),
            sh_path(&tls.cert),
            sh_path(&tls.key),
            sh_path(&tls.ca),
        );
        ctl(&self.dir(), "redis-tls", TLS_PORT, &args, &self.cli())
    }
    /// Both logins the tests make (the `default` user's password and the ACL user) and
    /// client certificates checked when presented. A server of ours started by an older
    /// script fails this and is restarted.
    fn verify(&self) -> Res<()> {
        let out = sys::output(
            sys::cmd("bash")
                .arg("-c")
                .arg(format!("{} ping", self.cli())),
        )?;
        if !out.contains("PONG") {
            return Err(format!(
                "redis-cli over TLS on {TLS_PORT} answered {:?}",
                out.trim()
            ));
        }
        let user = format!(
            "redis-cli -h 127.0.0.1 -p {TLS_PORT} --tls --cacert {} --user {TLS_USER} --pass {} \
             --no-auth-warning acl whoami",
            sh_path(&self.0.tls.ca),
            sh_quote(TLS_USER_PASSWORD)
        );
        let out = sys::output(sys::cmd("bash").arg("-c").arg(user))?;
        if out.trim() != TLS_USER {
            return Err(format!(
                "the ACL user `{TLS_USER}` cannot log in on {TLS_PORT}: {:?}",
                out.trim()
            ));
        }
        // The client-certificate tests need presented certificates checked.
        let out = cli_output(&self.cli(), "config get tls-auth-clients")?;
        if out.lines().nth(1).map(str::trim) == Some("optional") {
            Ok(())
        } else {
            Err(format!(
                "tls-auth-clients on {TLS_PORT} is {:?}, not `optional`",
                out.trim()
            ))
        }
    }
}

/// Runs `cli args` and returns what it printed.
fn cli_output(cli: &str, args: &str) -> Res<String> {
    sys::output(sys::cmd("bash").arg("-c").arg(format!("{cli} {args}")))
}

/// The `redis-server` line of a throwaway node on `port`, its files in `$D/<port>`; `listen`
/// is `--port {port}`, or `--port 0 --tls-port {port} …` for TLS, and `cli` the `redis-cli`
/// that reaches it.
fn node(port: u16, listen: &str, extra: &str, cli: &str) -> String {
    format!(
        r#"mkdir -p "$D/{port}"
  redis-server {listen} --bind 127.0.0.1 --daemonize yes --pidfile "$D/{port}/redis.pid" \
    --dir "$D/{port}" --logfile "$D/{port}/redis.log" --save '' --appendonly no {extra} \
    || fail "redis-server on {port} failed; see $D/{port}/redis.log"
  wait_until 30 {cli} -p {port} ping >/dev/null || fail "{port} not answering after 30 s""#
    )
}

/// A plain node on `port`.
fn plain_node(port: u16, extra: &str) -> String {
    node(port, &format!("--port {port}"), extra, "redis-cli")
}

/// Stops every node whose pid file is in `$D/*/`.
const STOP_NODES: &str = r#"for f in "$D"/*/redis.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done"#;

/// A throwaway cluster: the plain one (three masters with a replica each) or the TLS one
/// (three masters).
pub struct Cluster<'a> {
    ctx: &'a Ctx,
    tls: bool,
}

impl<'a> Cluster<'a> {
    pub fn plain(ctx: &'a Ctx) -> Self {
        Cluster { ctx, tls: false }
    }

    pub fn tls(ctx: &'a Ctx) -> Self {
        Cluster { ctx, tls: true }
    }

    fn ports(&self) -> &'static [u16] {
        if self.tls {
            &CLUSTER_TLS_PORTS
        } else {
            &CLUSTER_PORTS
        }
    }

    /// `redis-cli` as it reaches the nodes (over TLS, trusting the test CA, for the TLS one).
    fn cli(&self) -> String {
        if self.tls {
            format!("redis-cli --tls --cacert {}", sh_path(&self.ctx.tls.ca))
        } else {
            "redis-cli".into()
        }
    }

    fn node(&self, port: u16, bus: Option<&(PathBuf, PathBuf)>) -> String {
        let cluster = format!(
            "--cluster-enabled yes --cluster-config-file \"$D/{port}/nodes.conf\" \
             --cluster-node-timeout 2000"
        );
        if !self.tls {
            return plain_node(port, &cluster);
        }
        let tls = &self.ctx.tls;
        let (bus_cert, bus_key) = bus.expect("a TLS cluster's nodes have a bus identity");
        let listen = format!(
            "--port 0 --tls-port {port} --tls-cluster yes --tls-replication yes \
             --tls-cert-file {} --tls-key-file {} --tls-ca-cert-file {} --tls-auth-clients no \
             --tls-client-cert-file {} --tls-client-key-file {}",
            sh_path(&tls.cert),
            sh_path(&tls.key),
            sh_path(&tls.ca),
            sh_path(bus_cert),
            sh_path(bus_key),
        );
        node(port, &listen, &cluster, &self.cli())
    }
}

impl Server for Cluster<'_> {
    fn name(&self) -> &'static str {
        if self.tls {
            "redis-cluster-tls"
        } else {
            "redis-cluster"
        }
    }
    fn port(&self) -> u16 {
        self.ports()[0]
    }
    fn dir(&self) -> PathBuf {
        self.ctx.dir(self.name())
    }
    fn log(&self) -> PathBuf {
        self.dir()
            .join(self.ports()[0].to_string())
            .join("redis.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(
            &self
                .dir()
                .join(self.ports()[0].to_string())
                .join("redis.pid"),
        )
    }
    fn prepare(&self) -> Res<PathBuf> {
        sys::mkdir(&self.dir())?;
        // The nodes present it to each other on the cluster bus, which checks it.
        let bus = match self.tls {
            true => Some(self.ctx.tls.client_identity(&self.dir(), "bus")?),
            false => None,
        };
        let nodes: Vec<String> = self
            .ports()
            .iter()
            .map(|p| self.node(*p, bus.as_ref()))
            .collect();
        let addrs: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let first = self.ports()[0];
        let ports = self
            .ports()
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let cli = self.cli();
        let replicas = if self.tls { 0 } else { 1 };
        let body = format!(
            r#"D={d}
healthy() {{ {cli} -p {first} cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }}
gone() {{ for p in {ports}; do port_open "$p" && return 1; done; return 0; }}
do_start() {{
  # A cluster made anew each time: its nodes remember nothing of the last one.
  for p in {ports}; do rm -rf "${{D:?}}/$p"; done
  {nodes}
  {cli} --cluster create {addrs} --cluster-replicas {replicas} --cluster-yes >"$D/create.log" 2>&1 \
    || fail "redis-cli --cluster create failed; see $D/create.log"
  wait_until 30 healthy || fail "cluster not ok after 30 s; see $D/create.log"
}}
do_stop() {{
  {STOP_NODES}
  wait_until 30 gone || fail "nodes still running 30 s after SIGTERM"
}}
do_status() {{ healthy; }}"#,
            d = sh_path(&self.dir()),
            nodes = nodes.join("\n  "),
            addrs = addrs.join(" "),
        );
        sys::write_ctl(&self.dir(), self.name(), &body)
    }
    fn verify(&self) -> Res<()> {
        let first = self.ports()[0];
        let cli = format!("{} -c -p {first}", self.cli());
        let info = cli_output(&cli, "cluster info")?;
        if !info.contains("cluster_state:ok") {
            return Err(format!("the cluster on {first} is not ok: {}", info.trim()));
        }
        // Keys in other nodes' slots: the client follows MOVED.
        for key in ["a", "b", "c"] {
            cli_output(&cli, &format!("set xtask-check-{key} 1"))?;
        }
        Ok(())
    }
}

pub struct Sentinel<'a>(pub &'a Ctx);

impl Server for Sentinel<'_> {
    fn name(&self) -> &'static str {
        "redis-sentinel"
    }
    fn port(&self) -> u16 {
        SENTINEL_PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("redis-sentinel")
    }
    fn log(&self) -> PathBuf {
        self.dir().join("sentinel").join("redis.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.dir().join("sentinel").join("redis.pid"))
    }
    /// The Sentinel rewrites its process title and, started before it had a `--dir`, kept the
    /// working folder of whoever ran its ctl; the master runs in its own folder of ours.
    fn owner_port(&self) -> u16 {
        SENTINEL_MASTER_PORT
    }
    fn prepare(&self) -> Res<PathBuf> {
        sys::mkdir(&self.dir())?;
        let (m, r, s) = (SENTINEL_MASTER_PORT, SENTINEL_REPLICA_PORT, SENTINEL_PORT);
        let name = SENTINEL_MASTER_NAME;
        let body = format!(
            r#"D={d}
healthy() {{
  redis-cli -p {s} sentinel get-master-addr-by-name {name} 2>/dev/null | grep -q '^127.0.0.1$' &&
    redis-cli -p {s} sentinel replicas {name} 2>/dev/null | grep -q 'slave'
}}
gone() {{ port_closed {m} && port_closed {r} && port_closed {s}; }}
do_start() {{
  # Made anew each time: a failover test leaves the replica as master and the sentinel's
  # config rewritten.
  rm -rf "$D/{m}" "$D/{r}" "$D/sentinel"
  {master}
  {replica}
  mkdir -p "$D/sentinel"
  cat >"$D/sentinel/sentinel.conf" <<CONF
port {s}
bind 127.0.0.1
sentinel monitor {name} 127.0.0.1 {m} 1
sentinel down-after-milliseconds {name} 1000
sentinel failover-timeout {name} 3000
CONF
  redis-server "$D/sentinel/sentinel.conf" --sentinel --daemonize yes --dir "$D/sentinel" \
    --pidfile "$D/sentinel/redis.pid" --logfile "$D/sentinel/redis.log" \
    || fail "sentinel failed; see $D/sentinel/redis.log"
  wait_until 30 healthy || fail "sentinel does not see {name} and its replica after 30 s"
}}
do_stop() {{
  {STOP_NODES}
  wait_until 30 gone || fail "still running 30 s after SIGTERM"
}}
do_status() {{ healthy; }}"#,
            d = sh_path(&self.dir()),
            master = plain_node(m, ""),
            replica = plain_node(r, &format!("--replicaof 127.0.0.1 {m}")),
        );
        sys::write_ctl(&self.dir(), "redis-sentinel", &body)
    }
    fn verify(&self) -> Res<()> {
        let cli = format!("redis-cli -p {SENTINEL_PORT}");
        let master = cli_output(
            &cli,
            &format!("sentinel get-master-addr-by-name {SENTINEL_MASTER_NAME}"),
        )?;
        if master.lines().next().map(str::trim) == Some("127.0.0.1") {
            Ok(())
        } else {
            Err(format!(
                "sentinel on {SENTINEL_PORT} does not know {SENTINEL_MASTER_NAME}: {:?}",
                master.trim()
            ))
        }
    }
}
