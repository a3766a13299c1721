//! The CLI's subcommands, one module each with its `Args` and `run`, and what they share:
//! finding the repository, loading and checking the model, printing findings.

pub mod diff;
pub mod render;
pub mod schema;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::app::App;
use crate::diag::Diagnostic;
use crate::model;

/// How a command ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is fine (exit 0).
    Ok,
    /// The model has findings, or `generated/` is stale (exit 1).
    Failed,
}

/// Errors that stop a command before it can judge the model.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No repository root was given or found.
    #[error(
        "no `model/{}` in {start} or any parent directory; run inside the repository or pass `--root`",
        model::APP_FILE
    )]
    NoRoot {
        /// Where the search started.
        start: String,
    },
    /// A page's embedded diagram markers cannot be filled.
    #[error("{path}: {source}")]
    Embed {
        /// The page.
        path: String,
        /// What is wrong.
        #[source]
        source: crate::embed::EmbedError,
    },
    /// Reading or writing a file failed.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    /// The templates could not be compared (git failed, or a template does not read).
    #[error("cannot compare the templates: {0}")]
    Diff(String),
    /// The JSON Schema could not be serialized.
    #[error("cannot print the schema: {0}")]
    Schema(#[from] serde_json::Error),
}

/// The repository layout a command works on.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The repository root.
    pub root: PathBuf,
}

impl Layout {
    /// Uses `root` when given, else the nearest directory from the working directory up
    /// that holds `model/app.yaml`.
    pub fn find(root: Option<&Path>) -> Result<Self, CommandError> {
        if let Some(root) = root {
            return Ok(Self {
                root: root.to_path_buf(),
            });
        }
        let cwd = std::env::current_dir().map_err(|source| CommandError::Io {
            what: "cannot read the working directory",
            path: ".".into(),
            source,
        })?;
        let mut up = PathBuf::new();
        for dir in cwd.ancestors() {
            if dir.join("model").join(model::APP_FILE).is_file() {
                let root = if up.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    up
                };
                return Ok(Self { root });
            }
            up.push("..");
        }
        Err(CommandError::NoRoot {
            start: cwd.display().to_string(),
        })
    }

    /// `model/`.
    pub fn model_dir(&self) -> PathBuf {
        self.join("model")
    }

    /// `templates/`.
    pub fn templates_dir(&self) -> PathBuf {
        self.join("templates")
    }

    /// `generated/`.
    pub fn generated_dir(&self) -> PathBuf {
        self.join("generated")
    }

    fn join(&self, dir: &str) -> PathBuf {
        if self.root == Path::new(".") {
            PathBuf::from(dir)
        } else {
            self.root.join(dir)
        }
    }
}

/// Loads and checks the model; on findings, prints them all (sorted, with snippets and
/// help) to stderr and returns `None`.
pub fn load_app(layout: &Layout) -> Option<App> {
    match App::load(&layout.model_dir()) {
        Ok(app) => Some(app),
        Err(diags) => {
            report(&diags);
            None
        }
    }
}

/// Prints findings to stderr, each with its source line, then a count.
pub fn report(diags: &[Diagnostic]) {
    let mut out = String::new();
    for d in diags {
        let source = std::fs::read_to_string(&d.file).ok();
        out.push_str(&d.render(source.as_deref()));
        out.push('\n');
    }
    let n = diags.len();
    out.push_str(&format!(
        "error: the model has {n} problem{}; nothing was rendered\n",
        if n == 1 { "" } else { "s" }
    ));
    eprint!("{out}");
}
