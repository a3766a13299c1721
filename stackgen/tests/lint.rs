//! The committed templates pass `cfn-lint` (every file at once) and `sam validate --lint`
//! (each file). The tools come from the project's virtualenv (scripts/setup.sh).

mod common;

use std::process::Command;

fn generated() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(common::repo().join("generated"))
        .expect("generated/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    files
}

#[test]
fn cfn_lint_reports_nothing() {
    common::assert_cfn_lint_clean(&generated(), "the templates");
}

#[test]
fn sam_validate_lint_passes_for_every_template() {
    let sam = common::tool("sam");
    for file in generated() {
        let out = Command::new(&sam)
            .args(["validate", "--lint", "--region", "us-east-1", "-t"])
            .arg(&file)
            .env("SAM_CLI_TELEMETRY", "0")
            .output()
            .expect("run sam");
        assert!(
            out.status.success(),
            "sam validate --lint failed for {}:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
