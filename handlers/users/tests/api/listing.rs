//! Listing reads every page of the table, not just the first 1 MB.

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
