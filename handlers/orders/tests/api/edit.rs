//! PUT /orders/{orderId}.

use serde_json::json;

use crate::helpers::*;

fn edit_body() -> String {
    json!({
        "restaurantId": "rest-9",
        "orderItems": [{"name": "Tiramisu", "price": 5.50, "quantity": 3}],
        "totalAmount": 16.5,
        "orderId": "ignored", "userId": "ignored", "status": "DELIVERED", "orderTime": "ignored"
    })
    .to_string()
}

#[tokio::test]
async fn a_placed_order_gets_new_content_and_keeps_its_identity_and_status() {
    let app = spawn_app().await;
    let (_, created, _) = app.post("user-1", &order_body("o-1").to_string()).await;

    let (status, json, text) = app.put("user-1", "o-1", &edit_body()).await;

    assert_eq!(status, 200, "{text}");
    assert_eq!(json["restaurantId"], "rest-9");
    assert_eq!(
        json["orderItems"],
        json!([{"name": "Tiramisu", "price": 5.5, "quantity": 3}])
    );
    assert!(text.contains(r#""totalAmount":16.5"#), "{text}");
    for field in ["orderId", "userId", "orderTime", "status"] {
        assert_eq!(json[field], created[field], "{field} changed");
    }
    assert_eq!(app.get("user-1", "o-1").await.1, json);
}

#[tokio::test]
async fn an_order_that_is_no_longer_placed_is_not_edited() {
    let app = spawn_app().await;
    app.post("user-1", &order_body("o-1").to_string()).await;
    app.set_status("user-1", "o-1", "ACKNOWLEDGED").await;
    let before = app.stored("user-1", "o-1").await;

    let (status, json, _) = app.put("user-1", "o-1", &edit_body()).await;

    assert_eq!(status, 400);
    assert_eq!(
        json["message"],
        "order o-1 is ACKNOWLEDGED; only PLACED orders can be edited"
    );
    assert_eq!(app.stored("user-1", "o-1").await, before);
}

#[tokio::test]
async fn editing_a_missing_order_is_404_and_creates_nothing() {
    let app = spawn_app().await;
    app.post("user-1", &order_body("o-1").to_string()).await;

    assert_eq!(app.put("user-1", "nope", &edit_body()).await.0, 404);
    assert_eq!(app.put("user-2", "o-1", &edit_body()).await.0, 404);
    assert_eq!(app.all_orders().await.len(), 1);
}

#[tokio::test]
async fn an_invalid_edit_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    app.post("user-1", &order_body("o-1").to_string()).await;
    let before = app.stored("user-1", "o-1").await;

    for body in [
        r#"{"restaurantId":"r","orderItems":[],"totalAmount":1}"#,
        r#"{"orderItems":[1],"totalAmount":1}"#,
        r#"{"restaurantId":"r","orderItems":[1],"totalAmount":-5}"#,
        "nope",
    ] {
        let (status, _, text) = app.put("user-1", "o-1", body).await;
        assert_eq!(status, 400, "{body} → {text}");
    }
    assert_eq!(app.stored("user-1", "o-1").await, before);
}
