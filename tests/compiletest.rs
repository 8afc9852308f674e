//! Compile-error tests: one case per diagnostic under `tests/ui/<class>/`, each `.stderr`
//! checked on the pinned toolchain (`rust-toolchain.toml`). Regenerate with
//! `TRYBUILD=overwrite cargo test --test compiletest` and review every diff.

use std::path::{Path, PathBuf};

#[test]
fn ui() {
    mirror_fixtures();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/**/*.rs");
}

/// Cases for a build without the `odbc` connector (`cargo xtask test` runs this test once
/// more with the default features only): a declared odbc pool names the feature.
#[cfg(not(feature = "odbc"))]
#[test]
fn ui_without_odbc() {
    mirror_fixtures();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui_features/*.rs");
}

/// Cases for a build without the `redis` connector (`cargo xtask test` runs this test once
/// more with `--no-default-features --features pgsql`): a declared redis pool names the
/// feature.
#[cfg(not(feature = "redis"))]
#[test]
fn ui_without_redis() {
    mirror_fixtures();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui_features/without_redis/*.rs");
}

/// trybuild compiles the cases in a crate of its own, `<target>/tests/trybuild/outgoing-pools`,
/// and `file = "..."` is relative to that crate's `CARGO_MANIFEST_DIR`: the TOML fixtures are
/// copied there under the same relative paths, so a case names them as this crate sees them.
fn mirror_fixtures() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp");
    let project = target.join("tests/trybuild/outgoing-pools");
    let fixtures = PathBuf::from("tests/ui/file/fixtures");
    let to = project.join(&fixtures);
    std::fs::create_dir_all(&to).expect("create the fixtures folder in trybuild's crate");
    for entry in std::fs::read_dir(manifest.join(&fixtures)).expect("tests/ui/file/fixtures") {
        let path = entry.expect("a fixture").path();
        let name = path.file_name().expect("a file name");
        std::fs::copy(&path, to.join(name)).expect("copy a fixture");
    }
}
