//! `ListAddressesFunction`: `GET /address`, the caller's addresses.

use std::convert::Infallible;

use lambda_http::{Error, Request, service_fn};
use userprofile::api::list_addresses;
use userprofile::store::{ADDRESS_TABLE_ENV, AddressTable};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let table_name = handler_common::env_var(ADDRESS_TABLE_ENV)?;
    let config = handler_common::aws::load_config().await;
    let table = AddressTable::new(aws_sdk_dynamodb::Client::new(&config), table_name);
    let table = &table;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(list_addresses(table, req).await)
    }))
    .await
}
