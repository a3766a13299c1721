//! "Did you mean ...?": the name a misspelt key, method or reference most likely meant.

/// The candidate nearest to `wrong` (case-insensitive edit distance, a transposition
/// counting once), if it is near enough to be a typo: at most a third of the longer name's
/// characters differ (at least one may), and it is not `wrong` itself.
///
/// ```
/// use stackgen::suggest::closest;
/// assert_eq!(closest("memroy_mb", ["crate", "memory_mb"]), Some("memory_mb"));
/// assert_eq!(closest("GETT", ["GET", "POST"]), Some("GET"));
/// assert_eq!(closest("colour", ["memory_mb"]), None);
/// ```
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lower = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&wrong_lower, &c.to_lowercase()),
                c,
            )
        })
        .filter(|(distance, c)| {
            let longer = c.chars().count().max(wrong.chars().count());
            *c != wrong && *distance <= (longer / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// `did you mean `x`? ` before `rest` when a candidate is near `wrong`, else `rest`.
pub fn help<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    rest: String,
) -> String {
    match closest(wrong, candidates) {
        Some(name) => format!("did you mean `{name}`? {rest}"),
        None => rest,
    }
}

/// For a parse error such as "unknown field `x`, expected one of a, b" (also "unknown
/// variant" and "unknown method"), the help that names the nearest expected value.
pub fn for_parse_error(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("unknown ")?;
    let (_, rest) = rest.split_once('`')?;
    let (wrong, rest) = rest.split_once('`')?;
    let (_, expected) = rest.split_once("expected one of ")?;
    let candidates = expected.split(", ").map(|c| c.trim().trim_matches('`'));
    closest(wrong, candidates).map(|name| format!("did you mean `{name}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_miss_is_suggested_and_a_far_one_is_not() {
        let tables = ["IdempotencyTable", "OrdersTable"];
        assert_eq!(closest("OrderTable", tables), Some("OrdersTable"));
        assert_eq!(closest("ordersTable", tables), Some("OrdersTable"));
        assert_eq!(closest("Users", tables), None);
        assert_eq!(
            closest("OrdersTable", tables),
            None,
            "an exact name is no typo"
        );
    }

    #[test]
    fn parse_errors_name_the_nearest_expected_value() {
        assert_eq!(
            for_parse_error(
                "unknown field `timeout_secs`, expected one of crate, bin, timeout_seconds"
            )
            .as_deref(),
            Some("did you mean `timeout_seconds`?")
        );
        assert_eq!(
            for_parse_error(
                "malformed route `GETT /orders`: unknown method `GETT`, expected one of GET, POST"
            )
            .as_deref(),
            Some("did you mean `GET`?")
        );
        assert_eq!(
            for_parse_error("unknown field `zzz`, expected one of `crate`, `bin`"),
            None
        );
    }
}
