//! List routes in pages that fit a Lambda response: `?limit=N` and a continuation token
//! (`?nextToken=` in, the `x-next-token` header out) page a list whose response shape stays
//! what clients read.
//!
//! A Lambda proxy response may not exceed 6 MB (past it API Gateway answers 502), so a
//! page without `limit` holds what fits ([`BODY_BUDGET`]) and a token for the rest. A token
//! is the base64url of the last key returned; a response without the header is the last page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// The query parameter that carries a continuation token.
pub const TOKEN_PARAM: &str = "nextToken";
/// The response header that carries the token for the next page.
pub const TOKEN_HEADER: &str = "x-next-token";
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 1000;
/// Bytes the items may take in one response body, as the proxy response carries it (a JSON
/// string, so quotes and backslashes count twice); the rest of Lambda's 6 MiB is room for
/// the headers and the envelope.
pub const BODY_BUDGET: usize = 5_800_000;

/// A `limit` or token the API cannot use (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// `limit` is not a whole number from 1 to [`MAX_LIMIT`].
    #[error("limit must be a whole number from 1 to {MAX_LIMIT}")]
    Limit,
    /// The token was not issued by this API.
    #[error("{TOKEN_PARAM} is not a token this API issued")]
    Token,
}

/// A parsed list query: at most `limit` items, after the key `after`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageQuery {
    /// The most items to return.
    pub limit: Option<usize>,
    /// The key (as text) the previous page ended with.
    pub after: Option<String>,
}

impl PageQuery {
    /// Reads `limit` and `nextToken` from the request's query string.
    pub fn of(req: &Request) -> Result<PageQuery, PagingError> {
        let params = req.query_string_parameters_ref();
        let limit = match params.and_then(|p| p.first("limit")) {
            None => None,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
                _ => return Err(PagingError::Limit),
            },
        };
        let after = match params.and_then(|p| p.first(TOKEN_PARAM)) {
            None => None,
            Some(token) => Some(decode_token(token)?),
        };
        Ok(PageQuery { limit, after })
    }

    /// How many more items the page may take when it holds `taken`.
    pub fn wanted(&self, taken: usize) -> Option<usize> {
        self.limit.map(|limit| limit.saturating_sub(taken))
    }
}

/// Collects items into a page until [`BODY_BUDGET`] would be exceeded.
#[derive(Debug)]
struct PageBuilder<T> {
    items: Vec<T>,
    size: usize,
}

impl<T: Serialize> PageBuilder<T> {
    /// An empty page; `overhead` is the body's size without items (`{"orders":[]}`).
    fn new(overhead: usize) -> PageBuilder<T> {
        PageBuilder {
            items: Vec::new(),
            size: overhead,
        }
    }

    /// Adds `item` if it fits; gives it back when it does not.
    fn push(&mut self, item: T) -> Result<(), T> {
        let item_size = escaped_size(&item) + 1;
        if self.size + item_size > BODY_BUDGET {
            return Err(item);
        }
        self.size += item_size;
        self.items.push(item);
        Ok(())
    }

    /// The items so far.
    fn items(&self) -> &[T] {
        &self.items
    }

    /// The items.
    fn into_items(self) -> Vec<T> {
        self.items
    }
}

/// One page of items and the token for the next one (`None` on the last page).
pub type Page<T> = (Vec<T>, Option<String>);

/// Reads the page `query` asks for, from a store read a page at a time: `fetch(after,
/// wanted)` returns items after the key `after` (at most `wanted`) and the key to go on
/// from, or `None` at the end. Reads until the limit, the size budget or the end.
/// `key_of` gives an item's key, to go on after the last item that fit.
pub async fn collect<T, E, F, Fut>(
    query: &PageQuery,
    overhead: usize,
    key_of: impl Fn(&T) -> String,
    mut fetch: F,
) -> Result<Page<T>, E>
where
    T: Serialize,
    F: FnMut(Option<String>, Option<usize>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut page = PageBuilder::new(overhead);
    let mut after = query.after.clone();
    loop {
        let (fetched, last_key) = fetch(after, query.wanted(page.items().len())).await?;
        for item in fetched {
            if page.push(item).is_err() {
                // There is a last item: a stored item is far below the budget.
                let next = page.items().last().map(|i| encode_token(&key_of(i)));
                return Ok((page.into_items(), next));
            }
        }
        let full = query.wanted(page.items().len()) == Some(0);
        match last_key {
            Some(key) if !full => after = Some(key),
            last_key => return Ok((page.into_items(), last_key.map(|k| encode_token(&k)))),
        }
    }
}

/// A token for the page after the key `key`.
fn encode_token(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

fn decode_token(token: &str) -> Result<String, PagingError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| PagingError::Token)?;
    let key = String::from_utf8(bytes).map_err(|_| PagingError::Token)?;
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(PagingError::Token);
    }
    Ok(key)
}

/// Puts `token` in the response's `x-next-token` header, and exposes that header to
/// browsers (they may read only the headers a response exposes).
pub fn set_token(resp: &mut Response<Body>, token: Option<&str>) {
    let headers = resp.headers_mut();
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(TOKEN_HEADER),
    );
    // A token is base64url, always a valid header value.
    if let Some(value) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(TOKEN_HEADER, value);
    }
}

/// `value`'s size in a response body: its JSON, escaped as a JSON string's content.
fn escaped_size<T: Serialize>(value: &T) -> usize {
    let text = serde_json::to_string(value).unwrap_or_default();
    let extra: usize = text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' => 1,
            b if b < 0x20 => 5,
            _ => 0,
        })
        .sum();
    text.len() + extra
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_junk_is_refused() {
        assert_eq!(decode_token(&encode_token("ann-1/é")).unwrap(), "ann-1/é");
        for junk in ["!!", "", "AA"] {
            assert_eq!(decode_token(junk), Err(PagingError::Token), "{junk}");
        }
    }

    #[test]
    fn a_page_takes_items_until_the_budget_and_gives_back_the_first_that_does_not_fit() {
        let big = "x".repeat(BODY_BUDGET / 3);
        let mut page = PageBuilder::new(2);
        assert!(page.push(big.clone()).is_ok());
        assert!(page.push(big.clone()).is_ok());
        assert_eq!(page.push(big.clone()), Err(big));
        assert_eq!(page.items().len(), 2);
    }

    #[test]
    fn quotes_count_twice_as_the_proxy_response_escapes_them() {
        assert_eq!(escaped_size(&"a\"b"), "\"a\\\"b\"".len() + 4);
    }
}
