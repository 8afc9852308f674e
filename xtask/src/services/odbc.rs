//! ODBC: the DSN `pooltest` in /etc/odbc.ini, for the shared PostgreSQL through psqlODBC.

use super::POOL;
use super::sys::{self, Res};
use std::path::Path;

pub const DSN: &str = "pooltest";
/// Registered by the odbc-postgresql package in /etc/odbcinst.ini.
pub const DRIVER: &str = "PostgreSQL Unicode";
const ODBC_INI: &str = "/etc/odbc.ini";

pub fn connection_string() -> String {
    format!(
        "Driver={{{DRIVER}}};Server=127.0.0.1;Port={};Database={POOL};Uid={POOL};Pwd={POOL};",
        super::postgres::PORT
    )
}

fn section() -> String {
    format!(
        "[{DSN}]
Description = PostgreSQL on loopback for the outgoing-pools tests
Driver      = {DRIVER}
Servername  = 127.0.0.1
Port        = {}
Database    = {POOL}
Username    = {POOL}
Password    = {POOL}
SSLMode     = disable
",
        super::postgres::PORT
    )
}

/// `ini` with the `[pooltest]` section replaced by (or, when missing, followed by) `section`;
/// every other section is kept as it was.
fn with_section(ini: &str, section: &str) -> String {
    let header = format!("[{DSN}]");
    let mut out = String::new();
    let mut skipping = false;
    let mut replaced = false;
    for line in ini.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = trimmed.eq_ignore_ascii_case(&header);
            if skipping && !replaced {
                out.push_str(section);
                replaced = true;
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(section);
    }
    out
}

/// Registers the DSN (rewriting /etc/odbc.ini only when it differs) and checks that `isql`
/// reaches PostgreSQL through it.
pub fn ensure() -> Res<&'static str> {
    let path = Path::new(ODBC_INI);
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = with_section(&old, &section());
    let changed = sys::write_if_changed(path, new.as_bytes(), 0o644)?;
    let out = sys::output_with_stdin(
        sys::cmd("isql").args(["-b", DSN, POOL, POOL]),
        "SELECT 40 + 2;\n",
    )?;
    if !out.contains("42") {
        return Err(format!("isql {DSN} answered {:?}", out.trim()));
    }
    Ok(if changed {
        "registered DSN pooltest"
    } else {
        "reused DSN pooltest"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_is_added_replaced_and_others_kept() {
        let s = section();
        assert_eq!(with_section("", &s), s);
        let other = "[other]\nDriver = X\n";
        let added = with_section(other, &s);
        assert_eq!(added, format!("{other}\n{s}"));
        let stale = format!("[other]\nDriver = X\n[{DSN}]\nPort = 1\n\n[last]\nA = b\n");
        let fixed = with_section(&stale, &s);
        assert_eq!(fixed, format!("[other]\nDriver = X\n{s}[last]\nA = b\n"));
        assert_eq!(
            with_section(&fixed, &s),
            fixed,
            "a second run changes nothing"
        );
    }
}
