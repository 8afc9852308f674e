//! Process, file, user and network helpers shared by the services (std only, Linux only).

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, String>;

/// Whether something accepts TCP connections on `127.0.0.1:port` right now.
pub fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Connects to `127.0.0.1:port`, sends `hello` and returns the first bytes the peer answers.
/// Used to tell a real server from something else that merely listens on its port.
pub fn probe(port: u16, hello: &[u8]) -> Option<Vec<u8>> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    if !hello.is_empty() {
        s.write_all(hello).ok()?;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    (n > 0).then(|| buf[..n].to_vec())
}

/// Polls `ready` every 200 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `PATH` with the sbin folders added: runuser, start-stop-daemon and slapadd live there, and
/// a non-login shell (or CI's environment) may not have them.
fn path_with_sbin() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let mut path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        for dir in ["/usr/local/sbin", "/usr/sbin", "/sbin"] {
            if !path.split(':').any(|p| p == dir) {
                path.push(':');
                path.push_str(dir);
            }
        }
        path
    })
}

/// A command with stdin closed: nothing we start may wait for a terminal (CI has no stdin).
pub fn cmd(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.stdin(Stdio::null()).env("PATH", path_with_sbin());
    c
}

/// `cmd` run as another system user (we are root; `runuser` needs no password and no PAM session).
pub fn cmd_as(user: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = cmd("runuser");
    c.args(["-u", user, "--"]).arg(program);
    c
}

/// Runs `c`, returns its stdout; on failure the error holds the command and what it printed.
pub fn output(c: &mut Command) -> Res<String> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", show(c)))?;
    checked(c, out)
}

/// Like [`output`], with `input` written to the command's stdin.
pub fn output_with_stdin(c: &mut Command, input: &str) -> Res<String> {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", show(c)))?;
    let mut stdin = child.stdin.take().expect("piped");
    // Written from a thread: a command that prints a lot before reading all its input would
    // otherwise block on a full pipe while we block on its stdin.
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot run {}: {e}", show(c)))?;
    let _ = writer.join();
    checked(c, out)
}

fn checked(c: &Command, out: std::process::Output) -> Res<String> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "{} failed ({}):\n{}{}",
        show(c),
        out.status,
        tail(&stdout, 15),
        tail(&String::from_utf8_lossy(&out.stderr), 15)
    ))
}

/// Runs `c` for its exit status only, discarding what it prints.
pub fn succeeds(c: &mut Command) -> bool {
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `c` with stdout and stderr appended to `log`; a daemon it leaves behind then holds the
/// log file, never our own stdout (a CI runner waits for every holder of its pipe to close).
pub fn run_logged(c: &mut Command, log: &Path) -> Res<()> {
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let status = c
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", show(c)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({status}); log {}:\n{}",
            show(c),
            log.display(),
            tail_file(log, 20)
        ))
    }
}

/// A command as a person would type it, for error messages.
pub fn show(c: &Command) -> String {
    let mut s = format!("`{}", c.get_program().to_string_lossy());
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s.push('`');
    s
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut s = lines[lines.len().saturating_sub(n)..].join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// The last `n` lines of a log file (empty when there is none yet).
pub fn tail_file(path: &Path, n: usize) -> String {
    let text = fs::read(path).unwrap_or_default();
    tail(&String::from_utf8_lossy(&text), n)
}

/// Quotes `s` for a POSIX shell.
pub fn sh_quote(s: impl AsRef<str>) -> String {
    format!("'{}'", s.as_ref().replace('\'', r"'\''"))
}

pub fn sh_path(p: &Path) -> String {
    sh_quote(p.to_string_lossy())
}

pub fn mkdir(p: &Path) -> Res<()> {
    fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
}

/// Writes `contents` through a temporary file and a rename, so that a reader (or a run that is
/// interrupted) never sees half a file.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Res<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, contents).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes the file only when its contents differ, so that an unchanged run touches nothing.
pub fn write_if_changed(path: &Path, contents: &[u8], mode: u32) -> Res<bool> {
    if fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(false);
    }
    write_atomic(path, contents, mode)?;
    Ok(true)
}

pub fn remove_dir(p: &Path) -> Res<()> {
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", p.display())),
    }
}

/// Our effective uid, from /proc (std has no getuid).
pub fn uid() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|u| u.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

pub fn is_root() -> bool {
    uid() == 0
}

/// uid and gid of a system user, from /etc/passwd.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        if f.next()? != name {
            return None;
        }
        f.next()?; // the password field
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

pub fn chown(path: &Path, user: &str) -> Res<()> {
    let (u, g) = user_ids(user).ok_or_else(|| format!("no system user `{user}`"))?;
    std::os::unix::fs::chown(path, Some(u), Some(g))
        .map_err(|e| format!("cannot chown {} to {user}: {e}", path.display()))
}

/// Copies a certificate or key where a server running as `user` can read it, with `mode`.
pub fn install_file(src: &Path, dst: &Path, user: &str, mode: u32) -> Res<()> {
    let data = fs::read(src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    write_atomic(dst, &data, mode)?;
    chown(dst, user)
}

/// Makes `dir` owned by `user` and checks that `user` can actually reach it: a server that
/// drops to its own user cannot start below a folder like /root (mode 0700).
pub fn dir_for_user(dir: &Path, user: &str) -> Res<()> {
    mkdir(dir)?;
    chown(dir, user)?;
    if is_root() && !succeeds(cmd_as(user, "test").arg("-w").arg(dir)) {
        return Err(format!(
            "the `{user}` user cannot reach {} (a parent folder is not traversable, e.g. /root is 0700); \
             set CARGO_TARGET_DIR to a folder under /var/tmp",
            dir.display()
        ));
    }
    Ok(())
}

/// Whether the process whose pid is in `pidfile` is alive. A zombie is not: PID 1 reaps late
/// here, so `kill -0` would still see a daemon that has exited.
pub fn pidfile_alive(pidfile: &Path) -> bool {
    let Some(pid) = fs::read_to_string(pidfile)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
    else {
        return false;
    };
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// The pid of the process listening on `127.0.0.1:port`, from `ss`.
fn listener_pid(port: u16) -> Option<u32> {
    let out = cmd("ss")
        .args(["-Hltnp", &format!("sport = :{port}")])
        .output()
        .ok()?;
    // users:(("postgres",pid=10970,fd=6))
    String::from_utf8_lossy(&out.stdout)
        .split("pid=")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The process listening on a port, with its command line (which names its data folder), to
/// name the stranger holding the port in an error message.
pub fn who_listens(port: u16) -> String {
    match listener_pid(port) {
        Some(pid) => format!("process {pid} (`{}`)", cmdline(pid).join(" ")),
        None => "a process".into(),
    }
}

/// The `…/test-services` state folder of another `services up` (another checkout or target
/// folder) whose server listens on `port`, read off the server's command line or working
/// folder (where each of our servers names its data folder).
pub fn owner_state(port: u16) -> Option<PathBuf> {
    const MARK: &str = "/test-services/";
    let pid = listener_pid(port)?;
    let mut places = cmdline(pid);
    places.extend(
        fs::read_link(format!("/proc/{pid}/cwd"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
    );
    places.iter().find_map(|arg| {
        let at = arg.find(MARK)?;
        let start = arg[..at].rfind(['=', ' ']).map_or(0, |i| i + 1);
        let state = PathBuf::from(&arg[start..at + MARK.len() - 1]);
        state.is_absolute().then_some(state)
    })
}

/// The newest PostgreSQL server binaries folder, e.g. /usr/lib/postgresql/15/bin.
pub fn pg_bindir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// Writes a control script `dir/ctl` taking start|stop|restart|status. Tests use it to stop and
/// restart a server, and `services down` uses it to stop one, so it is the single place that
/// knows how. `start` and `stop` return only once the server answers or is gone.
pub fn write_ctl(dir: &Path, name: &str, body: &str) -> Res<PathBuf> {
    let script = format!(
        r#"#!/bin/bash
# Written by `cargo xtask services up`: start|stop|restart|status the {name} test server.
set -euo pipefail
# Tests run this with their own PATH, which may lack the sbin folders.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
port_open() {{ (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }}
port_closed() {{ ! port_open "$1"; }}
# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds; fails after SECONDS.
wait_until() {{
  local end=$((SECONDS + $1)); shift
  until "$@"; do
    if (( SECONDS >= end )); then return 1; fi
    sleep 0.2
  done
}}
fail() {{ echo "{name}: $*" >&2; exit 1; }}
{body}
case "${{1:-}}" in
  start) if ! do_status; then do_start; fi ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status) do_status ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
"#
    );
    let path = dir.join("ctl");
    write_if_changed(&path, script.as_bytes(), 0o755)?;
    Ok(path)
}

/// Runs `ctl action` with its output in `log`.
pub fn ctl(ctl: &Path, action: &str, log: &Path) -> Res<()> {
    run_logged(cmd(ctl).arg(action), log)
}

/// Debian packages that are not installed, out of `wanted`.
pub fn missing_packages(wanted: &[&str]) -> Vec<String> {
    if wanted.is_empty() {
        return Vec::new();
    }
    // Unknown names make dpkg-query fail, but it still prints the known ones.
    let out = cmd("dpkg-query")
        .arg("-W")
        .arg("-f=${Package} ${db:Status-Abbrev}\n")
        .args(wanted)
        .output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let installed: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let (pkg, status) = l.split_once(' ')?;
            status.starts_with("ii").then_some(pkg)
        })
        .collect();
    wanted
        .iter()
        .filter(|p| !installed.contains(p))
        .map(|p| p.to_string())
        .collect()
}

/// One `apt-get update` and one `apt-get install -y` of everything missing.
pub fn apt_install(packages: &[String], log: &Path) -> Res<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let list = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "Debian packages missing: {list}; install them as root (`apt-get install -y {list}`) or run this as root"
        ));
    }
    eprintln!("services: installing {list} (log {})", log.display());
    if packages.iter().any(|p| p == "slapd") {
        // Without this, slapd's postinst would build a system directory with a prompt for its
        // password; the tests run a private instance instead.
        let mut c = cmd("debconf-set-selections");
        c.stdin(Stdio::piped());
        let mut child = c
            .spawn()
            .map_err(|e| format!("cannot run debconf-set-selections: {e}"))?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(b"slapd slapd/no_configuration boolean true\n")
            .map_err(|e| e.to_string())?;
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("debconf-set-selections failed: {status}"));
        }
    }
    let apt = |args: &[&str]| {
        let mut c = cmd("apt-get");
        c.env("DEBIAN_FRONTEND", "noninteractive")
            // Another apt run (a person, unattended-upgrades) may hold the lock for a moment.
            .args(["-o", "DPkg::Lock::Timeout=120", "-q"])
            .args(args);
        c
    };
    run_logged(&mut apt(&["update"]), log)?;
    let mut install = apt(&["install", "-y"]);
    install.args(packages);
    run_logged(&mut install, log)
}
