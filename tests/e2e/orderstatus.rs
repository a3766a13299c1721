//! Restaurants drive an order's status by putting `order.updated` events on the
//! restaurant bus with their own SDK client.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    ASYNC_WAIT, app, call, eventually, peek, peek_dead_letters, post_order, put_order_updated,
    sign_up,
};

#[tokio::test]
async fn an_order_updated_event_from_an_sdk_client_changes_what_get_order_returns() {
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let order_id = uuid::Uuid::new_v4().to_string();
    let created = post_order(&api, &user, &json!({"restaurantId": "rest-1", "orderId": order_id, "orderItems": [{"id": "i-1", "name": "Pizza", "price": 9.99, "quantity": 2}], "totalAmount": 19.98})).await;
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.body["status"], "PLACED");

    let detail =
        json!({"data": {"userId": user.sub, "orderId": order_id, "status": "ACKNOWLEDGED"}});
    put_order_updated(app, &clients, &detail).await;

    let order = eventually("the new status", ASYNC_WAIT, || async {
        let got = call(
            Method::GET,
            &format!("{api}/orders/{order_id}"),
            Some(&user.token),
            None,
        )
        .await;
        assert_eq!(got.status, 200, "{got:?}");
        (got.body["status"] == "ACKNOWLEDGED").then_some(got.body)
    })
    .await;
    let mut expected = created.body.clone();
    expected["status"] = json!("ACKNOWLEDGED");
    assert_eq!(order, expected, "only the status changed");
}

#[tokio::test]
async fn an_order_updated_event_without_a_status_ends_in_the_dead_letter_queue_and_changes_nothing()
{
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let order_id = uuid::Uuid::new_v4().to_string();
    let created = post_order(&api, &user, &json!({"restaurantId": "rest-1", "orderId": order_id, "orderItems": [{"id": "i-1"}], "totalAmount": 3})).await;
    assert_eq!(created.status, 200, "{created:?}");
    let dlq = order_status_dlq(&clients).await;

    let detail = json!({"data": {"userId": user.sub, "orderId": order_id}});
    put_order_updated(app, &clients, &detail).await;

    eventually(
        "the rejected event in the dead-letter queue",
        ASYNC_WAIT,
        || async {
            peek(&clients, &dlq)
                .await
                .iter()
                .any(|body| body.contains(&order_id))
                .then_some(())
        },
    )
    .await;
    let got = call(
        Method::GET,
        &format!("{api}/orders/{order_id}"),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!((got.status, &got.body), (200, &created.body));
}

#[tokio::test]
async fn a_status_event_for_an_order_the_customer_canceled_is_dead_lettered_as_final() {
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let order_id = uuid::Uuid::new_v4().to_string();
    let created = post_order(&api, &user, &json!({"restaurantId": 7, "orderId": order_id, "orderItems": [{"id": "i-1"}], "totalAmount": 3})).await;
    assert_eq!(created.status, 200, "{created:?}");
    let url = format!("{api}/orders/{order_id}");
    let canceled = call(Method::DELETE, &url, Some(&user.token), None).await;
    assert_eq!(canceled.status, 200, "{canceled:?}");
    let dlq = order_status_dlq(&clients).await;

    // The restaurant had not seen the cancel; its PLACED would re-open the order.
    for status in ["ACKNOWLEDGED", "PLACED"] {
        let detail = json!({"data": {"userId": user.sub, "orderId": order_id, "status": status}});
        put_order_updated(app, &clients, &detail).await;
    }

    let codes = eventually("both events dead-lettered", ASYNC_WAIT, || async {
        let mine: Vec<String> = peek_dead_letters(&clients, &dlq)
            .await
            .into_iter()
            .filter(|(body, _)| body.contains(&order_id))
            .map(|(_, code)| code)
            .collect();
        (mine.len() == 2).then_some(mine)
    })
    .await;
    assert_eq!(codes, ["FinalStatus", "FinalStatus"]);
    let got = call(Method::GET, &url, Some(&user.token), None).await;
    assert_eq!((got.status, &got.body), (200, &canceled.body));
    assert_eq!(got.body["status"], "CANCELED");
}

/// The URL of the order-status rule's dead-letter queue, by the name the local cloud gives it.
async fn order_status_dlq(clients: &stackgen_cloud::endpoint::Clients) -> String {
    clients
        .sqs
        .get_queue_url()
        .queue_name("orderstatus-OrderStatusDLQ")
        .send()
        .await
        .expect("the orderstatus dead-letter queue exists")
        .queue_url
        .expect("a queue URL")
}
