//! What every handler of the app needs, and nothing a single service alone uses:
//! JSON responses with the CONTRACT's headers, one error → status mapping, the caller's
//! identity from the API Gateway request context, typed config from the environment and
//! JSON logging with `tracing`; exact JSON numbers and ids ([`json`]) and their exact
//! DynamoDB form ([`dynamo`]), so stored values keep their JSON type.
#![warn(missing_docs)]

pub mod aws;
pub mod bootstrap;
pub mod config;
pub mod dynamo;
pub mod error;
pub mod identity;
pub mod json;
pub mod logging;
pub mod metrics;
pub mod paging;
pub mod request;
pub mod response;

pub use config::{ConfigError, env_var};
pub use error::{ApiError, error_response};
pub use identity::{Caller, caller};
pub use request::{BodyError, json_body};
pub use response::{json_response, json_text_response};
