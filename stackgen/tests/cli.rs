//! End-to-end tests of the built `stackgen` binary, each in a temporary copy of the repository.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn stackgen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackgen"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run stackgen")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary repository with the real model, templates and generated files.
fn sandbox() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    for dir in ["model", "templates", "generated"] {
        common::copy_dir(&common::repo().join(dir), &tmp.path().join(dir));
    }
    tmp
}

#[test]
fn render_check_passes_on_the_committed_templates() {
    let tmp = sandbox();
    let out = stackgen(tmp.path(), &["render", "--check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn the_local_commands_point_to_stackgen_cloud() {
    let tmp = sandbox();
    let out = stackgen(tmp.path(), &["local", "--watch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cargo run -p stackgen-cloud -- local --watch"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn render_check_fails_and_names_the_stale_file() {
    let tmp = sandbox();
    let users = tmp.path().join("generated/users.yaml");
    let edited = std::fs::read_to_string(&users)
        .unwrap()
        .replace("MemorySize: 128", "MemorySize: 256");
    std::fs::write(&users, edited).unwrap();
    std::fs::remove_file(tmp.path().join("generated/orders.yaml")).unwrap();
    std::fs::write(tmp.path().join("generated/old.yaml"), "x: 1\n").unwrap();

    let out = stackgen(tmp.path(), &["render", "--check"]);

    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("users.yaml: differs from the model (first at line"),
        "{err}"
    );
    assert!(err.contains("orders.yaml: missing"), "{err}");
    assert!(err.contains("old.yaml: not produced by the model"), "{err}");
    // --check never writes.
    assert!(!tmp.path().join("generated/orders.yaml").exists());
}

#[test]
fn render_repairs_drift_byte_for_byte() {
    let tmp = sandbox();
    std::fs::remove_dir_all(tmp.path().join("generated")).unwrap();

    let out = stackgen(tmp.path(), &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first: Vec<Vec<u8>> = ["users", "orders", "userprofile", "orderstatus", "template"]
        .iter()
        .map(|n| std::fs::read(tmp.path().join(format!("generated/{n}.yaml"))).unwrap())
        .collect();
    let out = stackgen(tmp.path(), &["render"]);
    assert!(out.status.success());
    let again = stackgen(tmp.path(), &["render", "--check"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    for (n, bytes) in ["users", "orders", "userprofile", "orderstatus", "template"]
        .iter()
        .zip(first)
    {
        let committed = std::fs::read(common::repo().join(format!("generated/{n}.yaml"))).unwrap();
        assert_eq!(
            bytes, committed,
            "generated/{n}.yaml differs from the committed one"
        );
    }
}

#[test]
fn validate_reports_findings_with_positions_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/several_findings/model");
    common::copy_dir(&fixture, &tmp.path().join("model"));

    let out = stackgen(tmp.path(), &["validate"]);

    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("model/shop.yaml:17:27: environment variable `ITEMS_TABLE` of `ItemsFunction` refers to undefined bus `NoBus`"), "{err}");
    assert!(err.contains("model/shop.yaml:19:18: permission of `ItemsFunction` refers to undefined table `NoTable`"), "{err}");
    assert!(
        err.contains("  = help: declared tables: ItemsTable"),
        "{err}"
    );
    assert!(err.contains("the model has 2 problems"), "{err}");
}

#[test]
fn validate_accepts_the_app_model() {
    let tmp = sandbox();
    let out = stackgen(tmp.path(), &["validate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("model ok: 4 services"));
}

#[test]
fn schema_prints_the_json_schema_of_both_file_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    for (arg, title) in [("service", "ServiceFile"), ("app", "AppFile")] {
        let out = stackgen(tmp.path(), &["schema", arg]);
        assert!(out.status.success());
        let schema: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("schema is JSON");
        assert_eq!(schema["title"], title);
    }
}

#[test]
fn a_missing_repository_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let out = stackgen(tmp.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no `model/app.yaml`"),
        "{}",
        text(&out.stderr)
    );
}
