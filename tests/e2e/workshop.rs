//! The workshop's own client flows, with the payloads its clients send: numeric
//! restaurant and item ids, orders the restaurant side stores with string-typed values.
//! Every response is compared as a JSON value, type included, never as text or as a
//! parsed Rust struct, so a number that comes back as a string (or the reverse) fails.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ASYNC_WAIT, User, app, call, eventually, post_order, put_order_updated, sign_up,
};

/// GET `url` as `user`; the status must be 200; the body.
async fn get_ok(url: &str, user: &User) -> Value {
    let got = call(Method::GET, url, Some(&user.token), None).await;
    assert_eq!(got.status, 200, "GET {url}: {got:?}");
    got.body
}

/// The workshop's create-order body.
fn workshop_order(order_id: &str) -> Value {
    json!({
        "restaurantId": 1,
        "orderId": order_id,
        "orderItems": [
            {"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1},
            {"id": 2, "name": "Pizza - SMALL", "price": 4.99, "quantity": 2}
        ],
        "totalAmount": 19.97,
        "status": "PLACED"
    })
}

#[tokio::test]
async fn the_workshops_users_flow_keeps_every_field_as_sent() {
    let app = app();
    let admin = sign_up(app, true).await;
    let user = sign_up(app, false).await;
    let api = app.api("users", "APIEndpoint");
    let body = json!({"name": "John Doe", "email": user.email, "age": 35,
                      "address": {"zip": "98101", "floor": 3}, "vip": false, "score": 4.50});

    let created = call(
        Method::POST,
        &format!("{api}/users"),
        Some(&admin.token),
        Some(&body),
    )
    .await;

    assert_eq!(created.status, 200, "{created:?}");
    let id = created.body["userid"]
        .as_str()
        .expect("a new userid")
        .to_owned();
    let mut expected = body.clone();
    expected["userid"] = json!(id);
    expected["timestamp"] = created.body["timestamp"].clone();
    assert_eq!(created.body, expected);
    assert_eq!(get_ok(&format!("{api}/users/{id}"), &admin).await, expected);
    let listed = get_ok(&format!("{api}/users"), &admin).await;
    assert!(listed.as_array().unwrap().contains(&expected), "{listed}");

    let own = json!({"name": "Jane Doe", "email": user.email, "age": "35"});
    let put = call(
        Method::PUT,
        &format!("{api}/users/{}", user.sub),
        Some(&user.token),
        Some(&own),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    let mut expected = own.clone();
    expected["userid"] = json!(user.sub);
    expected["timestamp"] = put.body["timestamp"].clone();
    assert_eq!(put.body, expected);
    assert_eq!(
        get_ok(&format!("{api}/users/{}", user.sub), &user).await,
        expected
    );
    // With two users stored at least: a page of one, with the token for the rest in a header browsers may read.
    let page = call(
        Method::GET,
        &format!("{api}/users?limit=1"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.body.as_array().map(Vec::len), Some(1), "{page:?}");
    let token = page.headers["x-next-token"].to_str().unwrap().to_owned();
    assert_eq!(
        page.headers["access-control-expose-headers"],
        "x-next-token"
    );
    let next = call(
        Method::GET,
        &format!("{api}/users?limit=1&nextToken={token}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(next.status, 200, "{next:?}");
    assert_ne!(next.body, page.body, "the token moves on");

    let deleted = call(
        Method::DELETE,
        &format!("{api}/users/{id}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!((deleted.status, &deleted.body), (200, &json!({})));
    let gone = call(
        Method::GET,
        &format!("{api}/users/{id}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(gone.status, 404, "{gone:?}");
}

#[tokio::test]
async fn the_workshops_orders_flow_with_a_numeric_restaurant_id() {
    let app = app();
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let order_id = uuid::Uuid::new_v4().to_string();
    let body = workshop_order(&order_id);

    let created = post_order(&api, &user, &body).await;

    assert_eq!(created.status, 200, "{created:?}");
    let expected = json!({
        "orderId": order_id, "userId": user.sub, "restaurantId": 1,
        "orderItems": body["orderItems"], "totalAmount": 19.97, "status": "PLACED",
        "orderTime": created.body["orderTime"]
    });
    assert_eq!(created.body, expected);
    // The same request again: the first answer, and still one order.
    let repeated = post_order(&api, &user, &body).await;
    assert_eq!((repeated.status, &repeated.body), (200, &expected));
    let url = format!("{api}/orders/{order_id}");
    assert_eq!(get_ok(&url, &user).await, expected);
    assert_eq!(
        get_ok(&format!("{api}/orders"), &user).await,
        json!({"orders": [expected]})
    );

    let mut edit = workshop_order(&order_id);
    edit["orderItems"] = json!([{"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 2}]);
    edit["totalAmount"] = json!(19.98);
    let edited = call(Method::PUT, &url, Some(&user.token), Some(&edit)).await;
    assert_eq!(edited.status, 200, "{edited:?}");
    let mut expected_edit = expected.clone();
    expected_edit["orderItems"] = edit["orderItems"].clone();
    expected_edit["totalAmount"] = json!(19.98);
    assert_eq!(edited.body, expected_edit);
    assert_eq!(get_ok(&url, &user).await, expected_edit);

    let canceled = call(Method::DELETE, &url, Some(&user.token), None).await;
    assert_eq!(canceled.status, 200, "{canceled:?}");
    let mut expected_cancel = expected_edit;
    expected_cancel["status"] = json!("CANCELED");
    assert_eq!(canceled.body, expected_cancel);
    assert_eq!(get_ok(&url, &user).await, expected_cancel);
}

#[tokio::test]
async fn the_workshops_order_status_update_of_an_order_placed_through_the_api() {
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let order_id = uuid::Uuid::new_v4().to_string();
    let created = post_order(&api, &user, &workshop_order(&order_id)).await;
    assert_eq!(created.status, 200, "{created:?}");

    // The restaurant sends the order back with its new status, as it knows it.
    let mut data = created.body.clone();
    data["status"] = json!("ACKNOWLEDGED");
    put_order_updated(app, &clients, &json!({ "data": data })).await;

    let url = format!("{api}/orders/{order_id}");
    let order = eventually("the acknowledged order", ASYNC_WAIT, || async {
        let got = get_ok(&url, &user).await;
        (got["status"] == "ACKNOWLEDGED").then_some(got)
    })
    .await;
    assert_eq!(order, data);
    assert_eq!(order["restaurantId"], json!(1));
}

#[tokio::test]
async fn an_order_the_restaurant_side_stored_is_updated_and_read_back_field_by_field() {
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let order_id = uuid::Uuid::new_v4().to_string();
    let stored = json!({
        "orderId": order_id,
        "userId": user.sub,
        "restaurantId": "2",
        "orderItems": [
            {"id": "1", "name": "Spaghetti", "price": "9.99", "quantity": "1"},
            {"id": "2", "name": "Pizza - SMALL", "price": "11.49", "quantity": "2"}
        ],
        "totalAmount": "32.97",
        "status": "ACKNOWLEDGED",
        "orderTime": "2023-04-05T21:11:21.300436"
    });
    clients
        .dynamodb
        .put_item()
        .table_name(app.output("orders", "OrdersTable"))
        .set_item(Some(HashMap::from([
            ("userId".to_owned(), AttributeValue::S(user.sub.clone())),
            ("orderId".to_owned(), AttributeValue::S(order_id.clone())),
            ("data".to_owned(), handler_common::dynamo::to_attr(&stored)),
        ])))
        .send()
        .await
        .expect("the restaurant side stores its order");
    let url = format!("{api}/orders/{order_id}");
    assert_eq!(get_ok(&url, &user).await, stored, "read as stored");

    let mut update = stored.clone();
    update["status"] = json!("READY_FOR_PICKUP");
    put_order_updated(app, &clients, &json!({ "data": update })).await;

    let order = eventually("the new status", ASYNC_WAIT, || async {
        let got = get_ok(&url, &user).await;
        (got["status"] == "READY_FOR_PICKUP").then_some(got)
    })
    .await;
    for (field, value) in stored.as_object().unwrap() {
        let want = if field == "status" {
            &update["status"]
        } else {
            value
        };
        assert_eq!(&order[field], want, "{field}");
    }
    assert_eq!(
        order.as_object().unwrap().len(),
        stored.as_object().unwrap().len()
    );
    assert_eq!(
        get_ok(&format!("{api}/orders"), &user).await,
        json!({"orders": [order]})
    );
    // It is too old to cancel, and the refusal names the stored time as stored.
    let cancel = call(Method::DELETE, &url, Some(&user.token), None).await;
    assert_eq!(cancel.status, 400, "{cancel:?}");
}

#[tokio::test]
async fn the_workshops_userprofile_flow() {
    let app = app();
    let user = sign_up(app, false).await;
    let api = app.api("userprofile", "ProfileApiEndpoint");
    let address = json!({"line1": "4 Privet Drive", "line2": "", "city": "Little Whinging",
                         "stateProvince": "Surrey", "postal": "RG12 9FG"});
    let restaurant = uuid::Uuid::new_v4().to_string();

    let posted = call(
        Method::POST,
        &format!("{api}/address"),
        Some(&user.token),
        Some(&address),
    )
    .await;
    let favored = call(
        Method::POST,
        &format!("{api}/favorite"),
        Some(&user.token),
        Some(&json!({"restaurantId": restaurant})),
    )
    .await;

    assert_eq!((posted.status, &posted.body), (200, &json!({})));
    assert_eq!((favored.status, &favored.body), (200, &json!({})));
    let listed = eventually("the address", ASYNC_WAIT, || async {
        let got = get_ok(&format!("{api}/address"), &user).await;
        (got["addresses"].as_array().is_some_and(|a| !a.is_empty())).then_some(got)
    })
    .await;
    let mut expected = address.clone();
    expected["address_id"] = listed["addresses"][0]["address_id"].clone();
    assert_eq!(listed, json!({"addresses": [expected]}));
    let favorites = eventually("the favorite", ASYNC_WAIT, || async {
        let got = get_ok(&format!("{api}/favorite"), &user).await;
        (got["favorites"].as_array().is_some_and(|a| !a.is_empty())).then_some(got)
    })
    .await;
    assert_eq!(
        favorites,
        json!({"favorites": [{"restaurant_id": restaurant}]})
    );
}
