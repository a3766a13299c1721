//! The orders table, as this service writes it: one conditional `UpdateItem` per event.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::error::UpdateError;
use crate::event::StatusChange;
use crate::rules::{self, FINAL_STATUSES, Outcome, PLACED, STAMP_ATTRIBUTE, StoredOrder};

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

    /// Sets `data.status` of an existing order and records the event's stamp, if the
    /// status rules allow it; every other attribute stays.
    pub async fn apply(&self, change: &StatusChange) -> Result<Outcome, UpdateError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let key = HashMap::from([
            ("userId".to_owned(), s(change.user_id())),
            ("orderId".to_owned(), s(change.order_id())),
        ]);
        // All the rules in one condition, so no other write can come between the check
        // and the update. `attribute_exists`: UpdateItem would otherwise create the item.
        // One placeholder per final status, so the condition names every one of them.
        let finals: Vec<(String, &str)> = FINAL_STATUSES
            .iter()
            .enumerate()
            .map(|(i, status)| (format!(":final{i}"), *status))
            .collect();
        let placeholders: Vec<&str> = finals.iter().map(|(p, _)| p.as_str()).collect();
        let mut condition = format!(
            "attribute_exists(orderId) \
             AND (attribute_not_exists(#stamp) OR #stamp < :stamp) \
             AND NOT (#data.#status IN ({}))",
            placeholders.join(", ")
        );
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #data.#status = :status, #stamp = :stamp")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#stamp", STAMP_ATTRIBUTE)
            .expression_attribute_values(":status", s(change.status()))
            .expression_attribute_values(":stamp", s(change.stamp().as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (placeholder, status) in &finals {
            request = request.expression_attribute_values(placeholder, s(status));
        }
        if change.status() == PLACED {
            condition.push_str(" AND #data.#status = :placed");
            request = request.expression_attribute_values(":placed", s(PLACED));
        }
        match request.condition_expression(condition).send().await {
            Ok(_) => Ok(Outcome::Applied),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    match refused.item() {
                        Some(item) => rules::refusal(change, &StoredOrder::of(item)),
                        None => Err(UpdateError::OrderNotFound {
                            user_id: change.user_id().to_owned(),
                            order_id: change.order_id().to_owned(),
                        }),
                    }
                }
                _ => Err(UpdateError::Dynamo {
                    table: self.table.clone(),
                    source: Box::new(e.into()),
                }),
            },
        }
    }
}
