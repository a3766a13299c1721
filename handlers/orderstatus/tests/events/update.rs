//! `order.updated` events: applied, refused, never creating orders.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::Diagnostic;
use orderstatus::UpdateError;

use crate::helpers::*;

#[tokio::test]
async fn an_order_updated_event_changes_only_the_status() {
    let app = spawn_app().await;
    let before = app.put_order(SUB, ORDER_ID).await;
    app.put_order(SUB, "another-order").await;

    orderstatus::handle(&app.store, event(UPDATED))
        .await
        .unwrap();

    let after = app.stored(SUB, ORDER_ID).await.unwrap();
    let mut expected = before.clone();
    let Some(AttributeValue::M(data)) = expected.get_mut("data") else {
        unreachable!()
    };
    data.insert("status".into(), AttributeValue::S("ACKNOWLEDGED".into()));
    // The stamp of the event applied: its time, then its id.
    expected.insert(
        "statusEvent".into(),
        AttributeValue::S("2025-01-01T00:01:00.000Z#6a7e8feb-b491-4cf7-a9f1-bf3703467718".into()),
    );
    assert_eq!(after, expected);
    // The event's other fields (restaurantId) were not written; other orders untouched.
    let other = app.stored(SUB, "another-order").await.unwrap();
    assert_eq!(
        other["data"].as_m().unwrap()["status"],
        AttributeValue::S("PLACED".into())
    );
}

#[tokio::test]
async fn an_event_for_an_unknown_order_creates_nothing_and_fails() {
    let app = spawn_app().await;

    let err = orderstatus::handle(&app.store, event(UPDATED))
        .await
        .unwrap_err();

    assert!(matches!(err, UpdateError::OrderNotFound { .. }), "{err}");
    assert_eq!(Diagnostic::from(err).error_type, "OrderNotFound");
    assert_eq!(app.count().await, 0);
    assert!(app.stored(SUB, ORDER_ID).await.is_none());
}

#[tokio::test]
async fn an_event_of_another_user_does_not_touch_the_order() {
    let app = spawn_app().await;
    let before = app.put_order("someone-else", ORDER_ID).await;

    let err = orderstatus::handle(&app.store, event(UPDATED))
        .await
        .unwrap_err();

    assert!(matches!(err, UpdateError::OrderNotFound { .. }));
    assert_eq!(app.stored("someone-else", ORDER_ID).await.unwrap(), before);
    assert_eq!(app.count().await, 1);
}

#[tokio::test]
async fn a_malformed_event_fails_as_invalid_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app.put_order(SUB, ORDER_ID).await;

    let err = orderstatus::handle(&app.store, event(MISSING_STATUS))
        .await
        .unwrap_err();

    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "InvalidEvent");
    assert_eq!(diagnostic.error_message, "event detail has no data.status");
    assert_eq!(app.stored(SUB, ORDER_ID).await.unwrap(), before);
}

#[test]
fn the_shipped_events_parse() {
    for json in [UPDATED, MISSING_STATUS] {
        let e = event(json).payload;
        assert_eq!(
            (e.source.as_str(), e.detail_type.as_str()),
            ("restaurant", "order.updated")
        );
        let data = e.detail.data.unwrap();
        assert_eq!(data.user_id, Some(serde_json::json!(SUB)));
        assert_eq!(data.order_id, Some(serde_json::json!(ORDER_ID)));
    }
}

#[tokio::test]
async fn the_restaurant_sides_event_changes_the_status_of_its_string_typed_order_and_nothing_else()
{
    let app = spawn_app().await;
    let event_data =
        serde_json::from_str::<serde_json::Value>(WORKSHOP).unwrap()["detail"]["data"].clone();
    let mut stored = event_data.clone();
    stored["status"] = serde_json::json!("PLACED");
    let (user, order) = (
        stored["userId"].as_str().unwrap().to_owned(),
        stored["orderId"].as_str().unwrap().to_owned(),
    );
    app.put_data(&user, &order, &stored).await;

    orderstatus::handle(&app.store, event(WORKSHOP))
        .await
        .unwrap();

    let after = app.stored(&user, &order).await.unwrap();
    let data = handler_common::dynamo::from_attr(&after["data"]).unwrap();
    // Every value keeps its JSON type: "32.97" is still a string, not 32.97.
    assert_eq!(data, event_data);
    assert_eq!(data["totalAmount"], serde_json::json!("32.97"));
}

#[tokio::test]
async fn an_event_with_a_numeric_order_id_updates_the_order_keyed_by_its_text() {
    let app = spawn_app().await;
    let stored =
        serde_json::json!({"orderId": 7, "userId": SUB, "restaurantId": 1, "status": "PLACED"});
    app.put_data(SUB, "7", &stored).await;
    let mut raw: serde_json::Value = serde_json::from_str(UPDATED).unwrap();
    raw["detail"]["data"]["orderId"] = serde_json::json!(7);

    orderstatus::handle(&app.store, event(&raw.to_string()))
        .await
        .unwrap();

    let after = app.stored(SUB, "7").await.unwrap();
    let mut expected = stored;
    expected["status"] = serde_json::json!("ACKNOWLEDGED");
    assert_eq!(
        handler_common::dynamo::from_attr(&after["data"]).unwrap(),
        expected
    );
}
