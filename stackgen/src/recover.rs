//! Reading on past a bad entry, so one run reports every bad entry of a file.
//!
//! serde stops at the first error. The entry that holds it (a `key:` with what is nested
//! under it, or a `- ` list item) is left out by blanking its lines, which keeps every
//! other line where it was, and the file is parsed again. Errors that only the leaving out
//! caused (a mapping that now lacks a required key) are told apart by [`Lines::holds`].

use crate::enclosing::content_indent as indent;

/// The lines an entry spans, 1-based and inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lines {
    /// Its first line: the key or the list item's dash.
    pub first: u64,
    /// Its last line with content.
    pub last: u64,
}

impl Lines {
    /// Whether `other` lies within these lines.
    pub fn holds(self, other: Lines) -> bool {
        self.first <= other.first && other.last <= self.last
    }
}

/// The block entry that starts on `line`: a `key:` or a `- ` item with every line indented
/// deeper below it. `None` when no entry starts there (a blank line, a comment, or the
/// inside of a multi-line flow collection), where leaving anything out would be a guess.
pub fn entry(text: &str, line: u64) -> Option<Lines> {
    let lines: Vec<&str> = text.lines().collect();
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let own = indent(lines.get(index)?)?;
    let content = lines[index].trim_start_matches(' ');
    let is_item = content == "-" || content.starts_with("- ");
    if !is_item && key_of(content).is_none() {
        return None;
    }
    let mut last = index;
    for (i, below) in lines.iter().enumerate().skip(index + 1) {
        match indent(below) {
            None => continue,
            Some(deeper) if deeper > own => last = i,
            Some(_) => break,
        }
    }
    Some(Lines {
        first: line,
        last: u64::try_from(last + 1).ok()?,
    })
}

/// The key an entry declares (`OrdersTable` for `  OrdersTable:`), `None` for a list item.
pub fn key(text: &str, line: u64) -> Option<String> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let content = text.lines().nth(index)?.trim_start_matches(' ');
    key_of(content).map(str::to_owned)
}

/// `text` with `lines` emptied; every other line stays where it was.
pub fn leave_out(text: &str, lines: Lines) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let number = u64::try_from(i + 1).unwrap_or(u64::MAX);
        if (lines.first..=lines.last).contains(&number) {
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The key of a `key:` or `key: value` line, unquoted.
fn key_of(content: &str) -> Option<&str> {
    let (key, rest) = content.split_once(':')?;
    let plain = !key.is_empty() && !key.starts_with(['{', '[', '-', '#']);
    (plain && (rest.is_empty() || rest.starts_with(' ')))
        .then(|| key.trim().trim_matches(|c| c == '"' || c == '\''))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTIONS: &str = "\
functions:
  GetOrderFunction:
    crate: orders
    timeout_secnds: 10
    environment:
      ORDERS_TABLE: { table: OrdersTable }

      # the table of orders
      OTHER: { value: x }
    permissions:
      - { table: OrdersTable, access: read }
      - table: OrdersTable
        access: write
  ListOrdersFunction:
    crate: orders
";

    fn lines(first: u64, last: u64) -> Lines {
        Lines { first, last }
    }

    #[test]
    fn a_key_spans_what_is_nested_under_it() {
        assert_eq!(entry(FUNCTIONS, 4), Some(lines(4, 4)));
        assert_eq!(entry(FUNCTIONS, 5), Some(lines(5, 9)));
        assert_eq!(entry(FUNCTIONS, 2), Some(lines(2, 13)));
        assert_eq!(key(FUNCTIONS, 2).as_deref(), Some("GetOrderFunction"));
    }

    #[test]
    fn a_list_item_spans_its_own_keys() {
        assert_eq!(entry(FUNCTIONS, 11), Some(lines(11, 11)));
        assert_eq!(entry(FUNCTIONS, 12), Some(lines(12, 13)));
        assert_eq!(key(FUNCTIONS, 12), None);
    }

    #[test]
    fn no_entry_starts_on_a_blank_or_comment_line() {
        assert_eq!(entry(FUNCTIONS, 7), None);
        assert_eq!(entry(FUNCTIONS, 8), None);
        assert_eq!(entry("a: [\n  1, 2 ]\n", 2), None);
    }

    #[test]
    fn leaving_out_keeps_every_other_line_in_place() {
        let out = leave_out(FUNCTIONS, lines(5, 9));
        assert_eq!(out.lines().count(), FUNCTIONS.lines().count());
        assert_eq!(out.lines().nth(3), Some("    timeout_secnds: 10"));
        assert_eq!(out.lines().nth(4), Some(""));
        assert_eq!(out.lines().nth(9), Some("    permissions:"));
    }

    #[test]
    fn an_entry_holds_the_entries_nested_in_it() {
        assert!(lines(2, 13).holds(lines(4, 4)));
        assert!(!lines(5, 9).holds(lines(4, 4)));
    }
}
