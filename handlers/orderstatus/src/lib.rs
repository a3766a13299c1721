//! The orderstatus service: restaurants (and couriers) put `order.updated` events on the
//! restaurant bus; a rule sends them here, and the order's `data.status` is set in the
//! orders service's table.
//!
//! The update is one conditional write (`attribute_exists`), so an event for an order
//! that does not exist never creates one, and only `data.status` changes: every other
//! stored value keeps its JSON type and text, whoever wrote it. Ids may be JSON strings
//! or numbers (the orders service keys a numeric id by its text). An event that cannot be
//! applied — missing or ill-typed `userId`, `orderId` or `status`, or naming an unknown
//! order — fails the invocation with a typed error, so the rule's retry policy and
//! dead-letter queue keep it for inspection instead of it being dropped.
#![warn(missing_docs)]

use std::collections::HashMap;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use handler_common::json::{IdError, JsonId};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// A complete status change, parsed from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    user_id: String,
    order_id: String,
    status: String,
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

    /// The new status.
    pub fn status(&self) -> &str {
        &self.status
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
        })
    }
}

/// Why an event was not applied. Each variant is reported to Lambda with its own
/// `errorType`, so failures can be told apart in the logs and the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The event is not `source = restaurant`, `detail-type = order.updated`.
    #[error("expected a {SOURCE}/{DETAIL_TYPE} event, got {source_name}/{detail_type}")]
    UnexpectedEvent {
        /// The event's source.
        source_name: String,
        /// The event's detail-type.
        detail_type: String,
    },
    /// A required field of `detail.data` is absent or empty.
    #[error("event detail has no data.{0}")]
    MissingField(&'static str),
    /// A field of `detail.data` has a type or value it cannot have.
    #[error("event detail's data.{field} {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No order with this user and id exists; none was created.
    #[error("order {order_id} of user {user_id} does not exist")]
    OrderNotFound {
        /// The owner named by the event.
        user_id: String,
        /// The order named by the event.
        order_id: String,
    },
    /// The orders table failed.
    #[error("dynamodb UpdateItem on table {table} failed")]
    Dynamo {
        /// The table.
        table: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
}

impl UpdateError {
    /// The `errorType` Lambda reports for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            UpdateError::UnexpectedEvent { .. }
            | UpdateError::MissingField(_)
            | UpdateError::InvalidField { .. } => "InvalidEvent",
            UpdateError::OrderNotFound { .. } => "OrderNotFound",
            UpdateError::Dynamo { .. } => "OrdersTableError",
        }
    }
}

impl From<UpdateError> for Diagnostic {
    fn from(err: UpdateError) -> Diagnostic {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Sets order statuses in the orders table.
#[derive(Debug, Clone)]
pub struct StatusStore {
    client: Client,
    table: String,
}

impl StatusStore {
    /// A store over the orders table `table`.
    pub fn new(client: Client, table: impl Into<String>) -> StatusStore {
        StatusStore {
            client,
            table: table.into(),
        }
    }

    /// Sets `data.status` of an existing order; every other attribute stays.
    pub async fn apply(&self, change: &StatusChange) -> Result<(), UpdateError> {
        let key = HashMap::from([
            (
                "userId".to_owned(),
                AttributeValue::S(change.user_id.clone()),
            ),
            (
                "orderId".to_owned(),
                AttributeValue::S(change.order_id.clone()),
            ),
        ]);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #data.#status = :status")
            // UpdateItem would otherwise create the item.
            .condition_expression("attribute_exists(orderId)")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", AttributeValue::S(change.status.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(UpdateError::OrderNotFound {
                        user_id: change.user_id.clone(),
                        order_id: change.order_id.clone(),
                    })
                }
                _ => Err(UpdateError::Dynamo {
                    table: self.table.clone(),
                    source: Box::new(e.into()),
                }),
            },
        }
    }
}

/// UpdateOrderStatusFunction's handler: parses the event and applies the status.
///
/// ```no_run
/// # async fn run(store: orderstatus::StatusStore) -> Result<(), lambda_runtime::Error> {
/// lambda_runtime::run(lambda_runtime::service_fn(|event| orderstatus::handle(&store, event))).await
/// # }
/// ```
#[tracing::instrument(skip_all, fields(event_id = event.payload.id.as_deref().unwrap_or("")))]
pub async fn handle(
    store: &StatusStore,
    event: LambdaEvent<EventBridgeEvent<OrderUpdated>>,
) -> Result<(), UpdateError> {
    let result: Result<(), UpdateError> = async {
        let change = StatusChange::try_from(&event.payload)?;
        store.apply(&change).await?;
        tracing::info!(
            order_id = change.order_id(),
            status = change.status(),
            "order status updated"
        );
        Ok(())
    }
    .await;
    if let Err(e) = &result {
        tracing::error!(error.type = e.error_type(), error.cause_chain = ?e, "order.updated event not applied");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
