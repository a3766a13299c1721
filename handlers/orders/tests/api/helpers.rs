//! A test app: tables on the shared moto server, the services over them, a manual clock
//! and request helpers built from the shipped `sam local invoke` events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Request, Response};
use orders::clock::ManualClock;
use orders::idempotency::{Idempotency, IdempotencyConfig};
use orders::metrics::Metrics;
use orders::store::OrderStore;
use orders::{CreateOrder, Orders};
use serde_json::{Value, json};
use testkit::{Moto, create_table, unique_name};

pub const CREATE_EVENT: &str = include_str!("../../../../events/orders/create-order.json");

pub struct TestApp {
    pub dynamodb: Client,
    pub orders_table: String,
    pub idempotency_table: String,
    pub clock: Arc<ManualClock>,
    pub orders: Orders,
    pub create: CreateOrder,
    pub metrics: Metrics,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(IdempotencyConfig::default()).await
}

pub async fn spawn_app_with(config: IdempotencyConfig) -> TestApp {
    let moto = Moto::shared();
    let dynamodb = Client::new(&moto.sdk_config().await);
    let orders_table = unique_name("orders");
    let idempotency_table = unique_name("idempotency");
    create_table(&dynamodb, &orders_table, "userId", Some("orderId")).await;
    create_table(&dynamodb, &idempotency_table, "id", None).await;
    // Whole seconds, as orderTime has: "ten minutes later" is then exactly the limit.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let clock = Arc::new(ManualClock::at(now));
    let store = OrderStore::new(dynamodb.clone(), &orders_table);
    let idempotency = Idempotency::new(dynamodb.clone(), &idempotency_table, config, clock.clone());
    TestApp {
        orders: Orders::new(store.clone(), clock.clone()),
        create: CreateOrder::new(store, idempotency, clock.clone()),
        metrics: Metrics::in_memory("FoodOrdering", "orders"),
        dynamodb,
        orders_table,
        idempotency_table,
        clock,
    }
}

/// A valid POST /orders body.
pub fn order_body(order_id: &str) -> Value {
    serde_json::from_str(&format!(
        r#"{{"restaurantId": "rest-1", "orderId": "{order_id}",
            "orderItems": [{{"name": "Spaghetti", "price": 9.99, "quantity": 1}},
                           {{"name": "Pizza", "price": 4.99, "quantity": 2}}],
            "totalAmount": 19.97}}"#
    ))
    .unwrap()
}

/// A REST API proxy event like the shipped ones, for `method` on `/orders[/{id}]`.
pub fn request(
    method: &str,
    order_id: Option<&str>,
    sub: Option<&str>,
    body: Option<&str>,
) -> Request {
    let mut event: Value = serde_json::from_str(CREATE_EVENT).unwrap();
    let path = match order_id {
        Some(id) => format!("/orders/{id}"),
        None => "/orders".to_owned(),
    };
    event["httpMethod"] = json!(method);
    event["path"] = json!(path);
    event["resource"] = json!(if order_id.is_some() {
        "/orders/{orderId}"
    } else {
        "/orders"
    });
    event["pathParameters"] = order_id.map_or(Value::Null, |id| json!({ "orderId": id }));
    event["body"] = body.map_or(Value::Null, |b| json!(b));
    match sub {
        Some(sub) => event["requestContext"]["authorizer"]["claims"]["sub"] = json!(sub),
        None => {
            event["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// Status, parsed body and raw body text of a response; checks the CONTRACT headers.
pub fn parts(resp: Response<Body>) -> (u16, Value, String) {
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let text = match resp.body() {
        Body::Text(t) => t.clone(),
        other => panic!("unexpected body {other:?}"),
    };
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text} is not JSON: {e}"));
    (resp.status().as_u16(), value, text)
}

impl TestApp {
    pub fn clock_now(&self) -> time::OffsetDateTime {
        use orders::clock::Clock;
        self.clock.now()
    }

    pub async fn post(&self, sub: &str, body: &str) -> (u16, Value, String) {
        let req = request("POST", None, Some(sub), Some(body));
        parts(orders::http::create_order(&self.create, &self.metrics, req).await)
    }

    pub async fn get(&self, sub: &str, id: &str) -> (u16, Value, String) {
        parts(
            orders::http::get_order(&self.orders, request("GET", Some(id), Some(sub), None)).await,
        )
    }

    pub async fn list(&self, sub: &str) -> (u16, Value, String) {
        parts(orders::http::list_orders(&self.orders, request("GET", None, Some(sub), None)).await)
    }

    pub async fn put(&self, sub: &str, id: &str, body: &str) -> (u16, Value, String) {
        let req = request("PUT", Some(id), Some(sub), Some(body));
        parts(orders::http::edit_order(&self.orders, req).await)
    }

    pub async fn delete(&self, sub: &str, id: &str) -> (u16, Value, String) {
        let req = request("DELETE", Some(id), Some(sub), None);
        parts(orders::http::cancel_order(&self.orders, req).await)
    }

    /// The raw stored item of an order.
    pub async fn stored(&self, sub: &str, id: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(&self.orders_table)
            .key("userId", AttributeValue::S(sub.into()))
            .key("orderId", AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// Every item of the idempotency table.
    pub async fn records(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamodb
            .scan()
            .table_name(&self.idempotency_table)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// Every item of the orders table.
    pub async fn all_orders(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamodb
            .scan()
            .table_name(&self.orders_table)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// Sets `data.status` directly, as the orderstatus service would.
    pub async fn set_status(&self, sub: &str, id: &str, status: &str) {
        self.dynamodb
            .update_item()
            .table_name(&self.orders_table)
            .key("userId", AttributeValue::S(sub.into()))
            .key("orderId", AttributeValue::S(id.into()))
            .update_expression("SET #d.#s = :s")
            .expression_attribute_names("#d", "data")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", AttributeValue::S(status.into()))
            .send()
            .await
            .unwrap();
    }
}

pub fn short_waits() -> IdempotencyConfig {
    IdempotencyConfig {
        max_wait: Duration::from_millis(300),
        ..IdempotencyConfig::default()
    }
}

impl TestApp {
    /// Stores `data` as the user's order `id` directly, as another writer (the restaurant
    /// side) does, with whatever JSON types `data` has.
    pub async fn store_foreign(&self, sub: &str, id: &str, data: &Value) {
        self.dynamodb
            .put_item()
            .table_name(&self.orders_table)
            .item("userId", AttributeValue::S(sub.into()))
            .item("orderId", AttributeValue::S(id.into()))
            .item("data", handler_common::dynamo::to_attr(data))
            .send()
            .await
            .unwrap();
    }

    /// The stored `data` of an order, as JSON.
    pub async fn stored_data(&self, sub: &str, id: &str) -> Value {
        let item = self.stored(sub, id).await.expect("the order is stored");
        handler_common::dynamo::from_attr(&item["data"]).unwrap()
    }
}

/// An order as the workshop's restaurant side stores it: every value a string, an
/// `orderTime` with microseconds and no zone, and a field this service never writes.
pub fn restaurant_written(user: &str, id: &str, order_time: &str) -> Value {
    serde_json::json!({
        "orderId": id,
        "userId": user,
        "restaurantId": "2",
        "orderItems": [{"id": "1", "name": "Spaghetti", "price": "9.99", "quantity": "1"},
                       {"id": "2", "name": "Pizza", "price": "11.99", "quantity": "2"}],
        "totalAmount": "32.97",
        "status": "PLACED",
        "orderTime": order_time,
        "courier": {"name": "Ana", "eta": 12.50}
    })
}
