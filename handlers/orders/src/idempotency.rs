//! Idempotent execution backed by a DynamoDB table, in the manner of Powertools for AWS
//! Lambda's idempotency utility, which has no Rust counterpart: no maintained crate keeps
//! a response per key with an in-progress lock, payload validation and expiry. It is
//! written here, small, with the orders service as its first user.
//!
//! # Records
//!
//! One item per key in the idempotency table (partition key `id`, TTL attribute
//! `expiration`):
//!
//! | attribute | meaning |
//! |---|---|
//! | `id` | `<scope>#<caller>#<sha256 of the key>`, see [`IdempotencyKey`] |
//! | `status` | `INPROGRESS` while the first request runs, then `COMPLETED` |
//! | `expiration` | epoch seconds after which the record no longer counts (DynamoDB TTL) |
//! | `in_progress_expiration` | epoch milliseconds after which an `INPROGRESS` record is considered abandoned (the holder's Lambda deadline) |
//! | `payload_hash` | SHA-256 of the request body's canonical JSON ([`handler_common::json`]) |
//! | `response_status`, `response_body` | the first response, replayed verbatim |
//!
//! # Two round trips on a first call
//!
//! Powertools reads nothing first, but needs three writes: put the `INPROGRESS` record,
//! run the handler (here: put the order), then update the record to `COMPLETED`. This
//! module needs two:
//!
//! 1. [`Idempotency::begin`]: one conditional `PutItem` of the `INPROGRESS` record,
//!    allowed only when no live record exists. When it is refused, DynamoDB returns the
//!    existing record in the same response (`ReturnValuesOnConditionCheckFailure`), so a
//!    repeat costs one round trip too: it is replayed, or refused for a different
//!    payload. While the first request is still running, a duplicate re-reads the record
//!    (consistent `GetItem`, after a short, doubling pause) until it completes (replay),
//!    is released or expires (the duplicate tries to take the lock), or the wait bound
//!    passes ([`IdempotencyError::InProgress`]). It reads rather than retrying the put, because a write
//!    to an item inside a running transaction can cancel that transaction.
//! 2. [`Idempotency::completion`] gives the `COMPLETED` update as a `TransactWriteItem`;
//!    the caller sends it in one `TransactWriteItems` with its own write (the new order),
//!    so the side effect and the stored response are written together or not at all.
//!
//! # Expiry
//!
//! DynamoDB deletes expired items only eventually (moto never does), so expiry is decided
//! by comparing `expiration` (and `in_progress_expiration`) with the clock: inside the
//! put's condition, so an expired record is simply overwritten, and on every read.
//!
//! A failed run should call [`Idempotency::release`], which deletes the `INPROGRESS`
//! record so a retry can run at once instead of waiting for the lock to expire.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::clock::Clock;
use handler_common::json;

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

/// How long records live and how long a duplicate waits for the first request.
#[derive(Debug, Clone)]
pub struct IdempotencyConfig {
    /// How long a completed record is replayed (the TTL; default one hour).
    pub ttl: Duration,
    /// How long an `INPROGRESS` record holds when the caller passes no deadline.
    pub in_progress_timeout: Duration,
    /// The longest a duplicate waits for the first request to complete.
    pub max_wait: Duration,
    /// The first pause between two looks at an `INPROGRESS` record; it doubles each time.
    pub first_poll: Duration,
    /// The longest pause between two looks.
    pub max_poll: Duration,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        IdempotencyConfig {
            ttl: Duration::from_secs(3600),
            in_progress_timeout: Duration::from_secs(60),
            max_wait: Duration::from_secs(10),
            first_poll: Duration::from_millis(10),
            max_poll: Duration::from_millis(200),
        }
    }
}

/// The record id of one idempotency key: `<scope>#<caller>#<sha256 of key>`.
///
/// The scope names the function (records of two functions never collide), the caller
/// keeps two users' keys apart, and hashing the key bounds the id's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key `key` of `caller` in `scope`.
    ///
    /// ```
    /// let k = orders::idempotency::IdempotencyKey::new("create-order", "user-1", "o-1");
    /// assert!(k.as_str().starts_with("create-order#user-1#"));
    /// ```
    pub fn new(scope: &str, caller: &str, key: &str) -> IdempotencyKey {
        // The hash has a fixed width at the end, so the id splits back unambiguously.
        IdempotencyKey(format!("{scope}#{caller}#{}", sha256_hex(key.as_bytes())))
    }

    /// The record id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 of a payload's canonical JSON: equal JSON values hash equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadHash(String);

impl PayloadHash {
    /// Hashes `payload`, insensitive to key order, white space and number spelling.
    pub fn of(payload: &Value) -> PayloadHash {
        PayloadHash(sha256_hex(json::canonical_text(payload).as_bytes()))
    }
}

/// A response as kept for replay: status and exact body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body, byte for byte.
    pub body: String,
}

/// What the caller of [`Idempotency::begin`] does next.
#[derive(Debug)]
pub enum Begin {
    /// No live record existed: run, then complete (or release) the lock.
    Run(Lock),
    /// The key completed before with the same payload: answer this.
    Replay(StoredResponse),
}

/// Proof that this request holds the `INPROGRESS` record of its key.
#[derive(Debug)]
pub struct Lock {
    key: IdempotencyKey,
    hash: PayloadHash,
}

/// Why a request cannot run or be replayed.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key is live with a different payload.
    #[error("the idempotency key was already used with a different request body")]
    PayloadMismatch,
    /// The first request with this key is still running after the wait bound.
    #[error("a request with the same idempotency key is still in progress")]
    InProgress,
    /// A DynamoDB call failed.
    #[error("dynamodb {op} on idempotency table {table} failed")]
    Dynamo {
        /// The operation.
        op: &'static str,
        /// The table.
        table: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    /// A stored record does not have the expected shape.
    #[error("idempotency record is malformed: {0}")]
    Malformed(String),
}

/// What a record means for a request, see [`Idempotency::judge`].
enum Verdict {
    Replay(StoredResponse),
    Mismatch,
    Running,
    Free,
    Malformed(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    id: String,
    status: String,
    expiration: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_progress_expiration: Option<i64>,
    payload_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_body: Option<String>,
}

/// The idempotency layer over one table.
#[derive(Clone)]
pub struct Idempotency {
    client: Client,
    table: String,
    config: IdempotencyConfig,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency")
            .field("table", &self.table)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Idempotency {
    /// A layer over `table` (partition key `id`, TTL attribute `expiration`).
    pub fn new(
        client: Client,
        table: impl Into<String>,
        config: IdempotencyConfig,
        clock: Arc<dyn Clock>,
    ) -> Idempotency {
        Idempotency {
            client,
            table: table.into(),
            config,
            clock,
        }
    }

    /// Takes the key's lock, or returns the response to replay.
    ///
    /// `deadline` is when this invocation will be stopped (the Lambda deadline): the lock
    /// is held until then, and a duplicate never waits beyond it.
    pub async fn begin(
        &self,
        key: IdempotencyKey,
        hash: PayloadHash,
        deadline: Option<OffsetDateTime>,
    ) -> Result<Begin, IdempotencyError> {
        let started = self.clock.now();
        let mut wait = self.config.max_wait;
        if let Some(deadline) = deadline {
            // Keep a margin to answer before the runtime stops this invocation.
            let left =
                (deadline - started - time::Duration::milliseconds(500)).max(time::Duration::ZERO);
            wait = wait.min(left.unsigned_abs());
        }
        let give_up = tokio::time::Instant::now() + wait;
        let mut pause = self.config.first_poll;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > 1 && tokio::time::Instant::now() > give_up {
                return Err(IdempotencyError::InProgress);
            }
            let mut existing = match self.try_lock(&key, &hash, deadline).await? {
                None => return Ok(Begin::Run(Lock { key, hash })),
                Some(existing) => existing,
            };
            // Watch the running request's record with reads: a write to it (another
            // conditional put) could make DynamoDB cancel the holder's transaction with
            // a TransactionConflict.
            loop {
                match existing.as_ref().map(|r| self.judge(r, &hash)) {
                    Some(Verdict::Replay(response)) => return Ok(Begin::Replay(response)),
                    Some(Verdict::Mismatch) => return Err(IdempotencyError::PayloadMismatch),
                    Some(Verdict::Malformed(why)) => return Err(IdempotencyError::Malformed(why)),
                    // Released or expired: try to take the lock again.
                    None | Some(Verdict::Free) => break,
                    Some(Verdict::Running) => {}
                }
                if tokio::time::Instant::now() + pause > give_up {
                    return Err(IdempotencyError::InProgress);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(self.config.max_poll);
                existing = self.read(&key).await?;
            }
        }
    }

    /// One conditional put of the `INPROGRESS` record: `None` when it was written (the
    /// lock is ours), else the live record that refused it (`Some(None)` if DynamoDB did
    /// not return it).
    async fn try_lock(
        &self,
        key: &IdempotencyKey,
        hash: &PayloadHash,
        deadline: Option<OffsetDateTime>,
    ) -> Result<Option<Option<Record>>, IdempotencyError> {
        let now = self.clock.now();
        let lock_until = deadline
            .filter(|d| *d > now)
            .unwrap_or(now + self.config.in_progress_timeout);
        let record = Record {
            id: key.0.clone(),
            status: IN_PROGRESS.to_owned(),
            expiration: (now + self.config.ttl).unix_timestamp(),
            in_progress_expiration: Some(epoch_ms(lock_until)),
            payload_hash: hash.0.clone(),
            response_status: None,
            response_body: None,
        };
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&record)
            .map_err(|e| IdempotencyError::Malformed(e.to_string()))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#id) OR #exp < :now \
                 OR (#status = :in_progress AND #lock < :now_ms)",
            )
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#exp", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#lock", "in_progress_expiration")
            .expression_attribute_values(":now", number(now.unix_timestamp()))
            .expression_attribute_values(":now_ms", number(epoch_ms(now)))
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.to_owned()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Some(c.item().cloned().map(record_of).transpose()?))
                }
                _ => Err(self.sdk("PutItem", e)),
            },
        }
    }

    /// The key's record, read consistently.
    async fn read(&self, key: &IdempotencyKey) -> Result<Option<Record>, IdempotencyError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.0.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.sdk("GetItem", e))?;
        out.item.map(record_of).transpose()
    }

    /// What a live-looking record means for a request with payload `hash`, with expiry
    /// decided by the clock (DynamoDB's TTL sweep is late, moto's never comes).
    fn judge(&self, record: &Record, hash: &PayloadHash) -> Verdict {
        let now = self.clock.now();
        let lock_expired = record.status == IN_PROGRESS
            && record
                .in_progress_expiration
                .is_none_or(|t| t < epoch_ms(now));
        if record.expiration < now.unix_timestamp() || lock_expired {
            return Verdict::Free;
        }
        if record.payload_hash != hash.0 {
            return Verdict::Mismatch;
        }
        if record.status != COMPLETED {
            return Verdict::Running;
        }
        match (record.response_status, &record.response_body) {
            (Some(status), Some(body)) => Verdict::Replay(StoredResponse {
                status,
                body: body.clone(),
            }),
            _ => Verdict::Malformed(format!("completed record {} has no response", record.id)),
        }
    }

    /// The write that marks the lock's record `COMPLETED` with `response`, for the
    /// caller's `TransactWriteItems`. It applies only while the record still carries this
    /// request's payload hash, so a record taken over by another payload is never
    /// completed with this response.
    pub fn completion(
        &self,
        lock: &Lock,
        response: &StoredResponse,
    ) -> Result<TransactWriteItem, IdempotencyError> {
        let now = self.clock.now();
        let update = Update::builder()
            .table_name(&self.table)
            .key("id", AttributeValue::S(lock.key.0.clone()))
            .update_expression(
                "SET #status = :completed, #exp = :exp, response_status = :rs, \
                 response_body = :rb REMOVE #lock",
            )
            .condition_expression("payload_hash = :hash")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#exp", "expiration")
            .expression_attribute_names("#lock", "in_progress_expiration")
            .expression_attribute_values(":completed", AttributeValue::S(COMPLETED.to_owned()))
            .expression_attribute_values(":exp", number((now + self.config.ttl).unix_timestamp()))
            .expression_attribute_values(":rs", number(i64::from(response.status)))
            .expression_attribute_values(":rb", AttributeValue::S(response.body.clone()))
            .expression_attribute_values(":hash", AttributeValue::S(lock.hash.0.clone()))
            .build()
            .map_err(|e| IdempotencyError::Malformed(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Marks the lock's record `COMPLETED` with `response` on its own, for runs whose
    /// result was not written through [`Idempotency::completion`].
    pub async fn complete(
        &self,
        lock: Lock,
        response: &StoredResponse,
    ) -> Result<(), IdempotencyError> {
        let item = self.completion(&lock, response)?;
        let Some(update) = item.update else {
            return Err(IdempotencyError::Malformed(
                "completion is not an update".to_owned(),
            ));
        };
        self.client
            .update_item()
            .table_name(update.table_name)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await
            .map_err(|e| self.sdk("UpdateItem", e))?;
        Ok(())
    }

    /// Deletes the lock's `INPROGRESS` record after a failed run, so the key can be used
    /// again at once. A record already completed or taken over is left alone.
    pub async fn release(&self, lock: Lock) -> Result<(), IdempotencyError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(lock.key.0))
            .condition_expression("#status = :in_progress AND payload_hash = :hash")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.to_owned()))
            .expression_attribute_values(":hash", AttributeValue::S(lock.hash.0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.sdk("DeleteItem", e)),
        }
    }

    fn sdk<E, R>(&self, op: &'static str, err: SdkError<E, R>) -> IdempotencyError
    where
        aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
    {
        IdempotencyError::Dynamo {
            op,
            table: self.table.clone(),
            source: Box::new(err.into()),
        }
    }
}

fn record_of(item: HashMap<String, AttributeValue>) -> Result<Record, IdempotencyError> {
    serde_dynamo::from_item(item).map_err(|e| IdempotencyError::Malformed(e.to_string()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn epoch_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_differ_by_scope_caller_and_key() {
        let a = IdempotencyKey::new("create-order", "u1", "o1");
        assert_ne!(a, IdempotencyKey::new("create-order", "u2", "o1"));
        assert_ne!(a, IdempotencyKey::new("create-order", "u1", "o2"));
        assert_ne!(a, IdempotencyKey::new("other", "u1", "o1"));
        assert_eq!(a, IdempotencyKey::new("create-order", "u1", "o1"));
    }

    #[test]
    fn equal_json_hashes_equal() {
        let a: Value = serde_json::from_str(r#"{"a": 1.50, "b": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "b":[1,2], "a":1.5 }"#).unwrap();
        assert_eq!(PayloadHash::of(&a), PayloadHash::of(&b));
        assert_ne!(
            PayloadHash::of(&a),
            PayloadHash::of(&json!({"a": 1.5, "b": [2, 1]}))
        );
    }
}
