//! `cargo xtask test [--] [cargo test args]`: bring the services up, then run every test of the
//! workspace (all targets, then doc tests) with the services' environment.
//!
//! Both test steps run even when the first fails, so one run shows every failure; the command
//! fails when any step does and names the steps that failed.

use std::process::Command;

pub fn run(args: &[String]) -> Result<(), String> {
    let extra: &[String] = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    let vars = crate::services::up().map_err(|e| format!("step `services up` failed:\n{e}"))?;

    // `-- -p some-crate` narrows the run; with `--workspace` cargo would ignore it.
    let picks_packages = extra.iter().any(|a| {
        a == "-p"
            || a == "--package"
            || a.starts_with("--package=")
            || (a.starts_with("-p") && a.len() > 2)
    });
    let scope: &[&str] = if picks_packages {
        &[]
    } else {
        &["--workspace"]
    };
    let steps: [Vec<&str>; 2] = [
        [&["test"], scope, &["--all-features", "--all-targets"]].concat(),
        [&["test"], scope, &["--all-features", "--doc"]].concat(),
    ];
    let mut failed = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let shown = format!("cargo {} {}", step.join(" "), extra.join(" "));
        let shown = shown.trim_end();
        eprintln!("xtask test: step {}/{}: {shown}", i + 1, steps.len());
        if let Err(e) = cargo(step, extra, &vars) {
            eprintln!("xtask test: step {}/{} FAILED: {e}", i + 1, steps.len());
            failed.push(format!("`{shown}` ({e})"));
        }
    }
    if failed.is_empty() {
        eprintln!("xtask test: every step passed");
        Ok(())
    } else {
        Err(format!("failed step(s): {}", failed.join("; ")))
    }
}

/// Runs the cargo that runs us, in the workspace root, with the service variables set.
fn cargo(args: &[&str], extra: &[String], vars: &[(String, String)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        // A relative one was meant from where we were started, not from the workspace root
        // where this cargo runs (the services' state is already in the former).
        if let Ok(cwd) = std::env::current_dir() {
            command.env("CARGO_TARGET_DIR", cwd.join(t));
        }
    }
    let status = command
        .args(args)
        .args(extra)
        .current_dir(crate::project_root())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        // Under `cargo xtask test` a test whose service is missing must fail, never skip.
        .env_remove("OP_ALLOW_MISSING_SERVICES")
        .status()
        .map_err(|e| format!("cannot run `{cargo}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}
