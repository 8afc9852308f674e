//! RabbitMQ on 5672 (guest/guest): the shared broker, or a node of ours when none answers.

use super::sys::{self, Res, sh_path};
use super::{Ctx, Server};
use std::path::PathBuf;
use std::time::Duration;

pub const PORT: u16 = 5672;
/// Our node's name: distinct from Debian's `rabbit@<host>`, because epmd registers nodes by
/// the part before `@` and two `rabbit`s cannot both register.
const NODE: &str = "op-rabbit@localhost";

/// Whether the peer speaks AMQP 0-9-1: a protocol header in gets a Connection.Start method
/// frame (type 1) back.
fn speaks_amqp() -> bool {
    sys::probe(PORT, b"AMQP\x00\x00\x09\x01").is_some_and(|r| r.first() == Some(&1))
}

/// Whether epmd knows a RabbitMQ node, i.e. one is booting (it takes ~15 s before the AMQP
/// listener opens) and is worth waiting for rather than starting a second one.
fn node_booting() -> bool {
    sys::output(sys::cmd("epmd").arg("-names"))
        .is_ok_and(|out| out.lines().any(|l| l.contains("rabbit")))
}

pub struct Rabbit<'a>(pub &'a Ctx);

impl Server for Rabbit<'_> {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }
    fn port(&self) -> u16 {
        PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("rabbitmq")
    }
    fn shared(&self) -> bool {
        true
    }
    fn log(&self) -> PathBuf {
        self.dir().join("log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.dir().join("rabbitmq.pid"))
    }
    fn answers(&self) -> bool {
        if sys::port_open(PORT) {
            return true;
        }
        node_booting() && sys::wait_until(Duration::from_secs(60), || sys::port_open(PORT))
    }
    fn prepare(&self) -> Res<PathBuf> {
        let dir = self.dir();
        sys::mkdir(&dir.join("home"))?;
        sys::write_if_changed(
            &dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{PORT}\n").as_bytes(),
            0o644,
        )?;
        sys::write_if_changed(&dir.join("enabled_plugins"), b"[].\n", 0o644)?;
        let body = format!(
            r#"D={d}
# A home of its own: the Erlang cookie lives there, apart from the shared broker's.
export HOME="$D/home" RABBITMQ_NODENAME={NODE} RABBITMQ_CONFIG_FILE="$D/rabbitmq.conf"
export RABBITMQ_ENABLED_PLUGINS_FILE="$D/enabled_plugins" RABBITMQ_MNESIA_BASE="$D/mnesia"
export RABBITMQ_LOG_BASE="$D/log" RABBITMQ_PID_FILE="$D/rabbitmq.pid" RABBITMQ_DIST_PORT=25673
export ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {{127,0,0,1}}"
B=/usr/lib/rabbitmq/bin
do_start() {{
  "$B/rabbitmq-server" -detached || fail "rabbitmq-server failed; see $D/log"
  "$B/rabbitmqctl" -n {NODE} wait --timeout 120 "$RABBITMQ_PID_FILE" >/dev/null \
    || fail "node not up after 120 s; see $D/log"
  wait_until 30 port_open {PORT} || fail "no AMQP listener on {PORT}; see $D/log"
}}
do_stop() {{
  if [ -f "$RABBITMQ_PID_FILE" ]; then
    "$B/rabbitmqctl" -n {NODE} stop "$RABBITMQ_PID_FILE" >/dev/null || true
    rm -f "$RABBITMQ_PID_FILE"
  fi
  wait_until 30 port_closed {PORT} || fail "still answering on {PORT} after stop"
  # Refuses while any node (e.g. the shared broker) is registered, which is what we want.
  epmd -kill >/dev/null 2>&1 || true
}}
do_status() {{ port_open {PORT}; }}"#,
            d = sh_path(&dir),
        );
        sys::write_ctl(&dir, "rabbitmq", &body)
    }
    fn verify(&self) -> Res<()> {
        if speaks_amqp() {
            Ok(())
        } else {
            Err(format!(
                "127.0.0.1:{PORT} does not answer an AMQP 0-9-1 protocol header"
            ))
        }
    }
}
