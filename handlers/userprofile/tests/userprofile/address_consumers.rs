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
        app.visible(&app.address_table).await,
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
    let rows = app.visible(&app.address_table).await;
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
        app.visible(&app.address_table).await,
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
    assert!(app.visible(&app.address_table).await.is_empty());
}

#[tokio::test]
async fn an_edit_naming_another_users_address_changes_nothing() {
    let app = spawn_app().await;
    app.seed_address("owner", "a-1", "1 Main St").await;
    let before = app.visible(&app.address_table).await;
    let edit = address_event::<AddressUpdatedDetail>(
        "address.updated",
        with(
            address_fields("Mallory Rd"),
            json!({"userId": "mallory", "addressId": "a-1"}),
        ),
    );

    let outcome = on_address_updated(&app.addresses, edit).await.unwrap();

    assert_eq!(outcome, Updated::Missing);
    assert_eq!(app.visible(&app.address_table).await, before);
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
    let rows = app.visible(&app.address_table).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["address_id"], "a-2");
}

#[tokio::test]
async fn a_delete_of_a_missing_address_is_a_no_op() {
    let app = spawn_app().await;
    app.seed_address("owner", "a-1", "1 Main St").await;
    let before = app.visible(&app.address_table).await;
    let delete = address_event::<AddressDeletedDetail>(
        "address.deleted",
        json!({"userId": "someone-else", "addressId": "a-1"}),
    );

    let outcome = on_address_deleted(&app.addresses, delete).await.unwrap();

    assert_eq!(outcome, Removed::Missing);
    assert_eq!(app.visible(&app.address_table).await, before);
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
    assert!(app.visible(&app.address_table).await.is_empty());
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

/// An `address.updated` event for `a-1` of `u-1`, sent at `time` with id `id`.
fn update_at(
    line1: &str,
    time: &str,
    id: &str,
) -> aws_lambda_events::eventbridge::EventBridgeEvent<AddressUpdatedDetail> {
    let mut event = address_event::<AddressUpdatedDetail>(
        "address.updated",
        with(
            address_fields(line1),
            json!({"userId": "u-1", "addressId": "a-1"}),
        ),
    );
    event.time = Some(time.parse().unwrap());
    event.id = Some(id.to_owned());
    event
}

#[tokio::test]
async fn reversed_updates_end_as_the_later_one_and_a_redelivery_changes_nothing() {
    let app = spawn_app().await;
    app.seed_address("u-1", "a-1", "1 Main St").await;
    let earlier = update_at("2 Oak Ave", "2024-05-01T12:00:00Z", "e-1");
    let later = update_at("3 Pine Rd", "2024-05-01T12:00:05Z", "e-2");

    assert_eq!(
        on_address_updated(&app.addresses, later.clone())
            .await
            .unwrap(),
        Updated::Updated
    );
    assert_eq!(
        on_address_updated(&app.addresses, earlier).await.unwrap(),
        Updated::Superseded
    );
    assert_eq!(
        on_address_updated(&app.addresses, later).await.unwrap(),
        Updated::Superseded
    );

    let rows = app.visible(&app.address_table).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["line1"], "3 Pine Rd");
}

#[tokio::test]
async fn a_deleted_address_stays_deleted_when_its_add_or_an_update_arrives_late() {
    let app = spawn_app().await;
    let added = address_event::<AddressAddedDetail>(
        "address.added",
        with(address_fields("1 Main St"), json!({"userId": "u-1"})),
    );
    let id = on_address_added(&app.addresses, added.clone())
        .await
        .unwrap();
    let delete = address_event::<AddressDeletedDetail>(
        "address.deleted",
        json!({"userId": "u-1", "addressId": id.as_str()}),
    );
    assert_eq!(
        on_address_deleted(&app.addresses, delete.clone())
            .await
            .unwrap(),
        Removed::Removed
    );

    // Lambda retries the add (its first attempt timed out after writing), and an update
    // sent before the delete arrives after it.
    on_address_added(&app.addresses, added).await.unwrap();
    let mut update = update_at("2 Oak Ave", "2024-05-01T11:59:00Z", "e-0");
    update.detail.address_id = id.as_str().to_owned();
    assert_eq!(
        on_address_updated(&app.addresses, update).await.unwrap(),
        Updated::Missing
    );
    assert_eq!(
        on_address_deleted(&app.addresses, delete).await.unwrap(),
        Removed::Missing
    );

    assert!(app.visible(&app.address_table).await.is_empty());
    let stored = app.scan(&app.address_table).await;
    assert_eq!(stored.len(), 1, "one removed marker");
    assert!(stored[0].contains_key("expires_at"));
    assert!(
        !stored[0].contains_key("line1"),
        "a removed address keeps none of its fields"
    );
}

#[tokio::test]
async fn an_update_without_an_event_time_is_refused_as_invalid() {
    let app = spawn_app().await;
    app.seed_address("u-1", "a-1", "1 Main St").await;
    let mut update = update_at("2 Oak Ave", "2024-05-01T12:00:00Z", "e-1");
    update.time = None;

    let err = on_address_updated(&app.addresses, update)
        .await
        .unwrap_err();

    assert_eq!(err.error_type(), "UserProfile.InvalidEvent");
    assert_eq!(
        app.visible(&app.address_table).await[0]["line1"],
        "1 Main St"
    );
}
