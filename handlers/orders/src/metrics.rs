//! The orders service's business metrics, in CloudWatch embedded metric format
//! ([`handler_common::metrics`]): `SuccessfulOrder` and `OrderTotal` per created order.

use std::io::Write;

use rust_decimal::Decimal;
use serde_json::Value;
use time::OffsetDateTime;

/// Where the service's metrics go: a namespace and the `service` dimension, written to
/// stdout (or kept in memory, for tests).
#[derive(Debug, Clone)]
pub struct Metrics(handler_common::metrics::Metrics);

impl Metrics {
    /// Metrics under `namespace`, dimensioned by `service`, written to stdout.
    pub fn new(namespace: impl Into<String>, service: impl Into<String>) -> Metrics {
        Metrics(handler_common::metrics::Metrics::new(namespace, service))
    }

    /// Like [`Metrics::new`], but lines are kept in memory (see [`Metrics::lines`]).
    pub fn in_memory(namespace: impl Into<String>, service: impl Into<String>) -> Metrics {
        Metrics(handler_common::metrics::Metrics::in_memory(
            namespace, service,
        ))
    }

    /// The lines kept by an in-memory sink, oldest first (empty for stdout).
    pub fn lines(&self) -> Vec<String> {
        self.0.lines()
    }

    /// Emits the created-order metrics (see [`Metrics::order_created`]).
    pub fn emit_order_created(&self, total: Decimal, at: OffsetDateTime) {
        self.0.emit_at(&values(total), millis(at));
    }

    /// The EMF document for one created order: `SuccessfulOrder` (1, Count) and
    /// `OrderTotal` (the exact amount).
    ///
    /// ```
    /// use orders::metrics::Metrics;
    /// let m = Metrics::new("FoodOrdering", "orders");
    /// let line = m.order_created(rust_decimal::Decimal::new(1997, 2), time::OffsetDateTime::UNIX_EPOCH);
    /// assert!(line.contains(r#""OrderTotal":19.97"#));
    /// ```
    pub fn order_created(&self, total: Decimal, at: OffsetDateTime) -> String {
        self.0.document(&values(total), millis(at))
    }

    /// Writes the created-order document as one line to `out`.
    pub fn write_order_created(&self, out: &mut impl Write, total: Decimal, at: OffsetDateTime) {
        handler_common::metrics::write_line(out, &self.order_created(total, at));
    }
}

fn values(total: Decimal) -> [handler_common::metrics::MetricValue<'static>; 2] {
    [
        ("SuccessfulOrder", "Count", Value::from(1)),
        (
            "OrderTotal",
            "None",
            Value::Number(handler_common::json::number_of(total)),
        ),
    ]
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn a_created_order_is_one_emf_line_with_both_metrics() {
        let m = Metrics::new("FoodOrdering", "orders");
        let mut out = Vec::new();
        m.write_order_created(
            &mut out,
            "19.97".parse().unwrap(),
            datetime!(2025-01-01 00:00:00.250 UTC),
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.ends_with('\n'));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_735_689_600_250i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "FoodOrdering");
        assert_eq!(directive["Dimensions"], json!([["service"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "SuccessfulOrder", "Unit": "Count"}, {"Name": "OrderTotal", "Unit": "None"}])
        );
        assert_eq!(doc["service"], "orders");
        assert_eq!(doc["SuccessfulOrder"], 1);
        assert!(text.contains(r#""OrderTotal":19.97"#), "{text}");
    }

    #[test]
    fn an_in_memory_sink_keeps_the_lines() {
        let m = Metrics::in_memory("N", "s");
        m.emit_order_created(Decimal::ONE, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            m.lines(),
            vec![m.order_created(Decimal::ONE, OffsetDateTime::UNIX_EPOCH)]
        );
    }
}
