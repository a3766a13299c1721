//! The two read routes of the userprofile API, `GET /address` and `GET /favorite`, behind
//! the API's Cognito authorizer: the caller is the token's `sub`, never a value from the
//! request itself.

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
    /// The table could not be read.
    #[error("could not read the table")]
    Store(#[from] StoreError),
}

impl ApiError for ListError {
    fn status(&self) -> u16 {
        match self {
            ListError::Unauthenticated => 401,
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

/// `GET /address`: 200 `{"addresses": [...]}` with every address of the caller.
#[tracing::instrument(skip_all)]
pub async fn list_addresses(store: &impl ListAddresses, req: Request) -> Response<Body> {
    let result = async {
        let user = caller_id(&req)?;
        Ok::<_, ListError>(AddressList {
            addresses: store.list_addresses(&user).await?,
        })
    }
    .await;
    match result {
        Ok(list) => json_response(200, &list),
        Err(e) => error_response(&e),
    }
}

/// `GET /favorite`: 200 `{"favorites": [{"restaurant_id": ...}]}` for the caller.
#[tracing::instrument(skip_all)]
pub async fn list_favorites(store: &impl ListFavorites, req: Request) -> Response<Body> {
    let result = async {
        let user = caller_id(&req)?;
        let favorites = store.list_favorites(&user).await?;
        Ok::<_, ListError>(FavoriteList {
            favorites: favorites
                .into_iter()
                .map(|restaurant_id| ListedFavorite { restaurant_id })
                .collect(),
        })
    }
    .await;
    match result {
        Ok(list) => json_response(200, &list),
        Err(e) => error_response(&e),
    }
}
