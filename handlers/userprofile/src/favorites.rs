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
//! A standard queue keeps no order, so each message carries when the gateway received it
//! and its request id (`RequestTime`, `RequestId`): the command received last wins, whatever
//! order the messages arrive in. The store keeps the stamp of the last command applied to
//! each (user, restaurant) and applies a command only when it is later; a removed favorite
//! stays as a marker, so that a late add cannot bring it back. A redelivery is older or
//! equal, so it is harmless. A message without these attributes (sent by another client) is
//! stamped with SQS's `SentTimestamp` and its message id.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use handler_common::metrics::Metrics;
use lambda_runtime::Diagnostic;

use crate::domain::{CommandStamp, Favorite, IdError, RestaurantId, StampError, UserId};
use crate::store::{Applied, ApplyFavorite, StoreError};

/// Message attribute naming the command.
pub const COMMAND_NAME: &str = "CommandName";
/// Message attribute naming the user.
pub const USER_ID: &str = "UserId";
/// `CommandName` of an added favorite.
pub const ADD_FAVORITE: &str = "AddFavorite";
/// `CommandName` of a removed favorite.
pub const DELETE_FAVORITE: &str = "DeleteFavorite";
/// Message attribute with the time the gateway received the command (ms since the epoch).
pub const REQUEST_TIME: &str = "RequestTime";
/// Message attribute with the gateway's id of the request.
pub const REQUEST_ID: &str = "RequestId";

/// A command of the favorites queue, parsed from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FavoriteCommand {
    /// Add or delete.
    pub action: Action,
    /// The user and restaurant.
    pub favorite: Favorite,
    /// When it was sent, to apply the last one.
    pub stamp: CommandStamp,
}

/// What a favorites command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `AddFavorite`: mark the restaurant as the user's favorite.
    Add,
    /// `DeleteFavorite`: unmark it.
    Delete,
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
    /// Only one of `RequestTime` and `RequestId` is present.
    #[error("message attributes {REQUEST_TIME} and {REQUEST_ID} go together")]
    HalfStamp,
    /// `RequestTime` or `RequestId` (or `SentTimestamp`) is malformed.
    #[error("message stamp: {0}")]
    InvalidStamp(StampError),
    /// Neither the stamp attributes nor SQS's `SentTimestamp` and message id are present.
    #[error(
        "message has no {REQUEST_TIME} and {REQUEST_ID} attributes, nor a SentTimestamp and message id"
    )]
    MissingStamp,
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
        let action = match command {
            ADD_FAVORITE => Action::Add,
            DELETE_FAVORITE => Action::Delete,
            other => return Err(MessageError::UnknownCommand(other.to_owned())),
        };
        Ok(FavoriteCommand {
            action,
            favorite: Favorite {
                user_id,
                restaurant_id,
            },
            stamp: stamp_of(message)?,
        })
    }
}

/// The gateway's time and request id; else SQS's send time and message id.
fn stamp_of(message: &SqsMessage) -> Result<CommandStamp, MessageError> {
    let (time, id) = match (
        string_attribute(message, REQUEST_TIME),
        string_attribute(message, REQUEST_ID),
    ) {
        (Some(time), Some(id)) => (time, id),
        (None, None) => {
            let sent = message.attributes.get("SentTimestamp");
            match (sent, message.message_id.as_deref()) {
                (Some(time), Some(id)) => (time.as_str(), id),
                _ => return Err(MessageError::MissingStamp),
            }
        }
        _ => return Err(MessageError::HalfStamp),
    };
    CommandStamp::parse(time, id).map_err(MessageError::InvalidStamp)
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

/// Parses and applies one message; says whether a later command had been applied already.
pub async fn apply_message(
    store: &impl ApplyFavorite,
    message: &SqsMessage,
) -> Result<(FavoriteCommand, Applied), MessageFailure> {
    let command = FavoriteCommand::try_from(message)?;
    // Boxed: the SDK's request future nests deep enough that the batch's future would
    // otherwise overflow the compiler's layout depth limit.
    let applied = match command.action {
        Action::Add => Box::pin(store.add_favorite(&command.favorite, &command.stamp)).await?,
        Action::Delete => {
            Box::pin(store.remove_favorite(&command.favorite, &command.stamp)).await?
        }
    };
    Ok((command, applied))
}

/// Consumes a batch of the favorites queue and answers which messages failed.
///
/// ```no_run
/// # async fn f(table: userprofile::store::FavoritesTable, event: aws_lambda_events::sqs::SqsEvent) {
/// let response = userprofile::favorites::consume_batch(&table, event).await;
/// # }
/// ```
pub async fn consume_batch(
    store: &impl ApplyFavorite,
    event: SqsEvent,
) -> Result<SqsBatchResponse, BatchError> {
    consume(store, event).await.0
}

/// The metric counting deliveries of messages that are not valid commands.
pub const REJECTED_METRIC: &str = "RejectedFavoriteCommand";

/// [`consume_batch`], and a `RejectedFavoriteCommand` metric when messages were refused
/// as invalid: they fail the batch item like a table error, so Lambda's own `Errors`
/// metric never sees them, and without it they would reach the dead-letter queue unheard.
pub async fn consume_batch_reporting(
    store: &impl ApplyFavorite,
    metrics: &Metrics,
    event: SqsEvent,
) -> Result<SqsBatchResponse, BatchError> {
    let (result, rejected) = consume(store, event).await;
    if rejected > 0 {
        metrics.emit(&[(REJECTED_METRIC, "Count", rejected.into())]);
    }
    result
}

/// Applies a batch; also says how many messages were refused as invalid.
#[tracing::instrument(skip_all, fields(messages = event.records.len()))]
async fn consume(
    store: &impl ApplyFavorite,
    event: SqsEvent,
) -> (Result<SqsBatchResponse, BatchError>, usize) {
    let mut response = SqsBatchResponse::default();
    let mut without_id = 0;
    let mut rejected = 0;
    for message in &event.records {
        let message_id = message.message_id.as_deref().filter(|id| !id.is_empty());
        match apply_message(store, message).await {
            Ok((command, Applied::Applied)) => {
                tracing::info!(message_id, ?command, "favorites command applied")
            }
            Ok((command, Applied::Superseded)) => tracing::info!(
                message_id,
                ?command,
                "favorites command superseded by a later one; ignored"
            ),
            Err(failure) => {
                match &failure {
                    MessageFailure::Invalid(e) => {
                        rejected += 1;
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
        return (Err(err), rejected);
    }
    (Ok(response), rejected)
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
            "messageId": id, "body": body, "messageAttributes": attrs,
            "attributes": {"SentTimestamp": "1764118923000"}
        }))
        .unwrap()
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl ApplyFavorite for Recorder {
        async fn add_favorite(
            &self,
            f: &Favorite,
            _: &CommandStamp,
        ) -> Result<Applied, StoreError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("add {} {}", f.user_id, f.restaurant_id));
            Ok(Applied::Applied)
        }
        async fn remove_favorite(
            &self,
            f: &Favorite,
            _: &CommandStamp,
        ) -> Result<Applied, StoreError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("remove {} {}", f.user_id, f.restaurant_id));
            Ok(Applied::Applied)
        }
    }

    #[test]
    fn a_good_message_parses_into_its_command() {
        let m = message(
            "m",
            "r-1",
            &[("CommandName", "AddFavorite"), ("UserId", "u")],
        );
        let favorite = Favorite {
            user_id: UserId::parse("u").unwrap(),
            restaurant_id: RestaurantId::parse("r-1").unwrap(),
        };
        // Without the gateway's stamp: SQS's send time and the message id.
        let sent = CommandStamp::parse("1764118923000", "m").unwrap();
        assert_eq!(
            FavoriteCommand::try_from(&m),
            Ok(FavoriteCommand {
                action: Action::Add,
                favorite: favorite.clone(),
                stamp: sent,
            })
        );
        let m = message(
            "m",
            "r-1",
            &[
                ("CommandName", "DeleteFavorite"),
                ("UserId", "u"),
                ("RequestTime", "1764118923456"),
                ("RequestId", "req-1"),
            ],
        );
        assert_eq!(
            FavoriteCommand::try_from(&m),
            Ok(FavoriteCommand {
                action: Action::Delete,
                favorite,
                stamp: CommandStamp::parse("1764118923456", "req-1").unwrap(),
            })
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
            (
                message(
                    "m",
                    "r",
                    &[
                        ("CommandName", "AddFavorite"),
                        ("UserId", "u"),
                        ("RequestTime", "1"),
                    ],
                ),
                "message attributes RequestTime and RequestId go together",
            ),
            (
                message(
                    "m",
                    "r",
                    &[
                        ("CommandName", "AddFavorite"),
                        ("UserId", "u"),
                        ("RequestTime", "yesterday"),
                        ("RequestId", "q"),
                    ],
                ),
                r#"message stamp: time "yesterday" is not milliseconds since the epoch"#,
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

    #[tokio::test]
    async fn refused_messages_are_counted_in_one_metric_line_per_batch() {
        let metrics = Metrics::in_memory("foodapp", "userprofile");
        let mut event = SqsEvent::default();
        event.records = vec![
            message(
                "1",
                "r-1",
                &[("CommandName", "AddFavorite"), ("UserId", "u")],
            ),
            message("2", "r-2", &[("CommandName", "Bogus"), ("UserId", "u")]),
            message("3", "", &[("CommandName", "AddFavorite"), ("UserId", "u")]),
        ];

        consume_batch_reporting(&Recorder::default(), &metrics, event.clone())
            .await
            .unwrap();
        event.records.truncate(1);
        consume_batch_reporting(&Recorder::default(), &metrics, event)
            .await
            .unwrap();

        let lines = metrics.lines();
        assert_eq!(
            lines.len(),
            1,
            "no line for a batch without refusals: {lines:?}"
        );
        let doc: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(doc[REJECTED_METRIC], 2);
        assert_eq!(doc["service"], "userprofile");
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "foodapp");
    }
}
