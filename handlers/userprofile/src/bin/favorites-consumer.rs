//! `FavoritesConsumerFunction`: consumes batches of the favorites queue and reports
//! partial batch failures.

use aws_lambda_events::sqs::SqsEvent;
use handler_common::metrics::Metrics;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use userprofile::favorites::consume_batch_reporting;
use userprofile::store::{FAVORITES_TABLE_ENV, FavoritesTable};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let table_name = handler_common::env_var(FAVORITES_TABLE_ENV)?;
    let config = handler_common::aws::load_config().await;
    let table = FavoritesTable::new(aws_sdk_dynamodb::Client::new(&config), table_name);
    let metrics = Metrics::new(
        handler_common::env_var("METRICS_NAMESPACE")?,
        handler_common::env_var("SERVICE_NAME")?,
    );
    let (table, metrics) = (&table, &metrics);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        consume_batch_reporting(table, metrics, event.payload).await
    }))
    .await
}
