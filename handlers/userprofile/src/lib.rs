//! The userprofile service's Lambda functions.
//!
//! Writes reach this crate asynchronously: the API puts address commands on the address
//! bus (one rule and consumer per detail-type, [`address`]) and favorites commands on the
//! favorites queue ([`favorites`]). Reads are two API routes ([`api`]). Each function is a
//! bin of a few lines under `src/bin/`, named after its function in the model; the logic
//! lives here, over the domain types of [`domain`] and the narrow table stores of
//! [`store`].
#![warn(missing_docs)]

pub mod address;
pub mod api;
pub mod domain;
pub mod favorites;
pub mod store;

/// An error and its sources as one line, `outer: inner: ...`, for messages that leave
/// the process (a Lambda error response) where only text survives.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
