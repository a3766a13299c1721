//! One place where a service's error becomes an HTTP response.
//!
//! Each service keeps its own `thiserror` enum and says, per variant, which status it is.
//! Client errors (4xx) show their message; server errors (5xx) answer a generic message
//! and send the whole cause chain to the log, so no internals leak to callers.

use lambda_http::{Body, Response};
use serde_json::json;

use crate::response::json_response;

/// An error a handler can answer with: its `Display` is the message a client sees for 4xx.
pub trait ApiError: std::error::Error {
    /// The HTTP status this error is answered with.
    fn status(&self) -> u16;
}

/// Renders `err` as `{"message": ...}` with its status and the CONTRACT headers.
pub fn error_response<E: ApiError>(err: &E) -> Response<Body> {
    let status = err.status();
    if status >= 500 {
        tracing::error!(error.cause_chain = ?err, error.message = %err, "request failed");
        json_response(status, &json!({ "message": "internal error" }))
    } else {
        tracing::info!(error.message = %err, status, "request refused");
        json_response(status, &json!({ "message": err.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("name must be a string")]
        Validation,
        #[error("database password is hunter2")]
        Internal,
    }

    impl ApiError for Sample {
        fn status(&self) -> u16 {
            match self {
                Sample::Validation => 400,
                Sample::Internal => 500,
            }
        }
    }

    fn body(resp: &Response<Body>) -> serde_json::Value {
        match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn a_client_error_shows_its_message() {
        let resp = error_response(&Sample::Validation);
        assert_eq!(resp.status(), 400);
        assert_eq!(body(&resp), json!({"message": "name must be a string"}));
    }

    #[test]
    fn a_server_error_hides_its_cause() {
        let resp = error_response(&Sample::Internal);
        assert_eq!(resp.status(), 500);
        assert_eq!(body(&resp), json!({"message": "internal error"}));
    }
}
