//! Diagnostics: one finding in a model file, printed as `file:line:col: message`.
//!
//! The first line is what tests and editors match on; [`Diagnostic::render`] adds the source
//! line with a caret and the `help:` line for people.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::span::Loc;

/// One finding, with where it is and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The model file.
    pub file: PathBuf,
    /// Where in the file.
    pub loc: Loc,
    /// What is wrong, naming the value.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A finding at `loc` in `file`.
    pub fn new(file: &Path, loc: Loc, message: impl Into<String>, help: Option<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            loc,
            message: message.into(),
            help,
        }
    }

    /// A finding about a whole file (reported at 1:1).
    pub fn file(file: &Path, message: impl Into<String>, help: Option<String>) -> Self {
        Self::new(file, Loc { line: 1, col: 1 }, message, help)
    }

    /// The finding with the offending source line, a caret under the column, and the help.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = format!("{self}\n");
        if let Some(line) =
            source.and_then(|s| s.lines().nth(self.loc.line.saturating_sub(1) as usize))
        {
            let number = self.loc.line.to_string();
            let pad = " ".repeat(number.len());
            let caret = " ".repeat(
                line.chars()
                    .take(self.loc.col.saturating_sub(1) as usize)
                    .count(),
            );
            out.push_str(&format!("{pad} |\n{number} | {line}\n{pad} | {caret}^\n"));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.loc.line,
            self.loc.col,
            self.message
        )
    }
}

/// Sorts findings by file and position, the order they are printed in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| (&a.file, a.loc, &a.message).cmp(&(&b.file, b.loc, &b.message)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_points_at_the_column() {
        let d = Diagnostic::new(
            Path::new("model/users.yaml"),
            Loc { line: 2, col: 5 },
            "unknown table `Nope`",
            Some("declared tables: UsersTable".into()),
        );
        let text = d.render(Some("a: 1\nb:  Nope\n"));
        assert_eq!(
            text,
            "model/users.yaml:2:5: unknown table `Nope`\n  |\n2 | b:  Nope\n  |     ^\n  = help: declared tables: UsersTable\n"
        );
    }
}
