//! An orders table on the shared moto server, with an order in the orders service's
//! layout, and the shipped events.

use std::collections::HashMap;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Context, LambdaEvent};
use orderstatus::{OrderUpdated, StatusStore};
use testkit::{Moto, create_table, unique_name};

pub const UPDATED: &str = include_str!("../../../../events/orderstatus/order-updated.json");
pub const WORKSHOP: &str =
    include_str!("../../../../events/orderstatus/order-updated-workshop.json");
pub const MISSING_STATUS: &str =
    include_str!("../../../../events/orderstatus/order-updated-missing-status.json");

/// The user and order the shipped events name.
pub const SUB: &str = "6f1c7c4e-9a0b-4f7e-8d55-2f4b9c1a0e11";
pub const ORDER_ID: &str = "a1b2c3d4-0001-4000-8000-000000000001";

pub struct TestApp {
    pub dynamodb: Client,
    pub table: String,
    pub store: StatusStore,
}

pub async fn spawn_app() -> TestApp {
    let dynamodb = Client::new(&Moto::shared().sdk_config().await);
    let table = unique_name("orders");
    create_table(&dynamodb, &table, "userId", Some("orderId")).await;
    TestApp {
        store: StatusStore::new(dynamodb.clone(), &table),
        dynamodb,
        table,
    }
}

pub fn event(json: &str) -> LambdaEvent<EventBridgeEvent<OrderUpdated>> {
    LambdaEvent {
        payload: serde_json::from_str(json).expect("an EventBridge event"),
        context: Context::default(),
    }
}

/// The shipped event with another status, time and event id.
pub fn event_at(status: &str, time: &str, id: &str) -> LambdaEvent<EventBridgeEvent<OrderUpdated>> {
    let mut raw: serde_json::Value = serde_json::from_str(UPDATED).unwrap();
    raw["detail"]["data"]["status"] = serde_json::json!(status);
    raw["time"] = serde_json::json!(time);
    raw["id"] = serde_json::json!(id);
    event(&raw.to_string())
}

impl TestApp {
    /// Stores an order as the orders service does: `{userId, orderId, data: {...}}`.
    pub async fn put_order(&self, user: &str, order_id: &str) -> HashMap<String, AttributeValue> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let data = HashMap::from([
            ("orderId".to_owned(), s(order_id)),
            ("userId".to_owned(), s(user)),
            ("restaurantId".to_owned(), s("rest-42")),
            (
                "orderItems".to_owned(),
                AttributeValue::L(vec![AttributeValue::M(HashMap::from([
                    ("name".to_owned(), s("Spaghetti")),
                    ("price".to_owned(), AttributeValue::N("9.99".into())),
                ]))]),
            ),
            ("totalAmount".to_owned(), AttributeValue::N("19.97".into())),
            ("status".to_owned(), s("PLACED")),
            ("orderTime".to_owned(), s("2025-01-01T00:00:00Z")),
        ]);
        let item = HashMap::from([
            ("userId".to_owned(), s(user)),
            ("orderId".to_owned(), s(order_id)),
            ("data".to_owned(), AttributeValue::M(data)),
        ]);
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .send()
            .await
            .unwrap();
        item
    }

    /// Stores `data` as an order directly, as another writer (the restaurant side) does.
    pub async fn put_data(&self, user: &str, order_id: &str, data: &serde_json::Value) {
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .item("userId", AttributeValue::S(user.into()))
            .item("orderId", AttributeValue::S(order_id.into()))
            .item("data", handler_common::dynamo::to_attr(data))
            .send()
            .await
            .unwrap();
    }

    pub async fn stored(
        &self,
        user: &str,
        order_id: &str,
    ) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key("userId", AttributeValue::S(user.into()))
            .key("orderId", AttributeValue::S(order_id.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// The stored order's `data.status`.
    pub async fn status(&self, user: &str, order_id: &str) -> AttributeValue {
        let item = self.stored(user, order_id).await.expect("the order");
        item["data"].as_m().unwrap()["status"].clone()
    }

    pub async fn count(&self) -> usize {
        let out = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        out.items().len()
    }
}
