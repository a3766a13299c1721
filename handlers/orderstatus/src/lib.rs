//! The orderstatus service: restaurants (and couriers) put `order.updated` events on the
//! restaurant bus; a rule sends them here, and the order's `data.status` is set in the
//! orders service's table.
//!
//! The update is one conditional write, so an event for an order that does not exist
//! never creates one, and only `data.status` (and the stamp of the last event applied,
//! `statusEvent`) changes: every other stored value keeps its JSON type and text, whoever
//! wrote it. Ids may be JSON strings or numbers (the orders service keys a numeric id by
//! its text). The status rules ([`rules`]): a final status is never left, `PLACED` is
//! never set again, and an event older than the last one applied is ignored, as is a
//! redelivery. An event that cannot be applied fails the invocation with a typed error,
//! so the rule's retry policy and dead-letter queue keep it for inspection instead of it
//! being dropped.
#![warn(missing_docs)]

pub mod error;
pub mod event;
pub mod rules;
pub mod store;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;

pub use error::UpdateError;
pub use event::{DETAIL_TYPE, EventStamp, OrderUpdated, OrderUpdatedData, SOURCE, StatusChange};
pub use rules::Outcome;
pub use store::StatusStore;

/// UpdateOrderStatusFunction's handler: parses the event and applies the status.
///
/// ```no_run
/// # async fn run(store: orderstatus::StatusStore) -> Result<(), lambda_runtime::Error> {
/// lambda_runtime::run(lambda_runtime::service_fn(|event| orderstatus::handle(&store, event))).await
/// # }
/// ```
#[tracing::instrument(skip_all, fields(event_id = event.payload.id.as_deref().unwrap_or("")))]
pub async fn handle(
    store: &StatusStore,
    event: LambdaEvent<EventBridgeEvent<OrderUpdated>>,
) -> Result<(), UpdateError> {
    let result: Result<(), UpdateError> = async {
        let change = StatusChange::try_from(&event.payload)?;
        match store.apply(&change).await? {
            Outcome::Applied => tracing::info!(
                order_id = change.order_id(),
                status = change.status(),
                "order status updated"
            ),
            Outcome::AlreadyApplied => tracing::info!(
                order_id = change.order_id(),
                "order.updated event applied before; nothing to do"
            ),
            Outcome::Stale { last } => tracing::warn!(
                order_id = change.order_id(),
                status = change.status(),
                event = change.stamp().as_str(),
                last = last.as_str(),
                "order.updated event older than the last one applied; ignored"
            ),
        }
        Ok(())
    }
    .await;
    if let Err(e) = &result {
        tracing::error!(error.type = e.error_type(), error.cause_chain = ?e, "order.updated event not applied");
    }
    result
}
