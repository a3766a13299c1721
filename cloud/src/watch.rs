//! `stackgen local --watch`: watches the handler sources, and after each batch of
//! changes rebuilds the function binaries and reloads the functions whose binary
//! changed (see [`stackgen_runtime::Runtime::reload_function`]).
//!
//! Only what a build reads counts: `.rs` and `.toml` files under the watched crates,
//! and the workspace's `Cargo.toml` and `Cargo.lock`. `target/`, hidden files and
//! editor leftovers (`main.rs~`, `.main.rs.swp`, `#main.rs#`) are ignored, so
//! neither a build nor an editor's autosave starts a rebuild by itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher as _};
use stackgen_runtime::Runtime;
use tokio::sync::mpsc;

use super::functions::{self, Profile};

/// How long the sources must stay unchanged before a rebuild: an editor's save, a
/// `git checkout` or a formatter writes several files in a row.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// The workspace files that change every crate's build, watched in the root folder.
const WORKSPACE_FILES: [&str; 2] = ["Cargo.toml", "Cargo.lock"];

/// Why the sources cannot be watched.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {}: {source}", path.display())]
pub struct WatchError {
    /// What was to be watched.
    pub path: PathBuf,
    /// Why it failed.
    #[source]
    pub source: notify::Error,
}

/// The folders holding the sources of `crates` (`handlers/<crate>`) and of the crate
/// they all share (`handlers/common`), in the workspace at `root`; missing ones are
/// left out.
pub fn source_dirs<'a>(root: &Path, crates: impl IntoIterator<Item = &'a str>) -> Vec<PathBuf> {
    let names: BTreeSet<&str> = crates.into_iter().chain(["common"]).collect();
    names
        .into_iter()
        .map(|name| root.join("handlers").join(name))
        .filter(|dir| dir.is_dir())
        .collect()
}

/// Whether a change to `path` can change a build of the workspace at `root` whose
/// sources are in `dirs`.
pub fn is_source(root: &Path, dirs: &[PathBuf], path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if path.parent() == Some(root) {
        return WORKSPACE_FILES.contains(&name);
    }
    let Some(inside) = dirs.iter().find_map(|dir| path.strip_prefix(dir).ok()) else {
        return false;
    };
    // Editors' swap, lock and backup files, and anything under a hidden folder.
    let hidden = |part: &str| part.starts_with('.') || part.starts_with('#');
    if inside
        .components()
        .any(|c| c.as_os_str() == "target" || c.as_os_str().to_str().is_none_or(hidden))
    {
        return false;
    }
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("rs" | "toml" | "lock")
    )
}

/// Watches the sources and hands out the changes in debounced batches.
pub struct SourceWatcher {
    root: PathBuf,
    dirs: Vec<PathBuf>,
    debounce: Duration,
    events: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
    // Watching stops when it is dropped.
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for SourceWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceWatcher")
            .field("root", &self.root)
            .field("dirs", &self.dirs)
            .field("debounce", &self.debounce)
            .finish_non_exhaustive()
    }
}

impl SourceWatcher {
    /// Watches `dirs` (recursively) and the workspace files in `root`.
    pub fn new(root: &Path, dirs: Vec<PathBuf>, debounce: Duration) -> Result<Self, WatchError> {
        let error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WatchError { path, source }
        };
        // The events name absolute paths; compared with a relative root (`.`, as
        // `stackgen` finds it from the working directory) nothing would match.
        let canonical = |path: &Path| {
            path.canonicalize()
                .map_err(|e| error(path)(notify::Error::io(e)))
        };
        let root = canonical(root)?;
        let dirs = dirs
            .iter()
            .map(|dir| canonical(dir))
            .collect::<Result<Vec<_>, _>>()?;
        let root = root.as_path();
        let (tx, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            // Only fails once the receiver is gone, when nobody is watching any more.
            let _ = tx.send(event);
        })
        .map_err(error(root))?;
        // The root itself, not its files: an editor that saves by renaming a new file
        // over `Cargo.toml` would end a watch on the file.
        watcher
            .watch(root, RecursiveMode::NonRecursive)
            .map_err(error(root))?;
        for dir in &dirs {
            watcher
                .watch(dir, RecursiveMode::Recursive)
                .map_err(error(dir))?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            dirs,
            debounce,
            events,
            _watcher: watcher,
        })
    }

    /// The watched workspace, as an absolute path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The watched folders, as absolute paths.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Waits for a change to a source, then until none has come for the debounce
    /// time, and returns the changed files, sorted; `None` if watching stopped.
    pub async fn next_batch(&mut self) -> Option<BTreeSet<PathBuf>> {
        let mut batch = BTreeSet::new();
        while batch.is_empty() {
            let event = self.events.recv().await?;
            self.collect(event, &mut batch);
        }
        loop {
            match tokio::time::timeout(self.debounce, self.events.recv()).await {
                Ok(Some(event)) => self.collect(event, &mut batch),
                Ok(None) | Err(_) => return Some(batch),
            }
        }
    }

    fn collect(&self, event: notify::Result<notify::Event>, batch: &mut BTreeSet<PathBuf>) {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "watching the sources");
                return;
            }
        };
        // Reads and closes change nothing; a write is also reported as a modification.
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        batch.extend(
            event
                .paths
                .into_iter()
                .filter(|path| is_source(&self.root, &self.dirs, path)),
        );
    }
}

/// A function's binary, as a build leaves it.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The function's name in the runtime.
    pub function: String,
    /// Its crate, whose one bootstrap serves it.
    pub krate: String,
    /// Where the binary is.
    pub path: PathBuf,
}

/// What a build changed: the file's modification time and size.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// What one rebuild did.
#[derive(Debug)]
pub enum Rebuilt {
    /// The build succeeded; these functions were reloaded (those whose binary changed).
    Reloaded {
        /// The functions reloaded.
        functions: Vec<String>,
        /// How long the build and the reload requests took.
        took: Duration,
    },
    /// The build failed; every function keeps its process.
    Failed {
        /// Why.
        error: functions::FunctionError,
        /// How long it took to fail.
        took: Duration,
    },
}

impl std::fmt::Display for Rebuilt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rebuilt::Reloaded { functions, took } if functions.is_empty() => write!(
                f,
                "rebuilt in {:.1} s; no binary changed, nothing reloaded",
                took.as_secs_f64()
            ),
            Rebuilt::Reloaded { functions, took } => write!(
                f,
                "rebuilt in {:.1} s; reloaded {}",
                took.as_secs_f64(),
                functions.join(", ")
            ),
            Rebuilt::Failed { error, took } => {
                // cargo has printed what failed; its whole command line would only
                // bury that.
                let why = match error {
                    functions::FunctionError::CargoFailed { status, .. } => {
                        format!("cargo build: {status}")
                    }
                    other => other.to_string(),
                };
                write!(
                    f,
                    "build failed after {:.1} s ({why}); the functions keep running their previous binaries",
                    took.as_secs_f64()
                )
            }
        }
    }
}

/// Builds every binary of `bootstraps` with the command a start uses, in the
/// workspace at `root`, and reloads in `runtime` each function whose binary the build
/// changed. cargo's errors go to standard error.
pub async fn rebuild(root: &Path, bootstraps: &[Bootstrap], runtime: &Runtime) -> Rebuilt {
    let started = Instant::now();
    let before: Vec<Stamp> = bootstraps.iter().map(|b| stamp(&b.path)).collect();
    let crates: Vec<String> = bootstraps.iter().map(|b| b.krate.clone()).collect();
    let root = root.to_path_buf();
    let built = tokio::task::spawn_blocking(move || {
        functions::build_crates(&root, &crates, Profile::Debug, true)
    })
    .await;
    let built = match built {
        Ok(built) => built,
        Err(join) => Err(functions::FunctionError::Cargo {
            command: "cargo build".into(),
            source: std::io::Error::other(join.to_string()),
        }),
    };
    if let Err(error) = built {
        return Rebuilt::Failed {
            error,
            took: started.elapsed(),
        };
    }
    let mut reloaded = Vec::new();
    for (bootstrap, before) in bootstraps.iter().zip(before) {
        if stamp(&bootstrap.path) != before && runtime.reload_function(&bootstrap.function) {
            reloaded.push(bootstrap.function.clone());
        }
    }
    Rebuilt::Reloaded {
        functions: reloaded,
        took: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with a handler crate and the shared one, and a build's output.
    fn workspace() -> (tempfile::TempDir, PathBuf, Vec<PathBuf>) {
        let tmp = tempfile::tempdir().unwrap();
        // Canonical, as the watcher reports paths under the folder it was given.
        let root = tmp.path().canonicalize().unwrap();
        for file in [
            "Cargo.toml",
            "Cargo.lock",
            "README.md",
            "handlers/users/Cargo.toml",
            "handlers/users/src/main.rs",
            "handlers/users/target/debug/build.rs",
            "handlers/common/src/lib.rs",
            "handlers/orders/src/main.rs",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "// 1\n").unwrap();
        }
        let dirs = source_dirs(&root, ["users", "users", "missing"]);
        (tmp, root, dirs)
    }

    #[test]
    fn the_sources_are_the_functions_crates_and_the_shared_one() {
        let (_tmp, root, dirs) = workspace();
        assert_eq!(
            dirs,
            [root.join("handlers/common"), root.join("handlers/users")]
        );
    }

    #[test]
    fn only_what_a_build_reads_is_a_source() {
        let (_tmp, root, dirs) = workspace();
        let source = |path: &str| is_source(&root, &dirs, &root.join(path));
        for path in [
            "Cargo.toml",
            "Cargo.lock",
            "handlers/users/Cargo.toml",
            "handlers/users/src/main.rs",
            "handlers/users/src/bin/create.rs",
            "handlers/common/src/lib.rs",
        ] {
            assert!(source(path), "{path} is a source");
        }
        for path in [
            "README.md",
            "rustfmt.toml",
            "handlers/orders/src/main.rs",
            "handlers/users/target/debug/build.rs",
            "handlers/users/README.md",
            "handlers/users/src/main.rs~",
            "handlers/users/src/.main.rs.swp",
            "handlers/users/src/.#main.rs",
            "handlers/users/src/#main.rs#",
            "handlers/users/src/4913",
            "handlers/users/.git/config.toml",
        ] {
            assert!(!source(path), "{path} is not a source");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_to_sources_come_as_one_batch_and_the_rest_is_ignored() {
        let (_tmp, root, _) = workspace();
        // Not canonical, as `stackgen` finds a root (`.`, `../..`): the events name
        // absolute paths all the same.
        let given = root.join("handlers/..");
        let dirs = source_dirs(&given, ["users"]);
        // Long enough that the writes below, made back to back, fall in one batch.
        let mut watcher = SourceWatcher::new(&given, dirs, Duration::from_secs(1)).unwrap();
        assert_eq!(watcher.root(), root);
        let patience = Duration::from_secs(60);

        // Ignored changes first, so that a batch holding them would come first.
        for ignored in [
            "README.md",
            "handlers/users/target/debug/build.rs",
            "handlers/users/src/main.rs~",
            "handlers/users/src/.main.rs.swp",
            "handlers/orders/src/main.rs",
        ] {
            std::fs::write(root.join(ignored), "// 2\n").unwrap();
        }
        std::fs::write(root.join("handlers/users/src/main.rs"), "// 2\n").unwrap();
        std::fs::write(root.join("handlers/users/src/main.rs"), "// 3\n").unwrap();
        std::fs::write(root.join("handlers/common/src/lib.rs"), "// 2\n").unwrap();

        let batch = tokio::time::timeout(patience, watcher.next_batch())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            batch,
            BTreeSet::from([
                root.join("handlers/common/src/lib.rs"),
                root.join("handlers/users/src/main.rs"),
            ])
        );

        // Again, with the workspace's lock file saved as editors do: a new file
        // renamed over the old one.
        std::fs::write(root.join("handlers/users/target/debug/build.rs"), "// 3\n").unwrap();
        std::fs::write(root.join("Cargo.lock.tmp"), "# 2\n").unwrap();
        std::fs::rename(root.join("Cargo.lock.tmp"), root.join("Cargo.lock")).unwrap();

        let batch = tokio::time::timeout(patience, watcher.next_batch())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(batch, BTreeSet::from([root.join("Cargo.lock")]));
    }
}
