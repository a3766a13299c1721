//! Every event file shipped for `sam local invoke` under `events/userprofile/` parses into
//! its function's event type, and does what its name says when handled.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::SqsEvent;
use serde_json::json;
use userprofile::address::{
    AddressAddedDetail, AddressDeletedDetail, AddressUpdatedDetail, on_address_added,
    on_address_deleted, on_address_updated,
};
use userprofile::api::{list_addresses, list_favorites};
use userprofile::favorites::consume_batch;
use userprofile::store::{Removed, Updated};

use crate::helpers::{spawn_app, status_and_json, string_item};

/// The Cognito `sub` the event files use.
const SUB: &str = "3f1c7a2e-8d4b-4e6f-9a1b-2c3d4e5f6a7b";
/// The address the updated and deleted events name.
const ADDRESS_ID: &str = "0d6a5d2c-5b1e-4c3f-8f8e-2b7c9a41e6d0";

const ADDRESS_ADDED: &str = include_str!("../../../../events/userprofile/address-added.json");
const ADDRESS_UPDATED: &str = include_str!("../../../../events/userprofile/address-updated.json");
const ADDRESS_DELETED: &str = include_str!("../../../../events/userprofile/address-deleted.json");
const FAVORITES_BATCH: &str = include_str!("../../../../events/userprofile/favorites-batch.json");
const LIST_ADDRESSES: &str = include_str!("../../../../events/userprofile/list-addresses.json");
const LIST_FAVORITES: &str = include_str!("../../../../events/userprofile/list-favorites.json");

#[tokio::test]
async fn the_address_added_event_adds_an_address() {
    let app = spawn_app().await;
    let event: EventBridgeEvent<AddressAddedDetail> = serde_json::from_str(ADDRESS_ADDED).unwrap();

    let id = on_address_added(&app.addresses, event).await.unwrap();

    let rows = app.visible(&app.address_table).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["user_id"], SUB);
    assert_eq!(rows[0]["address_id"], id.as_str());
}

#[tokio::test]
async fn the_address_updated_event_updates_the_address() {
    let app = spawn_app().await;
    app.seed_address(SUB, ADDRESS_ID, "742 Evergreen Terrace")
        .await;
    let event: EventBridgeEvent<AddressUpdatedDetail> =
        serde_json::from_str(ADDRESS_UPDATED).unwrap();

    let outcome = on_address_updated(&app.addresses, event).await.unwrap();

    assert_eq!(outcome, Updated::Updated);
    assert_eq!(
        app.visible(&app.address_table).await[0]["line2"],
        "Basement"
    );
}

#[tokio::test]
async fn the_address_deleted_event_deletes_the_address() {
    let app = spawn_app().await;
    app.seed_address(SUB, ADDRESS_ID, "742 Evergreen Terrace")
        .await;
    let event: EventBridgeEvent<AddressDeletedDetail> =
        serde_json::from_str(ADDRESS_DELETED).unwrap();

    let outcome = on_address_deleted(&app.addresses, event).await.unwrap();

    assert_eq!(outcome, Removed::Removed);
    assert!(app.visible(&app.address_table).await.is_empty());
}

#[tokio::test]
async fn the_favorites_batch_applies_three_and_fails_three() {
    let app = spawn_app().await;
    let event: SqsEvent = serde_json::from_str(FAVORITES_BATCH).unwrap();

    let response = consume_batch(&app.favorites, event).await.unwrap();

    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "5b2f0c4e-7a1d-4e6b-9c3a-000000000004",
            "5b2f0c4e-7a1d-4e6b-9c3a-000000000005",
            "5b2f0c4e-7a1d-4e6b-9c3a-000000000006",
        ]
    );
    assert_eq!(
        app.visible_favorites().await,
        [json!({"user_id": SUB, "restaurant_id": "restaurant-1"})]
    );
}

#[tokio::test]
async fn the_list_addresses_event_lists_the_callers_addresses() {
    let app = spawn_app().await;
    app.seed_address(SUB, ADDRESS_ID, "742 Evergreen Terrace")
        .await;
    let req = lambda_http::request::from_str(LIST_ADDRESSES).unwrap();

    let (status, body) = status_and_json(list_addresses(&app.addresses, req).await);

    assert_eq!(status, 200);
    assert_eq!(body["addresses"][0]["address_id"], ADDRESS_ID);
}

#[tokio::test]
async fn the_list_favorites_event_lists_the_callers_favorites() {
    let app = spawn_app().await;
    let item = string_item(&[("user_id", SUB), ("restaurant_id", "restaurant-1")]);
    app.put_items(&app.favorites_table, vec![item]).await;
    let req = lambda_http::request::from_str(LIST_FAVORITES).unwrap();

    let (status, body) = status_and_json(list_favorites(&app.favorites, req).await);

    assert_eq!(
        (status, body),
        (
            200,
            json!({"favorites": [{"restaurant_id": "restaurant-1"}]})
        )
    );
}
