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
    // A diagram page the model no longer produces is stale too; a file of a kind
    // rendering never writes is left alone.
    std::fs::write(tmp.path().join("generated/old.md"), "# old\n").unwrap();
    std::fs::write(tmp.path().join("generated/.gitkeep"), "").unwrap();
    // The same in the OpenAPI folder: an API the model no longer has, a missing document.
    std::fs::write(
        tmp.path().join("generated/openapi/shop-OldApi.json"),
        "{}\n",
    )
    .unwrap();
    std::fs::remove_file(tmp.path().join("generated/openapi/users-UsersApi.json")).unwrap();

    let out = stackgen(tmp.path(), &["render", "--check"]);

    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("users.yaml: differs from the model (first at line"),
        "{err}"
    );
    assert!(err.contains("orders.yaml: missing"), "{err}");
    assert!(err.contains("old.yaml: not produced by the model"), "{err}");
    assert!(err.contains("old.md: not produced by the model"), "{err}");
    assert!(!err.contains(".gitkeep"), "{err}");
    assert!(
        err.contains("openapi/shop-OldApi.json: not produced by the model"),
        "{err}"
    );
    assert!(
        err.contains("openapi/users-UsersApi.json: missing"),
        "{err}"
    );
    // --check never writes.
    assert!(!tmp.path().join("generated/orders.yaml").exists());

    // Rendering removes what is stale and keeps the rest.
    let out = stackgen(tmp.path(), &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!tmp.path().join("generated/old.md").exists());
    assert!(
        !tmp.path()
            .join("generated/openapi/shop-OldApi.json")
            .exists()
    );
    assert!(
        tmp.path()
            .join("generated/openapi/users-UsersApi.json")
            .exists()
    );
    assert!(tmp.path().join("generated/.gitkeep").exists());
}

#[test]
fn render_keeps_the_diagrams_embedded_in_the_pages_up_to_date() {
    let tmp = sandbox();
    common::copy_dir(&common::repo().join("docs"), &tmp.path().join("docs"));
    let readme = tmp.path().join("README.md");
    std::fs::copy(common::repo().join("README.md"), &readme).unwrap();
    let page = tmp.path().join("docs/users.md");
    let committed = std::fs::read_to_string(&page).unwrap();
    // A page showing a function the model no longer has.
    std::fs::write(&page, committed.replace("UsersFunction[", "OldFunction[")).unwrap();

    let out = stackgen(tmp.path(), &["render", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("docs/users.md: an embedded diagram differs from the model"),
        "{err}"
    );
    assert!(!err.contains("README.md"), "{err}");

    let out = stackgen(tmp.path(), &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&page).unwrap(), committed);

    // A marker naming no diagram is an error naming the page and its line.
    std::fs::write(
        &readme,
        "# x\n\n<!-- stackgen:diagram shop -->\n<!-- /stackgen:diagram -->\n",
    )
    .unwrap();
    let out = stackgen(tmp.path(), &["render", "--check"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("README.md: line 3: no diagram `shop`"),
        "{err}"
    );
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

/// Runs git in `dir`, failing the test when it fails.
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// A [`sandbox`] that is a git repository with everything committed.
fn committed_sandbox() -> tempfile::TempDir {
    let tmp = sandbox();
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "."]);
    git(tmp.path(), &["commit", "-q", "-m", "base"]);
    tmp
}

#[test]
fn diff_flags_each_risk_of_a_model_change_and_fails_only_on_those_asked() {
    // Arrange: the repository committed, then a model change with four risks.
    let tmp = committed_sandbox();
    let dir = tmp.path();
    let orders = dir.join("model/orders.yaml");
    let model = std::fs::read_to_string(&orders).unwrap();
    let changed = model
        // The orders table's sort key: a new table, the old one's data gone.
        .replacen("sort_key: { name: orderId }", "sort_key: { name: id }", 1)
        // Get-order may now write too.
        .replacen(
            "ORDERS_TABLE: { table: OrdersTable }\n    permissions:\n      - { table: OrdersTable, access: get }\n  ListOrdersFunction",
            "ORDERS_TABLE: { table: OrdersTable }\n    permissions:\n      - { table: OrdersTable, access: crud }\n  ListOrdersFunction",
            1,
        )
        // Listing orders is gone from the API.
        .replacen(
            "      - route: GET /orders\n        integration: { function: ListOrdersFunction }\n        responses:\n          200: { description: Every order of the caller, body: OrderList }\n          400: { description: The limit or continuation token cannot be used }\n",
            "",
            1,
        )
        // And so is an output.
        .replacen(
            "  IdempotencyTable:\n    description: Idempotency table name",
            "  IdempotencyTableGone:\n    description: Idempotency table name",
            1,
        );
    assert_ne!(changed, model);
    std::fs::write(&orders, changed).unwrap();

    // Act
    let plain = stackgen(dir, &["diff"]);
    let failing = stackgen(dir, &["diff", "--fail-on", "orphan,replace"]);
    let passing = stackgen(dir, &["diff", "--against", "HEAD", "--fail-on", "orphan"]);
    let markdown = stackgen(dir, &["diff", "--format", "markdown"]);

    // Assert
    let out = text(&plain.stdout);
    assert!(plain.status.success(), "{out}{}", text(&plain.stderr));
    for expected in [
        "generated/orders.yaml",
        "~ OrdersTable (AWS::DynamoDB::Table)",
        "! replace: `Properties.KeySchema",
        "~ GetOrderFunction (AWS::Serverless::Function)",
        "! iam: new grants: dynamodb:BatchGetItem on",
        "~ OrdersApi (AWS::Serverless::Api)",
        "! route: routes removed: GET /orders",
        "- Outputs.IdempotencyTable (Output)",
        "! output:",
        "+ Outputs.IdempotencyTableGone (Output)",
    ] {
        assert!(out.contains(expected), "`{expected}` in\n{out}");
    }
    assert!(
        out.contains("risks: replace 1, iam 1, output 2, route 1"),
        "{out}"
    );
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing.stdout));
    assert_eq!(passing.status.code(), Some(0), "{}", text(&passing.stdout));
    let table = text(&markdown.stdout);
    assert!(
        table.contains("| template | resource | type | change | risks |"),
        "{table}"
    );
    assert!(
        table.contains("| orders.yaml | OrdersTable | AWS::DynamoDB::Table |"),
        "{table}"
    );
    assert!(table.contains("**replace**"), "{table}");
}

#[test]
fn diff_of_an_unchanged_model_says_so_and_an_unknown_ref_is_an_error() {
    let tmp = committed_sandbox();
    let dir = tmp.path();
    let same = stackgen(dir, &["diff", "--fail-on", "replace"]);
    assert!(same.status.success());
    assert_eq!(text(&same.stdout), "no change against HEAD\n");
    let unknown = stackgen(dir, &["diff", "--against", "no-such-ref"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no-such-ref"),
        "{}",
        text(&unknown.stderr)
    );
}
