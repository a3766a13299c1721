//! The TOKEN authorizer against moto's Cognito (real ID tokens) and against tokens minted
//! here with a key of our own (for what moto would never issue).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{
    JwksServer, OWN_CLIENT, OWN_ISSUER, Pool, TEST_PUBLIC_KEY_PEM, allowed, assert_unauthorized,
    authorize, mint, now, own_claims, own_verifier, test_jwks,
};

fn own_resources(sub: &str) -> Vec<String> {
    let mut r: Vec<String> = ["GET", "PUT", "DELETE"]
        .iter()
        .flat_map(|m| [format!("{m}/users/{sub}"), format!("{m}/users/{sub}/*")])
        .collect();
    r.sort();
    r
}

fn admin_resources(sub: &str) -> Vec<String> {
    let mut r = own_resources(sub);
    r.extend(
        [
            "GET/users",
            "POST/users",
            "GET/users/*",
            "PUT/users/*",
            "DELETE/users/*",
        ]
        .map(String::from),
    );
    r.sort();
    r
}

fn encode_part(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn a_regular_users_id_token_allows_only_their_own_record() {
    // Arrange
    let pool = Pool::create().await;
    let sub = pool.sign_up("ann@example.com", false).await;
    let tokens = pool.log_in(&pool.client_id, "ann@example.com").await;
    let verifier = pool.verifier();

    // Act
    let resp = authorize(&verifier, Some(&tokens.id))
        .await
        .expect("a valid token");

    // Assert
    assert_eq!(resp.principal_id.as_deref(), Some(sub.as_str()));
    assert_eq!(allowed(&resp), own_resources(&sub));
    assert_eq!(resp.context.sub, sub);
    assert_eq!(resp.context.email, "ann@example.com");
    assert_eq!(resp.context.is_admin, "false");
    let wire = serde_json::to_value(&resp).unwrap();
    assert_eq!(
        wire["context"],
        json!({"sub": sub, "email": "ann@example.com", "isAdmin": "false"})
    );
    assert_eq!(wire["policyDocument"]["Version"], "2012-10-17");
}

#[tokio::test]
async fn an_admins_id_token_allows_every_user_route_and_bearer_is_accepted() {
    let pool = Pool::create().await;
    let sub = pool.sign_up("boss@example.com", true).await;
    let tokens = pool.log_in(&pool.client_id, "boss@example.com").await;
    let verifier = pool.verifier();

    let resp = authorize(&verifier, Some(&format!("Bearer {}", tokens.id)))
        .await
        .unwrap();

    assert_eq!(resp.principal_id.as_deref(), Some(sub.as_str()));
    assert_eq!(allowed(&resp), admin_resources(&sub));
    assert_eq!(resp.context.is_admin, "true");
}

#[tokio::test]
async fn bad_tokens_of_every_kind_are_unauthorized() {
    // Arrange: real tokens from moto, then broken copies of them.
    let pool = Pool::create().await;
    pool.sign_up("eve@example.com", false).await;
    let tokens = pool.log_in(&pool.client_id, "eve@example.com").await;
    let verifier = pool.verifier();
    // Sanity: the untouched token passes, so each failure below is the tampering's.
    authorize(&verifier, Some(&tokens.id))
        .await
        .expect("the original token is valid");

    let parts: Vec<&str> = tokens.id.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);

    let mut claims = decode_part(payload);
    claims["cognito:groups"] = json!([pool.admin_group]);
    let tampered_payload = format!("{header}.{}.{signature}", encode_part(&claims));

    let mut sig: Vec<char> = signature.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered_signature = format!("{header}.{payload}.{}", sig.into_iter().collect::<String>());

    let none_header = encode_part(&json!({"alg": "none", "kid": "dummy", "typ": "JWT"}));
    let alg_none = format!("{none_header}.{payload}.");

    // The classic confusion: an HMAC token keyed with the public RSA key.
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("dummy".into());
    let jwks: Value = reqwest::get(pool.jwks_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public_n = jwks["keys"][0]["n"].as_str().unwrap().to_owned();
    let hs256_with_n = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &EncodingKey::from_secret(public_n.as_bytes()),
    )
    .unwrap();
    let hs256_with_pem = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &EncodingKey::from_secret(TEST_PUBLIC_KEY_PEM),
    )
    .unwrap();

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("empty token", Some(String::new())),
        ("garbage", Some("not-a-jwt".into())),
        ("three garbage parts", Some("a.b.c".into())),
        ("alg none", Some(alg_none)),
        ("HS256 keyed with the public modulus", Some(hs256_with_n)),
        ("HS256 keyed with a public key PEM", Some(hs256_with_pem)),
        ("tampered payload", Some(tampered_payload)),
        ("tampered signature", Some(tampered_signature)),
        ("missing signature", Some(format!("{header}.{payload}."))),
        ("an access token", Some(tokens.access.clone())),
    ];

    // Act / Assert
    for (case, token) in cases {
        assert_unauthorized(authorize(&verifier, token.as_deref()).await, case);
    }
}

#[tokio::test]
async fn a_token_for_another_app_client_is_unauthorized() {
    let pool = Pool::create().await;
    let other_client = Pool::add_client(&pool.cognito, &pool.pool_id).await;
    pool.sign_up("mallory@example.com", false).await;
    let tokens = pool.log_in(&other_client, "mallory@example.com").await;

    assert_unauthorized(
        authorize(&pool.verifier(), Some(&tokens.id)).await,
        "wrong audience",
    );
}

#[tokio::test]
async fn a_token_of_another_user_pool_is_unauthorized() {
    // moto signs every pool's tokens with the same key, so only the issuer differs when
    // the verifier expects this client id in another pool.
    let pool = Pool::create().await;
    let other = Pool::create().await;
    other.sign_up("trudy@example.com", false).await;
    let tokens = other.log_in(&other.client_id, "trudy@example.com").await;
    let verifier = users::authorizer::AuthorizerConfig::new(
        &pool.pool_id,
        &other.client_id,
        &pool.admin_group,
        Some(pool.jwks_url()),
    )
    .unwrap()
    .verifier()
    .unwrap();

    assert_unauthorized(authorize(&verifier, Some(&tokens.id)).await, "wrong issuer");
    // The same token passes its own pool's verifier: the issuer alone made the difference.
    assert!(authorize(&other.verifier(), Some(&tokens.id)).await.is_ok());
}

#[tokio::test]
async fn tokens_minted_with_our_own_key_are_checked_for_expiry_issuer_audience_and_use() {
    // Arrange
    let server = JwksServer::start(test_jwks(&["k1"])).await;
    let verifier = own_verifier(&server, Duration::from_secs(60));
    let sub = "6f1c2d3e-0000-4000-8000-000000000001";
    let valid = own_claims(sub);
    let resp = authorize(&verifier, Some(&mint("k1", &valid)))
        .await
        .expect("a valid token");
    assert_eq!(allowed(&resp), own_resources(sub));

    let with = |key: &str, value: Value| {
        let mut claims = valid.clone();
        claims[key] = value;
        claims
    };
    let without = |key: &str| {
        let mut claims = valid.clone();
        claims.as_object_mut().unwrap().remove(key);
        claims
    };
    let cases = [
        ("expired", with("exp", json!(now() - 3600))),
        ("no expiry", without("exp")),
        (
            "wrong issuer",
            with(
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
            ),
        ),
        (
            "issuer of the JWKS host",
            with("iss", json!(server.url.clone())),
        ),
        ("no issuer", without("iss")),
        ("wrong audience", with("aud", json!("someone-else"))),
        ("no audience", without("aud")),
        ("access token", with("token_use", json!("access"))),
        ("no token_use", without("token_use")),
        ("wildcard subject", with("sub", json!("*"))),
        ("no subject", without("sub")),
    ];

    // Act / Assert
    for (case, claims) in cases {
        assert_unauthorized(authorize(&verifier, Some(&mint("k1", &claims))).await, case);
    }
    assert_eq!(server.hits(), 1, "the JWKS is fetched once and cached");
    assert_eq!(OWN_CLIENT, valid["aud"]);
    assert_eq!(OWN_ISSUER, valid["iss"]);
}

#[tokio::test]
async fn an_unknown_kid_is_unauthorized_and_refetches_the_jwks_at_most_once_per_interval() {
    // Arrange: every token signed up front (RSA signing in a debug build is slow enough
    // to outlast the interval on a busy machine), then keys fetched once by a valid one.
    let server = JwksServer::start(test_jwks(&["k1"])).await;
    let interval = Duration::from_secs(1);
    let verifier = own_verifier(&server, interval);
    let claims = own_claims("u-1");
    let token = |kid: &str| mint(kid, &claims);
    let (valid, within, after) = (
        token("k1"),
        [token("k2"), token("k3")],
        [token("k4"), token("k5"), token("k6")],
    );
    authorize(&verifier, Some(&valid)).await.unwrap();
    assert_eq!(server.hits(), 1);

    // Within the interval, unknown kids do not refetch.
    for unknown in &within {
        assert_unauthorized(authorize(&verifier, Some(unknown)).await, "unknown kid");
    }
    assert_eq!(server.hits(), 1);

    // After it, the first unknown kid refetches once; the next ones wait again.
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    for unknown in &after {
        assert_unauthorized(authorize(&verifier, Some(unknown)).await, "unknown kid");
    }
    assert_eq!(server.hits(), 2);

    // A known kid never refetches.
    authorize(&verifier, Some(&valid)).await.unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_refetching_on_its_unknown_kid() {
    let server = JwksServer::start(test_jwks(&["old"])).await;
    let verifier = own_verifier(&server, Duration::ZERO);
    let claims = own_claims("u-1");
    authorize(&verifier, Some(&mint("old", &claims)))
        .await
        .unwrap();

    server.publish(test_jwks(&["old", "new"])).await;
    let resp = authorize(&verifier, Some(&mint("new", &claims)))
        .await
        .expect("the new key");

    assert_eq!(resp.principal_id.as_deref(), Some("u-1"));
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_kid_missing_from_moto_jwks_is_unauthorized() {
    let pool = Pool::create().await;
    let verifier = pool.verifier();
    let mut claims = own_claims("u-1");
    claims["iss"] = json!(format!(
        "https://cognito-idp.us-east-1.amazonaws.com/{}",
        pool.pool_id
    ));
    claims["aud"] = json!(pool.client_id);
    assert_unauthorized(
        authorize(&verifier, Some(&mint("not-dummy", &claims))).await,
        "unknown kid",
    );
    // Our key under moto's kid: a valid-looking token with a signature from the wrong key.
    assert_unauthorized(
        authorize(&verifier, Some(&mint("dummy", &claims))).await,
        "foreign key",
    );
}
