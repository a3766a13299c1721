//! `GET /users` in pages: the response stays a JSON array (the workshop's clients read
//! it), `?limit=N` bounds it, and a continuation token pages through the rest.
//!
//! A response never exceeds Lambda's 6 MB response limit (past it API Gateway answers
//! 502): without `limit` it holds the users that fit and a token for the others. The token
//! goes out in the `x-next-token` header (exposed to browsers) and comes back as the
//! `nextToken` query parameter; a response without the header is the last page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::{Request, RequestExt};

use crate::domain::{User, UserId, ValidationError};
use crate::store::{StoreError, UserStore};

/// The query parameter that carries a continuation token.
pub const TOKEN_PARAM: &str = "nextToken";
/// The response header that carries the token for the next page.
pub const TOKEN_HEADER: &str = "x-next-token";
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 1000;
/// Bytes the users may take in one response body, as the proxy response carries it (a
/// JSON string, so quotes and backslashes count twice); the rest of Lambda's 6 MiB is
/// room for the headers and the envelope.
pub const BODY_BUDGET: usize = 5_800_000;

/// A parsed `GET /users` query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    limit: Option<usize>,
    after: Option<UserId>,
}

impl ListQuery {
    /// Reads `limit` (1 to 1000) and `nextToken` from the request's query string.
    pub fn of(req: &Request) -> Result<ListQuery, ValidationError> {
        let params = req.query_string_parameters_ref();
        let limit = match params.and_then(|p| p.first("limit")) {
            None => None,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
                _ => {
                    return Err(ValidationError::new(format!(
                        "limit must be a whole number from 1 to {MAX_LIMIT}"
                    )));
                }
            },
        };
        let after = match params.and_then(|p| p.first(TOKEN_PARAM)) {
            None => None,
            Some(token) => Some(decode_token(token)?),
        };
        Ok(ListQuery { limit, after })
    }
}

/// One page of users, and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The users, in the table's order.
    pub users: Vec<User>,
    /// The token for the next page; `None` on the last one.
    pub next_token: Option<String>,
}

/// Reads the page `query` asks for: Scan pages until the limit or the size budget is
/// reached or the table ends.
pub async fn page<S: UserStore>(store: &S, query: &ListQuery) -> Result<Page, StoreError> {
    let mut users = Vec::new();
    let mut size = 2; // `[]`
    let mut after = query.after.clone();
    loop {
        let wanted = query.limit.map(|limit| limit - users.len());
        let (scanned, last_key) = store.scan(after.as_ref(), wanted).await?;
        for user in scanned {
            let user_size = escaped_size(&user) + 1;
            if size + user_size > BODY_BUDGET {
                // Continue after the last user that fits (there is one: items are ≤ 400 KB).
                let next_token = users.last().map(|u: &User| encode_token(u.id()));
                return Ok(Page { users, next_token });
            }
            size += user_size;
            users.push(user);
        }
        let full = query.limit.is_some_and(|limit| users.len() >= limit);
        match last_key {
            None => {
                return Ok(Page {
                    users,
                    next_token: None,
                });
            }
            Some(key) if full => {
                return Ok(Page {
                    users,
                    next_token: Some(encode_token(&key)),
                });
            }
            Some(key) => after = Some(key),
        }
    }
}

/// A token for the page after `id`.
pub fn encode_token(id: &UserId) -> String {
    URL_SAFE_NO_PAD.encode(id.as_str())
}

fn decode_token(token: &str) -> Result<UserId, ValidationError> {
    let invalid = || ValidationError::new(format!("{TOKEN_PARAM} is not a token this API issued"));
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    UserId::parse(text).map_err(|_| invalid())
}

/// The user's size in the response body: its JSON, escaped as a JSON string's content.
fn escaped_size(user: &User) -> usize {
    let text = serde_json::to_string(user).unwrap_or_default();
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
        let id = UserId::parse("ann-1/é").unwrap();
        assert_eq!(decode_token(&encode_token(&id)).unwrap(), id);
        for junk in ["!!", "", "AA"] {
            assert!(decode_token(junk).is_err(), "{junk}");
        }
    }
}
