//! POST /orders: success and every refusal.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_valid_order_is_placed_with_exact_numbers() {
    let app = spawn_app().await;
    let body = order_body("o-1");

    let (status, json, text) = app.post("user-1", &body.to_string()).await;

    assert_eq!(status, 200, "{text}");
    assert_eq!(json["orderId"], "o-1");
    assert_eq!(json["userId"], "user-1");
    assert_eq!(json["restaurantId"], "rest-1");
    assert_eq!(json["status"], "PLACED");
    assert_eq!(json["orderItems"], body["orderItems"]);
    assert!(text.contains(r#""totalAmount":19.97"#), "{text}");
    assert!(text.contains(r#""price":9.99"#), "{text}");
    let time = json["orderTime"].as_str().unwrap();
    assert_eq!(time, orders::domain::order_time(app.clock_now()));
    // The table holds the exact decimal text, not a float's rendering.
    let item = app.stored("user-1", "o-1").await.unwrap();
    let data = item["data"].as_m().unwrap();
    assert_eq!(data["totalAmount"], AttributeValue::N("19.97".into()));
    assert_eq!(item["userId"], AttributeValue::S("user-1".into()));
    assert_eq!(item["orderId"], AttributeValue::S("o-1".into()));
    let metrics = app.metrics.lines();
    assert_eq!(metrics.len(), 1);
    let metric: serde_json::Value = serde_json::from_str(&metrics[0]).unwrap();
    assert_eq!(metric["SuccessfulOrder"], 1);
    assert!(
        metrics[0].contains(r#""OrderTotal":19.97"#),
        "{}",
        metrics[0]
    );
    // GET answers exactly what the create answered.
    let (_, _, got) = app.get("user-1", "o-1").await;
    assert_eq!(got, text);
}

#[tokio::test]
async fn a_client_chosen_status_and_other_fields_are_ignored() {
    let app = spawn_app().await;
    let mut body = order_body("o-1");
    body["status"] = json!("DELIVERED");
    body["userId"] = json!("someone-else");
    body["note"] = json!("extra");

    let (status, json, _) = app.post("user-1", &body.to_string()).await;

    assert_eq!(status, 200);
    assert_eq!(json["status"], "PLACED");
    assert_eq!(json["userId"], "user-1");
    assert!(json.get("note").is_none());
}

#[tokio::test]
async fn amounts_beyond_float_precision_stay_exact() {
    let app = spawn_app().await;
    let body = r#"{"restaurantId":"r","orderId":"o-big","orderItems":[{"price":0.1}],
                  "totalAmount":12345678901234567.89}"#;

    let (status, _, text) = app.post("user-1", body).await;

    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(r#""totalAmount":12345678901234567.89"#),
        "{text}"
    );
    let (_, _, got) = app.get("user-1", "o-big").await;
    assert!(
        got.contains(r#""totalAmount":12345678901234567.89"#),
        "{got}"
    );
}

#[tokio::test]
async fn invalid_bodies_are_refused_with_400_and_store_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            r#"{"orderId":"o","orderItems":[1],"totalAmount":1}"#,
            "restaurantId is required",
        ),
        (
            r#"{"restaurantId":"r","orderItems":[1],"totalAmount":1}"#,
            "orderId is required",
        ),
        (
            r#"{"restaurantId":"r","orderId":"o","totalAmount":1}"#,
            "orderItems is required",
        ),
        (
            r#"{"restaurantId":"r","orderId":"o","orderItems":[1]}"#,
            "totalAmount is required",
        ),
        (
            r#"{"restaurantId":"r","orderId":"o","orderItems":[],"totalAmount":1}"#,
            "orderItems must be a non-empty array",
        ),
        (
            r#"{"restaurantId":"r","orderId":"o","orderItems":[1],"totalAmount":-1}"#,
            "totalAmount must be a number ≥ 0",
        ),
        (
            r#"{"restaurantId":"r","orderId":"o","orderItems":[1],"totalAmount":"1"}"#,
            "totalAmount must be a number ≥ 0",
        ),
        (
            r#"{"restaurantId":true,"orderId":"o","orderItems":[1],"totalAmount":1}"#,
            "restaurantId must be a non-empty string or a number",
        ),
        (
            r#"["not", "an", "object"]"#,
            "request body must be a JSON object",
        ),
        ("{oops", "request body is not valid JSON"),
        ("", "request body is missing"),
    ];
    for (body, message) in cases {
        let (status, json, text) = app.post("user-1", body).await;
        assert_eq!(status, 400, "{body} → {text}");
        assert!(
            json["message"].as_str().unwrap().starts_with(message),
            "{body} → {text}"
        );
    }
    assert!(app.all_orders().await.is_empty());
    assert!(app.records().await.is_empty());
    assert!(app.metrics.lines().is_empty());
}

#[tokio::test]
async fn a_request_without_a_caller_is_401_json() {
    let app = spawn_app().await;
    let req = request("POST", None, None, Some(&order_body("o").to_string()));

    let (status, json, _) = parts(orders::http::create_order(&app.create, &app.metrics, req).await);

    assert_eq!(status, 401);
    assert_eq!(
        json,
        json!({"message": "the request has no authenticated caller"})
    );
    for resp in [
        orders::http::get_order(&app.orders, request("GET", Some("o"), None, None)).await,
        orders::http::list_orders(&app.orders, request("GET", None, None, None)).await,
        orders::http::edit_order(&app.orders, request("PUT", Some("o"), None, Some("{}"))).await,
        orders::http::cancel_order(&app.orders, request("DELETE", Some("o"), None, None)).await,
    ] {
        assert_eq!(parts(resp).0, 401);
    }
}

#[tokio::test]
async fn a_failing_table_answers_500_and_releases_the_key() {
    let mut app = spawn_app().await;
    // An orders table that does not exist makes the transaction fail after the lock.
    let store = orders::store::OrderStore::new(app.dynamodb.clone(), "no-such-table");
    let idempotency = orders::idempotency::Idempotency::new(
        app.dynamodb.clone(),
        &app.idempotency_table,
        Default::default(),
        app.clock.clone(),
    );
    app.create = orders::CreateOrder::new(store, idempotency, app.clock.clone());

    let (status, json, _) = app.post("user-1", &order_body("o-1").to_string()).await;

    assert_eq!(status, 500);
    assert_eq!(json, json!({"message": "internal error"}));
    assert!(
        app.records().await.is_empty(),
        "the in-progress record was left behind"
    );
}
