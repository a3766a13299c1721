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
///
/// A cause whose text the line already ends with is left out: the SDK's errors repeat
/// their service error as their own source.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("Thrown: details")]
    struct Middle(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("Thrown: details")]
    struct Inner;

    #[test]
    fn an_error_chain_names_each_distinct_cause_once() {
        assert_eq!(
            super::error_chain(&Outer(Middle(Inner))),
            "outer: Thrown: details"
        );
    }
}
