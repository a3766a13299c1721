//! `AddAddressFunction`: consumes `address.added` events of the address bus.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use userprofile::address::{AddressAddedDetail, on_address_added};
use userprofile::store::{ADDRESS_TABLE_ENV, AddressTable};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let table_name = handler_common::env_var(ADDRESS_TABLE_ENV)?;
    let config = handler_common::aws::load_config().await;
    let table = AddressTable::new(aws_sdk_dynamodb::Client::new(&config), table_name);
    let table = &table;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<AddressAddedDetail>>| async move {
            on_address_added(table, event.payload).await.map(|_| ())
        },
    ))
    .await
}
