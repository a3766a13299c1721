//! UpdateOrderStatusFunction end to end: EventBridge events → moto's DynamoDB.

mod helpers;
mod rules;
mod update;
