//! The idempotency layer on its own, against moto: lock, complete, replay, release, expiry.

use std::sync::Arc;
use std::time::Duration;

use orders::clock::ManualClock;
use orders::idempotency::{
    Begin, Idempotency, IdempotencyConfig, IdempotencyError, IdempotencyKey, PayloadHash,
    StoredResponse,
};
use serde_json::json;
use testkit::{Moto, create_table, unique_name};

async fn layer(config: IdempotencyConfig) -> (Idempotency, Arc<ManualClock>) {
    let client = aws_sdk_dynamodb::Client::new(&Moto::shared().sdk_config().await);
    let table = unique_name("idempotency");
    create_table(&client, &table, "id", None).await;
    let clock = Arc::new(ManualClock::at(time::OffsetDateTime::now_utc()));
    (
        Idempotency::new(client, table, config, clock.clone()),
        clock,
    )
}

fn key() -> IdempotencyKey {
    IdempotencyKey::new("scope", "caller", "k")
}

fn response() -> StoredResponse {
    StoredResponse {
        status: 200,
        body: r#"{"b": 1,  "a": 19.970}"#.to_owned(),
    }
}

#[tokio::test]
async fn a_completed_key_replays_its_response_byte_for_byte() {
    let (layer, _) = layer(IdempotencyConfig::default()).await;
    let hash = PayloadHash::of(&json!({"x": 1}));
    let Begin::Run(lock) = layer.begin(key(), hash.clone(), None).await.unwrap() else {
        panic!("a fresh key must run")
    };
    layer.complete(lock, &response()).await.unwrap();

    match layer.begin(key(), hash, None).await.unwrap() {
        Begin::Replay(r) => assert_eq!(r, response()),
        other => panic!("expected a replay, got {other:?}"),
    }
}

#[tokio::test]
async fn another_payload_is_refused_while_running_and_after_completion() {
    let (layer, _) = layer(IdempotencyConfig::default()).await;
    let Begin::Run(lock) = layer
        .begin(key(), PayloadHash::of(&json!(1)), None)
        .await
        .unwrap()
    else {
        panic!("a fresh key must run")
    };
    let other = PayloadHash::of(&json!(2));
    assert!(matches!(
        layer.begin(key(), other.clone(), None).await,
        Err(IdempotencyError::PayloadMismatch)
    ));
    layer.complete(lock, &response()).await.unwrap();
    assert!(matches!(
        layer.begin(key(), other, None).await,
        Err(IdempotencyError::PayloadMismatch)
    ));
}

#[tokio::test]
async fn a_released_key_runs_again_and_a_waiting_duplicate_gives_up_in_time() {
    let config = IdempotencyConfig {
        max_wait: Duration::from_millis(200),
        ..IdempotencyConfig::default()
    };
    let (layer, _) = layer(config).await;
    let hash = PayloadHash::of(&json!({}));
    let Begin::Run(lock) = layer.begin(key(), hash.clone(), None).await.unwrap() else {
        panic!("a fresh key must run")
    };

    let started = std::time::Instant::now();
    let waited = layer.begin(key(), hash.clone(), None).await;
    assert!(
        matches!(waited, Err(IdempotencyError::InProgress)),
        "{waited:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));

    layer.release(lock).await.unwrap();
    assert!(matches!(
        layer.begin(key(), hash, None).await,
        Ok(Begin::Run(_))
    ));
}

#[tokio::test]
async fn a_duplicate_waits_for_the_running_request_and_replays_it() {
    let (layer, _) = layer(IdempotencyConfig::default()).await;
    let hash = PayloadHash::of(&json!({}));
    let Begin::Run(lock) = layer.begin(key(), hash.clone(), None).await.unwrap() else {
        panic!("a fresh key must run")
    };
    let waiting = {
        let (layer, hash) = (layer.clone(), hash.clone());
        tokio::spawn(async move { layer.begin(key(), hash, None).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    layer.complete(lock, &response()).await.unwrap();

    match waiting.await.unwrap().unwrap() {
        Begin::Replay(r) => assert_eq!(r, response()),
        other => panic!("expected a replay, got {other:?}"),
    }
}

#[tokio::test]
async fn an_expired_record_counts_as_absent() {
    let (layer, clock) = layer(IdempotencyConfig {
        ttl: Duration::from_secs(60),
        ..IdempotencyConfig::default()
    })
    .await;
    let Begin::Run(lock) = layer
        .begin(key(), PayloadHash::of(&json!(1)), None)
        .await
        .unwrap()
    else {
        panic!("a fresh key must run")
    };
    layer.complete(lock, &response()).await.unwrap();

    clock.advance(time::Duration::seconds(61));

    // Even another payload may now use the key.
    assert!(matches!(
        layer.begin(key(), PayloadHash::of(&json!(2)), None).await,
        Ok(Begin::Run(_))
    ));
}

#[tokio::test]
async fn the_lock_lasts_until_the_given_deadline() {
    let (layer, clock) = layer(IdempotencyConfig {
        max_wait: Duration::ZERO,
        ..IdempotencyConfig::default()
    })
    .await;
    let hash = PayloadHash::of(&json!(1));
    let deadline = clock_now(&clock) + time::Duration::seconds(3);
    assert!(matches!(
        layer.begin(key(), hash.clone(), Some(deadline)).await,
        Ok(Begin::Run(_))
    ));

    clock.advance(time::Duration::seconds(2));
    assert!(matches!(
        layer.begin(key(), hash.clone(), None).await,
        Err(IdempotencyError::InProgress)
    ));
    clock.advance(time::Duration::seconds(2));
    assert!(matches!(
        layer.begin(key(), hash, None).await,
        Ok(Begin::Run(_))
    ));
}

fn clock_now(clock: &ManualClock) -> time::OffsetDateTime {
    use orders::clock::Clock;
    clock.now()
}
