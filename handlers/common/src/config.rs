//! Typed configuration read from the environment once, at init.

/// A required environment variable is missing or not valid UTF-8.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} is not set (or not valid UTF-8)")]
pub struct ConfigError {
    /// The variable's name.
    pub name: String,
}

/// Reads a required, non-empty environment variable, naming it in the error.
pub fn env_var(name: &str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(ConfigError {
            name: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let err = env_var("HANDLER_COMMON_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable HANDLER_COMMON_TEST_SURELY_UNSET is not set (or not valid UTF-8)"
        );
    }
}
