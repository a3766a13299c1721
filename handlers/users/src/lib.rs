//! The users service: the users CRUD function and the Lambda TOKEN authorizer of the users
//! API (CONTRACT.md, section users).
//!
//! - [`api`]: the five routes of the users function, over a [`store::UserStore`];
//! - [`domain`]: user ids, request bodies and stored users, parsed once at the edge;
//! - [`listing`]: `GET /users` in pages that fit a Lambda response;
//! - [`store`]: the users table in DynamoDB;
//! - [`authorizer`]: Cognito ID token verification and the IAM policy it answers with.
//!
//! The bins in `src/bin/` only read their configuration, build clients once and run.
#![warn(missing_docs)]

pub mod api;
pub mod authorizer;
pub mod domain;
pub mod listing;
pub mod store;

#[cfg(test)]
mod event_files;

use handler_common::{ConfigError, env_var};

/// The users function's settings, read from the environment once at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersConfig {
    /// The users table (`USERS_TABLE`).
    pub table: String,
}

impl UsersConfig {
    /// Reads `USERS_TABLE`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(UsersConfig {
            table: env_var("USERS_TABLE")?,
        })
    }
}
