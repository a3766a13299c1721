//! DELETE /orders/{orderId}: the status and time rules.

use crate::helpers::*;

#[tokio::test]
async fn a_placed_order_is_canceled_within_ten_minutes() {
    let app = spawn_app().await;
    let (_, created, _) = app.post("user-1", &order_body("o-1").to_string()).await;
    // Exactly ten minutes later (to the second) is still in time.
    app.clock.advance(time::Duration::minutes(10));

    let (status, json, _) = app.delete("user-1", "o-1").await;

    assert_eq!(status, 200, "{json}");
    assert_eq!(json["status"], "CANCELED");
    let mut expected = created;
    expected["status"] = "CANCELED".into();
    assert_eq!(json, expected);
    assert_eq!(app.get("user-1", "o-1").await.1, expected);
}

#[tokio::test]
async fn canceling_after_ten_minutes_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, created, _) = app.post("user-1", &order_body("o-1").to_string()).await;
    app.clock
        .advance(time::Duration::minutes(10) + time::Duration::seconds(1));

    let (status, json, _) = app.delete("user-1", "o-1").await;

    assert_eq!(status, 400);
    let message = json["message"].as_str().unwrap();
    assert!(message.contains("more than 10 minutes ago"), "{message}");
    assert_eq!(app.get("user-1", "o-1").await.1, created);
}

#[tokio::test]
async fn a_fraction_of_a_second_too_late_is_too_late() {
    let app = spawn_app().await;
    app.post("user-1", &order_body("o-1").to_string()).await;
    // orderTime has whole seconds; a millisecond past the ten minutes is past them.
    app.clock
        .advance(time::Duration::minutes(10) + time::Duration::milliseconds(1));
    assert_eq!(app.delete("user-1", "o-1").await.0, 400);
}

#[tokio::test]
async fn an_acknowledged_order_cannot_be_canceled() {
    let app = spawn_app().await;
    app.post("user-1", &order_body("o-1").to_string()).await;
    app.set_status("user-1", "o-1", "ACKNOWLEDGED").await;
    let before = app.stored("user-1", "o-1").await;

    let (status, json, _) = app.delete("user-1", "o-1").await;

    assert_eq!(status, 400);
    assert_eq!(
        json["message"],
        "order o-1 is ACKNOWLEDGED; only PLACED orders can be canceled"
    );
    assert_eq!(app.stored("user-1", "o-1").await, before);
}

#[tokio::test]
async fn a_canceled_order_cannot_be_canceled_again() {
    let app = spawn_app().await;
    app.post("user-1", &order_body("o-1").to_string()).await;
    assert_eq!(app.delete("user-1", "o-1").await.0, 200);

    let (status, json, _) = app.delete("user-1", "o-1").await;

    assert_eq!(status, 400);
    assert_eq!(
        json["message"],
        "order o-1 is CANCELED; only PLACED orders can be canceled"
    );
}

#[tokio::test]
async fn canceling_a_missing_order_is_404_and_creates_nothing() {
    let app = spawn_app().await;
    app.post("user-1", &order_body("o-1").to_string()).await;

    assert_eq!(app.delete("user-1", "nope").await.0, 404);
    assert_eq!(app.delete("user-2", "o-1").await.0, 404);
    assert_eq!(app.all_orders().await.len(), 1);
}
