//! The two read routes of the userprofile API, `GET /address` and `GET /favorite`, behind
//! the API's Cognito authorizer: the caller is the token's `sub`, never a value from the
//! request itself.

use handler_common::paging::{self, PageQuery, PagingError};
use handler_common::{ApiError, caller, error_response, json_response};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::domain::{RestaurantId, UserId};
use crate::store::{ListAddresses, ListFavorites, ListedAddress, StoreError};

/// Why a list request failed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The request carries no usable caller identity (the route is not behind the
    /// authorizer, or the `sub` claim is unusable).
    #[error("the request carries no authenticated caller")]
    Unauthenticated,
    /// A `limit` or token the route cannot use.
    #[error(transparent)]
    Paging(#[from] PagingError),
    /// The table could not be read.
    #[error("could not read the table")]
    Store(#[from] StoreError),
}

impl ApiError for ListError {
    fn status(&self) -> u16 {
        match self {
            ListError::Unauthenticated => 401,
            ListError::Paging(_) => 400,
            ListError::Store(_) => 500,
        }
    }
}

/// Body of `GET /address`.
#[derive(Debug, Serialize)]
pub struct AddressList {
    /// Every address of the caller.
    pub addresses: Vec<ListedAddress>,
}

/// One favorite in the body of `GET /favorite`.
#[derive(Debug, Serialize)]
pub struct ListedFavorite {
    /// The restaurant.
    pub restaurant_id: RestaurantId,
}

/// Body of `GET /favorite`.
#[derive(Debug, Serialize)]
pub struct FavoriteList {
    /// Every favorite of the caller.
    pub favorites: Vec<ListedFavorite>,
}

fn caller_id(req: &Request) -> Result<UserId, ListError> {
    let caller = caller(req).ok_or(ListError::Unauthenticated)?;
    UserId::parse(caller.sub).map_err(|_| ListError::Unauthenticated)
}

/// `GET /address`: 200 `{"addresses": [...]}` with the caller's addresses that fit one
/// response; `?limit=N` and `?nextToken=` page them, `x-next-token` continues.
#[tracing::instrument(skip_all)]
pub async fn list_addresses(store: &impl ListAddresses, req: Request) -> Response<Body> {
    let result = async {
        let user = caller_id(&req)?;
        let query = PageQuery::of(&req)?;
        let key_of = |a: &ListedAddress| a.address_id.as_str().to_owned();
        let overhead = r#"{"addresses":[]}"#.len();
        paging::collect(&query, overhead, key_of, |after, wanted| {
            let user = &user;
            async move {
                Ok::<_, ListError>(store.list_addresses(user, after.as_deref(), wanted).await?)
            }
        })
        .await
    }
    .await;
    match result {
        Ok((addresses, next)) => {
            let mut resp = json_response(200, &AddressList { addresses });
            paging::set_token(&mut resp, next.as_deref());
            resp
        }
        Err(e) => error_response(&e),
    }
}

/// `GET /favorite`: 200 `{"favorites": [{"restaurant_id": ...}]}` for the caller, paged
/// like `GET /address`.
#[tracing::instrument(skip_all)]
pub async fn list_favorites(store: &impl ListFavorites, req: Request) -> Response<Body> {
    let result = async {
        let user = caller_id(&req)?;
        let query = PageQuery::of(&req)?;
        let key_of = |f: &ListedFavorite| f.restaurant_id.as_str().to_owned();
        let overhead = r#"{"favorites":[]}"#.len();
        paging::collect(&query, overhead, key_of, |after, wanted| {
            let user = &user;
            async move {
                let (ids, last) = store.list_favorites(user, after.as_deref(), wanted).await?;
                let favorites = ids
                    .into_iter()
                    .map(|restaurant_id| ListedFavorite { restaurant_id })
                    .collect();
                Ok::<_, ListError>((favorites, last))
            }
        })
        .await
    }
    .await;
    match result {
        Ok((favorites, next)) => {
            let mut resp = json_response(200, &FavoriteList { favorites });
            paging::set_token(&mut resp, next.as_deref());
            resp
        }
        Err(e) => error_response(&e),
    }
}
