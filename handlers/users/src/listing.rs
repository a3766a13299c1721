//! `GET /users` in pages ([`handler_common::paging`]): the response stays a JSON array (the
//! workshop's clients read it), `?limit=N` bounds it, `?nextToken=` continues it, and it
//! never exceeds a Lambda response.

use handler_common::paging::{self, PageQuery, PagingError};

use crate::domain::{User, UserId};
use crate::store::{StoreError, UserStore};

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The query cannot be used (400).
    #[error(transparent)]
    Query(#[from] PagingError),
    /// The table failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the page `query` asks for: the users, and the token for the next page.
pub async fn page<S: UserStore>(
    store: &S,
    query: &PageQuery,
) -> Result<paging::Page<User>, ListError> {
    let key_of = |u: &User| u.id().as_str().to_owned();
    paging::collect(query, "[]".len(), key_of, |after, wanted| async move {
        let after = match after {
            Some(key) => Some(UserId::parse(key).map_err(|_| PagingError::Token)?),
            None => None,
        };
        let (users, last) = store.scan(after.as_ref(), wanted).await?;
        Ok::<_, ListError>((users, last.map(|id| id.as_str().to_owned())))
    })
    .await
}
