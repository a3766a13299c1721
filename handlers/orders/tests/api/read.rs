//! GET /orders/{orderId} and GET /orders.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{Value, json};

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

/// GET /orders with `query`: status, body and the `x-next-token` header.
async fn list_page(
    app: &TestApp,
    sub: &str,
    query: &[(&str, &str)],
) -> (u16, Value, Option<String>) {
    use lambda_http::RequestExt;
    let params: HashMap<String, String> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let req = request("GET", None, Some(sub), None).with_query_string_parameters(params);
    let resp = orders::http::list_orders(&app.orders, req).await;
    let token = resp
        .headers()
        .get("x-next-token")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, json, _) = parts(resp);
    (status, json, token)
}

#[tokio::test]
async fn a_limit_pages_the_orders_and_the_tokens_reach_each_one_once() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.post("user-1", &order_body(&format!("o-{i}")).to_string())
            .await;
    }
    let mut mixed = order_body("ignored");
    mixed["orderId"] = json!(42);
    app.post("user-1", &mixed.to_string()).await;
    app.post("user-2", &order_body("o-other").to_string()).await;

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut query = vec![("limit", "2")];
        if let Some(t) = &token {
            query.push(("nextToken", t.as_str()));
        }
        let (status, json, next) = list_page(&app, "user-1", &query).await;
        assert_eq!(status, 200, "{json}");
        let orders = json["orders"].as_array().unwrap();
        assert!(orders.len() <= 2);
        seen.extend(orders.iter().map(|o| o["orderId"].clone()));
        token = next;
        if token.is_none() {
            break;
        }
    }

    assert!(token.is_none(), "the tokens never end");
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(
        seen.contains(&json!(42)),
        "a numeric id keeps its type: {seen:?}"
    );
    let (status, json, _) = list_page(&app, "user-1", &[("limit", "0")]).await;
    assert_eq!(
        (status, &json["message"]),
        (400, &json!("limit must be a whole number from 1 to 1000"))
    );
}

#[tokio::test]
async fn pages_go_on_after_the_items_key_whatever_its_data_says() {
    let app = spawn_app().await;
    // Another writer's orders: one without `orderId` in its data, one whose data says
    // something else than its key.
    app.store_foreign("user-1", "o-a", &json!({"status": "PLACED"}))
        .await;
    app.store_foreign(
        "user-1",
        "o-b",
        &json!({"orderId": 7.0, "status": "PLACED"}),
    )
    .await;
    app.store_foreign("user-1", "o-c", &json!({"status": "PLACED"}))
        .await;

    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..5 {
        let mut query = vec![("limit", "1")];
        if let Some(t) = &token {
            query.push(("nextToken", t.as_str()));
        }
        let (status, json, next) = list_page(&app, "user-1", &query).await;
        assert_eq!(status, 200, "{json}");
        pages.push(json["orders"].clone());
        token = next;
        if token.is_none() {
            break;
        }
    }

    assert_eq!(
        pages,
        [
            json!([{"status": "PLACED"}]),
            json!([{"orderId": 7.0, "status": "PLACED"}]),
            json!([{"status": "PLACED"}]),
        ]
    );
}
