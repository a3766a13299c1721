//! Why an event was not applied, with the `errorType` Lambda reports for each reason.

use lambda_runtime::Diagnostic;

use crate::event::{DETAIL_TYPE, SOURCE};

/// Why an event was not applied. Each variant is reported to Lambda with its own
/// `errorType`, so failures can be told apart in the logs and the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The event is not `source = restaurant`, `detail-type = order.updated`.
    #[error("expected a {SOURCE}/{DETAIL_TYPE} event, got {source_name}/{detail_type}")]
    UnexpectedEvent {
        /// The event's source.
        source_name: String,
        /// The event's detail-type.
        detail_type: String,
    },
    /// The envelope's `id` or `time`, which order the events of one order, is unusable.
    #[error("event {0} {1}")]
    InvalidEnvelope(&'static str, &'static str),
    /// A required field of `detail.data` is absent or empty.
    #[error("event detail has no data.{0}")]
    MissingField(&'static str),
    /// A field of `detail.data` has a type or value it cannot have.
    #[error("event detail's data.{field} {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No order with this user and id exists; none was created.
    #[error("order {order_id} of user {user_id} does not exist")]
    OrderNotFound {
        /// The owner named by the event.
        user_id: String,
        /// The order named by the event.
        order_id: String,
    },
    /// The order has a final status, which no event changes.
    #[error("order {order_id} is {status}, a final status; {refused} not applied")]
    FinalStatus {
        /// The order.
        order_id: String,
        /// Its final status.
        status: String,
        /// The status the event asked for.
        refused: String,
    },
    /// The event sets `PLACED` on an order that has left it.
    #[error("order {order_id} is {status}; an event cannot set PLACED again")]
    BackToPlaced {
        /// The order.
        order_id: String,
        /// Its status as stored: a string as it is, another JSON value as JSON.
        status: String,
    },
    /// The write's condition failed for a reason the stored order does not show (its
    /// `statusEvent` is not one this service wrote); the event is kept for a retry.
    #[error("order {order_id} changed in a way the status rules cannot explain; not applied")]
    Conflict {
        /// The order.
        order_id: String,
    },
    /// The orders table failed.
    #[error("dynamodb UpdateItem on table {table} failed")]
    Dynamo {
        /// The table.
        table: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
}

impl UpdateError {
    /// The `errorType` Lambda reports for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            UpdateError::UnexpectedEvent { .. }
            | UpdateError::InvalidEnvelope(..)
            | UpdateError::MissingField(_)
            | UpdateError::InvalidField { .. } => "InvalidEvent",
            UpdateError::OrderNotFound { .. } => "OrderNotFound",
            UpdateError::FinalStatus { .. } => "FinalStatus",
            UpdateError::BackToPlaced { .. } => "BackToPlaced",
            UpdateError::Conflict { .. } => "StatusConflict",
            UpdateError::Dynamo { .. } => "OrdersTableError",
        }
    }
}

impl From<UpdateError> for Diagnostic {
    fn from(err: UpdateError) -> Diagnostic {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}
