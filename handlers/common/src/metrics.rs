//! Business metrics in CloudWatch embedded metric format (EMF).
//!
//! Lambda ships every stdout line to CloudWatch Logs, which turns a line carrying an
//! `_aws` block into metrics, with no API call and no agent. The format is a small JSON
//! document, so it is written here rather than pulled in with a metrics framework.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// One value of a metric document: its name, CloudWatch unit and value.
pub type MetricValue<'a> = (&'a str, &'a str, Value);

/// Where a service's metrics go: a namespace and the `service` dimension, written to
/// stdout (or kept in memory, for tests).
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    service: String,
    kept: Option<Arc<Mutex<Vec<String>>>>,
}

impl Metrics {
    /// Metrics under `namespace`, dimensioned by `service`, written to stdout.
    pub fn new(namespace: impl Into<String>, service: impl Into<String>) -> Metrics {
        Metrics {
            namespace: namespace.into(),
            service: service.into(),
            kept: None,
        }
    }

    /// Like [`Metrics::new`], but lines are kept in memory (see [`Metrics::lines`]).
    pub fn in_memory(namespace: impl Into<String>, service: impl Into<String>) -> Metrics {
        Metrics {
            kept: Some(Arc::default()),
            ..Metrics::new(namespace, service)
        }
    }

    /// The lines kept by an in-memory sink, oldest first (empty for stdout).
    pub fn lines(&self) -> Vec<String> {
        self.kept
            .as_ref()
            .map(|k| k.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// The EMF document of `values` at `timestamp_ms` (ms since the epoch).
    ///
    /// ```
    /// use handler_common::metrics::Metrics;
    /// let m = Metrics::new("foodapp", "userprofile");
    /// let line = m.document(&[("RejectedFavoriteCommand", "Count", 2.into())], 0);
    /// assert!(line.contains(r#""RejectedFavoriteCommand":2"#));
    /// ```
    pub fn document(&self, values: &[MetricValue<'_>], timestamp_ms: i64) -> String {
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["service"]],
                    "Metrics": definitions,
                }]
            }),
        );
        doc.insert("service".to_owned(), Value::String(self.service.clone()));
        for (name, _, value) in values {
            doc.insert((*name).to_owned(), value.clone());
        }
        Value::Object(doc).to_string()
    }

    /// Emits the document of `values` at `timestamp_ms`: a line on stdout, or kept.
    pub fn emit_at(&self, values: &[MetricValue<'_>], timestamp_ms: i64) {
        let line = self.document(values, timestamp_ms);
        match &self.kept {
            Some(kept) => kept.lock().unwrap_or_else(|e| e.into_inner()).push(line),
            None => write_line(&mut std::io::stdout().lock(), &line),
        }
    }

    /// Emits the document of `values` now.
    pub fn emit(&self, values: &[MetricValue<'_>]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.emit_at(values, now);
    }
}

/// Writes `line` and a newline to `out`.
pub fn write_line(out: &mut impl Write, line: &str) {
    // A lost metric line must never fail the work that was already done.
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        tracing::warn!(error.cause_chain = ?e, "metrics line not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_declares_each_value_under_the_namespace_and_service() {
        let m = Metrics::new("N", "s");
        let doc: Value = serde_json::from_str(&m.document(
            &[("A", "Count", 1.into()), ("B", "None", json!(2.5))],
            1_735_689_600_250,
        ))
        .unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_735_689_600_250_i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "N");
        assert_eq!(directive["Dimensions"], json!([["service"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "A", "Unit": "Count"}, {"Name": "B", "Unit": "None"}])
        );
        assert_eq!(
            (&doc["service"], &doc["A"], &doc["B"]),
            (&json!("s"), &json!(1), &json!(2.5))
        );
    }

    #[test]
    fn an_in_memory_sink_keeps_the_lines() {
        let m = Metrics::in_memory("N", "s");
        m.emit_at(&[("A", "Count", 1.into())], 7);
        assert_eq!(m.lines(), vec![m.document(&[("A", "Count", 1.into())], 7)]);
    }
}
