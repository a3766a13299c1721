//! The orders service: placing, reading, editing and canceling a caller's food orders.
//!
//! - [`domain`]: parsed inputs (`NewOrder`, `OrderEdit`, `OrderId`) and the stored `Order`;
//! - [`service`]: the use cases; creation is idempotent through [`idempotency`];
//! - [`store`]: the orders table, every change a single conditional write;
//! - [`http`]: one adapter per function, used by the thin binaries in `src/bin/`;
//! - [`metrics`]: the `SuccessfulOrder` / `OrderTotal` metrics in embedded metric format.
//!
//! Numbers are exact from request to table to response, and stored values keep their JSON
//! type ([`handler_common::json`], [`handler_common::dynamo`]).
#![warn(missing_docs)]

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod service;
pub mod store;

pub use error::OrderError;
pub use service::{CreateOrder, Created, Orders};
