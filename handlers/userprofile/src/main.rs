//! The userprofile bootstrap: one binary for every function of the userprofile service;
//! the function's `Handler` (Lambda's `_HANDLER`) says which one this process serves.

use std::convert::Infallible;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::SqsEvent;
use handler_common::bootstrap;
use handler_common::metrics::Metrics;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use userprofile::address::{
    AddressAddedDetail, AddressDeletedDetail, AddressUpdatedDetail, on_address_added,
    on_address_deleted, on_address_updated,
};
use userprofile::api::{list_addresses, list_favorites};
use userprofile::favorites::consume_batch_reporting;
use userprofile::store::{ADDRESS_TABLE_ENV, AddressTable, FAVORITES_TABLE_ENV, FavoritesTable};

/// A function of the userprofile service, by its handler name.
#[derive(Clone, Copy)]
enum Function {
    /// AddAddressFunction: `address.added` events of the address bus.
    AddAddress,
    /// EditAddressFunction: `address.updated` events.
    EditAddress,
    /// DeleteAddressFunction: `address.deleted` events.
    DeleteAddress,
    /// ListAddressesFunction: `GET /address`, the caller's addresses.
    ListAddresses,
    /// ListFavoritesFunction: `GET /favorite`, the caller's favorite restaurants.
    ListFavorites,
    /// FavoritesConsumerFunction: batches of the favorites queue, with partial failures.
    FavoritesConsumer,
}

const FUNCTIONS: [(&str, Function); 6] = [
    ("add-address", Function::AddAddress),
    ("edit-address", Function::EditAddress),
    ("delete-address", Function::DeleteAddress),
    ("list-addresses", Function::ListAddresses),
    ("list-favorites", Function::ListFavorites),
    ("favorites-consumer", Function::FavoritesConsumer),
];

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let function = bootstrap::select(&FUNCTIONS)?;
    let dynamodb =
        || handler_common::aws::load_config().map(|sdk| aws_sdk_dynamodb::Client::new(&sdk));
    match function {
        Function::AddAddress | Function::EditAddress | Function::DeleteAddress => {
            let table = handler_common::env_var(ADDRESS_TABLE_ENV)?;
            let table = &AddressTable::new(dynamodb()?, table);
            match function {
                Function::AddAddress => {
                    lambda_runtime::run(service_fn(
                        move |event: LambdaEvent<EventBridgeEvent<AddressAddedDetail>>| async move {
                            on_address_added(table, event.payload).await.map(|_| ())
                        },
                    ))
                    .await
                }
                Function::EditAddress => lambda_runtime::run(service_fn(
                    move |event: LambdaEvent<EventBridgeEvent<AddressUpdatedDetail>>| async move {
                        on_address_updated(table, event.payload).await.map(|_| ())
                    },
                ))
                .await,
                _ => lambda_runtime::run(service_fn(
                    move |event: LambdaEvent<EventBridgeEvent<AddressDeletedDetail>>| async move {
                        on_address_deleted(table, event.payload).await.map(|_| ())
                    },
                ))
                .await,
            }
        }
        Function::ListAddresses => {
            let table = handler_common::env_var(ADDRESS_TABLE_ENV)?;
            let table = &AddressTable::new(dynamodb()?, table);
            lambda_http::run(lambda_http::service_fn(move |req| async move {
                Ok::<_, Infallible>(list_addresses(table, req).await)
            }))
            .await
        }
        Function::ListFavorites => {
            let table = handler_common::env_var(FAVORITES_TABLE_ENV)?;
            let table = &FavoritesTable::new(dynamodb()?, table);
            lambda_http::run(lambda_http::service_fn(move |req| async move {
                Ok::<_, Infallible>(list_favorites(table, req).await)
            }))
            .await
        }
        Function::FavoritesConsumer => {
            let table = handler_common::env_var(FAVORITES_TABLE_ENV)?;
            let table = &FavoritesTable::new(dynamodb()?, table);
            let metrics = &Metrics::new(
                handler_common::env_var("METRICS_NAMESPACE")?,
                handler_common::env_var("SERVICE_NAME")?,
            );
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
                consume_batch_reporting(table, metrics, event.payload).await
            }))
            .await
        }
    }
}
