//! One bootstrap per handler crate: which of the crate's functions this process serves.
//!
//! Every function of a crate ships the same binary (so it is compiled and linked once);
//! the function's `Handler` in the template names the function, and Lambda passes it to
//! the process as `_HANDLER` (`sam local invoke` and `stackgen local` do the same).

/// The environment variable that carries the function's `Handler`.
pub const HANDLER_ENV: &str = "_HANDLER";

/// The handler is missing or names no function of this bootstrap.
#[derive(PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// `_HANDLER` is not set (or not UTF-8).
    #[error("{HANDLER_ENV} is not set: the function's Handler must name one of {known}")]
    Missing {
        /// The handlers this bootstrap serves, comma-separated.
        known: String,
    },
    /// `_HANDLER` names a function this bootstrap does not have.
    #[error("{HANDLER_ENV} is `{given}`, but this bootstrap serves only {known}")]
    Unknown {
        /// What `_HANDLER` said.
        given: String,
        /// The handlers this bootstrap serves, comma-separated.
        known: String,
    },
}

// `main` returns this error, and Rust prints a returned error with `Debug`: print the
// message, which is what reaches the function's log.
impl std::fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The function named by `_HANDLER`, out of this bootstrap's `(handler, function)` pairs.
pub fn select<T: Copy>(functions: &[(&str, T)]) -> Result<T, HandlerError> {
    select_from(std::env::var(HANDLER_ENV).ok().as_deref(), functions)
}

/// The function named by `handler`, out of `functions`.
pub fn select_from<T: Copy>(
    handler: Option<&str>,
    functions: &[(&str, T)],
) -> Result<T, HandlerError> {
    let known = || {
        functions
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let given = handler.ok_or_else(|| HandlerError::Missing { known: known() })?;
    functions
        .iter()
        .find(|(name, _)| *name == given)
        .map(|(_, f)| *f)
        .ok_or_else(|| HandlerError::Unknown {
            given: given.to_owned(),
            known: known(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTIONS: [(&str, u8); 2] = [("get-order", 1), ("list-orders", 2)];

    #[test]
    fn the_handler_names_the_function() {
        assert_eq!(select_from(Some("list-orders"), &FUNCTIONS), Ok(2));
    }

    #[test]
    fn a_missing_or_unknown_handler_lists_what_this_bootstrap_serves() {
        assert_eq!(
            select_from(None, &FUNCTIONS).unwrap_err().to_string(),
            "_HANDLER is not set: the function's Handler must name one of get-order, list-orders"
        );
        assert_eq!(
            select_from(Some("bootstrap"), &FUNCTIONS)
                .unwrap_err()
                .to_string(),
            "_HANDLER is `bootstrap`, but this bootstrap serves only get-order, list-orders"
        );
    }
}
