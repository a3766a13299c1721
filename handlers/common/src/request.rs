//! Reading a request's JSON body into a typed value, with a client-facing error.

use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;

/// Why a request body could not be read as the expected JSON.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The request had no body.
    #[error("request body is missing")]
    Missing,
    /// The body is not UTF-8 or not JSON at all.
    #[error("request body is not valid JSON: {0}")]
    NotJson(String),
}

/// Parses the request body as JSON into `T` (use `serde_json::Value` to validate by hand).
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, BodyError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => return Err(BodyError::Missing),
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return Err(BodyError::Missing),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Missing);
    }
    serde_json::from_slice(bytes).map_err(|e| BodyError::NotJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_body_is_missing() {
        let req = Request::new(Body::Empty);
        assert!(matches!(
            json_body::<serde_json::Value>(&req),
            Err(BodyError::Missing)
        ));
    }

    #[test]
    fn a_non_json_body_says_so() {
        let req = Request::new(Body::Text("{oops".into()));
        let err = json_body::<serde_json::Value>(&req).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("request body is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn a_json_body_parses() {
        let req = Request::new(Body::Text(r#"{"name":"Ann"}"#.into()));
        let v: serde_json::Value = json_body(&req).unwrap();
        assert_eq!(v["name"], "Ann");
    }
}
