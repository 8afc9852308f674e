//! Where the benchmarks' reports go.

use std::path::{Path, PathBuf};

/// `out` if given, else `<target>/bench`, the target folder being `CARGO_TARGET_DIR` if set,
/// else the one this binary was built into.
pub fn bench_dir(out: Option<&Path>) -> PathBuf {
    if let Some(out) = out {
        return out.to_path_buf();
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir), // an absolute path replaces `workspace`
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| {
                // Cargo marks the root of every target folder with CACHEDIR.TAG.
                exe.ancestors()
                    .find(|d| d.join("CACHEDIR.TAG").is_file())
                    .map(Path::to_path_buf)
            })
            .unwrap_or_else(|| workspace.join("target")),
    };
    target.join("bench")
}
