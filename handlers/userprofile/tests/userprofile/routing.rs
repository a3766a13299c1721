//! End to end through moto's own routing: an event bus rule delivering to a queue, and a
//! favorites queue with a dead-letter queue, driven the way Lambda's event source mapping
//! drives the consumer (receive a batch, run it, delete the successes).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Value, json};
use testkit::unique_name;
use userprofile::address::{AddressAddedDetail, on_address_added};
use userprofile::favorites::consume_batch;

use crate::helpers::{address_fields, spawn_app, with};

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    attributes: &[(QueueAttributeName, String)],
) -> (String, String) {
    let mut req = sqs.create_queue().queue_name(unique_name("q"));
    for (name, value) in attributes {
        req = req.attributes(name.clone(), value);
    }
    let url = req.send().await.unwrap().queue_url().unwrap().to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap();
    (url, arn)
}

/// Receives from the queue, with all attributes, as the event source mapping does: at
/// least once, then until `want` messages came or a few seconds passed.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    want: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        got.extend(out.messages().iter().cloned());
        if got.len() >= want || Instant::now() >= deadline {
            return got;
        }
    }
}

/// The Lambda event record for a received message.
fn to_lambda_record(message: &aws_sdk_sqs::types::Message) -> SqsMessage {
    let attributes: BTreeMap<String, Value> = message
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, v)| {
            (
                name.clone(),
                json!({"stringValue": v.string_value(), "dataType": v.data_type()}),
            )
        })
        .collect();
    // System attributes (SentTimestamp among them), as the event source mapping passes them.
    let system: BTreeMap<&str, &str> = message
        .attributes()
        .into_iter()
        .flatten()
        .map(|(name, v)| (name.as_str(), v.as_str()))
        .collect();
    serde_json::from_value(json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": system,
        "messageAttributes": attributes,
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1"
    }))
    .unwrap()
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_address_added_event_travels_from_the_bus_through_a_rule_to_the_table() {
    let app = spawn_app().await;
    let events = aws_sdk_eventbridge::Client::new(&app.config);
    let sqs = aws_sdk_sqs::Client::new(&app.config);
    let bus = unique_name("address-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let rule = unique_name("address-added");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(
            json!({"source": ["customer-profile"], "detail-type": ["address.added"]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    let (queue_url, queue_arn) = create_queue(&sqs, &[]).await;
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("consumer")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let entry = |detail_type: &str, line1: &str| {
        PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source("customer-profile")
            .detail_type(detail_type)
            .detail(with(address_fields(line1), json!({"userId": "u-1"})).to_string())
            .build()
    };
    let put = events
        .put_events()
        .entries(entry("address.added", "1 Main St"))
        // Not matched by the rule: it must not reach the queue.
        .entries(entry("address.updated", "Elsewhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0);

    let messages = receive(&sqs, &queue_url, 2).await;
    assert_eq!(messages.len(), 1, "only the matching event is delivered");
    let event: EventBridgeEvent<AddressAddedDetail> =
        serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(event.detail_type, "address.added");
    let address_id = on_address_added(&app.addresses, event).await.unwrap();

    assert_eq!(
        app.visible(&app.address_table).await,
        [json!({
            "user_id": "u-1", "address_id": address_id.as_str(), "line1": "1 Main St",
            "line2": "Apt 2", "city": "Springfield", "stateProvince": "OR", "postal": "97403"
        })]
    );
}

#[tokio::test]
async fn favorites_flow_through_the_queue_and_a_bad_message_ends_in_the_dead_letter_queue() {
    let app = spawn_app().await;
    let sqs = aws_sdk_sqs::Client::new(&app.config);
    let (dlq_url, dlq_arn) = create_queue(&sqs, &[]).await;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string();
    let (queue_url, _) = create_queue(
        &sqs,
        &[
            (QueueAttributeName::RedrivePolicy, redrive),
            // Short, so the failed messages come back quickly; long enough that a slow
            // receive never sees a message of the same round twice.
            (QueueAttributeName::VisibilityTimeout, "2".to_owned()),
        ],
    )
    .await;
    let send = |body: &str, attrs: &[(&str, &str)]| {
        let mut req = sqs.send_message().queue_url(&queue_url).message_body(body);
        for (name, value) in attrs {
            req = req.message_attributes(*name, string_attribute(value));
        }
        req.send()
    };
    let good_1 = send("r-1", &[("CommandName", "AddFavorite"), ("UserId", "u-1")]).await;
    let bad_command = send("r-9", &[("CommandName", "Nope"), ("UserId", "u-1")]).await;
    let good_2 = send("r-2", &[("CommandName", "AddFavorite"), ("UserId", "u-1")]).await;
    // SQS refuses an empty body, so the blank restaurant id is white space here.
    let bad_body = send(" ", &[("CommandName", "AddFavorite"), ("UserId", "u-1")]).await;
    let bad_user = send("r-9", &[("CommandName", "AddFavorite")]).await;
    let id = |r: Result<aws_sdk_sqs::operation::send_message::SendMessageOutput, _>| {
        r.unwrap().message_id().unwrap().to_owned()
    };
    let good: HashSet<String> = [id(good_1), id(good_2)].into();
    let bad: HashSet<String> = [id(bad_command), id(bad_body), id(bad_user)].into();

    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    let mut expected_visible = 5;
    for round in 1..=3 {
        let messages = receive(&sqs, &queue_url, expected_visible).await;
        for m in &messages {
            *received
                .entry(m.message_id().unwrap().to_owned())
                .or_default() += 1;
        }
        if round == 3 {
            assert!(
                messages.is_empty(),
                "after two receives the bad messages left the queue"
            );
            break;
        }
        let mut event = SqsEvent::default();
        event.records = messages.iter().map(to_lambda_record).collect();
        let response = consume_batch(&app.favorites, event).await.unwrap();
        let failed: HashSet<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, bad, "round {round}");
        for m in messages
            .iter()
            .filter(|m| !failed.contains(m.message_id().unwrap()))
        {
            let handle = m.receipt_handle().unwrap();
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(handle)
                .send()
                .await
                .unwrap();
        }
        expected_visible = if round == 1 { bad.len() } else { 0 };
        tokio::time::sleep(Duration::from_millis(2100)).await;
    }

    assert_eq!(
        app.visible_favorites().await,
        [
            json!({"user_id": "u-1", "restaurant_id": "r-1"}),
            json!({"user_id": "u-1", "restaurant_id": "r-2"}),
        ]
    );
    for id in &good {
        assert_eq!(received[id], 1, "good message {id} was handled once");
    }
    for id in &bad {
        assert_eq!(received[id], 2, "bad message {id} was received twice");
    }
    let dead: HashSet<String> = receive(&sqs, &dlq_url, bad.len())
        .await
        .iter()
        .map(|m| m.message_id().unwrap().to_owned())
        .collect();
    assert_eq!(dead, bad);
}
