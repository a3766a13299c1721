//! Listing reads every page of the table, not just the first 1 MB; `limit`, the
//! continuation token and the 6 MB response limit page it.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use crate::helpers::{admin, spawn_app};

const USERS: usize = 1500;

#[tokio::test]
async fn listing_returns_every_user_of_a_table_larger_than_one_scan_page() {
    // Arrange: 1,500 users of about 1 KB each, written 25 at a time.
    let app = spawn_app().await;
    let padding = "x".repeat(1000);
    let ids: Vec<String> = (0..USERS).map(|i| format!("user-{i:04}")).collect();
    for chunk in ids.chunks(25) {
        let writes = chunk
            .iter()
            .map(|id| {
                let item = HashMap::from([
                    ("userid".to_owned(), AttributeValue::S(id.clone())),
                    ("name".to_owned(), AttributeValue::S(format!("User {id}"))),
                    ("bio".to_owned(), AttributeValue::S(padding.clone())),
                    (
                        "timestamp".to_owned(),
                        AttributeValue::S("2025-01-01T00:00:00Z".into()),
                    ),
                ]);
                let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let out = app
            .dynamo
            .batch_write_item()
            .request_items(&app.table, writes)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items.is_none_or(|u| u.is_empty()));
    }
    // The table really needs more than one page.
    let first_page = app
        .dynamo
        .scan()
        .table_name(&app.table)
        .send()
        .await
        .unwrap();
    assert!(
        first_page.last_evaluated_key.is_some(),
        "one page held everything"
    );
    assert!(first_page.items().len() < USERS);

    // Act
    let (status, body) = app.call("GET", "/users", None, admin()).await;

    // Assert
    assert_eq!(status, 200);
    let listed: BTreeSet<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userid"].as_str().unwrap())
        .collect();
    assert_eq!(body.as_array().unwrap().len(), USERS);
    assert_eq!(listed, ids.iter().map(String::as_str).collect());
}

/// Writes `count` users `u-00`, `u-01`, ... with a `bio` of `bio_len` bytes.
async fn store_users(app: &crate::helpers::TestApp, count: usize, bio_len: usize) {
    let bio = "x".repeat(bio_len);
    for i in 0..count {
        app.dynamo
            .put_item()
            .table_name(&app.table)
            .item("userid", AttributeValue::S(format!("u-{i:02}")))
            .item("name", AttributeValue::S(format!("User {i}")))
            .item("bio", AttributeValue::S(bio.clone()))
            .send()
            .await
            .unwrap();
    }
}

/// Follows the tokens from the first page; every page's user ids, in order.
async fn walk(app: &crate::helpers::TestApp, limit: Option<&str>) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(("limit", limit));
        }
        if let Some(token) = &token {
            query.push(("nextToken", token.as_str()));
        }
        let (status, body, next) = app.list(&query).await;
        assert_eq!(status, 200, "{body}");
        pages.push(
            body.as_array()
                .unwrap()
                .iter()
                .map(|u| u["userid"].as_str().unwrap().to_owned())
                .collect(),
        );
        match next {
            Some(next) => token = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 50, "the tokens never end");
    }
}

#[tokio::test]
async fn a_limit_pages_the_array_and_the_tokens_reach_every_user_once() {
    let app = spawn_app().await;
    store_users(&app, 5, 10).await;

    let pages = walk(&app, Some("2")).await;

    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&n| n <= 2), "{sizes:?}");
    let all: BTreeSet<String> = pages.into_iter().flatten().collect();
    assert_eq!(all.len(), 5);
    // Without a limit, one page holds them all and no token follows.
    let (status, body, token) = app.list(&[]).await;
    assert_eq!(
        (status, body.as_array().unwrap().len(), token),
        (200, 5, None)
    );
}

#[tokio::test]
async fn a_table_over_six_mb_is_listed_in_responses_that_fit_a_lambda_response() {
    let app = spawn_app().await;
    // 16 users of about 390 KB: 6.2 MB in all, more than one Lambda response holds.
    store_users(&app, 16, 390 * 1024).await;

    let (status, body, token) = app.list(&[]).await;

    assert_eq!(status, 200);
    let first = body.as_array().unwrap().len();
    assert!(first < 16, "all {first} users in one response");
    assert!(body.to_string().len() < 6 * 1024 * 1024);
    assert!(token.is_some(), "no token for the rest");
    let pages = walk(&app, None).await;
    let all: BTreeSet<String> = pages.iter().flatten().cloned().collect();
    assert_eq!((pages.len(), all.len()), (2, 16));
}

#[tokio::test]
async fn a_bad_limit_or_token_is_400_naming_it() {
    let app = spawn_app().await;
    for (key, value, message) in [
        ("limit", "0", "limit must be a whole number from 1 to 1000"),
        (
            "limit",
            "1001",
            "limit must be a whole number from 1 to 1000",
        ),
        (
            "limit",
            "ten",
            "limit must be a whole number from 1 to 1000",
        ),
        (
            "nextToken",
            "%%%",
            "nextToken is not a token this API issued",
        ),
    ] {
        let (status, body, _) = app.list(&[(key, value)]).await;
        assert_eq!(
            (status, &body["message"]),
            (400, &serde_json::json!(message)),
            "{key}={value}"
        );
    }
}
