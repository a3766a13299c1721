//! The orders service's errors and the one place that maps them to HTTP statuses.

use handler_common::ApiError;

use crate::domain::ValidationError;
use crate::idempotency::IdempotencyError;
use crate::store::StoreError;

/// Everything an orders request can fail with. The `Display` text of a 4xx variant is the
/// message the client sees; 5xx variants answer a generic message and log the cause chain.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The body or path did not parse (400; 413 when only its size is refused).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The body is missing or not JSON (400).
    #[error(transparent)]
    Body(handler_common::BodyError),
    /// A list query's `limit` or token cannot be used (400).
    #[error(transparent)]
    Paging(handler_common::paging::PagingError),
    /// The request carries no caller identity (401).
    #[error("the request has no authenticated caller")]
    Unauthenticated,
    /// The caller has no order with this id (404).
    #[error("order {0} not found")]
    NotFound(String),
    /// The order's status forbids the change (400).
    #[error("order {order_id} is {status}; only PLACED orders can be {action}")]
    WrongStatus {
        /// The order.
        order_id: String,
        /// Its current status.
        status: String,
        /// "edited" or "canceled".
        action: &'static str,
    },
    /// The cancel window is over (400).
    #[error(
        "order {order_id} was placed at {order_time}, more than 10 minutes ago, and can no longer be canceled"
    )]
    TooLate {
        /// The order.
        order_id: String,
        /// When it was placed.
        order_time: String,
    },
    /// The stored `orderTime` is not a time, so the cancel window cannot be applied (409).
    #[error(
        "order {order_id} has orderTime {order_time}, which is not a date and time, so the 10-minute cancel window cannot be applied"
    )]
    UnreadableOrderTime {
        /// The order.
        order_id: String,
        /// The stored value, as JSON.
        order_time: String,
    },
    /// The order kept changing while it was being canceled (409; retry).
    #[error("order {0} changed while it was being canceled; retry")]
    Changing(String),
    /// The orderId was used before with a different body (409).
    #[error("orderId {0} was already used with a different request body")]
    PayloadMismatch(String),
    /// A request with the same orderId is still running (409; retry later).
    #[error("a request for orderId {0} is still in progress; retry shortly")]
    InProgress(String),
    /// The order exists with other content, and its idempotency record has expired (409).
    #[error("order {0} already exists with different content")]
    AlreadyExists(String),
    /// The orders table failed (500).
    #[error("orders table failed")]
    Store(#[from] StoreError),
    /// The idempotency table failed (500).
    #[error("idempotency table failed")]
    Idempotency(#[source] IdempotencyError),
}

impl ApiError for OrderError {
    fn status(&self) -> u16 {
        match self {
            OrderError::Validation(e) if e.is_too_large() => 413,
            OrderError::Validation(_)
            | OrderError::Body(_)
            | OrderError::Paging(_)
            | OrderError::WrongStatus { .. }
            | OrderError::TooLate { .. } => 400,
            OrderError::Unauthenticated => 401,
            OrderError::NotFound(_) => 404,
            OrderError::PayloadMismatch(_)
            | OrderError::InProgress(_)
            | OrderError::UnreadableOrderTime { .. }
            | OrderError::Changing(_)
            | OrderError::AlreadyExists(_) => 409,
            OrderError::Store(_) | OrderError::Idempotency(_) => 500,
        }
    }
}
