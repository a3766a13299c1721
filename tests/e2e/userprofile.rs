//! Addresses through the address bus, favorites through the favorites queue.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ASYNC_WAIT, app, call, dead_letter_queue, eventually, peek, sign_up};

fn address() -> serde_json::Value {
    json!({"line1": "1 Main St", "line2": "Apt 2", "city": "Springfield", "stateProvince": "IL", "postal": "62701"})
}

#[tokio::test]
async fn an_address_posted_to_the_api_travels_the_bus_and_becomes_visible() {
    let app = app();
    let user = sign_up(app, false).await;
    let api = app.api("userprofile", "ProfileApiEndpoint");

    let posted = call(
        Method::POST,
        &format!("{api}/address"),
        Some(&user.token),
        Some(&address()),
    )
    .await;
    assert_eq!(posted.status, 200, "{posted:?}");
    assert_eq!(posted.body, json!({}));

    let addresses = eventually("the posted address", ASYNC_WAIT, || async {
        let listed = call(
            Method::GET,
            &format!("{api}/address"),
            Some(&user.token),
            None,
        )
        .await;
        assert_eq!(listed.status, 200, "{listed:?}");
        let addresses = listed.body["addresses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (!addresses.is_empty()).then_some(addresses)
    })
    .await;
    assert_eq!(addresses.len(), 1);
    let stored = &addresses[0];
    for (field, value) in address().as_object().unwrap() {
        assert_eq!(&stored[field], value, "{field} of {stored}");
    }
    assert!(
        stored["address_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(stored.get("user_id").is_none(), "{stored}");

    // Updated, then deleted, through the same bus.
    let id = stored["address_id"].as_str().unwrap().to_owned();
    let mut changed = address();
    changed["city"] = json!("Shelbyville");
    let put = call(
        Method::PUT,
        &format!("{api}/address/{id}"),
        Some(&user.token),
        Some(&changed),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    eventually("the updated address", ASYNC_WAIT, || async {
        let listed = call(
            Method::GET,
            &format!("{api}/address"),
            Some(&user.token),
            None,
        )
        .await;
        (listed.body["addresses"][0]["city"] == "Shelbyville").then_some(())
    })
    .await;
    let deleted = call(
        Method::DELETE,
        &format!("{api}/address/{id}"),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    eventually("the deleted address gone", ASYNC_WAIT, || async {
        let listed = call(
            Method::GET,
            &format!("{api}/address"),
            Some(&user.token),
            None,
        )
        .await;
        (listed.body["addresses"] == json!([])).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_address_with_a_missing_field_is_refused_with_400() {
    let app = app();
    let user = sign_up(app, false).await;
    let api = app.api("userprofile", "ProfileApiEndpoint");
    let mut body = address();
    body.as_object_mut().unwrap().remove("postal");

    let response = call(
        Method::POST,
        &format!("{api}/address"),
        Some(&user.token),
        Some(&body),
    )
    .await;

    assert_eq!(response.status, 400, "{response:?}");
    assert!(response.body["message"].is_string(), "{response:?}");
}

#[tokio::test]
async fn favorites_apply_through_the_queue_while_a_poison_message_ends_in_the_dead_letter_queue() {
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, false).await;
    let api = app.api("userprofile", "ProfileApiEndpoint");
    let queue = app.output("userprofile", "FavoritesQueueUrl");
    let dlq = dead_letter_queue(&clients, queue).await;
    let poison = format!("poison-{}", uuid::Uuid::new_v4().simple());
    let attribute = |v: &str| {
        aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };

    // The poison message goes first, so it shares batches with the good ones.
    clients
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body(&poison)
        .message_attributes("CommandName", attribute("NoSuchCommand"))
        .message_attributes("UserId", attribute(&user.sub))
        .send()
        .await
        .expect("send the poison message");
    for restaurant in ["r-1", "r-2"] {
        let posted = call(
            Method::POST,
            &format!("{api}/favorite"),
            Some(&user.token),
            Some(&json!({"restaurantId": restaurant})),
        )
        .await;
        assert_eq!(posted.status, 200, "{posted:?}");
    }

    let favorites = eventually("both favorites", ASYNC_WAIT, || async {
        let listed = call(
            Method::GET,
            &format!("{api}/favorite"),
            Some(&user.token),
            None,
        )
        .await;
        let favorites = listed.body["favorites"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (favorites.len() == 2).then_some(favorites)
    })
    .await;
    assert_eq!(
        favorites,
        vec![
            json!({"restaurant_id": "r-1"}),
            json!({"restaurant_id": "r-2"})
        ]
    );
    eventually(
        "the poison message in the dead-letter queue",
        ASYNC_WAIT,
        || async { peek(&clients, &dlq).await.contains(&poison).then_some(()) },
    )
    .await;

    let deleted = call(
        Method::DELETE,
        &format!("{api}/favorite/r-1"),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    eventually("the deleted favorite gone", ASYNC_WAIT, || async {
        let listed = call(
            Method::GET,
            &format!("{api}/favorite"),
            Some(&user.token),
            None,
        )
        .await;
        (listed.body["favorites"] == json!([{"restaurant_id": "r-2"}])).then_some(())
    })
    .await;
}
