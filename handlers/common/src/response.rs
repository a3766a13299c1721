//! JSON responses carrying the headers every API response of the app has.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// Builds a response with `body` as JSON, `Content-Type: application/json` and
/// `Access-Control-Allow-Origin: *`.
///
/// ```
/// let resp = handler_common::json_response(200, &serde_json::json!({"ok": true}));
/// assert_eq!(resp.status(), 200);
/// assert_eq!(resp.headers()["access-control-allow-origin"], "*");
/// ```
pub fn json_response<T: Serialize + ?Sized>(status: u16, body: &T) -> Response<Body> {
    // Serializing our own response types cannot fail (string keys, no non-finite floats);
    // should it ever, the client still gets a well-formed JSON error instead of a panic.
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "response body did not serialize");
            (500, r#"{"message":"internal error"}"#.to_owned())
        }
    };
    json_text_response(status, text)
}

/// Like [`json_response`], for a body that already is JSON text, sent byte for byte
/// (e.g. a stored response replayed by an idempotency layer).
///
/// ```
/// let resp = handler_common::json_text_response(200, r#"{"b":1,"a":2}"#.to_owned());
/// assert_eq!(resp.headers()["content-type"], "application/json");
/// assert_eq!(resp.body(), &lambda_http::Body::Text(r#"{"b":1,"a":2}"#.into()));
/// ```
pub fn json_text_response(status: u16, json_text: String) -> Response<Body> {
    let mut resp = Response::new(Body::Text(json_text));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_response_has_the_contract_headers_and_body() {
        let resp = json_response(201, &serde_json::json!({"a": 1}));
        assert_eq!(resp.status(), 201);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        assert_eq!(resp.body(), &Body::Text(r#"{"a":1}"#.into()));
    }
}
