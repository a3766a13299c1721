//! Where a block mapping starts, for errors the YAML reader reports at the wrong place.
//!
//! serde reports a missing field when the mapping ends, so the reader's position is the
//! mapping's last key, often far from where the user must add the field. The mapping's
//! own key (or, for a list item, its first key) is found from the indentation: it is the
//! nearest line above that is indented less than the reported key.

use crate::span::Loc;

/// The block mapping that holds the key at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enclosing {
    /// A mapping under a key: the key's position and name.
    Key {
        /// Where the key is.
        loc: Loc,
        /// The key.
        name: String,
    },
    /// A mapping that is an item of a list: the position of its first key.
    ListItem(Loc),
    /// The file's top-level mapping.
    Root,
}

/// Finds what holds the block-mapping key at `at` (1-based), or `None` when `at` is not the
/// start of a block-mapping key (a flow mapping `{ .. }`, for example), where the reported
/// position is the best there is.
pub fn enclosing(text: &str, at: Loc) -> Option<Enclosing> {
    let lines: Vec<&str> = text.lines().collect();
    let line = *lines.get(usize::try_from(at.line).ok()?.checked_sub(1)?)?;
    let indent = usize::try_from(at.col).ok()?.checked_sub(1)?;
    if line.len() < indent || !line[..indent].bytes().all(|b| b == b' ') {
        return None;
    }
    if indent == 0 {
        return Some(Enclosing::Root);
    }
    for (i, above) in lines[..usize::try_from(at.line).ok()? - 1]
        .iter()
        .enumerate()
        .rev()
    {
        let Some(own) = content_indent(above).filter(|own| *own < indent) else {
            continue;
        };
        let content = &above[own..];
        let line = u64::try_from(i + 1).ok()?;
        if let Some(item) = content.strip_prefix('-') {
            let key = item.trim_start_matches(' ');
            let col = own + 1 + (item.len() - key.len()) + 1;
            return Some(Enclosing::ListItem(Loc {
                line,
                col: u64::try_from(col).ok()?,
            }));
        }
        let name = content.split(':').next().unwrap_or(content).trim();
        return Some(Enclosing::Key {
            loc: Loc {
                line,
                col: u64::try_from(own + 1).ok()?,
            },
            name: name.trim_matches(|c| c == '"' || c == '\'').to_owned(),
        });
    }
    Some(Enclosing::Root)
}

/// The indentation of a line with content; `None` for a blank or comment line.
pub fn content_indent(line: &str) -> Option<usize> {
    let content = line.trim_start_matches(' ');
    (!content.is_empty() && !content.starts_with('#')).then(|| line.len() - content.len())
}

/// A `missing field` error moved from the mapping's last key (where the reader reports
/// it) to the mapping's own key, naming it, with what holds it; any other error as it is,
/// held by nothing found.
pub fn missing_field(text: &str, at: Loc, message: String) -> (Loc, String, Option<Enclosing>) {
    if !message.starts_with("missing field") {
        return (at, message, None);
    }
    let found = enclosing(text, at);
    let (loc, message) = match &found {
        Some(Enclosing::Key { loc, name }) => (*loc, format!("{message} in `{name}`")),
        Some(Enclosing::ListItem(loc)) => (*loc, format!("{message} in this list item")),
        Some(Enclosing::Root) => (
            Loc { line: 1, col: 1 },
            format!("{message} at the top level of the file"),
        ),
        None => (at, message),
    };
    (loc, message, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: u64, col: u64) -> Loc {
        Loc { line, col }
    }

    const TABLES: &str = "\
service: orders
tables:
  OrdersTable:
    partition_key: { name: userId }

  IdempotencyTable:
    # the TTL attribute
    ttl_attribute: expiration
    point_in_time_recovery: true
routes:
  - route: GET /x
    auth: NONE
  -   route: GET /y
      auth: NONE
";

    #[test]
    fn a_key_under_a_named_mapping_is_held_by_that_name() {
        assert_eq!(
            enclosing(TABLES, loc(9, 5)),
            Some(Enclosing::Key {
                loc: loc(6, 3),
                name: "IdempotencyTable".into()
            })
        );
        assert_eq!(
            enclosing(TABLES, loc(4, 5)),
            Some(Enclosing::Key {
                loc: loc(3, 3),
                name: "OrdersTable".into()
            })
        );
    }

    #[test]
    fn a_key_of_a_list_item_is_held_by_the_items_first_key() {
        assert_eq!(
            enclosing(TABLES, loc(12, 5)),
            Some(Enclosing::ListItem(loc(11, 5)))
        );
        assert_eq!(
            enclosing(TABLES, loc(14, 7)),
            Some(Enclosing::ListItem(loc(13, 7)))
        );
    }

    #[test]
    fn a_top_level_key_is_held_by_the_file() {
        assert_eq!(enclosing(TABLES, loc(10, 1)), Some(Enclosing::Root));
    }

    #[test]
    fn a_missing_field_is_reported_at_the_mapping_that_lacks_it() {
        let (at, message, _) =
            missing_field(TABLES, loc(9, 5), "missing field `partition_key`".into());
        assert_eq!(at, loc(6, 3));
        assert_eq!(
            message,
            "missing field `partition_key` in `IdempotencyTable`"
        );
        let (at, message, found) = missing_field(TABLES, loc(9, 5), "unknown field `x`".into());
        assert_eq!(found, None);
        assert_eq!((at, message.as_str()), (loc(9, 5), "unknown field `x`"));
    }

    #[test]
    fn a_position_inside_a_line_is_not_a_block_key() {
        assert_eq!(enclosing(TABLES, loc(4, 22)), None);
        assert_eq!(enclosing(TABLES, loc(99, 1)), None);
        assert_eq!(enclosing(TABLES, loc(0, 1)), None);
    }
}
