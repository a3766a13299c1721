//! The favorites queue consumer against a real Favorites table.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::sqs::SqsEvent;
use serde_json::json;
use userprofile::domain::{CommandStamp, Favorite};
use userprofile::favorites::consume_batch;
use userprofile::store::{Applied, ApplyFavorite, FavoritesTable, StoreError};

use crate::helpers::{favorite_message, spawn_app, string_item};

/// The real table, counting the writes that reach it.
struct Counting<'a> {
    table: &'a FavoritesTable,
    writes: AtomicUsize,
}

impl ApplyFavorite for Counting<'_> {
    async fn add_favorite(
        &self,
        favorite: &Favorite,
        stamp: &CommandStamp,
    ) -> Result<Applied, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.table.add_favorite(favorite, stamp).await
    }

    async fn remove_favorite(
        &self,
        favorite: &Favorite,
        stamp: &CommandStamp,
    ) -> Result<Applied, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.table.remove_favorite(favorite, stamp).await
    }
}

fn batch(records: Vec<aws_lambda_events::sqs::SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

fn failed_ids(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn a_mixed_batch_applies_the_good_messages_once_and_reports_the_bad_by_id() {
    let app = spawn_app().await;
    app.put_items(
        &app.favorites_table,
        vec![string_item(&[("user_id", "u-1"), ("restaurant_id", "old")])],
    )
    .await;
    let store = Counting {
        table: &app.favorites,
        writes: AtomicUsize::new(0),
    };
    let event = batch(vec![
        favorite_message(
            "good-add-1",
            "r-1",
            &[("CommandName", "AddFavorite"), ("UserId", "u-1")],
        ),
        favorite_message(
            "bad-command",
            "r-9",
            &[("CommandName", "Nope"), ("UserId", "u-1")],
        ),
        favorite_message(
            "good-add-2",
            "r-2",
            &[("CommandName", "AddFavorite"), ("UserId", "u-2")],
        ),
        favorite_message("bad-no-user", "r-9", &[("CommandName", "AddFavorite")]),
        favorite_message(
            "good-delete",
            "old",
            &[("CommandName", "DeleteFavorite"), ("UserId", "u-1")],
        ),
        favorite_message(
            "bad-empty-body",
            "",
            &[("CommandName", "AddFavorite"), ("UserId", "u-1")],
        ),
    ]);

    let response = consume_batch(&store, event).await.unwrap();

    assert_eq!(
        failed_ids(&response),
        ["bad-command", "bad-no-user", "bad-empty-body"]
    );
    assert_eq!(store.writes.load(Ordering::SeqCst), 3);
    assert_eq!(
        app.visible_favorites().await,
        [
            json!({"user_id": "u-1", "restaurant_id": "r-1"}),
            json!({"user_id": "u-2", "restaurant_id": "r-2"}),
        ]
    );
}

#[tokio::test]
async fn a_redelivered_good_message_is_harmless() {
    let app = spawn_app().await;
    let add = favorite_message(
        "m-1",
        "r-1",
        &[("CommandName", "AddFavorite"), ("UserId", "u-1")],
    );
    let delete = favorite_message(
        "m-2",
        "r-2",
        &[("CommandName", "DeleteFavorite"), ("UserId", "u-1")],
    );

    for _ in 0..2 {
        let response = consume_batch(&app.favorites, batch(vec![add.clone(), delete.clone()]))
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
    }

    assert_eq!(
        app.visible_favorites().await,
        [json!({"user_id": "u-1", "restaurant_id": "r-1"})]
    );
}

#[tokio::test]
async fn a_table_failure_fails_every_message_of_the_batch() {
    let app = spawn_app().await;
    let missing_table = FavoritesTable::new(app.dynamo.clone(), "no-such-table");
    let event = batch(vec![
        favorite_message(
            "m-1",
            "r-1",
            &[("CommandName", "AddFavorite"), ("UserId", "u-1")],
        ),
        favorite_message(
            "m-2",
            "r-1",
            &[("CommandName", "DeleteFavorite"), ("UserId", "u-1")],
        ),
    ]);

    let response = consume_batch(&missing_table, event).await.unwrap();

    assert_eq!(failed_ids(&response), ["m-1", "m-2"]);
}

/// A command as the gateway sends it: received at `time` ms, with request id `id`.
fn command(
    name: &str,
    restaurant: &str,
    time: &str,
    id: &str,
) -> aws_lambda_events::sqs::SqsMessage {
    favorite_message(
        &format!("m-{id}"),
        restaurant,
        &[
            ("CommandName", name),
            ("UserId", "u-1"),
            ("RequestTime", time),
            ("RequestId", id),
        ],
    )
}

#[tokio::test]
async fn an_add_and_a_delete_end_as_the_one_sent_last_in_either_order_of_arrival() {
    for (sent_last, want) in [
        ("DeleteFavorite", vec![]),
        (
            "AddFavorite",
            vec![json!({"user_id": "u-1", "restaurant_id": "r-1"})],
        ),
    ] {
        let sent_first = if sent_last == "AddFavorite" {
            "DeleteFavorite"
        } else {
            "AddFavorite"
        };
        let first = command(sent_first, "r-1", "1764118923001", "a");
        let last = command(sent_last, "r-1", "1764118923002", "b");
        for arrival in [[first.clone(), last.clone()], [last.clone(), first.clone()]] {
            let app = spawn_app().await;
            // In one batch, and in two batches (a redelivery after the other was applied).
            let response = consume_batch(&app.favorites, batch(arrival.to_vec()))
                .await
                .unwrap();
            assert!(response.batch_item_failures.is_empty());
            assert_eq!(
                app.visible_favorites().await,
                want,
                "{sent_last} last, in one batch"
            );
            for message in arrival.iter().rev() {
                consume_batch(&app.favorites, batch(vec![message.clone()]))
                    .await
                    .unwrap();
            }
            assert_eq!(
                app.visible_favorites().await,
                want,
                "{sent_last} last, redelivered"
            );
        }
    }
}

#[tokio::test]
async fn a_late_add_does_not_bring_back_a_favorite_deleted_after_it() {
    let app = spawn_app().await;
    let add = command("AddFavorite", "r-1", "1764118923001", "a");
    let delete = command("DeleteFavorite", "r-1", "1764118923002", "b");
    consume_batch(&app.favorites, batch(vec![add.clone(), delete]))
        .await
        .unwrap();

    // The add comes back from the dead-letter queue, say, after the delete.
    let response = consume_batch(&app.favorites, batch(vec![add]))
        .await
        .unwrap();

    assert!(response.batch_item_failures.is_empty());
    assert!(app.visible_favorites().await.is_empty());
    // The removal is kept as a marker that expires (the table's TTL).
    let stored = app.scan(&app.favorites_table).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0]["command_stamp"].as_s().unwrap(),
        "001764118923002#b"
    );
    assert!(
        stored[0]["expires_at"]
            .as_n()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 1_764_118_923
    );
    // And a later add brings it back.
    let again = command("AddFavorite", "r-1", "1764118923003", "c");
    consume_batch(&app.favorites, batch(vec![again]))
        .await
        .unwrap();
    assert_eq!(
        app.visible_favorites().await,
        [json!({"user_id": "u-1", "restaurant_id": "r-1"})]
    );
}
