//! What an invocation returns when the function ran to the end.

use serde::{Deserialize, Serialize};

/// The result of an invocation the function completed: its response, or the error
/// it reported to `/invocation/{id}/error`.
///
/// Failures of the process itself (timeout, crash, failed init) are not outcomes but
/// [`InvokeError`](crate::InvokeError)s, because callers treat them differently: API
/// Gateway answers 504 to a timeout and 502 to a function error.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeOutcome {
    /// The function returned this JSON document.
    Response(serde_json::Value),
    /// The function returned an error (including a panic caught by its runtime).
    Error(FunctionError),
}

impl InvokeOutcome {
    /// Whether the function returned a response rather than an error.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Response(_))
    }

    /// The response, or the function's error.
    pub fn into_result(self) -> Result<serde_json::Value, FunctionError> {
        match self {
            Self::Response(value) => Ok(value),
            Self::Error(error) => Err(error),
        }
    }
}

/// An error in Lambda's wire shape, `{"errorType": ..., "errorMessage": ...}`: what a
/// runtime posts to the Runtime API, and what Lambda's `Invoke` returns for a failed
/// invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{error_type}: {error_message}")]
pub struct FunctionError {
    /// The error's kind, such as `Runtime.ExitError` or the handler's own type name.
    #[serde(default)]
    pub error_type: String,
    /// What went wrong.
    #[serde(default)]
    pub error_message: String,
}

impl FunctionError {
    /// An error of type `error_type` saying `error_message`.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }

    /// Reads what a runtime posted to an error endpoint. Runtimes send the JSON
    /// shape, but a body that is not JSON is kept as the message rather than lost;
    /// `header_type` (`Lambda-Runtime-Function-Error-Type`) fills a missing type.
    pub(crate) fn from_posted(body: &[u8], header_type: Option<&str>) -> Self {
        let fallback_type = header_type.unwrap_or("Unhandled");
        match serde_json::from_slice::<FunctionError>(body) {
            Ok(mut error) => {
                if error.error_type.is_empty() {
                    error.error_type = fallback_type.to_owned();
                }
                error
            }
            Err(_) => Self::new(fallback_type, String::from_utf8_lossy(body).into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_diagnostic_is_read_as_is() {
        let error = FunctionError::from_posted(
            br#"{"errorType":"OrderError","errorMessage":"no such order"}"#,
            Some("Runtime.Unknown"),
        );
        assert_eq!(error, FunctionError::new("OrderError", "no such order"));
    }

    #[test]
    fn a_body_that_is_not_json_becomes_the_message() {
        let error = FunctionError::from_posted(b"boom", Some("Runtime.InitError"));
        assert_eq!(error, FunctionError::new("Runtime.InitError", "boom"));
    }

    #[test]
    fn a_missing_type_comes_from_the_header_or_is_unhandled() {
        let error = FunctionError::from_posted(br#"{"errorMessage":"x"}"#, None);
        assert_eq!(error.error_type, "Unhandled");
    }

    #[test]
    fn it_serializes_in_lambdas_shape() {
        let json = serde_json::to_string(&FunctionError::new("T", "m")).unwrap();
        assert_eq!(json, r#"{"errorType":"T","errorMessage":"m"}"#);
    }
}
