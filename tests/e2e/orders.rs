//! The orders API: idempotent creation, reads, edits and cancels of the caller's orders.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{app, call, sign_up};

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

    let created = call(
        Method::POST,
        &format!("{api}/orders"),
        Some(&user.token),
        Some(&order(&id, 4.5)),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.cors.as_deref(), Some("*"));
    assert_eq!(created.body["orderId"], id.as_str());
    assert_eq!(created.body["userId"], user.sub.as_str());
    assert_eq!(created.body["status"], "PLACED");

    let repeated = call(
        Method::POST,
        &format!("{api}/orders"),
        Some(&user.token),
        Some(&order(&id, 4.5)),
    )
    .await;
    assert_eq!(repeated.status, 200, "{repeated:?}");
    assert_eq!(
        repeated.body, created.body,
        "a repeat gets the first response"
    );

    let conflicting = call(
        Method::POST,
        &format!("{api}/orders"),
        Some(&user.token),
        Some(&order(&id, 5.0)),
    )
    .await;
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
    let created = call(
        Method::POST,
        &format!("{api}/orders"),
        Some(&owner.token),
        Some(&order(&id, 1.0)),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");

    let foreign = call(
        Method::GET,
        &format!("{api}/orders/{id}"),
        Some(&other.token),
        None,
    )
    .await;
    assert_eq!(foreign.status, 404, "{foreign:?}");

    let bad = call(
        Method::POST,
        &format!("{api}/orders"),
        Some(&owner.token),
        Some(&json!({"orderId": "x"})),
    )
    .await;
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
