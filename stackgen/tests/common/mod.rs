//! Helpers shared by the integration tests: the repository's paths and the project tools.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod vtl;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A tool from the project's virtualenv: `$VENV/bin`, then `.venv/bin` at the repository
/// root, then `PATH`. Panics with the fix when it is nowhere.
pub fn tool(name: &str) -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(venv) = std::env::var_os("VENV") {
        candidates.push(PathBuf::from(venv).join("bin").join(name));
    }
    candidates.push(repo().join(".venv/bin").join(name));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(name)));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` not found: run scripts/setup.sh (it installs the tools into .venv)")
        })
}

/// Runs cfn-lint over `files` and fails the test with its findings unless there are none.
pub fn assert_cfn_lint_clean<P: AsRef<std::ffi::OsStr>>(files: &[P], what: &str) {
    let out = std::process::Command::new(tool("cfn-lint"))
        .args(files)
        .output()
        .expect("run cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint found problems in {what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The rendered files of the repository's model, in memory.
pub fn render_repo() -> Vec<(String, String)> {
    render_model(&repo().join("model"))
}

/// The rendered files of the model in `dir`, with the repository's templates, by name;
/// panics with the findings if it does not load or check.
pub fn render_model(dir: &Path) -> Vec<(String, String)> {
    let model = stackgen::model::load(dir).unwrap_or_else(|d| panic!("{d:#?}"));
    let app = stackgen::app::App::check(model).unwrap_or_else(|d| panic!("{d:#?}"));
    let renderer =
        stackgen::render::Renderer::new(&repo().join("templates")).expect("templates load");
    renderer.render_all(&app).expect("templates render")
}
