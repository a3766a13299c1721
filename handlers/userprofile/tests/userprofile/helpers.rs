//! Test app: fresh tables on the shared moto server, the stores over them, and builders
//! for the events and messages the functions receive.

use std::collections::HashMap;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{Value, json};
use testkit::{Moto, create_table, unique_name};
use userprofile::store::{AddressTable, FavoritesTable};

/// A raw DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Fresh Address and Favorites tables and the clients to reach them.
pub struct TestApp {
    pub config: aws_config::SdkConfig,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub address_table: String,
    pub favorites_table: String,
    pub addresses: AddressTable,
    pub favorites: FavoritesTable,
}

pub async fn spawn_app() -> TestApp {
    let config = Moto::shared().sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let address_table = unique_name("address");
    let favorites_table = unique_name("favorites");
    create_table(&dynamo, &address_table, "user_id", Some("address_id")).await;
    create_table(&dynamo, &favorites_table, "user_id", Some("restaurant_id")).await;
    TestApp {
        addresses: AddressTable::new(dynamo.clone(), &address_table),
        favorites: FavoritesTable::new(dynamo.clone(), &favorites_table),
        config,
        dynamo,
        address_table,
        favorites_table,
    }
}

impl TestApp {
    /// Every item of a table, as raw attribute maps.
    pub async fn scan(&self, table: &str) -> Vec<Item> {
        self.dynamo
            .scan()
            .table_name(table)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap()
    }

    /// The items of `table` a read shows: removed ones left out, and without the stamp the
    /// writers keep, as JSON objects of strings, sorted.
    pub async fn visible(&self, table: &str) -> Vec<Value> {
        let mut rows: Vec<Value> = self
            .scan(table)
            .await
            .into_iter()
            .filter(|item| !item.contains_key("removed"))
            .map(|item| {
                item.into_iter()
                    .filter(|(k, _)| k != "command_stamp")
                    .map(|(k, v)| (k, json!(v.as_s().unwrap())))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect();
        rows.sort_by_key(|r| r.to_string());
        rows
    }

    /// The favorites a read shows, as `{user_id, restaurant_id}`.
    pub async fn visible_favorites(&self) -> Vec<Value> {
        self.visible(&self.favorites_table).await
    }

    /// Writes raw items, 25 per `BatchWriteItem`.
    pub async fn put_items(&self, table: &str, items: Vec<Item>) {
        for chunk in items.chunks(25) {
            let writes = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .unwrap();
                    WriteRequest::builder().put_request(put).build()
                })
                .collect();
            let out = self
                .dynamo
                .batch_write_item()
                .request_items(table, writes)
                .send()
                .await
                .unwrap();
            assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
        }
    }

    /// Whether one plain `Query` of `user`'s items stops before the end, i.e. whether
    /// listing them needs more than one page.
    pub async fn needs_more_than_one_page(&self, table: &str, user: &str) -> bool {
        self.dynamo
            .query()
            .table_name(table)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", AttributeValue::S(user.to_owned()))
            .send()
            .await
            .unwrap()
            .last_evaluated_key()
            .is_some()
    }

    /// Stores an address item as the add consumer would.
    pub async fn seed_address(&self, user: &str, address_id: &str, line1: &str) {
        let item = string_item(&[
            ("user_id", user),
            ("address_id", address_id),
            ("line1", line1),
            ("line2", ""),
            ("city", "Springfield"),
            ("stateProvince", "OR"),
            ("postal", "97403"),
        ]);
        self.put_items(&self.address_table, vec![item]).await;
    }
}

pub fn string_item(pairs: &[(&str, &str)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), AttributeValue::S((*v).to_owned())))
        .collect()
}

/// The five address fields, with `line1` as given.
pub fn address_fields(line1: &str) -> Value {
    json!({"line1": line1, "line2": "Apt 2", "city": "Springfield",
           "stateProvince": "OR", "postal": "97403"})
}

/// An address-bus event as EventBridge delivers it to a Lambda function.
pub fn address_event<T>(detail_type: &str, detail: Value) -> EventBridgeEvent<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    serde_json::from_value(json!({
        "version": "0", "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type, "source": "customer-profile",
        "account": "123456789012", "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1", "resources": [], "detail": detail
    }))
    .unwrap()
}

/// `detail` with the entries of `extra` added.
pub fn with(mut detail: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        detail[k] = v.clone();
    }
    detail
}

/// A favorites-queue message as Lambda's event source mapping hands it over.
pub fn favorite_message(id: &str, body: &str, attributes: &[(&str, &str)]) -> SqsMessage {
    let attrs: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                json!({"stringValue": v, "dataType": "String"}),
            )
        })
        .collect();
    serde_json::from_value(json!({
        "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
        "messageAttributes": attrs, "eventSource": "aws:sqs", "awsRegion": "us-east-1",
        "attributes": {"SentTimestamp": "1764118923000"}
    }))
    .unwrap()
}

/// A REST API (v1 proxy) `GET` request as the Cognito authorizer passes it on.
pub fn get_request(path: &str, sub: Option<&str>) -> lambda_http::Request {
    let authorizer = match sub {
        Some(sub) => json!({"claims": {"sub": sub}}),
        None => json!({}),
    };
    let event = json!({
        "resource": path, "path": path, "httpMethod": "GET",
        "headers": {}, "multiValueHeaders": {}, "queryStringParameters": null,
        "multiValueQueryStringParameters": null, "pathParameters": null,
        "stageVariables": null, "body": null, "isBase64Encoded": false,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "r", "stage": "Prod",
            "requestId": "id", "identity": {"sourceIp": "127.0.0.1"},
            "resourcePath": path, "httpMethod": "GET", "apiId": "api",
            "authorizer": authorizer
        }
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// A response's status and JSON body.
pub fn status_and_json(resp: lambda_http::Response<lambda_http::Body>) -> (u16, Value) {
    let status = resp.status().as_u16();
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let body = match resp.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}
