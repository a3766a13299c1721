//! The functions' configuration, read from the environment once, at init.
//!
//! Names are those of `docs/wiring.md`; a missing or invalid variable fails the init with
//! its name, never a request.

use std::time::Duration;

/// A variable is missing or invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// The TTL is not a positive whole number of seconds.
    #[error(
        "environment variable IDEMPOTENCY_TTL_SECONDS must be a positive whole number, got {0:?}"
    )]
    BadTtl(String),
}

/// Configuration of the functions that only touch the orders table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersConfig {
    /// `ORDERS_TABLE`.
    pub orders_table: String,
}

impl OrdersConfig {
    /// Reads `ORDERS_TABLE`.
    pub fn from_env() -> Result<OrdersConfig, ConfigError> {
        OrdersConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<OrdersConfig, ConfigError> {
        Ok(OrdersConfig {
            orders_table: required(&lookup, "ORDERS_TABLE")?,
        })
    }
}

/// Configuration of CreateOrderFunction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateConfig {
    /// `ORDERS_TABLE`.
    pub orders_table: String,
    /// `IDEMPOTENCY_TABLE`.
    pub idempotency_table: String,
    /// `IDEMPOTENCY_TTL_SECONDS`, one hour when unset.
    pub idempotency_ttl: Duration,
    /// `METRICS_NAMESPACE`.
    pub metrics_namespace: String,
    /// `SERVICE_NAME`, the metrics' `service` dimension.
    pub service_name: String,
}

impl CreateConfig {
    /// Reads the create function's variables.
    pub fn from_env() -> Result<CreateConfig, ConfigError> {
        CreateConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<CreateConfig, ConfigError> {
        let idempotency_ttl = match lookup("IDEMPOTENCY_TTL_SECONDS").filter(|v| !v.is_empty()) {
            None => Duration::from_secs(3600),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => return Err(ConfigError::BadTtl(v)),
            },
        };
        Ok(CreateConfig {
            orders_table: required(&lookup, "ORDERS_TABLE")?,
            idempotency_table: required(&lookup, "IDEMPOTENCY_TABLE")?,
            idempotency_ttl,
            metrics_namespace: required(&lookup, "METRICS_NAMESPACE")?,
            service_name: required(&lookup, "SERVICE_NAME")?,
        })
    }
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    lookup(name)
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const ALL: &[(&str, &str)] = &[
        ("ORDERS_TABLE", "Orders"),
        ("IDEMPOTENCY_TABLE", "Idem"),
        ("METRICS_NAMESPACE", "FoodOrdering"),
        ("SERVICE_NAME", "orders"),
    ];

    #[test]
    fn the_ttl_defaults_to_one_hour() {
        let c = CreateConfig::from_lookup(env(ALL)).unwrap();
        assert_eq!(c.idempotency_ttl, Duration::from_secs(3600));
        assert_eq!(c.orders_table, "Orders");
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = CreateConfig::from_lookup(env(&ALL[1..])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable ORDERS_TABLE is not set"
        );
        assert_eq!(
            OrdersConfig::from_lookup(env(&[])).unwrap_err(),
            ConfigError::Missing("ORDERS_TABLE")
        );
    }

    #[test]
    fn a_bad_ttl_is_refused() {
        let mut vars = ALL.to_vec();
        vars.push(("IDEMPOTENCY_TTL_SECONDS", "soon"));
        assert_eq!(
            CreateConfig::from_lookup(env(&vars)).unwrap_err(),
            ConfigError::BadTtl("soon".into())
        );
        vars.pop();
        vars.push(("IDEMPOTENCY_TTL_SECONDS", "60"));
        assert_eq!(
            CreateConfig::from_lookup(env(&vars))
                .unwrap()
                .idempotency_ttl,
            Duration::from_secs(60)
        );
    }
}
