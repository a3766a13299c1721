//! GET /orders/{orderId} and GET /orders.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_order_is_read_back_by_its_owner_only() {
    let app = spawn_app().await;
    let (_, created, _) = app.post("user-1", &order_body("o-1").to_string()).await;

    assert_eq!(app.get("user-1", "o-1").await.1, created);
    let (status, json, _) = app.get("user-2", "o-1").await;
    assert_eq!(status, 404);
    assert_eq!(json, json!({"message": "order o-1 not found"}));
    assert_eq!(app.get("user-1", "nope").await.0, 404);
}

#[tokio::test]
async fn a_caller_without_orders_lists_an_empty_array() {
    let app = spawn_app().await;
    assert_eq!(
        app.list("user-1").await,
        (200, json!({"orders": []}), r#"{"orders":[]}"#.into())
    );
}

#[tokio::test]
async fn the_list_has_every_order_of_the_caller_across_pages() {
    let app = spawn_app().await;
    // 1,100 orders of about 1 KB: more than one 1 MB query page.
    let note = "x".repeat(1000);
    let count = 1100;
    let items: Vec<WriteRequest> = (0..count)
        .map(|i| {
            let data = json!({
                "orderId": format!("o-{i:04}"), "userId": "user-1", "restaurantId": "r",
                "orderItems": [{"note": note, "price": 1.25}], "totalAmount": 2.5,
                "status": "PLACED", "orderTime": "2025-01-01T00:00:00Z"
            });
            let item = HashMap::from([
                ("userId".to_owned(), AttributeValue::S("user-1".into())),
                ("orderId".to_owned(), AttributeValue::S(format!("o-{i:04}"))),
                ("data".to_owned(), handler_common::dynamo::to_attr(&data)),
            ]);
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    for batch in items.chunks(25) {
        app.dynamodb
            .batch_write_item()
            .request_items(&app.orders_table, batch.to_vec())
            .send()
            .await
            .unwrap();
    }
    app.post("user-2", &order_body("o-other").to_string()).await;
    let first_page = app
        .dynamodb
        .query()
        .table_name(&app.orders_table)
        .key_condition_expression("userId = :u")
        .expression_attribute_values(":u", AttributeValue::S("user-1".into()))
        .send()
        .await
        .unwrap();
    assert!(
        first_page.last_evaluated_key.is_some(),
        "the test data fits one page"
    );

    let (status, json, _) = app.list("user-1").await;

    assert_eq!(status, 200);
    let listed = json["orders"].as_array().unwrap();
    assert_eq!(listed.len(), count);
    assert!(listed.iter().all(|o| o["userId"] == "user-1"));
    let mut ids: Vec<&str> = listed
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), count);
}
