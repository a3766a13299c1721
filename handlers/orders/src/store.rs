//! The orders table: one item per order, `{userId, orderId, data: {...}}`.
//!
//! Every change is a single conditional write, so a concurrent status change (from the
//! restaurant, through the orderstatus service) is never overwritten: edits and cancels
//! name the status (and a cancel the `orderTime`) they expect, and creates never replace
//! an existing order. A failed condition returns the stored item in the same round trip
//! (`ReturnValuesOnConditionCheckFailure`), which is enough to tell "no such order" from
//! "wrong status" from "changed since it was read".
//!
//! Items are read and written with [`handler_common::dynamo`], so a stored value keeps its
//! JSON type and exact number whoever wrote it, and a change touches only its fields.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

use handler_common::dynamo as attr;

use crate::domain::{CANCELED, Order, OrderContent, OrderId, PLACED, UserId};

/// How often a create transaction canceled by a transaction conflict is sent.
const TRANSACTION_ATTEMPTS: u64 = 3;

/// A DynamoDB call failed, or the table holds something that is not an order.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request failed: network, throttling, permissions, a missing table.
    #[error("dynamodb {op} on table {table} failed")]
    Dynamo {
        /// The operation, e.g. `GetItem`.
        op: &'static str,
        /// The table.
        table: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    /// A stored item does not have the shape of an order.
    #[error("stored order is malformed: {0}")]
    Malformed(String),
}

/// Why a new order was not written.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The caller already has an order with this id.
    #[error("the order already exists")]
    OrderExists,
    /// The write that had to succeed with the order (its companion in the transaction)
    /// was refused by its condition; nothing was written.
    #[error("the companion write's condition failed")]
    CompanionRefused,
    /// The call itself failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an edit or cancel did not apply; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The caller has no order with this id.
    #[error("no such order")]
    NotFound,
    /// The order's status forbids the change; the stored order is attached.
    #[error("order status is {}", .0.status_text())]
    WrongStatus(Box<Order>),
    /// The order changed after it was read (its status or `orderTime`); the stored order
    /// is attached.
    #[error("order changed since it was read")]
    Changed(Box<Order>),
    /// The call itself failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An order as a list reads it: its data, and its sort key, where the next page goes on
/// (`data.orderId` is what a writer stored, not necessarily the key).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(transparent)]
pub struct ListedOrder {
    /// The item's `orderId` key.
    #[serde(skip)]
    pub order_id: String,
    /// The order, as stored.
    pub order: Order,
}

/// Reads and writes orders of one table.
#[derive(Debug, Clone)]
pub struct OrderStore {
    client: Client,
    table: String,
}

impl OrderStore {
    /// A store over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> OrderStore {
        OrderStore {
            client,
            table: table.into(),
        }
    }

    /// Writes `order` as the user's order `id` if the user has none with that id,
    /// together with `companion` in one transaction: both are written or neither is.
    pub async fn create_with(
        &self,
        user: &UserId,
        id: &OrderId,
        order: &Order,
        companion: TransactWriteItem,
    ) -> Result<(), CreateError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(user, id, order)))
            .condition_expression("attribute_not_exists(orderId)")
            .build()
            .map_err(|e| StoreError::Malformed(e.to_string()))?;
        let items = vec![TransactWriteItem::builder().put(put).build(), companion];
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(e) = result else { return Ok(()) };
            if let Some(TransactWriteItemsError::TransactionCanceledException(t)) =
                e.as_service_error()
            {
                // Reasons come in the order of the transaction's items.
                let code = |i: usize| t.cancellation_reasons().get(i).and_then(|r| r.code());
                if code(0) == Some("ConditionalCheckFailed") {
                    return Err(CreateError::OrderExists);
                }
                if code(1) == Some("ConditionalCheckFailed") {
                    return Err(CreateError::CompanionRefused);
                }
                // Another request touched an item mid-transaction; nothing was written,
                // so trying again is safe. The SDK does not retry cancellations itself.
                let conflict = (0..2).any(|i| code(i) == Some("TransactionConflict"));
                if conflict && attempt < TRANSACTION_ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                    attempt += 1;
                    continue;
                }
            }
            return Err(self.sdk("TransactWriteItems", e).into());
        }
    }

    /// The user's order with this id, if any.
    pub async fn get(&self, user: &UserId, id: &OrderId) -> Result<Option<Order>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user, id.as_str())))
            // A cancel decides on what it reads, and a read right after a write must see it.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.sdk("GetItem", e))?;
        out.item().map(order_of).transpose()
    }

    /// One Query page of the user's orders after the order id `after` (exclusive), of at
    /// most `limit` orders: the orders, and the order id to go on after when there are more.
    pub async fn page(
        &self,
        user: &UserId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<(Vec<ListedOrder>, Option<String>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("userId = :user")
            .expression_attribute_values(":user", AttributeValue::S(user.as_str().to_owned()))
            .set_exclusive_start_key(after.map(|id| key(user, id)))
            .set_limit(limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
            .send()
            .await
            .map_err(|e| self.sdk("Query", e))?;
        let last = match out.last_evaluated_key().and_then(|k| k.get("orderId")) {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        };
        let orders = out
            .items()
            .iter()
            .map(|item| {
                let order_id = match item.get("orderId") {
                    Some(AttributeValue::S(id)) => id.clone(),
                    _ => return Err(StoreError::Malformed("item has no orderId".to_owned())),
                };
                Ok(ListedOrder {
                    order_id,
                    order: order_of(item)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok((orders, last))
    }

    /// Replaces the content of a `PLACED` order; `orderId`, `userId`, `orderTime`,
    /// `status` and any other stored field stay as stored.
    pub async fn edit(
        &self,
        user: &UserId,
        id: &OrderId,
        content: &OrderContent,
    ) -> Result<Order, ChangeError> {
        let items = serde_json::Value::Array(content.order_items().to_vec());
        let total = handler_common::json::number_of(content.total_amount().amount());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user, id.as_str())))
            .update_expression(
                "SET #data.#restaurantId = :restaurantId, #data.#orderItems = :orderItems, \
                 #data.#totalAmount = :totalAmount",
            )
            .condition_expression("attribute_exists(orderId) AND #data.#status = :placed")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#restaurantId", "restaurantId")
            .expression_attribute_names("#orderItems", "orderItems")
            .expression_attribute_names("#totalAmount", "totalAmount")
            .expression_attribute_values(":restaurantId", attr::to_attr(content.restaurant_id()))
            .expression_attribute_values(":orderItems", attr::to_attr(&items))
            .expression_attribute_values(":totalAmount", AttributeValue::N(total.to_string()))
            .expression_attribute_values(":placed", AttributeValue::S(PLACED.to_owned()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => updated(out.attributes()),
            Err(e) => Err(self.refused_change("UpdateItem", e, ChangeError::WrongStatus)),
        }
    }

    /// Sets status `CANCELED` on an order that is still `PLACED` with the `orderTime` of
    /// `seen`, the order as read when the cancel rules were applied to it.
    pub async fn cancel(
        &self,
        user: &UserId,
        id: &OrderId,
        seen: &Order,
    ) -> Result<Order, ChangeError> {
        let seen_time = seen
            .data()
            .get("orderTime")
            .map(attr::to_attr)
            .ok_or_else(|| ChangeError::Changed(Box::new(seen.clone())))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user, id.as_str())))
            .update_expression("SET #data.#status = :canceled")
            .condition_expression(
                "attribute_exists(orderId) AND #data.#status = :placed \
                 AND #data.#orderTime = :seenTime",
            )
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#orderTime", "orderTime")
            .expression_attribute_values(":canceled", AttributeValue::S(CANCELED.to_owned()))
            .expression_attribute_values(":placed", AttributeValue::S(PLACED.to_owned()))
            .expression_attribute_values(":seenTime", seen_time)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => updated(out.attributes()),
            Err(e) => Err(self.refused_change("UpdateItem", e, |o| {
                if o.is_placed() {
                    ChangeError::Changed(o)
                } else {
                    ChangeError::WrongStatus(o)
                }
            })),
        }
    }

    /// Maps a failed conditional update: no stored item → `NotFound`, else `why(stored)`.
    fn refused_change<R: std::fmt::Debug + Send + Sync + 'static>(
        &self,
        op: &'static str,
        err: SdkError<UpdateItemError, R>,
        why: impl FnOnce(Box<Order>) -> ChangeError,
    ) -> ChangeError {
        if let Some(UpdateItemError::ConditionalCheckFailedException(c)) = err.as_service_error() {
            return match c.item() {
                None => ChangeError::NotFound,
                Some(item) => match order_of(item) {
                    Ok(order) => why(Box::new(order)),
                    Err(e) => ChangeError::Store(e),
                },
            };
        }
        ChangeError::Store(self.sdk(op, err))
    }

    fn item(&self, user: &UserId, id: &OrderId, order: &Order) -> HashMap<String, AttributeValue> {
        let mut item = key(user, id.as_str());
        item.insert(
            "data".to_owned(),
            AttributeValue::M(attr::to_attr_map(order.data())),
        );
        item
    }

    fn sdk<E, R>(&self, op: &'static str, err: SdkError<E, R>) -> StoreError
    where
        aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
    {
        StoreError::Dynamo {
            op,
            table: self.table.clone(),
            source: Box::new(err.into()),
        }
    }
}

/// The primary key of a user's order.
fn key(user: &UserId, order_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "userId".to_owned(),
            AttributeValue::S(user.as_str().to_owned()),
        ),
        ("orderId".to_owned(), AttributeValue::S(order_id.to_owned())),
    ])
}

/// The order under an item's `data`, exactly as stored.
pub fn order_of(item: &HashMap<String, AttributeValue>) -> Result<Order, StoreError> {
    let Some(AttributeValue::M(data)) = item.get("data") else {
        return Err(StoreError::Malformed(
            "item has no data map attribute".to_owned(),
        ));
    };
    let data = attr::from_attr_map(data).map_err(|e| StoreError::Malformed(e.to_string()))?;
    Ok(Order::from_data(data))
}

fn updated(attributes: Option<&HashMap<String, AttributeValue>>) -> Result<Order, ChangeError> {
    let item = attributes
        .ok_or_else(|| StoreError::Malformed("update returned no attributes".to_owned()))?;
    Ok(order_of(item)?)
}
