//! The architecture diagrams embedded in hand-written pages (the README, `docs/`): between
//! `<!-- stackgen:diagram NAME -->` and `<!-- /stackgen:diagram -->`, `render` writes the
//! diagram NAME ([`crate::diagram::diagrams`]) and `render --check` fails when it is stale,
//! so a page never shows an architecture the model no longer has. The rest of the page is
//! left as written.

use std::collections::BTreeMap;

/// Opens an embedded diagram: `<!-- stackgen:diagram NAME -->`.
const START: &str = "<!-- stackgen:diagram ";
/// Closes it.
const END: &str = "<!-- /stackgen:diagram -->";

/// Why a page's markers cannot be filled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmbedError {
    /// A marker names no diagram.
    #[error("line {line}: no diagram `{name}` (there are: {known})")]
    Unknown {
        /// Its line.
        line: usize,
        /// The name.
        name: String,
        /// The diagrams there are.
        known: String,
    },
    /// A marker is not closed, or not well formed.
    #[error("line {line}: {why}")]
    Malformed {
        /// Its line.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// `page` with every embedded diagram as `diagrams` (by name) has it now.
pub fn embed(page: &str, diagrams: &BTreeMap<String, String>) -> Result<String, EmbedError> {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(at) = rest.find(START) {
        let line = page[..page.len() - rest.len() + at].lines().count() + 1;
        let after = &rest[at + START.len()..];
        let Some(close) = after.find("-->") else {
            return Err(EmbedError::Malformed {
                line,
                why: "the marker is not closed with `-->`".into(),
            });
        };
        let name = after[..close].trim();
        let Some(diagram) = diagrams.get(name) else {
            return Err(EmbedError::Unknown {
                line,
                name: name.to_owned(),
                known: diagrams.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        let body = &after[close + 3..];
        let Some(end) = body.find(END) else {
            return Err(EmbedError::Malformed {
                line,
                why: format!("diagram `{name}` has no `{END}`"),
            });
        };
        out.push_str(&rest[..at]);
        out.push_str(&format!("{START}{name} -->\n{}\n{END}", diagram.trim_end()));
        rest = &body[end + END.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagrams() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "app".to_owned(),
            "```mermaid\nflowchart LR\n```\n".to_owned(),
        )])
    }

    #[test]
    fn a_marker_pair_gets_the_diagram_and_the_rest_stays() {
        let page =
            "# Title\n\n<!-- stackgen:diagram app -->\nold\n<!-- /stackgen:diagram -->\n\ntext\n";
        let got = embed(page, &diagrams()).unwrap();
        assert_eq!(
            got,
            "# Title\n\n<!-- stackgen:diagram app -->\n```mermaid\nflowchart LR\n```\n<!-- /stackgen:diagram -->\n\ntext\n"
        );
        assert_eq!(
            embed(&got, &diagrams()).unwrap(),
            got,
            "embedding twice changes nothing"
        );
        assert_eq!(embed("no markers\n", &diagrams()).unwrap(), "no markers\n");
    }

    #[test]
    fn an_unknown_name_or_an_open_marker_is_an_error_with_its_line() {
        let unknown = embed(
            "a\n<!-- stackgen:diagram shop -->\n<!-- /stackgen:diagram -->",
            &diagrams(),
        );
        assert_eq!(
            unknown,
            Err(EmbedError::Unknown {
                line: 2,
                name: "shop".into(),
                known: "app".into()
            })
        );
        let open = embed("<!-- stackgen:diagram app -->\n", &diagrams());
        assert!(
            matches!(open, Err(EmbedError::Malformed { line: 1, .. })),
            "{open:?}"
        );
    }
}
