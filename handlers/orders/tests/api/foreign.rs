//! The shapes real clients send and other writers store: numeric ids kept as numbers,
//! string-typed stored values never re-typed, and rules applied to what they can read.

use serde_json::{Value, json};

use crate::helpers::*;

/// The workshop's own create-order body: numeric restaurant and item ids.
fn workshop_body(order_id: &str) -> Value {
    json!({
        "restaurantId": 1,
        "orderId": order_id,
        "orderItems": [
            {"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1},
            {"id": 2, "name": "Pizza - SMALL", "price": 4.995, "quantity": 2}
        ],
        "totalAmount": 19.98,
        "status": "PLACED"
    })
}

#[tokio::test]
async fn the_workshops_order_keeps_its_numbers_through_create_get_list_and_edit() {
    let app = spawn_app().await;
    let body = workshop_body("o-1");

    let (status, created, text) = app.post("user-1", &body.to_string()).await;

    assert_eq!(status, 200, "{text}");
    assert_eq!(created["restaurantId"], json!(1));
    assert_eq!(created["orderItems"], body["orderItems"]);
    assert_eq!(created["totalAmount"], json!(19.98));
    assert_eq!(app.get("user-1", "o-1").await.1, created);
    assert_eq!(app.list("user-1").await.1, json!({"orders": [created]}));
    // The same body again is the same request, numbers and all.
    assert_eq!(app.post("user-1", &body.to_string()).await.1, created);

    let edit = json!({"restaurantId": 3.5, "orderItems": [{"id": 7}], "totalAmount": 0});
    let (status, edited, _) = app.put("user-1", "o-1", &edit.to_string()).await;

    assert_eq!(status, 200, "{edited}");
    let mut expected = created.clone();
    expected["restaurantId"] = json!(3.5);
    expected["orderItems"] = json!([{"id": 7}]);
    expected["totalAmount"] = json!(0);
    assert_eq!(edited, expected);
}

#[tokio::test]
async fn a_numeric_order_id_is_kept_a_number_and_found_by_its_text() {
    let app = spawn_app().await;
    let mut body = workshop_body("ignored");
    body["orderId"] = json!(1001);

    let (status, created, _) = app.post("user-1", &body.to_string()).await;

    assert_eq!(status, 200, "{created}");
    assert_eq!(created["orderId"], json!(1001));
    let (status, got, _) = app.get("user-1", "1001").await;
    assert_eq!((status, &got), (200, &created));
    assert_eq!(app.delete("user-1", "1001").await.1["orderId"], json!(1001));
}

#[tokio::test]
async fn an_order_another_writer_stored_is_returned_exactly_as_stored() {
    let app = spawn_app().await;
    let data = restaurant_written("user-1", "o-r", "2023-04-05T21:11:21.300436");
    app.store_foreign("user-1", "o-r", &data).await;
    let mut numeric = data.clone();
    numeric["orderId"] = json!("o-n");
    numeric["restaurantId"] = json!(2);
    app.store_foreign("user-1", "o-n", &numeric).await;

    let (status, got, _) = app.get("user-1", "o-r").await;
    assert_eq!((status, &got), (200, &data));
    let (status, got, _) = app.get("user-1", "o-n").await;
    assert_eq!((status, &got), (200, &numeric));
    let (status, listed, _) = app.list("user-1").await;
    assert_eq!((status, listed), (200, json!({"orders": [numeric, data]})));
}

#[tokio::test]
async fn an_edit_of_another_writers_order_changes_only_its_three_fields() {
    let app = spawn_app().await;
    let data = restaurant_written("user-1", "o-r", "2023-04-05T21:11:21.300436");
    app.store_foreign("user-1", "o-r", &data).await;
    let edit = json!({"restaurantId": "2", "orderItems": [{"id": "1", "quantity": "3"}], "totalAmount": 29.97});

    let (status, edited, _) = app.put("user-1", "o-r", &edit.to_string()).await;

    assert_eq!(status, 200, "{edited}");
    let mut expected = data.clone();
    expected["orderItems"] = edit["orderItems"].clone();
    expected["totalAmount"] = json!(29.97);
    assert_eq!(edited, expected);
    assert_eq!(app.stored_data("user-1", "o-r").await, expected);
}

#[tokio::test]
async fn a_cancel_reads_another_writers_order_time_and_keeps_the_rest() {
    let app = spawn_app().await;
    // Microseconds and no zone, five minutes before the clock: within the window.
    let placed = app.clock_now() - time::Duration::minutes(5);
    let order_time = format!(
        "{}.300436",
        placed
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .unwrap()
    );
    let data = restaurant_written("user-1", "o-r", &order_time);
    app.store_foreign("user-1", "o-r", &data).await;

    let (status, canceled, _) = app.delete("user-1", "o-r").await;

    assert_eq!(status, 200, "{canceled}");
    let mut expected = data.clone();
    expected["status"] = json!("CANCELED");
    assert_eq!(canceled, expected);
    assert_eq!(app.stored_data("user-1", "o-r").await, expected);
}

#[tokio::test]
async fn a_cancel_of_an_old_foreign_order_is_too_late_and_changes_nothing() {
    let app = spawn_app().await;
    let data = restaurant_written("user-1", "o-r", "2023-04-05T21:11:21.300436");
    app.store_foreign("user-1", "o-r", &data).await;

    let (status, json, _) = app.delete("user-1", "o-r").await;

    assert_eq!(status, 400, "{json}");
    assert_eq!(
        json["message"],
        "order o-r was placed at 2023-04-05T21:11:21.300436, more than 10 minutes ago, and can no longer be canceled"
    );
    assert_eq!(app.stored_data("user-1", "o-r").await, data);
}

#[tokio::test]
async fn an_unreadable_order_time_makes_a_cancel_409_and_changes_nothing() {
    let app = spawn_app().await;
    for (id, order_time) in [("o-word", json!("soon")), ("o-num", json!(1712345678))] {
        let mut data = restaurant_written("user-1", id, "");
        data["orderTime"] = order_time.clone();
        app.store_foreign("user-1", id, &data).await;

        let (status, json, _) = app.delete("user-1", id).await;

        assert_eq!(status, 409, "{json}");
        let message = json["message"].as_str().unwrap();
        assert!(
            message.contains(&order_time.to_string())
                && message.contains("cancel window cannot be applied"),
            "{message}"
        );
        assert_eq!(app.stored_data("user-1", id).await, data);
    }
}

#[tokio::test]
async fn a_status_of_another_type_is_not_placed_and_is_named() {
    let app = spawn_app().await;
    let mut data = restaurant_written("user-1", "o-r", "2023-04-05T21:11:21Z");
    data["status"] = json!(2);
    app.store_foreign("user-1", "o-r", &data).await;

    let (status, json, _) = app
        .put("user-1", "o-r", &workshop_body("x").to_string())
        .await;

    assert_eq!(status, 400, "{json}");
    assert_eq!(
        json["message"],
        "order o-r is 2; only PLACED orders can be edited"
    );
    assert_eq!(app.stored_data("user-1", "o-r").await, data);
}

#[tokio::test]
async fn what_is_really_wrong_is_still_400_naming_the_field() {
    let app = spawn_app().await;
    for (change, message) in [
        (json!({"restaurantId": null}), "restaurantId is required"),
        (
            json!({"restaurantId": ""}),
            "restaurantId must not be empty",
        ),
        (
            json!({"restaurantId": {"id": 1}}),
            "restaurantId must be a non-empty string or a number",
        ),
        (
            json!({"restaurantId": "a\u{7}b"}),
            "restaurantId must not contain control characters",
        ),
        (
            json!({"orderItems": []}),
            "orderItems must be a non-empty array",
        ),
        (
            json!({"totalAmount": -1}),
            "totalAmount must be a number ≥ 0",
        ),
        (
            json!({"totalAmount": "19.98"}),
            "totalAmount must be a number ≥ 0",
        ),
        (
            json!({"orderId": "x".repeat(257)}),
            "orderId must be at most 256 bytes",
        ),
    ] {
        let mut body = workshop_body("o-bad");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, json, _) = app.post("user-1", &body.to_string()).await;
        assert_eq!(
            (status, &json["message"]),
            (400, &json!(message)),
            "{change}"
        );
    }
    assert!(app.all_orders().await.is_empty());
}
