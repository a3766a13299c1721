//! The full create/read/replace/delete cycle on a real table.

use serde_json::json;

use crate::helpers::{admin, spawn_app, user};

#[tokio::test]
async fn a_user_goes_through_create_get_replace_list_and_delete() {
    // Arrange
    let app = spawn_app().await;

    // Act: an admin creates the user, keeping the id the client chose.
    let body = json!({"name": "Ann", "userid": "ann-1", "address": {"city": "Oslo"}, "age": 41, "ratio": 0.25});
    let (status, created) = app.call("POST", "/users", Some(body), admin()).await;

    // Assert
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["userid"], "ann-1");
    assert_eq!(created["address"], json!({"city": "Oslo"}));
    assert_eq!(created["age"], json!(41));
    assert_eq!(created["ratio"], json!(0.25));
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));

    // The user reads their own record as stored.
    let (status, got) = app.call("GET", "/users/ann-1", None, user("ann-1")).await;
    assert_eq!((status, &got), (200, &created));

    // The item in the table has real DynamoDB numbers and a nested map.
    let item = app
        .dynamo
        .get_item()
        .table_name(&app.table)
        .key(
            "userid",
            aws_sdk_dynamodb::types::AttributeValue::S("ann-1".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["age"].as_n().unwrap(), "41");
    assert_eq!(item["ratio"].as_n().unwrap(), "0.25");
    assert!(item["address"].is_m());

    // Replace: the whole item changes, the id stays that of the path.
    let (status, replaced) = app
        .call(
            "PUT",
            "/users/ann-1",
            Some(json!({"name": "Ann B", "userid": "evil"})),
            user("ann-1"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(replaced["userid"], "ann-1");
    assert_eq!(replaced["name"], "Ann B");
    assert!(replaced.get("address").is_none());
    let (_, got) = app.call("GET", "/users/ann-1", None, admin()).await;
    assert_eq!(got, replaced);

    let (status, listed) = app.call("GET", "/users", None, admin()).await;
    assert_eq!((status, listed), (200, json!([replaced])));

    // Delete answers {} and the user is gone; deleting again answers the same.
    for _ in 0..2 {
        let (status, body) = app
            .call("DELETE", "/users/ann-1", None, user("ann-1"))
            .await;
        assert_eq!((status, body), (200, json!({})));
    }
    let (status, body) = app.call("GET", "/users/ann-1", None, user("ann-1")).await;
    assert_eq!(
        (status, body),
        (404, json!({"message": "user ann-1 not found"}))
    );
}

#[tokio::test]
async fn put_creates_a_user_that_did_not_exist_and_post_without_id_gets_a_uuid() {
    let app = spawn_app().await;

    let (status, put) = app
        .call(
            "PUT",
            "/users/new-1",
            Some(json!({"name": "New"})),
            user("new-1"),
        )
        .await;
    assert_eq!(status, 200);
    let (_, got) = app.call("GET", "/users/new-1", None, user("new-1")).await;
    assert_eq!(got, put);

    let (status, created) = app
        .call("POST", "/users", Some(json!({"name": "Fresh"})), admin())
        .await;
    assert_eq!(status, 200);
    let id = created["userid"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let (status, _) = app
        .call("GET", &format!("/users/{id}"), None, admin())
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_bad_body_changes_nothing_in_the_table() {
    let app = spawn_app().await;

    let (status, body) = app
        .call("POST", "/users", Some(json!({"nom": "Ann"})), admin())
        .await;
    assert_eq!(
        (status, body),
        (400, json!({"message": "name is required"}))
    );
    let (status, _) = app
        .call(
            "PUT",
            "/users/u-1",
            Some(json!({"name": ["x"]})),
            user("u-1"),
        )
        .await;
    assert_eq!(status, 400);

    let (status, listed) = app.call("GET", "/users", None, admin()).await;
    assert_eq!((status, listed), (200, json!([])));
}

#[tokio::test]
async fn a_missing_table_is_a_generic_500() {
    let mut app = spawn_app().await;
    app.store = users::store::DynamoUserStore::new(app.dynamo.clone(), "no-such-table");
    let (status, body) = app.call("GET", "/users", None, admin()).await;
    assert_eq!((status, body), (500, json!({"message": "internal error"})));
}

#[tokio::test]
async fn a_user_another_writer_stored_is_read_back_with_its_json_types_and_exact_numbers() {
    let app = spawn_app().await;
    let stored: serde_json::Value = serde_json::from_str(
        r#"{"userid": "w-1", "name": "Wanda", "age": "41",
            "visits": 123456789012345678901234567890, "ratio": 0.30000000000000000001,
            "vip": false, "note": null, "address": {"zip": 98101, "lines": ["1 Main St", 2]}}"#,
    )
    .unwrap();
    app.dynamo
        .put_item()
        .table_name(&app.table)
        .set_item(Some(handler_common::dynamo::to_attr_map(
            stored.as_object().unwrap(),
        )))
        .send()
        .await
        .unwrap();

    let (status, got) = app.call("GET", "/users/w-1", None, user("w-1")).await;
    let (_, listed) = app.call("GET", "/users", None, admin()).await;

    assert_eq!((status, &got), (200, &stored));
    assert_eq!(listed, json!([stored]));
}

#[tokio::test]
async fn numbers_are_kept_exactly_and_numbers_dynamodb_cannot_hold_are_400() {
    let app = spawn_app().await;
    let body: serde_json::Value = serde_json::from_str(
        r#"{"name":"N","userid":"n-1","big":123456789012345678901234567890,"tiny":1e-120}"#,
    )
    .unwrap();

    let (status, created) = app
        .call("POST", "/users", Some(body.clone()), admin())
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["big"], body["big"]);
    assert_eq!(
        app.call("GET", "/users/n-1", None, user("n-1")).await.1["big"],
        body["big"]
    );

    for raw in [r#"{"name":"N","x":1e300}"#, r#"{"name":"N","x":1e-300}"#] {
        let body: serde_json::Value = serde_json::from_str(raw).unwrap();
        let (status, json) = app.call("POST", "/users", Some(body), admin()).await;
        assert_eq!(status, 400, "{raw}: {json}");
        assert!(
            json["message"].as_str().unwrap().starts_with("x: number"),
            "{json}"
        );
    }
}
