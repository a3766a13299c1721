//! Tokens that are not valid ID tokens of the pool's app client are 401 on both kinds of
//! authorizer: the users API's Lambda TOKEN authorizer and the orders API's Cognito one.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{App, PASSWORD, User, app, call, sign_up};

/// One URL per authorizer that answers 200 to the user's own valid ID token.
async fn protected_urls(app: &App, user: &User) -> [String; 2] {
    let own = format!("{}/users/{}", app.api("users", "APIEndpoint"), user.sub);
    // The users API answers 404 for a user without a record; give them one.
    let put = call(
        Method::PUT,
        &own,
        Some(&user.token),
        Some(&json!({"name": "Token Tester"})),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    [
        own,
        format!("{}/orders", app.api("orders", "OrdersServiceEndpoint")),
    ]
}

/// Asserts that `token` gets `status` from every URL.
async fn assert_status(urls: &[String], token: &str, status: u16, what: &str) {
    for url in urls {
        let got = call(Method::GET, url, Some(token), None).await;
        assert_eq!(got.status, status, "{what} at {url}: {got:?}");
    }
}

/// The header and claims of a JWT, unverified.
fn parts(token: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut segments = token.split('.');
    let mut decode = || -> Map<String, Value> {
        let segment = segments.next().expect("a JWT segment");
        let bytes = URL_SAFE_NO_PAD
            .decode(segment)
            .expect("a base64url segment");
        serde_json::from_slice(&bytes).expect("a JSON object")
    };
    (decode(), decode())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn an_access_token_is_401_on_both_authorizers() {
    let app = app();
    let user = sign_up(app, false).await;
    let urls = protected_urls(app, &user).await;
    let auth = app
        .clients()
        .await
        .cognito
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(app.output("users", "UserPoolClient"))
        .auth_parameters("USERNAME", &user.email)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("initiate_auth");
    let result = auth.authentication_result().expect("tokens");
    let id_token = result.id_token().expect("an ID token");
    let access_token = result.access_token().expect("an access token");
    assert_eq!(parts(access_token).1["token_use"], "access");

    assert_status(&urls, id_token, 200, "the ID token of the same sign-in").await;
    assert_status(&urls, access_token, 401, "an access token").await;
}

#[tokio::test]
async fn an_id_token_signed_with_hs256_or_not_signed_is_401_on_both_authorizers() {
    let app = app();
    let user = sign_up(app, false).await;
    let urls = protected_urls(app, &user).await;
    let (header, claims) = parts(&user.token);
    let kid = header["kid"].as_str().expect("a kid").to_owned();

    // The public key as the HMAC secret: what a verifier that trusts the header's `alg`
    // would check an HS256 signature against.
    let jwks: Value = reqwest::get(format!(
        "{}/{}/.well-known/jwks.json",
        app.endpoint,
        app.output("users", "UserPool")
    ))
    .await
    .expect("the pool's JWKS")
    .json()
    .await
    .expect("a JWKS document");
    let modulus = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .and_then(|k| k["n"].as_str())
        .expect("the token's key in the JWKS");
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(modulus.as_bytes()),
    )
    .expect("an HS256 token");

    let none_header = json!({"alg": "none", "kid": kid, "typ": "JWT"});
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(none_header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
    );

    assert_status(&urls, &hs256, 401, "an HS256 token").await;
    assert_status(&urls, &unsigned, 401, "an alg none token").await;
}

#[tokio::test]
async fn an_expired_id_token_signed_with_the_pools_key_is_401_on_both_authorizers() {
    let app = app();
    let user = sign_up(app, false).await;
    let urls = protected_urls(app, &user).await;
    let (_, claims) = parts(&user.token);

    // The same claims signed again with the pool's key and a new lifetime are accepted,
    // so the only thing wrong with the expired one is its `exp`.
    let mut fresh = claims.clone();
    fresh.insert("iat".into(), now().into());
    fresh.insert("auth_time".into(), now().into());
    fresh.insert("exp".into(), (now() + 3600).into());
    let fresh = sign_with_pool_key(&fresh).await;
    assert_status(&urls, &fresh, 200, "a re-signed valid token").await;

    // Expired an hour ago: beyond any clock-skew leeway.
    let mut expired = claims;
    expired.insert("iat".into(), (now() - 7200).into());
    expired.insert("auth_time".into(), (now() - 7200).into());
    expired.insert("exp".into(), (now() - 3600).into());
    let expired = sign_with_pool_key(&expired).await;
    assert_status(&urls, &expired, 401, "an expired token").await;
}

#[tokio::test]
async fn an_id_token_of_another_issuer_signed_with_the_pools_key_is_401_on_both_authorizers() {
    let app = app();
    let user = sign_up(app, false).await;
    let urls = protected_urls(app, &user).await;
    let (_, mut claims) = parts(&user.token);
    let issuer = claims["iss"].as_str().expect("an issuer").to_owned();
    // Another pool in the same region: the signature is good, only the issuer is wrong.
    let (base, _) = issuer
        .rsplit_once('/')
        .expect("an issuer ends with the pool id");
    claims.insert("iss".into(), format!("{base}/us-east-1_Another1").into());
    let token = sign_with_pool_key(&claims).await;
    assert_status(&urls, &token, 401, "a token of another issuer").await;
}

/// Signs `claims` as moto signs its user pools' tokens: RS256 with the private key
/// shipped in the moto package, run by the Python of the moto server the app uses.
async fn sign_with_pool_key(claims: &Map<String, Value>) -> String {
    const SIGN: &str = r#"
import json, sys
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource
private = load_resource("cognitoidp/resources/jwks-private.json")
key = jwk.RSAKey.import_key(private)
print(jwt.encode({"kid": private["kid"], "alg": "RS256"}, json.loads(sys.argv[1]), key))
"#;
    let python = moto_python();
    let run = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(SIGN)
        .arg(Value::Object(claims.clone()).to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("signing finished within a minute")
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(
        out.status.success(),
        "{} could not sign: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("a UTF-8 token")
        .trim()
        .to_owned()
}

/// The Python interpreter that runs moto server: the one its `#!` line names, else the
/// `python` next to it (a virtualenv's `bin`).
fn moto_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let server = stackgen_cloud::endpoint::moto_server_path(&root)
        .unwrap_or_else(|e| panic!("moto server: {e}"));
    let server = std::fs::canonicalize(&server).unwrap_or(server);
    let shebang = std::fs::read(&server)
        .ok()
        .and_then(|bytes| {
            let line = bytes.split(|b| *b == b'\n').next()?.to_vec();
            String::from_utf8(line).ok()
        })
        .and_then(|line| {
            let interpreter = line.strip_prefix("#!")?.split_whitespace().next()?;
            Some(PathBuf::from(interpreter))
        })
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        });
    shebang
        .or_else(|| server.parent().map(|bin| bin.join("python")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| panic!("no Python found for {}", server.display()))
}
