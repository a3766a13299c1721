//! The order status rules, decided from the stored order: which statuses are final,
//! that `PLACED` is never set again, and that events apply in the order they happened.
//!
//! The store turns the rules into one conditional write; when DynamoDB refuses it, it
//! returns the stored order, and [`refusal`] says which rule refused and what that means.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::error::UpdateError;
use crate::event::{EventStamp, StatusChange};

/// Statuses an order never leaves: no event changes them.
pub const FINAL_STATUSES: [&str; 2] = ["CANCELED", "COMPLETED"];
/// The status an order is created with; no event sets it on an order that has left it.
pub const PLACED: &str = "PLACED";
/// The top-level attribute of an order holding the stamp of the last event applied to it.
pub const STAMP_ATTRIBUTE: &str = "statusEvent";

/// What became of an event that named an existing order and was not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The status was set.
    Applied,
    /// This very event was applied before (a redelivery): nothing to do.
    AlreadyApplied,
    /// A later event was applied already; this older one is ignored.
    Stale {
        /// The stamp of the last event applied.
        last: EventStamp,
    },
}

/// The parts of a stored order the rules read.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOrder {
    status: Option<Value>,
    stamp: Option<EventStamp>,
}

impl StoredOrder {
    /// Reads the status (`data.status`, any type) and the last event's stamp of an item.
    pub fn of(item: &HashMap<String, AttributeValue>) -> StoredOrder {
        let status = match item.get("data") {
            Some(AttributeValue::M(data)) => data
                .get("status")
                .and_then(|s| handler_common::dynamo::from_attr(s).ok()),
            _ => None,
        };
        let stamp = match item.get(STAMP_ATTRIBUTE) {
            Some(AttributeValue::S(s)) => Some(EventStamp::stored(s.clone())),
            _ => None,
        };
        StoredOrder { status, stamp }
    }
}

/// Whether `status` is one no event leaves.
pub fn is_final(status: &str) -> bool {
    FINAL_STATUSES.contains(&status)
}

/// Why the write of `change` was refused on the order as it was stored, first rule first:
/// a redelivery and an older event are done (not errors, so they are not retried);
/// leaving a final status or going back to `PLACED` are errors for the dead-letter queue.
pub fn refusal(change: &StatusChange, stored: &StoredOrder) -> Result<Outcome, UpdateError> {
    match &stored.stamp {
        Some(last) if last == change.stamp() => return Ok(Outcome::AlreadyApplied),
        Some(last) if last > change.stamp() => return Ok(Outcome::Stale { last: last.clone() }),
        _ => {}
    }
    match &stored.status {
        Some(Value::String(status)) if is_final(status) => Err(UpdateError::FinalStatus {
            order_id: change.order_id().to_owned(),
            status: status.clone(),
            refused: change.status().to_owned(),
        }),
        Some(Value::String(status)) if status == PLACED => Err(conflict(change)),
        status if change.status() == PLACED => Err(UpdateError::BackToPlaced {
            order_id: change.order_id().to_owned(),
            status: handler_common::json::shown(status.as_ref(), "(no status)"),
        }),
        _ => Err(conflict(change)),
    }
}

fn conflict(change: &StatusChange) -> UpdateError {
    UpdateError::Conflict {
        order_id: change.order_id().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::eventbridge::EventBridgeEvent;
    use serde_json::json;

    fn change(status: &str, time: &str) -> StatusChange {
        let e: EventBridgeEvent<crate::OrderUpdated> = serde_json::from_value(json!({
            "id": "e-1", "detail-type": "order.updated", "source": "restaurant", "time": time,
            "detail": {"data": {"userId": "u", "orderId": "o", "status": status}}
        }))
        .unwrap();
        StatusChange::try_from(&e).unwrap()
    }

    fn stored(status: Value, stamp: Option<&str>) -> StoredOrder {
        let mut item = HashMap::from([(
            "data".to_owned(),
            handler_common::dynamo::to_attr(&json!({ "status": status })),
        )]);
        if let Some(stamp) = stamp {
            item.insert(
                STAMP_ATTRIBUTE.to_owned(),
                AttributeValue::S(stamp.to_owned()),
            );
        }
        StoredOrder::of(&item)
    }

    #[test]
    fn the_same_event_again_is_done_and_an_older_one_ignored() {
        let c = change("READY", "2025-01-01T00:01:00Z");
        let same = stored(json!("READY"), Some("2025-01-01T00:01:00.000Z#e-1"));
        assert_eq!(refusal(&c, &same).unwrap(), Outcome::AlreadyApplied);
        // Even when the order has reached a final status since.
        let later = "2025-01-01T00:02:00.000Z#e-9";
        let done = stored(json!("COMPLETED"), Some(later));
        assert_eq!(
            refusal(&c, &done).unwrap(),
            Outcome::Stale {
                last: EventStamp::stored(later)
            }
        );
    }

    #[test]
    fn a_final_status_is_never_left() {
        for status in FINAL_STATUSES {
            let err = refusal(
                &change("READY", "2025-01-01T00:01:00Z"),
                &stored(json!(status), None),
            )
            .unwrap_err();
            assert_eq!(err.error_type(), "FinalStatus");
            assert_eq!(
                err.to_string(),
                format!("order o is {status}, a final status; READY not applied")
            );
        }
    }

    #[test]
    fn placed_is_never_set_on_an_order_that_left_it() {
        for status in [json!("ACKNOWLEDGED"), json!(3), Value::Null] {
            let err = refusal(
                &change(PLACED, "2025-01-01T00:01:00Z"),
                &stored(status, None),
            )
            .unwrap_err();
            assert_eq!(err.error_type(), "BackToPlaced");
        }
    }

    #[test]
    fn a_refusal_no_rule_explains_is_a_conflict_to_retry() {
        let err = refusal(
            &change("READY", "2025-01-01T00:01:00Z"),
            &stored(json!("PLACED"), None),
        )
        .unwrap_err();
        assert_eq!(err.error_type(), "StatusConflict");
    }
}
