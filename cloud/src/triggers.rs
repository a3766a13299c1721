//! The event sources of a local run: SQS queues and EventBridge rules invoking functions.
//!
//! **Queue → function** does what Lambda's event source mapping does: long-polls the
//! queue for up to the trigger's batch size, invokes the function with an `SqsEvent`,
//! deletes what succeeded and leaves the rest for redelivery. With
//! `report_batch_item_failures`, only the messages named in the response's
//! `batchItemFailures` failed; a function error fails the whole batch, and so does a
//! response naming a message that was not in the batch, as on Lambda. The queue's own
//! redrive policy moves a message that failed `maxReceiveCount` times to its dead-letter
//! queue. By default a failed message becomes visible again after one second instead of
//! the queue's whole visibility timeout, so a poison message reaches the dead-letter
//! queue in seconds rather than minutes; [`Options::retry_delay`] `None` keeps Lambda's
//! timing.
//!
//! **Rule → function**: every rule has an SQS target queue of its own in the endpoint
//! (see [`super::resources`]), so the endpoint itself matches the pattern and delivers
//! each event, whoever put it (the API, a function, or an outside SDK client), with its
//! full envelope. The trigger polls that queue and invokes the function with the
//! envelope as an `EventBridgeEvent`. A failed invocation is retried up to the rule's
//! `retry.max_attempts` times with a short backoff; an event that still fails, or is
//! older than `max_event_age_seconds`, goes to the rule's dead-letter queue (else the
//! function's) with EventBridge's `ERROR_CODE`/`ERROR_MESSAGE`/`RULE_ARN`/`TARGET_ARN`
//! attributes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName,
};
use aws_sdk_ssm::error::DisplayErrorContext;
use stackgen_runtime::{InvokeOutcome, Runtime};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::endpoint::{Clients, REGION};
use super::functions;
use super::resources::{Physical, Resolved};
use stackgen::app::App;

/// SQS caps one receive at 10 messages.
const MAX_RECEIVE: u32 = 10;

/// Why a trigger could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The queue or rule behind a trigger was not created.
    #[error("{what} of function `{function}` is not in the endpoint")]
    Unresolved {
        /// The queue or rule.
        what: String,
        /// The function it invokes.
        function: String,
    },
}

/// How the triggers poll and retry.
#[derive(Debug, Clone)]
pub struct Options {
    /// Long-poll wait of one receive (at most 20 s; shorter stops sooner).
    pub wait: Duration,
    /// When a failed queue message is delivered again: after this delay, or, when
    /// `None`, after the queue's visibility timeout, as on Lambda.
    pub retry_delay: Option<Duration>,
    /// First backoff between retries of a rule's event; doubled each time, up to 2 s.
    pub rule_backoff: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(5),
            retry_delay: Some(Duration::from_secs(1)),
            rule_backoff: Duration::from_millis(200),
        }
    }
}

/// One queue → function mapping.
#[derive(Debug, Clone)]
struct QueueTrigger {
    function: String,
    queue_url: String,
    queue_arn: String,
    batch_size: u32,
    report_failures: bool,
}

/// One rule → function target.
#[derive(Debug, Clone)]
struct RuleTrigger {
    function: String,
    rule_arn: String,
    target_queue_url: String,
    /// Attempts in all: the first delivery plus the retries.
    attempts: u32,
    max_age: Option<Duration>,
    dead_letter_url: Option<String>,
}

/// The running triggers; [`Triggers::stop`] ends them.
#[derive(Debug)]
pub struct Triggers {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    descriptions: Vec<String>,
}

impl Triggers {
    /// Starts one poller per queue trigger and per rule of the model.
    pub fn start(
        app: &App,
        resolved: &Resolved,
        clients: &Clients,
        runtime: Arc<Runtime>,
        options: Options,
    ) -> Result<Self, TriggerError> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut descriptions = Vec::new();
        for f in functions::all(app) {
            for t in &f.function.triggers {
                let Some(Physical::Queue { url, arn, .. }) =
                    resolved.resource(f.service, t.queue.as_str())
                else {
                    return Err(TriggerError::Unresolved {
                        what: format!("queue {}", t.queue),
                        function: f.name.to_owned(),
                    });
                };
                descriptions.push(format!("queue {} -> {}", t.queue, f.name));
                let trigger = QueueTrigger {
                    function: f.name.to_owned(),
                    queue_url: url.clone(),
                    queue_arn: arn.clone(),
                    batch_size: t.batch_size.value,
                    report_failures: t.report_batch_item_failures,
                };
                tasks.spawn(poll_queue(
                    trigger,
                    clients.clone(),
                    runtime.clone(),
                    options.clone(),
                    stopped.clone(),
                ));
            }
        }
        for src in &app.services {
            let service = src.name();
            for (name, rule) in &src.file().rules {
                let unresolved = || TriggerError::Unresolved {
                    what: format!("rule {name}"),
                    function: rule.target.to_string(),
                };
                let Some(Physical::Rule {
                    arn,
                    target_queue_url,
                    ..
                }) = resolved.resource(service, name.as_str())
                else {
                    return Err(unresolved());
                };
                let function = src.functions.get(rule.target.as_str());
                let dead_letter = rule
                    .dead_letter_queue
                    .as_ref()
                    .map(|q| q.as_str())
                    .or_else(|| function.and_then(|f| f.dead_letter_queue.as_deref()));
                let dead_letter_url = match dead_letter {
                    Some(q) => match resolved.resource(service, q) {
                        Some(Physical::Queue { url, .. }) => Some(url.clone()),
                        _ => return Err(unresolved()),
                    },
                    None => None,
                };
                descriptions.push(format!("rule {name} -> {}", rule.target));
                let trigger = RuleTrigger {
                    function: rule.target.to_string(),
                    rule_arn: arn.clone(),
                    target_queue_url: target_queue_url.clone(),
                    attempts: 1 + rule.retry.as_ref().map_or(2, |r| r.max_attempts.value),
                    max_age: rule
                        .retry
                        .as_ref()
                        .map(|r| Duration::from_secs(u64::from(r.max_event_age_seconds.value))),
                    dead_letter_url,
                };
                tasks.spawn(poll_rule(
                    trigger,
                    clients.clone(),
                    runtime.clone(),
                    options.clone(),
                    stopped.clone(),
                ));
            }
        }
        Ok(Self {
            stop,
            tasks,
            descriptions,
        })
    }

    /// One line per trigger (`queue FavoritesQueue -> FavoritesConsumerFunction`).
    pub fn descriptions(&self) -> &[String] {
        &self.descriptions
    }

    /// Stops polling; an invocation in flight is abandoned after a short grace, and its
    /// messages are delivered again by the queue.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(2), drain)
            .await
            .is_err()
        {
            self.tasks.shutdown().await;
        }
    }
}

/// Receives up to `max` messages, or `None` when stopped first. A failed receive is
/// logged and, after a pause, gives no messages, so the poll loops simply go on.
async fn receive(
    clients: &Clients,
    queue_url: &str,
    max: u32,
    wait: Duration,
    stopped: &mut watch::Receiver<bool>,
) -> Option<Vec<Message>> {
    let request = clients
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(i32::try_from(max.clamp(1, MAX_RECEIVE)).unwrap_or(10))
        .wait_time_seconds(i32::try_from(wait.as_secs().min(20)).unwrap_or(20))
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send();
    let result = tokio::select! {
        _ = stopped.wait_for(|s| *s) => return None,
        result = request => result,
    };
    match result {
        Ok(out) => Some(out.messages.unwrap_or_default()),
        Err(e) => {
            tracing::warn!(queue = %queue_url, error = %DisplayErrorContext(&e), "cannot receive messages");
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => None,
                () = tokio::time::sleep(Duration::from_secs(1)) => Some(Vec::new()),
            }
        }
    }
}

async fn poll_queue(
    trigger: QueueTrigger,
    clients: Clients,
    runtime: Arc<Runtime>,
    options: Options,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let Some(messages) = receive(
            &clients,
            &trigger.queue_url,
            trigger.batch_size,
            options.wait,
            &mut stopped,
        )
        .await
        else {
            return;
        };
        if messages.is_empty() {
            continue;
        }
        let event = sqs_event(&messages, &trigger.queue_arn);
        let outcome = runtime.invoke(&trigger.function, &event).await;
        let failed = failed_messages(&trigger, &messages, outcome);
        settle(&clients, &trigger, &messages, &failed, &options).await;
    }
}

/// The ids of the messages to leave on the queue.
fn failed_messages(
    trigger: &QueueTrigger,
    messages: &[Message],
    outcome: Result<InvokeOutcome, stackgen_runtime::InvokeError>,
) -> BTreeSet<String> {
    let all = || -> BTreeSet<String> {
        messages
            .iter()
            .filter_map(|m| m.message_id.clone())
            .collect()
    };
    match outcome {
        Ok(InvokeOutcome::Response(response)) if trigger.report_failures => {
            match batch_item_failures(&response) {
                Some(ids) if ids.iter().all(|id| all().contains(id)) => ids,
                _ => {
                    tracing::warn!(
                        function = %trigger.function,
                        "the response's batchItemFailures is malformed or names unknown messages; the whole batch failed"
                    );
                    all()
                }
            }
        }
        Ok(InvokeOutcome::Response(_)) => BTreeSet::new(),
        Ok(InvokeOutcome::Error(error)) => {
            tracing::warn!(function = %trigger.function, error = %error, "batch failed");
            all()
        }
        Err(error) => {
            tracing::warn!(function = %trigger.function, error = %error, "batch failed");
            all()
        }
    }
}

/// The ids in a `batchItemFailures` response; `None` when it is malformed. A response
/// without the key (or `null`) means every message succeeded.
fn batch_item_failures(response: &serde_json::Value) -> Option<BTreeSet<String>> {
    let failures = match response.get("batchItemFailures") {
        None | Some(serde_json::Value::Null) => return Some(BTreeSet::new()),
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => return None,
    };
    failures
        .iter()
        .map(|item| {
            item.get("itemIdentifier")
                .and_then(|id| id.as_str())
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        })
        .collect()
}

/// Deletes what succeeded, and makes what failed visible again after the retry delay.
async fn settle(
    clients: &Clients,
    trigger: &QueueTrigger,
    messages: &[Message],
    failed: &BTreeSet<String>,
    options: &Options,
) {
    let mut delete = Vec::new();
    let mut retry = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let (Some(id), Some(handle)) = (&m.message_id, &m.receipt_handle) else {
            continue;
        };
        let entry_id = i.to_string();
        if failed.contains(id) {
            // Without a delay the message stays invisible for the rest of the queue's
            // visibility timeout, as after a failed Lambda invocation.
            if let Some(delay) = options.retry_delay {
                retry.push(
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(entry_id)
                        .receipt_handle(handle)
                        .visibility_timeout(i32::try_from(delay.as_secs()).unwrap_or(i32::MAX))
                        .build(),
                );
            }
        } else {
            delete.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(entry_id)
                    .receipt_handle(handle)
                    .build(),
            );
        }
    }
    let delete: Result<Vec<_>, _> = delete.into_iter().collect();
    let retry: Result<Vec<_>, _> = retry.into_iter().collect();
    if let Ok(entries) = delete
        && !entries.is_empty()
        && let Err(e) = clients
            .sqs
            .delete_message_batch()
            .queue_url(&trigger.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
    {
        tracing::warn!(queue = %trigger.queue_url, error = %DisplayErrorContext(&e), "cannot delete processed messages");
    }
    if let Ok(entries) = retry
        && !entries.is_empty()
        && let Err(e) = clients
            .sqs
            .change_message_visibility_batch()
            .queue_url(&trigger.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
    {
        tracing::warn!(queue = %trigger.queue_url, error = %DisplayErrorContext(&e), "cannot release failed messages");
    }
}

/// The event Lambda's SQS event source mapping sends for `messages`.
fn sqs_event(messages: &[Message], queue_arn: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            record.md5_of_body = m.md5_of_body.clone();
            record.md5_of_message_attributes = m.md5_of_message_attributes.clone();
            record.attributes = m
                .attributes
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect();
            record.message_attributes = m
                .message_attributes
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), message_attribute(v)))
                .collect::<HashMap<_, _>>();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(queue_arn.to_owned());
            record.aws_region = Some(REGION.to_owned());
            record
        })
        .collect();
    event
}

fn message_attribute(value: &MessageAttributeValue) -> SqsMessageAttribute {
    let mut attribute = SqsMessageAttribute::default();
    attribute.string_value = value.string_value.clone();
    attribute.binary_value = value.binary_value.as_ref().map(|b| base64_data(b.as_ref()));
    attribute.string_list_values = value.string_list_values.clone().unwrap_or_default();
    attribute.binary_list_values = value
        .binary_list_values
        .iter()
        .flatten()
        .map(|b| base64_data(b.as_ref()))
        .collect();
    attribute.data_type = Some(value.data_type.clone());
    attribute
}

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    data
}

async fn poll_rule(
    trigger: RuleTrigger,
    clients: Clients,
    runtime: Arc<Runtime>,
    options: Options,
    mut stopped: watch::Receiver<bool>,
) {
    let trigger = Arc::new(trigger);
    // Events are handled side by side, so one being retried does not hold the others up.
    let mut deliveries = JoinSet::new();
    loop {
        while deliveries.try_join_next().is_some() {}
        let Some(messages) = receive(
            &clients,
            &trigger.target_queue_url,
            MAX_RECEIVE,
            options.wait,
            &mut stopped,
        )
        .await
        else {
            return;
        };
        for message in messages {
            deliveries.spawn(deliver(
                trigger.clone(),
                message,
                clients.clone(),
                runtime.clone(),
                options.clone(),
            ));
        }
    }
}

/// Invokes the rule's function with one event, retrying, then dead-lettering it.
async fn deliver(
    trigger: Arc<RuleTrigger>,
    message: Message,
    clients: Clients,
    runtime: Arc<Runtime>,
    options: Options,
) {
    let body = message.body.clone().unwrap_or_default();
    let failure = match serde_json::from_str::<EventBridgeEvent>(&body) {
        Err(e) => Some((
            "Local.InvalidEvent".to_owned(),
            format!("the rule's target queue received a message that is not an event: {e}"),
        )),
        Ok(event) => invoke_with_retries(&trigger, &event, &message, &runtime, &options).await,
    };
    if let Some((code, error)) = failure {
        dead_letter(&trigger, &clients, &body, &code, &error).await;
    }
    if let Some(handle) = &message.receipt_handle
        && let Err(e) = clients
            .sqs
            .delete_message()
            .queue_url(&trigger.target_queue_url)
            .receipt_handle(handle)
            .send()
            .await
    {
        tracing::warn!(queue = %trigger.target_queue_url, error = %DisplayErrorContext(&e), "cannot delete a delivered event");
    }
}

/// `None` on success, else the last error's code and message.
async fn invoke_with_retries(
    trigger: &RuleTrigger,
    event: &EventBridgeEvent,
    message: &Message,
    runtime: &Runtime,
    options: &Options,
) -> Option<(String, String)> {
    let sent = sent_at(message);
    let mut backoff = options.rule_backoff;
    let mut last = None;
    for attempt in 1..=trigger.attempts {
        if let (Some(sent), Some(max_age)) = (sent, trigger.max_age)
            && SystemTime::now()
                .duration_since(sent)
                .is_ok_and(|age| age > max_age)
        {
            return Some((
                "Local.EventTooOld".to_owned(),
                format!("the event is older than {max_age:?}"),
            ));
        }
        let error = match runtime.invoke(&trigger.function, event).await {
            Ok(InvokeOutcome::Response(_)) => return None,
            Ok(InvokeOutcome::Error(e)) => (e.error_type, e.error_message),
            Err(e) => match e.to_function_error() {
                Some(e) => (e.error_type, e.error_message),
                None => ("Local.InvokeError".to_owned(), e.to_string()),
            },
        };
        tracing::warn!(
            function = %trigger.function,
            attempt,
            attempts = trigger.attempts,
            error.r#type = %error.0,
            error.message = %error.1,
            "event delivery failed"
        );
        last = Some(error);
        if attempt < trigger.attempts {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
    last
}

fn sent_at(message: &Message) -> Option<SystemTime> {
    let millis: u64 = message
        .attributes
        .as_ref()?
        .get(&MessageSystemAttributeName::SentTimestamp)?
        .parse()
        .ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(millis))
}

async fn dead_letter(
    trigger: &RuleTrigger,
    clients: &Clients,
    body: &str,
    code: &str,
    error: &str,
) {
    let Some(url) = &trigger.dead_letter_url else {
        tracing::error!(function = %trigger.function, rule = %trigger.rule_arn, code, error, "event dropped: the rule has no dead-letter queue");
        return;
    };
    let attribute = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
    };
    let mut request = clients.sqs.send_message().queue_url(url).message_body(body);
    for (name, value) in [
        ("ERROR_CODE", code),
        ("ERROR_MESSAGE", error),
        ("RULE_ARN", trigger.rule_arn.as_str()),
        ("TARGET_ARN", trigger.function.as_str()),
    ] {
        if let Ok(value) = attribute(value) {
            request = request.message_attributes(name, value);
        }
    }
    match request.send().await {
        Ok(_) => {
            tracing::warn!(function = %trigger.function, queue = %url, code, "event sent to the dead-letter queue")
        }
        Err(e) => {
            tracing::error!(function = %trigger.function, queue = %url, error = %DisplayErrorContext(&e), "event lost: cannot send it to the dead-letter queue")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_response_without_failures_means_every_message_succeeded() {
        assert_eq!(batch_item_failures(&json!({})), Some(BTreeSet::new()));
        assert_eq!(batch_item_failures(&json!(null)), Some(BTreeSet::new()));
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": []})),
            Some(BTreeSet::new())
        );
    }

    #[test]
    fn named_failures_are_read() {
        let ids = batch_item_failures(
            &json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}),
        );
        assert_eq!(ids, Some(BTreeSet::from(["a".to_owned(), "b".to_owned()])));
    }

    #[test]
    fn a_malformed_failure_list_is_none() {
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": "a"})),
            None
        );
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": [{"itemIdentifier": ""}]})),
            None
        );
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": [{"id": "a"}]})),
            None
        );
    }

    #[test]
    fn an_sqs_event_reads_like_lambdas() {
        let message = Message::builder()
            .message_id("m-1")
            .receipt_handle("r-1")
            .body("restaurant-1")
            .message_attributes(
                "CommandName",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("AddFavorite")
                    .build()
                    .unwrap(),
            )
            .build();
        let event = serde_json::to_value(sqs_event(&[message], "arn:q")).unwrap();
        let record = &event["Records"][0];
        assert_eq!(record["messageId"], "m-1");
        assert_eq!(record["body"], "restaurant-1");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(record["eventSourceARN"], "arn:q");
        assert_eq!(
            record["messageAttributes"]["CommandName"]["stringValue"],
            "AddFavorite"
        );
        assert_eq!(
            record["messageAttributes"]["CommandName"]["dataType"],
            "String"
        );
    }
}
