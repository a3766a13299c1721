//! `stackgen render`: writes the templates into `generated/`, or with `--check` compares
//! them with what is there and fails when anything is stale.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{CommandError, Layout, Outcome};
use crate::render::Renderer;

/// Render the SAM templates from the model into `generated/`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository root (holds `model/`, `templates/`, `generated/`); found from the working
    /// directory when omitted.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Render in memory and exit 1 with a summary when `generated/` differs from it.
    #[arg(long)]
    pub check: bool,
}

/// One file of `generated/` that does not match the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The model produces it but it is not there.
    Missing(String),
    /// It differs, first at this line.
    Stale(String, usize),
    /// It is there but the model does not produce it.
    Extra(String),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "{p}: missing"),
            Drift::Stale(p, line) => {
                write!(f, "{p}: differs from the model (first at line {line})")
            }
            Drift::Extra(p) => write!(f, "{p}: not produced by the model"),
        }
    }
}

/// Renders, then writes or compares.
pub fn run(args: &Args) -> Result<Outcome, CommandError> {
    let layout = Layout::find(args.root.as_deref())?;
    let Some(app) = super::load_app(&layout) else {
        return Ok(Outcome::Failed);
    };
    let renderer = Renderer::new(&layout.templates_dir())?;
    let files = renderer.render_all(&app)?;
    let out = layout.generated_dir();
    let drift = compare(&out, &files)?;
    let pages = stale_pages(&layout.root, &crate::diagram::diagrams(&app.files()))?;
    if args.check {
        if drift.is_empty() && pages.is_empty() {
            println!("{} is up to date ({} files)", out.display(), files.len());
            return Ok(Outcome::Ok);
        }
        if !drift.is_empty() {
            eprintln!("error: {} is stale:", out.display());
            for d in &drift {
                eprintln!("  {d}");
            }
        }
        for (page, _) in &pages {
            eprintln!("error: {page}: an embedded diagram differs from the model");
        }
        eprintln!("run `cargo run -p stackgen -- render` and commit the result");
        return Ok(Outcome::Failed);
    }
    for (page, text) in &pages {
        let path = layout.root.join(page);
        std::fs::write(&path, text).map_err(|source| io("cannot write", &path, source))?;
    }
    std::fs::create_dir_all(&out).map_err(|source| io("cannot create", &out, source))?;
    for (name, text) in &files {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| io("cannot create", parent, source))?;
        }
        if drift
            .iter()
            .any(|d| matches!(d, Drift::Missing(p) | Drift::Stale(p, _) if p == name))
        {
            std::fs::write(&path, text).map_err(|source| io("cannot write", &path, source))?;
        }
    }
    for d in &drift {
        if let Drift::Extra(name) = d {
            let path = out.join(name);
            std::fs::remove_file(&path).map_err(|source| io("cannot remove", &path, source))?;
        }
    }
    println!(
        "rendered {} files into {} ({} changed){}",
        files.len(),
        out.display(),
        drift.len(),
        if pages.is_empty() {
            String::new()
        } else {
            format!("; diagrams updated in {} pages", pages.len())
        }
    );
    Ok(Outcome::Ok)
}

/// The pages under `root` (the README and `docs/*.md`) whose embedded diagrams
/// ([`crate::embed`]) differ from `diagrams`: `(path from root, text with them now)`.
fn stale_pages(
    root: &Path,
    diagrams: &[(String, String)],
) -> Result<Vec<(String, String)>, CommandError> {
    let diagrams = diagrams.iter().cloned().collect();
    let mut pages = vec!["README.md".to_owned()];
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        let mut docs: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .map(|n| format!("docs/{n}"))
            .collect();
        docs.sort();
        pages.extend(docs);
    }
    let mut stale = Vec::new();
    for page in pages {
        let path = root.join(&page);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let now = crate::embed::embed(&text, &diagrams).map_err(|source| CommandError::Embed {
            path: page.clone(),
            source,
        })?;
        if now != text {
            stale.push((page, now));
        }
    }
    Ok(stale)
}

/// Compares rendered files with the files in `dir` (and the folders under it rendering
/// writes into) of the kinds rendering writes (`.yaml`, `.md`, `.toml`, `.json`): a file of
/// such a kind that the model no longer produces is stale too.
pub fn compare(dir: &Path, files: &[(String, String)]) -> Result<Vec<Drift>, CommandError> {
    let mut drift = Vec::new();
    let mut expected = BTreeSet::new();
    for (name, text) in files {
        expected.insert(name.clone());
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(current) if current == *text => {}
            Ok(current) => {
                let line = current
                    .lines()
                    .zip(text.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| current.lines().count().min(text.lines().count()))
                    + 1;
                drift.push(Drift::Stale(name.clone(), line));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                drift.push(Drift::Missing(name.clone()))
            }
            Err(source) => return Err(io("cannot read", &path, source)),
        }
    }
    let kinds: BTreeSet<&str> = files
        .iter()
        .filter_map(|(name, _)| Path::new(name).extension()?.to_str())
        .collect();
    let folders: BTreeSet<&str> = files
        .iter()
        .map(|(name, _)| name.rsplit_once('/').map_or("", |(folder, _)| folder))
        .collect();
    let mut extra: Vec<String> = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
            continue;
        };
        extra.extend(
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| {
                    let file = e.file_name().to_string_lossy().into_owned();
                    if folder.is_empty() {
                        file
                    } else {
                        format!("{folder}/{file}")
                    }
                })
                .filter(|n| {
                    let kind = Path::new(n).extension().and_then(|e| e.to_str());
                    kind.is_some_and(|k| kinds.contains(k)) && !expected.contains(n)
                }),
        );
    }
    extra.sort();
    drift.extend(extra.into_iter().map(Drift::Extra));
    Ok(drift)
}

fn io(what: &'static str, path: &Path, source: std::io::Error) -> CommandError {
    CommandError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}
