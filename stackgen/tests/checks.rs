//! Every check rule rejects its bad model with the exact `file:line:col: message` and help.
//!
//! Each folder under `tests/fixtures/` is a small model (`model/`) with one mistake, and
//! `expected.txt` holds the findings stackgen must report for it. Run with `BLESS=1` to
//! rewrite the expectations after an intended change of wording (then review the diff).

use std::path::{Path, PathBuf};

use stackgen::app::App;
use stackgen::model;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The findings for one fixture, paths relative to the fixture folder.
fn findings(case: &Path) -> String {
    let diags = match App::load(&case.join("model")) {
        Ok(_) => Vec::new(),
        Err(diags) => diags,
    };
    let mut out = String::new();
    for d in diags {
        let file = d
            .file
            .strip_prefix(case)
            .unwrap_or(&d.file)
            .display()
            .to_string();
        out.push_str(&format!(
            "{file}:{}:{}: {}\n",
            d.loc.line, d.loc.col, d.message
        ));
        if let Some(help) = &d.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
    }
    out
}

#[test]
fn every_bad_model_is_rejected_with_its_expected_findings() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "expected a fixture per rule, found {}",
        cases.len()
    );
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let actual = findings(case);
        let expected_path = case.join("expected.txt");
        if bless {
            std::fs::write(&expected_path, &actual).expect("write expected.txt");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual.is_empty() {
            failures.push(format!("{}: the bad model was accepted", case.display()));
        } else if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The findings, one `file:line:col: message` per line.
fn lines(diags: &[stackgen::diag::Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_app_model_has_no_findings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model");
    let model = model::load(&dir).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(model.services.len(), 4);
    if let Err(diags) = App::check(model) {
        panic!("{}", lines(&diags));
    }
}

#[test]
fn an_import_re_exported_by_a_later_file_resolves_to_its_origin() {
    // Arrange: `audit` (first by file name) imports what `catalog` re-exports from `stock`.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/reexport_chain/model");

    // Act
    let app = App::load(&dir).unwrap_or_else(|diags| panic!("{}", lines(&diags)));

    // Assert: the variable's value is the table that `stock` declares.
    let audit = app.service("audit").expect("audit");
    let binding = &audit.functions["AuditFunction"].environment["ITEMS_TABLE"];
    let stackgen::app::Binding::Value(reference) = binding else {
        panic!("ITEMS_TABLE is a reference, not {binding:?}");
    };
    let origin = reference.import.as_ref().expect("an import");
    assert_eq!(
        (origin.service.as_str(), origin.resource.as_str()),
        ("stock", "ItemsTable")
    );
}
