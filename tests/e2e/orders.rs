//! The orders API: idempotent creation, reads, edits and cancels of the caller's orders.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;

use crate::helpers::{app, call, post_order, sign_up};

fn order(order_id: &str, total: f64) -> serde_json::Value {
    json!({
        "restaurantId": "rest-1",
        "orderId": order_id,
        "orderItems": [{"id": "i-1", "name": "Soup", "price": 4.5, "quantity": 1}],
        "totalAmount": total,
    })
}

#[tokio::test]
async fn an_order_is_created_once_read_edited_and_canceled() {
    let app = app();
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let id = uuid::Uuid::new_v4().to_string();
    let url = format!("{api}/orders/{id}");

    let created = post_order(&api, &user, &order(&id, 4.5)).await;
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.cors.as_deref(), Some("*"));
    assert_eq!(created.body["orderId"], id.as_str());
    assert_eq!(created.body["userId"], user.sub.as_str());
    assert_eq!(created.body["status"], "PLACED");

    let repeated = post_order(&api, &user, &order(&id, 4.5)).await;
    assert_eq!(repeated.status, 200, "{repeated:?}");
    assert_eq!(
        repeated.body, created.body,
        "a repeat gets the first response"
    );

    let conflicting = post_order(&api, &user, &order(&id, 5.0)).await;
    assert!(matches!(conflicting.status, 409 | 422), "{conflicting:?}");

    let got = call(Method::GET, &url, Some(&user.token), None).await;
    assert_eq!((got.status, &got.body), (200, &created.body));
    let listed = call(
        Method::GET,
        &format!("{api}/orders"),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.body["orders"], json!([created.body]));

    let mut edit = order(&id, 9.25);
    edit.as_object_mut().unwrap().remove("orderId");
    edit["status"] = json!("DELIVERED");
    let edited = call(Method::PUT, &url, Some(&user.token), Some(&edit)).await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(edited.body["totalAmount"], json!(9.25));
    assert_eq!(
        edited.body["status"], "PLACED",
        "an edit never changes the status"
    );

    let canceled = call(Method::DELETE, &url, Some(&user.token), None).await;
    assert_eq!(canceled.status, 200, "{canceled:?}");
    assert_eq!(canceled.body["status"], "CANCELED");
    let again = call(Method::DELETE, &url, Some(&user.token), None).await;
    assert_eq!(again.status, 400, "{again:?}");
    let edit_canceled = call(Method::PUT, &url, Some(&user.token), Some(&edit)).await;
    assert_eq!(edit_canceled.status, 400, "{edit_canceled:?}");
}

#[tokio::test]
async fn another_users_order_is_not_found_and_a_bad_body_is_400() {
    let app = app();
    let owner = sign_up(app, false).await;
    let other = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let id = uuid::Uuid::new_v4().to_string();
    let created = post_order(&api, &owner, &order(&id, 1.0)).await;
    assert_eq!(created.status, 200, "{created:?}");

    let foreign = call(
        Method::GET,
        &format!("{api}/orders/{id}"),
        Some(&other.token),
        None,
    )
    .await;
    assert_eq!(foreign.status, 404, "{foreign:?}");

    let bad = post_order(&api, &owner, &json!({"orderId": "x"})).await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body["message"].is_string());
}

#[tokio::test]
async fn concurrent_repeats_create_one_order_and_two_users_may_share_an_order_id() {
    let app = app();
    let user = sign_up(app, false).await;
    let neighbour = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let id = uuid::Uuid::new_v4().to_string();
    let url = format!("{api}/orders");

    let repeats = (0..4).map(|_| {
        let (url, token, body) = (url.clone(), user.token.clone(), order(&id, 2.5));
        async move { call(Method::POST, &url, Some(&token), Some(&body)).await }
    });
    let responses: Vec<_> = futures_join_all(repeats).await;
    for r in &responses {
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body, responses[0].body);
    }
    let listed = call(Method::GET, &url, Some(&user.token), None).await;
    assert_eq!(
        listed.body["orders"].as_array().map(Vec::len),
        Some(1),
        "{listed:?}"
    );

    let theirs = call(
        Method::POST,
        &url,
        Some(&neighbour.token),
        Some(&order(&id, 7.5)),
    )
    .await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
    assert_eq!(theirs.body["userId"], neighbour.sub.as_str());
    let mine = call(Method::GET, &format!("{url}/{id}"), Some(&user.token), None).await;
    assert_eq!(
        mine.body, responses[0].body,
        "the neighbour's order is not mine"
    );
}

#[tokio::test]
async fn an_order_placed_more_than_ten_minutes_ago_cannot_be_canceled() {
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let id = uuid::Uuid::new_v4().to_string();
    let url = format!("{api}/orders/{id}");
    let created = post_order(&api, &user, &order(&id, 3.0)).await;
    assert_eq!(created.status, 200, "{created:?}");

    // The cancel window is judged by the stored orderTime, so moving it back is the same
    // as waiting 11 minutes.
    let placed = OffsetDateTime::now_utc() - time::Duration::minutes(11);
    let order_time = placed
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .expect("a formattable time");
    clients
        .dynamodb
        .update_item()
        .table_name(app.output("orders", "OrdersTable"))
        .key("userId", AttributeValue::S(user.sub.clone()))
        .key("orderId", AttributeValue::S(id.clone()))
        .update_expression("SET #data.#orderTime = :t")
        .condition_expression("attribute_exists(orderId)")
        .expression_attribute_names("#data", "data")
        .expression_attribute_names("#orderTime", "orderTime")
        .expression_attribute_values(":t", AttributeValue::S(order_time.clone()))
        .send()
        .await
        .expect("update_item on the orders table");

    let refused = call(Method::DELETE, &url, Some(&user.token), None).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    let message = refused.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("10 minutes"),
        "the message says the cancel window is over: {refused:?}"
    );
    let got = call(Method::GET, &url, Some(&user.token), None).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["status"], "PLACED", "{got:?}");
    assert_eq!(got.body["orderTime"], order_time.as_str());
}

#[tokio::test]
async fn an_idempotency_record_lives_an_hour_and_blocks_only_until_it_expires() {
    let app = app();
    let clients = app.clients().await;
    let dynamodb = &clients.dynamodb;
    let table = app.output("orders", "IdempotencyTable").to_owned();
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let id = uuid::Uuid::new_v4().to_string();
    let body = order(&id, 6.75);
    let created = post_order(&api, &user, &body).await;
    assert_eq!(created.status, 200, "{created:?}");
    let now = OffsetDateTime::now_utc().unix_timestamp();

    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe_time_to_live");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.attribute_name(), Some("expiration"), "{ttl:?}");
    assert_eq!(
        ttl.time_to_live_status(),
        Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled),
        "{ttl:?}"
    );

    // The caller's sub is part of the record id, and this user placed one order.
    let records: Vec<HashMap<String, AttributeValue>> = dynamodb
        .scan()
        .table_name(&table)
        .filter_expression("contains(#id, :sub)")
        .expression_attribute_names("#id", "id")
        .expression_attribute_values(":sub", AttributeValue::S(user.sub.clone()))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("scan of the idempotency table");
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    let record_id = record["id"].as_s().expect("a string id").clone();
    let expiration: i64 = record["expiration"]
        .as_n()
        .expect("a numeric expiration")
        .parse()
        .expect("whole seconds");
    assert!(
        (expiration - (now + 3600)).abs() <= 120,
        "expiration {expiration} is not about an hour after {now}"
    );

    let set_record = |status: &'static str, expiration: i64, lock_ms: i64| {
        let record_id = record_id.clone();
        let table = table.clone();
        async move {
            dynamodb
                .update_item()
                .table_name(table)
                .key("id", AttributeValue::S(record_id))
                .update_expression("SET #status = :s, #exp = :e, #lock = :l")
                .condition_expression("attribute_exists(#id)")
                .expression_attribute_names("#id", "id")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#exp", "expiration")
                .expression_attribute_names("#lock", "in_progress_expiration")
                .expression_attribute_values(":s", AttributeValue::S(status.to_owned()))
                .expression_attribute_values(":e", AttributeValue::N(expiration.to_string()))
                .expression_attribute_values(":l", AttributeValue::N(lock_ms.to_string()))
                .send()
                .await
                .expect("update_item on the idempotency table");
        }
    };
    let far_lock_ms = (now + 3600) * 1000;

    // A live record of a request still in progress holds a repeat off (after the
    // duplicate's bounded wait of at most 10 s)...
    set_record("INPROGRESS", now + 3600, far_lock_ms).await;
    let started = Instant::now();
    let held = post_order(&api, &user, &body).await;
    assert_eq!(held.status, 409, "{held:?}");
    assert!(held.body["message"].is_string(), "{held:?}");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(15),
        "answered after {waited:?}"
    );

    // ...the same record past its expiration no longer counts, even with its lock still
    // running: the repeat gets the stored order.
    set_record("INPROGRESS", now - 60, far_lock_ms).await;
    let repeated = post_order(&api, &user, &body).await;
    assert_eq!(repeated.status, 200, "{repeated:?}");
    assert_eq!(repeated.body, created.body, "the original order");
    let listed = call(
        Method::GET,
        &format!("{api}/orders"),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(listed.body["orders"], json!([created.body]), "{listed:?}");
}

/// Runs the futures side by side (one task each) and collects their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("a request task"));
    }
    out
}
