//! The favorites queue consumer.
//!
//! The API puts one message per command on the favorites queue: the body is the
//! restaurant id, the string attributes `CommandName` (`AddFavorite` | `DeleteFavorite`)
//! and `UserId` (the caller) say what to do for whom. The consumer handles a batch and
//! reports partial batch failures (the event source mapping has
//! `ReportBatchItemFailures`): a bad message fails alone, by its message id, is received
//! again and lands in the dead-letter queue after the queue's maximum receive count, while
//! the good messages of the same batch are deleted and not redone.
//!
//! Messages are applied one after the other, in batch order, so an add and a delete of the
//! same favorite in one batch end the way the caller sent them (as far as a standard queue
//! keeps order at all). Both commands are idempotent, so a redelivery is harmless.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::Diagnostic;

use crate::domain::{Favorite, IdError, RestaurantId, UserId};
use crate::store::{ApplyFavorite, StoreError};

/// Message attribute naming the command.
pub const COMMAND_NAME: &str = "CommandName";
/// Message attribute naming the user.
pub const USER_ID: &str = "UserId";
/// `CommandName` of an added favorite.
pub const ADD_FAVORITE: &str = "AddFavorite";
/// `CommandName` of a removed favorite.
pub const DELETE_FAVORITE: &str = "DeleteFavorite";

/// A command of the favorites queue, parsed from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FavoriteCommand {
    /// `AddFavorite`: mark the restaurant as the user's favorite.
    Add(Favorite),
    /// `DeleteFavorite`: unmark it.
    Delete(Favorite),
}

/// Why a message is not a valid favorites command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The `CommandName` attribute is absent or not a string.
    #[error("message attribute {COMMAND_NAME} is missing")]
    MissingCommand,
    /// `CommandName` names no known command.
    #[error(
        "message attribute {COMMAND_NAME} is {0:?}, expected {ADD_FAVORITE} or {DELETE_FAVORITE}"
    )]
    UnknownCommand(String),
    /// The `UserId` attribute is absent or not a string.
    #[error("message attribute {USER_ID} is missing")]
    MissingUser,
    /// `UserId` is blank or too long.
    #[error("message attribute {USER_ID}: {0}")]
    InvalidUser(IdError),
    /// The body (the restaurant id) is absent, blank or too long.
    #[error("message body (the restaurant id): {0}")]
    InvalidRestaurant(IdError),
}

fn string_attribute<'a>(message: &'a SqsMessage, name: &str) -> Option<&'a str> {
    message
        .message_attributes
        .get(name)
        .and_then(|a| a.string_value.as_deref())
}

impl TryFrom<&SqsMessage> for FavoriteCommand {
    type Error = MessageError;

    fn try_from(message: &SqsMessage) -> Result<Self, Self::Error> {
        let command =
            string_attribute(message, COMMAND_NAME).ok_or(MessageError::MissingCommand)?;
        let user_id = string_attribute(message, USER_ID).ok_or(MessageError::MissingUser)?;
        let user_id = UserId::parse(user_id).map_err(MessageError::InvalidUser)?;
        let restaurant_id = RestaurantId::parse(message.body.as_deref().unwrap_or_default())
            .map_err(MessageError::InvalidRestaurant)?;
        let favorite = Favorite {
            user_id,
            restaurant_id,
        };
        match command {
            ADD_FAVORITE => Ok(FavoriteCommand::Add(favorite)),
            DELETE_FAVORITE => Ok(FavoriteCommand::Delete(favorite)),
            other => Err(MessageError::UnknownCommand(other.to_owned())),
        }
    }
}

/// Why one message of a batch failed.
#[derive(Debug, thiserror::Error)]
pub enum MessageFailure {
    /// The message is not a valid command; it will fail again on every delivery and end
    /// in the dead-letter queue.
    #[error("invalid favorites message")]
    Invalid(#[from] MessageError),
    /// The Favorites table could not be written; a later delivery may succeed.
    #[error("could not apply the favorites command")]
    Store(#[from] StoreError),
}

/// The batch as a whole could not be answered with partial failures.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A failed message has no message id, so it cannot be reported alone; failing the
    /// whole invocation makes Lambda retry the batch (the good messages are idempotent).
    #[error("{0} failed message(s) carry no message id")]
    FailureWithoutMessageId(usize),
}

impl From<BatchError> for Diagnostic {
    fn from(err: BatchError) -> Diagnostic {
        Diagnostic {
            error_type: "UserProfile.FailureWithoutMessageId".to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Parses and applies one message.
pub async fn apply_message(
    store: &impl ApplyFavorite,
    message: &SqsMessage,
) -> Result<FavoriteCommand, MessageFailure> {
    let command = FavoriteCommand::try_from(message)?;
    match &command {
        FavoriteCommand::Add(favorite) => store.add_favorite(favorite).await?,
        FavoriteCommand::Delete(favorite) => store.remove_favorite(favorite).await?,
    }
    Ok(command)
}

/// Consumes a batch of the favorites queue and answers which messages failed.
///
/// ```no_run
/// # async fn f(table: userprofile::store::FavoritesTable, event: aws_lambda_events::sqs::SqsEvent) {
/// let response = userprofile::favorites::consume_batch(&table, event).await;
/// # }
/// ```
#[tracing::instrument(skip_all, fields(messages = event.records.len()))]
pub async fn consume_batch(
    store: &impl ApplyFavorite,
    event: SqsEvent,
) -> Result<SqsBatchResponse, BatchError> {
    let mut response = SqsBatchResponse::default();
    let mut without_id = 0;
    for message in &event.records {
        let message_id = message.message_id.as_deref().filter(|id| !id.is_empty());
        match apply_message(store, message).await {
            Ok(command) => tracing::info!(message_id, ?command, "favorites command applied"),
            Err(failure) => {
                match &failure {
                    MessageFailure::Invalid(e) => {
                        tracing::warn!(message_id, error.message = %e, "favorites message refused")
                    }
                    MessageFailure::Store(e) => {
                        tracing::error!(
                            message_id,
                            error.cause_chain = ?e,
                            error.message = %crate::error_chain(e),
                            "favorites command failed"
                        )
                    }
                }
                match message_id {
                    Some(id) => response.add_failure(id),
                    None => without_id += 1,
                }
            }
        }
    }
    if without_id > 0 {
        let err = BatchError::FailureWithoutMessageId(without_id);
        tracing::error!(error.message = %err, "failing the whole batch");
        return Err(err);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use aws_lambda_events::sqs::SqsMessageAttribute;
    use serde_json::json;

    fn message(id: &str, body: &str, attributes: &[(&str, &str)]) -> SqsMessage {
        let attrs: serde_json::Map<String, serde_json::Value> = attributes
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    json!({"stringValue": v, "dataType": "String"}),
                )
            })
            .collect();
        serde_json::from_value(json!({
            "messageId": id, "body": body, "messageAttributes": attrs
        }))
        .unwrap()
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl ApplyFavorite for Recorder {
        async fn add_favorite(&self, f: &Favorite) -> Result<(), StoreError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("add {} {}", f.user_id, f.restaurant_id));
            Ok(())
        }
        async fn remove_favorite(&self, f: &Favorite) -> Result<(), StoreError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("remove {} {}", f.user_id, f.restaurant_id));
            Ok(())
        }
    }

    #[test]
    fn a_good_message_parses_into_its_command() {
        let m = message(
            "m",
            "r-1",
            &[("CommandName", "AddFavorite"), ("UserId", "u")],
        );
        let expected = Favorite {
            user_id: UserId::parse("u").unwrap(),
            restaurant_id: RestaurantId::parse("r-1").unwrap(),
        };
        assert_eq!(
            FavoriteCommand::try_from(&m),
            Ok(FavoriteCommand::Add(expected.clone()))
        );
        let m = message(
            "m",
            "r-1",
            &[("CommandName", "DeleteFavorite"), ("UserId", "u")],
        );
        assert_eq!(
            FavoriteCommand::try_from(&m),
            Ok(FavoriteCommand::Delete(expected))
        );
    }

    #[test]
    fn each_kind_of_bad_message_says_what_is_wrong() {
        let cases = [
            (
                message("m", "r", &[("CommandName", "Nope"), ("UserId", "u")]),
                r#"message attribute CommandName is "Nope", expected AddFavorite or DeleteFavorite"#,
            ),
            (
                message("m", "r", &[("UserId", "u")]),
                "message attribute CommandName is missing",
            ),
            (
                message("m", "r", &[("CommandName", "AddFavorite")]),
                "message attribute UserId is missing",
            ),
            (
                message("m", "r", &[("CommandName", "AddFavorite"), ("UserId", "")]),
                "message attribute UserId: userId is empty",
            ),
            (
                message("m", "", &[("CommandName", "AddFavorite"), ("UserId", "u")]),
                "message body (the restaurant id): restaurantId is empty",
            ),
        ];
        for (m, expected) in cases {
            assert_eq!(
                FavoriteCommand::try_from(&m).unwrap_err().to_string(),
                expected
            );
        }
    }

    #[test]
    fn a_binary_attribute_is_not_a_string_attribute() {
        let mut m = message("m", "r", &[("UserId", "u")]);
        let mut binary = SqsMessageAttribute::default();
        binary.data_type = Some("Binary".to_owned());
        m.message_attributes.insert(COMMAND_NAME.to_owned(), binary);
        assert_eq!(
            FavoriteCommand::try_from(&m),
            Err(MessageError::MissingCommand)
        );
    }

    #[tokio::test]
    async fn bad_messages_fail_alone_and_good_ones_are_applied_in_order() {
        let store = Recorder::default();
        let mut event = SqsEvent::default();
        event.records = vec![
            message(
                "1",
                "r-1",
                &[("CommandName", "AddFavorite"), ("UserId", "u")],
            ),
            message("2", "r-2", &[("CommandName", "Bogus"), ("UserId", "u")]),
            message(
                "3",
                "r-1",
                &[("CommandName", "DeleteFavorite"), ("UserId", "u")],
            ),
            message("4", "", &[("CommandName", "AddFavorite"), ("UserId", "u")]),
        ];
        let response = consume_batch(&store, event).await.unwrap();
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["2", "4"]);
        assert_eq!(*store.0.lock().unwrap(), ["add u r-1", "remove u r-1"]);
    }

    #[tokio::test]
    async fn a_failed_message_without_id_fails_the_whole_batch() {
        let store = Recorder::default();
        let mut event = SqsEvent::default();
        event.records = vec![message("", "", &[])];
        let err = consume_batch(&store, event).await.unwrap_err();
        assert_eq!(
            Diagnostic::from(err).error_type,
            "UserProfile.FailureWithoutMessageId"
        );
    }

    #[test]
    fn the_response_uses_the_lambda_wire_names() {
        let mut response = SqsBatchResponse::default();
        response.add_failure("m-1");
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
        );
    }
}
