//! The three address-bus consumers against a real Address table.

use serde_json::json;
use userprofile::address::{
    AddressAddedDetail, AddressDeletedDetail, AddressEventError, AddressUpdatedDetail,
    on_address_added, on_address_deleted, on_address_updated,
};
use userprofile::store::{AddressTable, Removed, Updated};

use crate::helpers::{address_event, address_fields, spawn_app, with};

#[tokio::test]
async fn an_added_address_is_stored_with_a_new_uuid_and_exactly_the_contract_fields() {
    let app = spawn_app().await;
    let event = address_event::<AddressAddedDetail>(
        "address.added",
        with(address_fields("1 Main St"), json!({"userId": "u-1"})),
    );

    let id = on_address_added(&app.addresses, event).await.unwrap();

    assert!(uuid::Uuid::parse_str(id.as_str()).is_ok());
    assert_eq!(
        app.scan_json(&app.address_table).await,
        [json!({
            "user_id": "u-1", "address_id": id.as_str(), "line1": "1 Main St",
            "line2": "Apt 2", "city": "Springfield", "stateProvince": "OR", "postal": "97403"
        })]
    );
}

#[tokio::test]
async fn a_redelivered_added_event_stores_one_address_and_keeps_later_edits() {
    let app = spawn_app().await;
    let event = address_event::<AddressAddedDetail>(
        "address.added",
        with(address_fields("1 Main St"), json!({"userId": "u-1"})),
    );
    let id = on_address_added(&app.addresses, event.clone())
        .await
        .unwrap();
    let edit = address_event::<AddressUpdatedDetail>(
        "address.updated",
        with(
            address_fields("2 Oak Ave"),
            json!({"userId": "u-1", "addressId": id.as_str()}),
        ),
    );
    on_address_updated(&app.addresses, edit).await.unwrap();

    let again = on_address_added(&app.addresses, event).await.unwrap();

    assert_eq!(again, id);
    let rows = app.scan_json(&app.address_table).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["line1"], "2 Oak Ave");
}

#[tokio::test]
async fn an_edit_replaces_the_fields_of_that_address_only() {
    let app = spawn_app().await;
    app.seed_address("u-1", "a-1", "1 Main St").await;
    app.seed_address("u-1", "a-2", "9 Elm St").await;
    let edit = address_event::<AddressUpdatedDetail>(
        "address.updated",
        json!({"userId": "u-1", "addressId": "a-1", "line1": "2 Oak Ave", "line2": "",
               "city": "Portland", "stateProvince": "OR", "postal": "97201"}),
    );

    let outcome = on_address_updated(&app.addresses, edit).await.unwrap();

    assert_eq!(outcome, Updated::Updated);
    assert_eq!(
        app.scan_json(&app.address_table).await,
        [
            json!({"user_id": "u-1", "address_id": "a-1", "line1": "2 Oak Ave", "line2": "",
                   "city": "Portland", "stateProvince": "OR", "postal": "97201"}),
            json!({"user_id": "u-1", "address_id": "a-2", "line1": "9 Elm St", "line2": "",
                   "city": "Springfield", "stateProvince": "OR", "postal": "97403"}),
        ]
    );
}

#[tokio::test]
async fn an_edit_of_a_missing_address_creates_nothing() {
    let app = spawn_app().await;
    let edit = address_event::<AddressUpdatedDetail>(
        "address.updated",
        with(
            address_fields("2 Oak Ave"),
            json!({"userId": "u-1", "addressId": "no-such-address"}),
        ),
    );

    let outcome = on_address_updated(&app.addresses, edit).await.unwrap();

    assert_eq!(outcome, Updated::Missing);
    assert!(app.scan(&app.address_table).await.is_empty());
}

#[tokio::test]
async fn an_edit_naming_another_users_address_changes_nothing() {
    let app = spawn_app().await;
    app.seed_address("owner", "a-1", "1 Main St").await;
    let before = app.scan_json(&app.address_table).await;
    let edit = address_event::<AddressUpdatedDetail>(
        "address.updated",
        with(
            address_fields("Mallory Rd"),
            json!({"userId": "mallory", "addressId": "a-1"}),
        ),
    );

    let outcome = on_address_updated(&app.addresses, edit).await.unwrap();

    assert_eq!(outcome, Updated::Missing);
    assert_eq!(app.scan_json(&app.address_table).await, before);
}

#[tokio::test]
async fn a_delete_removes_that_address_only() {
    let app = spawn_app().await;
    app.seed_address("u-1", "a-1", "1 Main St").await;
    app.seed_address("u-1", "a-2", "9 Elm St").await;
    let delete = address_event::<AddressDeletedDetail>(
        "address.deleted",
        json!({"userId": "u-1", "addressId": "a-1"}),
    );

    let outcome = on_address_deleted(&app.addresses, delete).await.unwrap();

    assert_eq!(outcome, Removed::Removed);
    let rows = app.scan_json(&app.address_table).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["address_id"], "a-2");
}

#[tokio::test]
async fn a_delete_of_a_missing_address_is_a_no_op() {
    let app = spawn_app().await;
    app.seed_address("owner", "a-1", "1 Main St").await;
    let before = app.scan_json(&app.address_table).await;
    let delete = address_event::<AddressDeletedDetail>(
        "address.deleted",
        json!({"userId": "someone-else", "addressId": "a-1"}),
    );

    let outcome = on_address_deleted(&app.addresses, delete).await.unwrap();

    assert_eq!(outcome, Removed::Missing);
    assert_eq!(app.scan_json(&app.address_table).await, before);
}

#[tokio::test]
async fn a_malformed_event_is_a_typed_error_and_writes_nothing() {
    let app = spawn_app().await;
    let blank_user = address_event::<AddressAddedDetail>(
        "address.added",
        with(address_fields("1 Main St"), json!({"userId": ""})),
    );
    let wrong_type = address_event::<AddressAddedDetail>(
        "address.deleted",
        with(address_fields("1 Main St"), json!({"userId": "u-1"})),
    );

    let blank = on_address_added(&app.addresses, blank_user).await;
    let wrong = on_address_added(&app.addresses, wrong_type).await;

    assert!(matches!(blank, Err(AddressEventError::InvalidDetail(_))));
    assert!(matches!(
        wrong,
        Err(AddressEventError::UnexpectedEvent { .. })
    ));
    assert!(app.scan(&app.address_table).await.is_empty());
}

#[tokio::test]
async fn a_table_failure_is_a_store_error_so_the_event_is_retried() {
    let app = spawn_app().await;
    let missing_table = AddressTable::new(app.dynamo.clone(), "no-such-table");
    let event = address_event::<AddressAddedDetail>(
        "address.added",
        with(address_fields("1 Main St"), json!({"userId": "u-1"})),
    );

    let err = on_address_added(&missing_table, event).await.unwrap_err();

    assert_eq!(err.error_type(), "UserProfile.StoreFailed");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert!(
        diagnostic
            .error_message
            .starts_with("could not apply the event to the address table: dynamodb PutItem on table no-such-table failed"),
        "{}",
        diagnostic.error_message
    );
}
