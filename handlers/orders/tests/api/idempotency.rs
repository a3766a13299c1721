//! POST /orders repeated: replays, concurrency, refusals and expiry.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use orders::Created;
use orders::domain::UserId;
use orders::idempotency::{IdempotencyConfig, IdempotencyKey, PayloadHash};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn three_identical_creates_make_one_order_and_identical_bodies() {
    let app = spawn_app().await;
    let body = order_body("o-1");

    let first = app.post("user-1", &body.to_string()).await;
    app.clock.advance(time::Duration::seconds(5));
    let second = app.post("user-1", &body.to_string()).await;
    // Same JSON, other key order and spacing: the same request.
    let reordered = r#"{ "totalAmount": 19.970, "orderItems": [{"quantity": 1, "price": 9.99, "name": "Spaghetti"},
        {"quantity": 2, "name": "Pizza", "price": 4.99}], "orderId": "o-1", "restaurantId": "rest-1" }"#;
    let third = app.post("user-1", reordered).await;

    assert_eq!(first.0, 200);
    assert_eq!(second, first);
    assert_eq!(third, first);
    assert_eq!(app.all_orders().await.len(), 1);
    assert_eq!(app.records().await.len(), 1);
    assert_eq!(app.metrics.lines().len(), 1, "metrics emitted for a replay");
}

#[tokio::test]
async fn fifty_concurrent_identical_creates_make_exactly_one_order() {
    let app = Arc::new(spawn_app().await);
    let user = UserId::new("user-1").unwrap();
    let body = order_body("o-1");

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, user, body) = (app.clone(), user.clone(), body.clone());
        tasks.spawn(async move { app.create.create(&user, &body, None).await });
    }
    let results: Vec<Created> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("every duplicate is answered 200"))
        .collect();

    let new = results
        .iter()
        .filter(|c| matches!(c, Created::New { .. }))
        .count();
    assert_eq!(new, 1, "exactly one create ran (and emitted metrics)");
    let first = results[0].response().clone();
    assert_eq!(first.status, 200);
    assert!(
        results.iter().all(|c| c.response() == &first),
        "bodies differ"
    );
    assert_eq!(app.all_orders().await.len(), 1);
    // The same through the HTTP adapter: every answer is the stored body.
    let (status, _, text) = app.post("user-1", &body.to_string()).await;
    assert_eq!((status, text), (200, first.body));
}

#[tokio::test]
async fn the_same_order_id_with_another_body_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let first = app.post("user-1", &order_body("o-1").to_string()).await;
    let records_before = app.records().await;
    let mut other = order_body("o-1");
    other["totalAmount"] = json!(1);

    let (status, json, _) = app.post("user-1", &other.to_string()).await;

    assert_eq!(status, 409);
    assert_eq!(
        json["message"],
        "orderId o-1 was already used with a different request body"
    );
    assert_eq!(app.get("user-1", "o-1").await, first);
    assert_eq!(app.records().await, records_before);
    // The original request still replays.
    assert_eq!(
        app.post("user-1", &order_body("o-1").to_string()).await,
        first
    );
}

#[tokio::test]
async fn two_users_may_use_the_same_order_id_without_seeing_each_other() {
    let app = spawn_app().await;
    let mut theirs = order_body("o-1");
    theirs["restaurantId"] = json!("rest-2");

    let (s1, mine, _) = app.post("user-1", &order_body("o-1").to_string()).await;
    let (s2, other, _) = app.post("user-2", &theirs.to_string()).await;

    assert_eq!((s1, s2), (200, 200));
    assert_eq!(mine["userId"], "user-1");
    assert_eq!(other["userId"], "user-2");
    assert_eq!(other["restaurantId"], "rest-2");
    assert_eq!(app.all_orders().await.len(), 2);
    assert_eq!(app.get("user-1", "o-1").await.1, mine);
    assert_eq!(app.get("user-2", "o-1").await.1, other);
    assert_eq!(app.list("user-1").await.1, json!({"orders": [mine]}));
    assert_eq!(app.list("user-2").await.1, json!({"orders": [other]}));
}

#[tokio::test]
async fn an_expired_record_lets_the_key_be_used_again() {
    let app = spawn_app().await;
    let body = order_body("o-1");
    let first = app.post("user-1", &body.to_string()).await;
    let expiration = |records: Vec<std::collections::HashMap<String, AttributeValue>>| {
        records[0]["expiration"]
            .as_n()
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    let before = expiration(app.records().await);

    // Past the TTL, with the record still in the table (moto, like DynamoDB for a while,
    // has not swept it): a different body is no longer refused by the idempotency layer…
    app.clock.advance(time::Duration::seconds(3601));
    let mut other = order_body("o-1");
    other["totalAmount"] = json!(1);
    let (status, json, _) = app.post("user-1", &other.to_string()).await;
    // …but the stored order is never overwritten.
    assert_eq!(status, 409);
    assert_eq!(
        json["message"],
        "order o-1 already exists with different content"
    );
    assert_eq!(app.get("user-1", "o-1").await, first);

    // The same body runs again and answers the stored order under a fresh record.
    let again = app.post("user-1", &body.to_string()).await;
    assert_eq!(again, first);
    let after = expiration(app.records().await);
    assert!(
        after >= before + 3601,
        "record not renewed: {before} → {after}"
    );
    assert_eq!(app.all_orders().await.len(), 1);
}

#[tokio::test]
async fn an_abandoned_in_progress_record_frees_the_key_when_its_lock_expires() {
    let app = spawn_app_with(short_waits()).await;
    let user = UserId::new("user-1").unwrap();
    let body = order_body("o-1");
    // A run that took the lock and died before writing anything.
    let idempotency = orders::idempotency::Idempotency::new(
        app.dynamodb.clone(),
        &app.idempotency_table,
        IdempotencyConfig {
            in_progress_timeout: Duration::from_secs(30),
            ..IdempotencyConfig::default()
        },
        app.clock.clone(),
    );
    let key = IdempotencyKey::new(orders::service::CREATE_SCOPE, "user-1", "o-1");
    let _lost = idempotency
        .begin(key, PayloadHash::of(&body), None)
        .await
        .unwrap();

    let (status, json, _) = app.post("user-1", &body.to_string()).await;
    assert_eq!(status, 409, "{json}");
    assert_eq!(
        json["message"],
        "a request for orderId o-1 is still in progress; retry shortly"
    );
    assert!(app.all_orders().await.is_empty());

    app.clock.advance(time::Duration::seconds(31));
    let created = app.create.create(&user, &body, None).await.unwrap();
    assert!(matches!(created, Created::New { .. }));
    assert_eq!(app.all_orders().await.len(), 1);
}

#[tokio::test]
async fn a_refused_create_can_be_retried_at_once() {
    let app = spawn_app().await;
    let mut other = order_body("o-1");
    other["totalAmount"] = json!(1);
    app.post("user-1", &order_body("o-1").to_string()).await;
    app.clock.advance(time::Duration::seconds(3601));
    assert_eq!(app.post("user-1", &other.to_string()).await.0, 409);

    // The refused run released its lock: no "in progress" for the next request.
    let (status, _, _) = app.post("user-1", &order_body("o-1").to_string()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_different_body_while_the_first_still_runs_is_refused_at_once() {
    let app = spawn_app().await;
    let body = order_body("o-1");
    let key = IdempotencyKey::new(orders::service::CREATE_SCOPE, "user-1", "o-1");
    let idempotency = orders::idempotency::Idempotency::new(
        app.dynamodb.clone(),
        &app.idempotency_table,
        IdempotencyConfig::default(),
        app.clock.clone(),
    );
    let _running = idempotency
        .begin(key, PayloadHash::of(&body), None)
        .await
        .unwrap();
    let mut other = body.clone();
    other["restaurantId"] = json!("rest-2");

    let started = std::time::Instant::now();
    let (status, json, _) = app.post("user-1", &other.to_string()).await;

    assert_eq!(status, 409, "{json}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "it waited for the lock"
    );
    assert!(app.all_orders().await.is_empty());
}
