//! `ListFavoritesFunction`: `GET /favorite`, the caller's favorite restaurants.

use std::convert::Infallible;

use lambda_http::{Error, Request, service_fn};
use userprofile::api::list_favorites;
use userprofile::store::{FAVORITES_TABLE_ENV, FavoritesTable};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let table_name = handler_common::env_var(FAVORITES_TABLE_ENV)?;
    let config = handler_common::aws::load_config().await;
    let table = FavoritesTable::new(aws_sdk_dynamodb::Client::new(&config), table_name);
    let table = &table;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(list_favorites(table, req).await)
    }))
    .await
}
