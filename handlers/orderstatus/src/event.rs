//! Parsing an `order.updated` event into a [`StatusChange`].

use aws_lambda_events::eventbridge::EventBridgeEvent;
use handler_common::json::{IdError, JsonId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::UpdateError;

/// The event source this service accepts.
pub const SOURCE: &str = "restaurant";
/// The event detail-type this service accepts.
pub const DETAIL_TYPE: &str = "order.updated";

/// The `detail` of an `order.updated` event: `{"data": {"userId", "orderId", "status", ...}}`.
///
/// Fields are optional here so that an incomplete event is reported by name
/// ([`UpdateError::MissingField`]) rather than as a bare deserialization failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdated {
    /// The order's new state; only `status` is applied.
    #[serde(default)]
    pub data: Option<OrderUpdatedData>,
}

/// The `data` of an `order.updated` event. Other fields of the order are ignored.
///
/// Fields are JSON values here so that a wrongly typed one is reported by name
/// ([`UpdateError::InvalidField`]) instead of failing the whole event's deserialization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpdatedData {
    /// The order's owner (a string, or a number).
    #[serde(default)]
    pub user_id: Option<Value>,
    /// The order (a string, or a number).
    #[serde(default)]
    pub order_id: Option<Value>,
    /// The new status, e.g. `ACKNOWLEDGED`.
    #[serde(default)]
    pub status: Option<Value>,
}

/// Where an event stands in an order's history: its time, then its id as the tie-break.
///
/// Stored as one string, `<time, UTC, milliseconds>#<event id>`, whose text order is
/// this order (the time has a fixed width), so one condition compares two stamps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventStamp(String);

impl EventStamp {
    /// The latest time a stamp can hold: the fixed-width text ends at year 9999.
    const MAX_MILLIS: i64 = 253_402_300_799_999;

    fn of(event: &EventBridgeEvent<OrderUpdated>) -> Result<EventStamp, UpdateError> {
        let id = match event.id.as_deref().map(str::trim) {
            None | Some("") => return Err(UpdateError::InvalidEnvelope("id", "is missing")),
            Some(id) => id,
        };
        let time = event
            .time
            .ok_or(UpdateError::InvalidEnvelope("time", "is missing"))?;
        if !(0..=Self::MAX_MILLIS).contains(&time.timestamp_millis()) {
            return Err(UpdateError::InvalidEnvelope(
                "time",
                "is not between the years 1970 and 9999",
            ));
        }
        Ok(EventStamp(format!(
            "{}#{id}",
            time.format("%Y-%m-%dT%H:%M:%S%.3fZ")
        )))
    }

    /// A stamp as stored on an order (`statusEvent`).
    pub fn stored(text: impl Into<String>) -> EventStamp {
        EventStamp(text.into())
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A complete status change, parsed from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    user_id: String,
    order_id: String,
    status: String,
    stamp: EventStamp,
}

impl StatusChange {
    /// The order's owner.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The order.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The new status, exactly as sent.
    pub fn status(&self) -> &str {
        &self.status
    }

    /// The event's place in the order's history.
    pub fn stamp(&self) -> &EventStamp {
        &self.stamp
    }
}

impl TryFrom<&EventBridgeEvent<OrderUpdated>> for StatusChange {
    type Error = UpdateError;

    fn try_from(event: &EventBridgeEvent<OrderUpdated>) -> Result<StatusChange, UpdateError> {
        if event.source != SOURCE || event.detail_type != DETAIL_TYPE {
            return Err(UpdateError::UnexpectedEvent {
                source_name: event.source.clone(),
                detail_type: event.detail_type.clone(),
            });
        }
        let data = event
            .detail
            .data
            .as_ref()
            .ok_or(UpdateError::MissingField("data"))?;
        let id = |value: &Option<Value>, name: &'static str| match value {
            None | Some(Value::Null) => Err(UpdateError::MissingField(name)),
            Some(value) => match JsonId::parse(value) {
                Ok(id) => Ok(id.key().to_owned()),
                Err(IdError::Empty) => Err(UpdateError::MissingField(name)),
                Err(reason) => Err(UpdateError::InvalidField {
                    field: name,
                    reason: reason.to_string(),
                }),
            },
        };
        let status = match &data.status {
            None | Some(Value::Null) => return Err(UpdateError::MissingField("status")),
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(UpdateError::MissingField("status"));
            }
            // Kept exactly as sent: clients compare it with what they put on the bus.
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(UpdateError::InvalidField {
                    field: "status",
                    reason: "must be a string".to_owned(),
                });
            }
        };
        Ok(StatusChange {
            user_id: id(&data.user_id, "userId")?,
            order_id: id(&data.order_id, "orderId")?,
            status,
            stamp: EventStamp::of(event)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Diagnostic;
    use serde_json::json;

    fn event(detail: serde_json::Value) -> EventBridgeEvent<OrderUpdated> {
        serde_json::from_value(json!({
            "version": "0", "id": "e-1", "detail-type": "order.updated", "source": "restaurant",
            "account": "123456789012", "time": "2025-01-01T00:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail
        }))
        .unwrap()
    }

    #[test]
    fn a_complete_event_parses_into_a_change() {
        let e = event(
            json!({"data": {"userId": "u", "orderId": "o", "status": "ACKNOWLEDGED", "totalAmount": 1}}),
        );
        let c = StatusChange::try_from(&e).unwrap();
        assert_eq!(
            (c.user_id(), c.order_id(), c.status()),
            ("u", "o", "ACKNOWLEDGED")
        );
    }

    #[test]
    fn each_missing_field_is_named_and_typed_invalid_event() {
        for (detail, field) in [
            (json!({}), "data"),
            (json!({"data": {"orderId": "o", "status": "S"}}), "userId"),
            (json!({"data": {"userId": "u", "status": "S"}}), "orderId"),
            (json!({"data": {"userId": "u", "orderId": "o"}}), "status"),
            (
                json!({"data": {"userId": "u", "orderId": "o", "status": " "}}),
                "status",
            ),
        ] {
            let err = StatusChange::try_from(&event(detail)).unwrap_err();
            assert!(
                matches!(err, UpdateError::MissingField(f) if f == field),
                "{err}"
            );
            let d = Diagnostic::from(err);
            assert_eq!(d.error_type, "InvalidEvent");
            assert_eq!(d.error_message, format!("event detail has no data.{field}"));
        }
    }

    #[test]
    fn another_detail_type_is_refused() {
        let mut e = event(json!({"data": {"userId": "u", "orderId": "o", "status": "S"}}));
        e.detail_type = "order.created".into();
        assert!(matches!(
            StatusChange::try_from(&e),
            Err(UpdateError::UnexpectedEvent { .. })
        ));
    }

    #[test]
    fn numeric_ids_are_keyed_by_their_text() {
        let e = event(json!({"data": {"userId": "u", "orderId": 42, "status": "READY"}}));
        let c = StatusChange::try_from(&e).unwrap();
        assert_eq!((c.order_id(), c.status()), ("42", "READY"));
    }

    #[test]
    fn a_wrongly_typed_field_is_named_and_invalid() {
        for (data, message) in [
            (
                json!({"userId": ["u"], "orderId": "o", "status": "S"}),
                "event detail's data.userId must be a non-empty string or a number",
            ),
            (
                json!({"userId": "u", "orderId": "o", "status": 5}),
                "event detail's data.status must be a string",
            ),
        ] {
            let err = StatusChange::try_from(&event(json!({ "data": data }))).unwrap_err();
            assert_eq!(err.to_string(), message);
            assert_eq!(err.error_type(), "InvalidEvent");
        }
    }

    #[test]
    fn the_stamp_is_the_time_to_the_millisecond_then_the_id() {
        let e = event(json!({"data": {"userId": "u", "orderId": "o", "status": "S"}}));
        let c = StatusChange::try_from(&e).unwrap();
        assert_eq!(c.stamp().as_str(), "2025-01-01T00:00:00.000Z#e-1");
    }

    #[test]
    fn stamps_order_by_time_then_by_id() {
        let stamp = |time: &str, id: &str| {
            let mut e = event(json!({"data": {"userId": "u", "orderId": "o", "status": "S"}}));
            e.time = Some(time.parse().unwrap());
            e.id = Some(id.into());
            StatusChange::try_from(&e).unwrap().stamp().clone()
        };
        // Text order is time order even where a shorter text would sort first.
        assert!(stamp("2025-01-01T00:00:09Z", "z") < stamp("2025-01-01T00:00:10Z", "a"));
        assert!(stamp("2025-01-01T00:00:00.5Z", "z") < stamp("2025-01-01T00:00:01Z", "a"));
        assert!(stamp("2025-01-01T00:00:00Z", "a") < stamp("2025-01-01T00:00:00Z", "b"));
        assert!(stamp("2025-01-01T00:00:00Z", "a") == stamp("2025-01-01T00:00:00Z", "a"));
    }

    #[test]
    fn an_event_without_id_or_time_is_invalid() {
        let mut no_id = event(json!({"data": {"userId": "u", "orderId": "o", "status": "S"}}));
        no_id.id = Some(" ".into());
        let mut no_time = no_id.clone();
        no_time.id = Some("e".into());
        no_time.time = None;
        for (e, message) in [
            (no_id, "event id is missing"),
            (no_time, "event time is missing"),
        ] {
            let err = StatusChange::try_from(&e).unwrap_err();
            assert_eq!(
                (err.error_type(), err.to_string().as_str()),
                ("InvalidEvent", message)
            );
        }
    }
}
