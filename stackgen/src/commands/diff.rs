//! `stackgen diff`: what the working tree's model does to the templates, compared with
//! `generated/` as committed at a git ref (default `HEAD`), resource by resource, with the
//! risks a reviewer must not miss.
//!
//! The old side is the committed `generated/` rather than the ref's model rendered again:
//! CI keeps it equal to that model, and it was rendered by that ref's own generator, so a
//! change of the generator shows too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use super::{CommandError, Layout, Outcome};
use crate::diff::{self, Risk, TemplateDiff, report};
use crate::render::Renderer;

/// Compare the templates the model renders with those committed at a git ref.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The git ref whose committed `generated/` is the old side.
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub against: String,
    /// Exit 1 when the diff carries any of these risks (comma-separated: replace, orphan,
    /// iam, output, route).
    #[arg(long, value_name = "RISKS", value_delimiter = ',')]
    pub fail_on: Vec<Risk>,
    /// `text` for a terminal, `markdown` for a pull request's summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Repository root (holds `model/`, `templates/`, `generated/`); found from the working
    /// directory when omitted.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// How the diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for a terminal.
    Text,
    /// A Markdown table.
    Markdown,
}

/// Renders, compares and prints; fails when a risk of `--fail-on` is present.
pub fn run(args: &Args) -> Result<Outcome, CommandError> {
    let layout = Layout::find(args.root.as_deref())?;
    let Some(app) = super::load_app(&layout) else {
        return Ok(Outcome::Failed);
    };
    let renderer = Renderer::new(&layout.templates_dir())?;
    let new: BTreeMap<String, String> = renderer
        .render_all(&app)?
        .into_iter()
        .filter(|(name, _)| is_template(name))
        .collect();
    let old = committed(&layout, &args.against)?;
    let diffs = compare(&old, &new)?;
    let printed = match args.format {
        Format::Text => report::text(&diffs, &args.against),
        Format::Markdown => report::markdown(&diffs, &args.against),
    };
    print!("{printed}");
    let present = diffs
        .iter()
        .flat_map(TemplateDiff::risks)
        .collect::<Vec<_>>();
    Ok(if args.fail_on.iter().any(|r| present.contains(r)) {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

/// Each template on both sides, compared, in file order.
pub fn compare(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<Vec<TemplateDiff>, CommandError> {
    let read = |side: &str, name: &str, text: &String| {
        diff::read::template(text).map_err(|e| CommandError::Diff(format!("{side} {name}: {e}")))
    };
    let mut diffs = Vec::new();
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        let before = old
            .get(name)
            .map(|t| read("committed", name, t))
            .transpose()?;
        let after = new
            .get(name)
            .map(|t| read("rendered", name, t))
            .transpose()?;
        diffs.push(diff::templates(name, before.as_ref(), after.as_ref()));
    }
    Ok(diffs)
}

fn is_template(name: &str) -> bool {
    name.ends_with(".yaml") && !name.contains('/')
}

/// The templates of `generated/` as committed at `reference`, by file name.
fn committed(layout: &Layout, reference: &str) -> Result<BTreeMap<String, String>, CommandError> {
    let listing = git(layout, &["ls-tree", "--name-only", reference, "generated/"])?;
    let mut files = BTreeMap::new();
    for path in listing.lines() {
        let name = path.trim_start_matches("generated/");
        if is_template(name) {
            let text = git(layout, &["show", &format!("{reference}:{path}")])?;
            files.insert(name.to_owned(), text);
        }
    }
    Ok(files)
}

/// Runs git in the repository and returns its standard output.
fn git(layout: &Layout, args: &[&str]) -> Result<String, CommandError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(&layout.root)
        .args(args)
        .output()
        .map_err(|e| CommandError::Diff(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        return Err(CommandError::Diff(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| CommandError::Diff(format!("git {}: output is not UTF-8", args.join(" "))))
}
