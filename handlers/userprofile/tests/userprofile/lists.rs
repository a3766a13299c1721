//! The two list routes against real tables.

use serde_json::json;
use userprofile::api::{list_addresses, list_favorites};

use crate::helpers::{get_request, spawn_app, status_and_json, string_item};

#[tokio::test]
async fn the_caller_gets_their_addresses_without_user_id() {
    let app = spawn_app().await;
    app.seed_address("u-1", "a-1", "1 Main St").await;
    app.seed_address("u-1", "a-2", "9 Elm St").await;
    app.seed_address("u-2", "a-3", "Not Yours Ln").await;

    let resp = list_addresses(&app.addresses, get_request("/address", Some("u-1"))).await;

    let (status, body) = status_and_json(resp);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"addresses": [
            {"address_id": "a-1", "line1": "1 Main St", "line2": "", "city": "Springfield",
             "stateProvince": "OR", "postal": "97403"},
            {"address_id": "a-2", "line1": "9 Elm St", "line2": "", "city": "Springfield",
             "stateProvince": "OR", "postal": "97403"},
        ]})
    );
}

#[tokio::test]
async fn a_caller_without_addresses_gets_an_empty_list() {
    let app = spawn_app().await;

    let resp = list_addresses(&app.addresses, get_request("/address", Some("u-1"))).await;

    assert_eq!(status_and_json(resp), (200, json!({"addresses": []})));
}

#[tokio::test]
async fn every_page_of_addresses_is_listed() {
    let app = spawn_app().await;
    // About 1.1 MB: more than one page of moto's (and DynamoDB's) 1 MB query pages.
    let padding = "x".repeat(1000);
    let items = (0..1100)
        .map(|i| {
            let id = format!("a-{i:04}");
            string_item(&[
                ("user_id", "u-1"),
                ("address_id", &id),
                ("line1", &padding),
                ("line2", ""),
                ("city", "c"),
                ("stateProvince", "s"),
                ("postal", "p"),
            ])
        })
        .collect();
    app.put_items(&app.address_table, items).await;
    assert!(
        app.needs_more_than_one_page(&app.address_table, "u-1")
            .await
    );

    let resp = list_addresses(&app.addresses, get_request("/address", Some("u-1"))).await;

    let (status, body) = status_and_json(resp);
    assert_eq!(status, 200);
    let addresses = body["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 1100);
    assert_eq!(addresses[1099]["address_id"], "a-1099");
}

#[tokio::test]
async fn the_caller_gets_their_favorites() {
    let app = spawn_app().await;
    let items = [("u-1", "r-1"), ("u-1", "r-2"), ("u-2", "r-3")]
        .iter()
        .map(|(u, r)| string_item(&[("user_id", u), ("restaurant_id", r)]))
        .collect();
    app.put_items(&app.favorites_table, items).await;

    let resp = list_favorites(&app.favorites, get_request("/favorite", Some("u-1"))).await;

    assert_eq!(
        status_and_json(resp),
        (
            200,
            json!({"favorites": [{"restaurant_id": "r-1"}, {"restaurant_id": "r-2"}]})
        )
    );
}

#[tokio::test]
async fn a_removed_favorite_is_not_listed() {
    let app = spawn_app().await;
    let mut removed = string_item(&[("user_id", "u-1"), ("restaurant_id", "r-2")]);
    removed.insert(
        "removed".to_owned(),
        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
    );
    let mut items: Vec<_> = ["r-1", "r-3"]
        .iter()
        .map(|r| string_item(&[("user_id", "u-1"), ("restaurant_id", r)]))
        .collect();
    items.push(removed);
    app.put_items(&app.favorites_table, items).await;

    let resp = list_favorites(&app.favorites, get_request("/favorite", Some("u-1"))).await;

    assert_eq!(
        status_and_json(resp),
        (
            200,
            json!({"favorites": [{"restaurant_id": "r-1"}, {"restaurant_id": "r-3"}]})
        )
    );
}

#[tokio::test]
async fn every_page_of_favorites_is_listed() {
    let app = spawn_app().await;
    // Long restaurant ids make each item about 1 KB, so 1,100 of them span two pages.
    let items = (0..1100)
        .map(|i| {
            let id = format!("r-{i:04}-{}", "x".repeat(1000));
            string_item(&[("user_id", "u-1"), ("restaurant_id", &id)])
        })
        .collect();
    app.put_items(&app.favorites_table, items).await;
    assert!(
        app.needs_more_than_one_page(&app.favorites_table, "u-1")
            .await
    );

    let resp = list_favorites(&app.favorites, get_request("/favorite", Some("u-1"))).await;

    let (status, body) = status_and_json(resp);
    assert_eq!(status, 200);
    assert_eq!(body["favorites"].as_array().unwrap().len(), 1100);
}

#[tokio::test]
async fn a_request_without_caller_is_unauthorized() {
    let app = spawn_app().await;

    let addresses = list_addresses(&app.addresses, get_request("/address", None)).await;
    let favorites = list_favorites(&app.favorites, get_request("/favorite", None)).await;

    let expected = (
        401,
        json!({"message": "the request carries no authenticated caller"}),
    );
    assert_eq!(status_and_json(addresses), expected);
    assert_eq!(status_and_json(favorites), expected);
}

#[tokio::test]
async fn a_table_failure_is_a_generic_500() {
    let app = spawn_app().await;
    let missing = userprofile::store::AddressTable::new(app.dynamo.clone(), "no-such-table");

    let resp = list_addresses(&missing, get_request("/address", Some("u-1"))).await;

    assert_eq!(
        status_and_json(resp),
        (500, json!({"message": "internal error"}))
    );
}

#[tokio::test]
async fn a_limit_pages_the_addresses_and_the_token_continues_after_the_last_one() {
    use lambda_http::RequestExt;
    let app = spawn_app().await;
    for id in ["a-1", "a-2", "a-3"] {
        app.seed_address("u-1", id, "1 Main St").await;
    }
    let page = |query: Vec<(&str, String)>| {
        let params: std::collections::HashMap<String, String> =
            query.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        get_request("/address", Some("u-1")).with_query_string_parameters(params)
    };

    let first = list_addresses(&app.addresses, page(vec![("limit", "2".into())])).await;
    let token = first.headers()["x-next-token"].to_str().unwrap().to_owned();
    let (status, body) = status_and_json(first);
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a-1", "a-2"]);

    let second = list_addresses(
        &app.addresses,
        page(vec![("limit", "2".into()), ("nextToken", token)]),
    )
    .await;
    assert!(
        second.headers().get("x-next-token").is_none(),
        "the last page"
    );
    let (_, body) = status_and_json(second);
    assert_eq!(body["addresses"][0]["address_id"], "a-3");
    assert_eq!(body["addresses"].as_array().unwrap().len(), 1);

    let bad = list_favorites(&app.favorites, page(vec![("nextToken", "%".into())])).await;
    assert_eq!(
        status_and_json(bad),
        (
            400,
            json!({"message": "nextToken is not a token this API issued"})
        )
    );
}
