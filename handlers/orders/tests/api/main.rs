//! The orders functions end to end: HTTP adapters → use cases → moto's DynamoDB,
//! through the real aws-sdk client.

mod cancel;
mod create;
mod edit;
mod events;
mod foreign;
mod helpers;
mod idempotency;
mod layer;
mod read;
