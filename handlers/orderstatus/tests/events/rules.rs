//! The status rules against the table: events late, twice, reversed; final statuses;
//! `PLACED` never set again. Each refused event leaves the order exactly as it was.

use aws_sdk_dynamodb::types::AttributeValue;
use orderstatus::UpdateError;

use crate::helpers::*;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

#[tokio::test]
async fn reversed_events_end_in_the_status_of_the_later_one() {
    let app = spawn_app().await;
    app.put_order(SUB, ORDER_ID).await;
    let acknowledged = event_at("ACKNOWLEDGED", "2025-01-01T00:01:00Z", "e-1");
    let ready = event_at("READY", "2025-01-01T00:02:00Z", "e-2");

    // The later event arrives first; the earlier one (a late retry) after it.
    orderstatus::handle(&app.store, ready).await.unwrap();
    let after_ready = app.stored(SUB, ORDER_ID).await.unwrap();
    orderstatus::handle(&app.store, acknowledged).await.unwrap();

    assert_eq!(app.status(SUB, ORDER_ID).await, s("READY"));
    assert_eq!(app.stored(SUB, ORDER_ID).await.unwrap(), after_ready);
}

#[tokio::test]
async fn events_of_the_same_second_are_ordered_by_their_id() {
    let app = spawn_app().await;
    app.put_order(SUB, ORDER_ID).await;

    for (status, id) in [("SECOND", "e-b"), ("FIRST", "e-a")] {
        let e = event_at(status, "2025-01-01T00:01:00Z", id);
        orderstatus::handle(&app.store, e).await.unwrap();
    }

    assert_eq!(app.status(SUB, ORDER_ID).await, s("SECOND"));
}

#[tokio::test]
async fn a_redelivered_event_is_done_not_an_error() {
    let app = spawn_app().await;
    app.put_order(SUB, ORDER_ID).await;

    orderstatus::handle(&app.store, event(UPDATED))
        .await
        .unwrap();
    let once = app.stored(SUB, ORDER_ID).await.unwrap();
    orderstatus::handle(&app.store, event(UPDATED))
        .await
        .unwrap();

    assert_eq!(app.stored(SUB, ORDER_ID).await.unwrap(), once);
}

#[tokio::test]
async fn a_final_status_is_never_left() {
    let app = spawn_app().await;
    app.put_order(SUB, ORDER_ID).await;
    let completed = event_at("COMPLETED", "2025-01-01T00:05:00Z", "e-5");
    orderstatus::handle(&app.store, completed).await.unwrap();
    let done = app.stored(SUB, ORDER_ID).await.unwrap();

    let later = event_at("READY", "2025-01-01T00:06:00Z", "e-6");
    let err = orderstatus::handle(&app.store, later).await.unwrap_err();

    assert!(matches!(err, UpdateError::FinalStatus { .. }), "{err}");
    assert_eq!(err.error_type(), "FinalStatus");
    assert_eq!(
        err.to_string(),
        format!("order {ORDER_ID} is COMPLETED, a final status; READY not applied")
    );
    assert_eq!(app.stored(SUB, ORDER_ID).await.unwrap(), done);
}

#[tokio::test]
async fn an_order_the_customer_canceled_takes_no_status_event() {
    let app = spawn_app().await;
    let stored = serde_json::json!({"orderId": ORDER_ID, "userId": SUB, "status": "CANCELED"});
    app.put_data(SUB, ORDER_ID, &stored).await;
    let before = app.stored(SUB, ORDER_ID).await.unwrap();

    let err = orderstatus::handle(&app.store, event(UPDATED))
        .await
        .unwrap_err();

    assert_eq!(err.error_type(), "FinalStatus");
    assert_eq!(app.stored(SUB, ORDER_ID).await.unwrap(), before);
}

#[tokio::test]
async fn placed_is_never_set_again_by_an_event() {
    let app = spawn_app().await;
    app.put_order(SUB, ORDER_ID).await;
    // PLACED on a placed order is allowed (nothing left it yet).
    let placed = event_at("PLACED", "2025-01-01T00:00:30Z", "e-0");
    orderstatus::handle(&app.store, placed).await.unwrap();
    orderstatus::handle(&app.store, event(UPDATED))
        .await
        .unwrap();
    let acknowledged = app.stored(SUB, ORDER_ID).await.unwrap();

    let reopen = event_at("PLACED", "2025-01-01T00:09:00Z", "e-9");
    let err = orderstatus::handle(&app.store, reopen).await.unwrap_err();

    assert_eq!(err.error_type(), "BackToPlaced");
    assert_eq!(
        err.to_string(),
        format!("order {ORDER_ID} is ACKNOWLEDGED; an event cannot set PLACED again")
    );
    assert_eq!(app.stored(SUB, ORDER_ID).await.unwrap(), acknowledged);
}
