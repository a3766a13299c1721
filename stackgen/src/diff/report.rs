//! Prints a diff for a terminal or as a Markdown table (for a pull request's summary).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Change, Entry, Risk, TemplateDiff};

/// How many changed paths a resource lists before "and N more".
const SHOWN_PATHS: usize = 8;

/// The diff as text: per template, one line per resource (`+` added, `-` removed, `~`
/// changed) with its risks, the changed paths below, then a summary.
pub fn text(diffs: &[TemplateDiff], against: &str) -> String {
    let mut out = String::new();
    for diff in diffs.iter().filter(|d| !d.entries.is_empty()) {
        let _ = writeln!(out, "generated/{}", diff.file);
        for e in &diff.entries {
            let _ = writeln!(out, "  {} {} ({})", sign(e.change), e.id, e.kind);
            for (risk, why) in &e.risks {
                let _ = writeln!(out, "      ! {risk}: {why}");
            }
            for path in shown(e) {
                let _ = writeln!(out, "      {path}");
            }
        }
    }
    out.push_str(&summary(diffs, against));
    out.push('\n');
    out
}

/// The diff as a Markdown table, one row per resource, risks in bold.
pub fn markdown(diffs: &[TemplateDiff], against: &str) -> String {
    let mut out = format!("### stackgen diff against `{against}`\n\n");
    let rows: Vec<(&str, &Entry)> = diffs
        .iter()
        .flat_map(|d| d.entries.iter().map(move |e| (d.file.as_str(), e)))
        .collect();
    if !rows.is_empty() {
        out.push_str("| template | resource | type | change | risks |\n|---|---|---|---|---|\n");
        for (file, e) in rows {
            let change = match e.change {
                Change::Added => "added".to_owned(),
                Change::Removed => "removed".to_owned(),
                Change::Modified => {
                    let paths: Vec<String> = shown(e).map(|p| format!("`{p}`")).collect();
                    format!("changed: {}", paths.join(", "))
                }
            };
            let risks: Vec<String> = e
                .risks
                .iter()
                .map(|(risk, why)| format!("**{risk}**: {why}"))
                .collect();
            let _ = writeln!(
                out,
                "| {file} | {} | {} | {} | {} |",
                cell(&e.id),
                cell(&e.kind),
                cell(&change),
                cell(&risks.join("<br>"))
            );
        }
        out.push('\n');
    }
    out.push_str(&summary(diffs, against));
    out.push('\n');
    out
}

/// One line: how much changed and how many of each risk.
fn summary(diffs: &[TemplateDiff], against: &str) -> String {
    let entries: usize = diffs.iter().map(|d| d.entries.len()).sum();
    if entries == 0 {
        return format!("no change against {against}");
    }
    let templates = diffs.iter().filter(|d| !d.entries.is_empty()).count();
    let mut counts: BTreeMap<Risk, usize> = BTreeMap::new();
    for e in diffs.iter().flat_map(|d| &d.entries) {
        for risk in e.risks.keys() {
            *counts.entry(*risk).or_default() += 1;
        }
    }
    let risks = if counts.is_empty() {
        "no risks".to_owned()
    } else {
        let parts: Vec<String> = counts.iter().map(|(r, n)| format!("{r} {n}")).collect();
        format!("risks: {}", parts.join(", "))
    };
    format!(
        "{entries} change{} in {templates} template{} against {against}; {risks}",
        if entries == 1 { "" } else { "s" },
        if templates == 1 { "" } else { "s" },
    )
}

fn sign(change: Change) -> char {
    match change {
        Change::Added => '+',
        Change::Removed => '-',
        Change::Modified => '~',
    }
}

/// The paths of an entry as printed: the first few, then how many more.
fn shown(e: &Entry) -> impl Iterator<Item = String> + '_ {
    let more = e.paths.len().saturating_sub(SHOWN_PATHS);
    e.paths
        .iter()
        .take(SHOWN_PATHS)
        .cloned()
        .chain((more > 0).then(|| format!("and {more} more")))
}

/// Text safe in a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
