//! `cargo xtask test [--] [cargo test args]`: check formatting and lints, bring the services
//! up, then run every test of the workspace (all targets, then doc tests) with the services'
//! environment.
//!
//! Then the compile-error cases that need a connector's feature off run once more with the
//! default features only, and the pool core's hand-off is model-checked with loom
//! (`--cfg pool_loom`, in its own build folder so the two builds do not invalidate each
//! other).
//!
//! Every step runs even when an earlier one fails, so one run shows every failure; the command
//! fails when any step does and names the steps that failed.

use std::process::Command;

pub fn run(args: &[String]) -> Result<(), String> {
    let extra: &[String] = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    // Formatting, lints and docs first: CI enforces them, and they need no service.
    let mut failed = Vec::new();
    for check in [
        &["fmt", "--all", "--", "--check"][..],
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        // The option table stays free of the parsers (the runtime reads it alone).
        &[
            "clippy",
            "-p",
            "pool-spec",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
        &["doc", "--workspace", "--all-features", "--no-deps"],
    ] {
        let shown = format!("cargo {}", check.join(" "));
        eprintln!("xtask test: {shown}");
        // Broken intra-doc links fail the docs step, as lints fail clippy.
        let vars = match check[0] {
            "doc" => vec![("RUSTDOCFLAGS".to_owned(), "-D warnings".to_owned())],
            _ => Vec::new(),
        };
        if let Err(e) = cargo(check, &[], &vars, false) {
            eprintln!("xtask test: {shown} FAILED: {e}");
            failed.push(format!("`{shown}` ({e})"));
        }
    }
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
    let loom = [
        "test",
        "-p",
        "pool-runtime",
        "--lib",
        "--release",
        "core::loom_tests",
    ];
    let mut steps: Vec<(Vec<&str>, &[String], bool)> = vec![
        (
            // Every test binary runs even when one fails, so one run shows every failure.
            [
                &["test", "--no-fail-fast"],
                scope,
                &["--all-features", "--all-targets"],
            ]
            .concat(),
            extra,
            false,
        ),
        (
            [&["test"], scope, &["--all-features", "--doc"]].concat(),
            extra,
            false,
        ),
    ];
    // The default features only (no `odbc`): the declaration's feature check.
    let without_odbc = [
        "test",
        "-p",
        "outgoing-pools",
        "--test",
        "compiletest",
        "--",
        "ui_without_odbc",
        "--exact",
    ];
    // Without `redis` (a default feature): the same check for a declared redis pool.
    let without_redis = [
        "test",
        "-p",
        "outgoing-pools",
        "--no-default-features",
        "--features",
        "pgsql",
        "--test",
        "compiletest",
        "--",
        "ui_without_redis",
        "--exact",
    ];
    if !picks_packages {
        steps.push((without_odbc.to_vec(), &[], false));
        steps.push((without_redis.to_vec(), &[], false));
        steps.push((loom.to_vec(), &[], true));
    }
    let total = steps.len();
    for (i, (step, extra, loom)) in steps.iter().enumerate() {
        let shown = format!("cargo {} {}", step.join(" "), extra.join(" "));
        let shown = shown.trim_end();
        eprintln!("xtask test: step {}/{total}: {shown}", i + 1);
        if let Err(e) = cargo(step, extra, &vars, *loom) {
            eprintln!("xtask test: step {}/{total} FAILED: {e}", i + 1);
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
/// `loom`: build with `--cfg pool_loom` in `<target>/loom`.
fn cargo(
    args: &[&str],
    extra: &[String],
    vars: &[(String, String)],
    loom: bool,
) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    // A relative target folder was meant from where we were started, not from the workspace
    // root where this cargo runs (the services' state is already in the former).
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        Some(t) => std::env::current_dir()
            .map(|cwd| cwd.join(t))
            .map_err(|e| format!("no current folder: {e}"))?,
        None => crate::project_root().join("target"),
    };
    if loom {
        command
            .env("CARGO_TARGET_DIR", target.join("loom"))
            .env("RUSTFLAGS", "--cfg pool_loom")
            .env("LOOM_MAX_PREEMPTIONS", "3");
    } else {
        command.env("CARGO_TARGET_DIR", target);
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
