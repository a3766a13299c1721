//! Test support: a users table and a Cognito user pool on a shared moto server, REST API
//! events for the users function, and a tiny JWKS server with a key of our own for tokens
//! that moto would never issue (expired, other key ids, other issuers).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ExplicitAuthFlowsType, UsernameAttributeType,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::Body;
use serde_json::{Value, json};
use testkit::Moto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::RwLock;
use users::authorizer::{
    AuthorizerConfig, AuthorizerError, AuthorizerResponse, JwksCache, TokenVerifier,
};
use users::store::DynamoUserStore;

/// The users function over a fresh table on the shared moto server.
pub struct TestApp {
    pub store: DynamoUserStore,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub table: String,
}

pub async fn spawn_app() -> TestApp {
    let moto = Moto::shared();
    let dynamo = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = testkit::unique_name("users");
    testkit::create_table(&dynamo, &table, "userid", None).await;
    TestApp {
        store: DynamoUserStore::new(dynamo.clone(), &table),
        dynamo,
        table,
    }
}

/// Who calls, as the TOKEN authorizer's context tells the function.
pub fn admin() -> Value {
    json!({"principalId": "admin-sub", "sub": "admin-sub", "email": "admin@example.com", "isAdmin": "true"})
}

pub fn user(sub: &str) -> Value {
    json!({"principalId": sub, "sub": sub, "email": "user@example.com", "isAdmin": "false"})
}

impl TestApp {
    /// Sends one REST API (v1) proxy event to the users function; status and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        caller: Value,
    ) -> (u16, Value) {
        let (resource, params) = match path.strip_prefix("/users/") {
            Some(id) => ("/users/{userid}", json!({ "userid": id })),
            None => (path, Value::Null),
        };
        let event = json!({
            "resource": resource, "path": path, "httpMethod": method,
            "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {},
            "queryStringParameters": null, "multiValueQueryStringParameters": null,
            "pathParameters": params, "stageVariables": null,
            "body": body.map(|b| b.to_string()), "isBase64Encoded": false,
            "requestContext": {
                "accountId": "123456789012", "resourceId": "r1", "stage": "Prod",
                "requestId": "req-1", "identity": {"sourceIp": "127.0.0.1"},
                "resourcePath": resource, "httpMethod": method, "apiId": "api1",
                "authorizer": caller
            }
        });
        let req = lambda_http::request::from_str(&event.to_string()).expect("a valid event");
        let resp = users::api::handle(&self.store, req).await;
        let Body::Text(text) = resp.body() else {
            panic!("expected a text body, got {:?}", resp.body());
        };
        (
            resp.status().as_u16(),
            serde_json::from_str(text).expect("a JSON body"),
        )
    }
}

impl TestApp {
    /// `GET /users` as an admin with `query`: status, body and the `x-next-token` header.
    pub async fn list(&self, query: &[(&str, &str)]) -> (u16, Value, Option<String>) {
        use lambda_http::RequestExt;
        let event = json!({
            "resource": "/users", "path": "/users", "httpMethod": "GET",
            "headers": {}, "multiValueHeaders": {},
            "queryStringParameters": null, "multiValueQueryStringParameters": null,
            "pathParameters": null, "stageVariables": null, "body": null,
            "isBase64Encoded": false,
            "requestContext": {
                "accountId": "123456789012", "resourceId": "r1", "stage": "Prod",
                "requestId": "req-1", "identity": {"sourceIp": "127.0.0.1"},
                "resourcePath": "/users", "httpMethod": "GET", "apiId": "api1",
                "authorizer": admin()
            }
        });
        let params: std::collections::HashMap<String, String> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let req = lambda_http::request::from_str(&event.to_string())
            .expect("a valid event")
            .with_query_string_parameters(params);
        let resp = users::api::handle(&self.store, req).await;
        let token = resp
            .headers()
            .get("x-next-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Body::Text(text) = resp.body() else {
            panic!("expected a text body, got {:?}", resp.body());
        };
        (
            resp.status().as_u16(),
            serde_json::from_str(text).expect("a JSON body"),
            token,
        )
    }
}

/// A user pool on moto, as the users stack declares it: email is the username, a client
/// without secret allowing USER_PASSWORD_AUTH, and an admin group.
pub struct Pool {
    pub cognito: cognito::Client,
    pub pool_id: String,
    pub client_id: String,
    pub admin_group: String,
}

pub struct Tokens {
    pub id: String,
    pub access: String,
}

impl Pool {
    pub async fn create() -> Pool {
        let cognito = cognito::Client::new(&Moto::shared().sdk_config().await);
        let pool = cognito
            .create_user_pool()
            .pool_name(testkit::unique_name("users"))
            .username_attributes(UsernameAttributeType::Email)
            .send()
            .await
            .expect("create user pool");
        let pool_id = pool.user_pool.and_then(|p| p.id).expect("a pool id");
        let client_id = Self::add_client(&cognito, &pool_id).await;
        let admin_group = "admins".to_owned();
        cognito
            .create_group()
            .user_pool_id(&pool_id)
            .group_name(&admin_group)
            .send()
            .await
            .expect("create group");
        Pool {
            cognito,
            pool_id,
            client_id,
            admin_group,
        }
    }

    /// One more app client of this pool (its tokens carry another audience).
    pub async fn add_client(cognito: &cognito::Client, pool_id: &str) -> String {
        let client = cognito
            .create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name("web")
            .generate_secret(false)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .expect("create user pool client");
        client
            .user_pool_client
            .and_then(|c| c.client_id)
            .expect("a client id")
    }

    /// Signs a new user up, confirms them, optionally makes them admin; their sub.
    pub async fn sign_up(&self, email: &str, admin: bool) -> String {
        let out = self
            .cognito
            .sign_up()
            .client_id(&self.client_id)
            .username(email)
            .password("Passw0rd!Passw0rd")
            .user_attributes(
                AttributeType::builder()
                    .name("name")
                    .value("Test User")
                    .build()
                    .unwrap(),
            )
            .user_attributes(
                AttributeType::builder()
                    .name("email")
                    .value(email)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("sign up");
        self.cognito
            .admin_confirm_sign_up()
            .user_pool_id(&self.pool_id)
            .username(email)
            .send()
            .await
            .expect("confirm sign up");
        if admin {
            self.cognito
                .admin_add_user_to_group()
                .user_pool_id(&self.pool_id)
                .username(email)
                .group_name(&self.admin_group)
                .send()
                .await
                .expect("add to admin group");
        }
        out.user_sub
    }

    /// Logs `email` in through `client_id` with USER_PASSWORD_AUTH.
    pub async fn log_in(&self, client_id: &str, email: &str) -> Tokens {
        let out = self
            .cognito
            .initiate_auth()
            .client_id(client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", "Passw0rd!Passw0rd")
            .send()
            .await
            .expect("initiate auth");
        let result = out.authentication_result.expect("tokens");
        Tokens {
            id: result.id_token.expect("an ID token"),
            access: result.access_token.expect("an access token"),
        }
    }

    /// Where moto serves this pool's keys.
    pub fn jwks_url(&self) -> String {
        format!(
            "{}/{}/.well-known/jwks.json",
            Moto::shared().endpoint(),
            self.pool_id
        )
    }

    /// The authorizer's verifier as the deployed function builds it, keys from moto.
    pub fn verifier(&self) -> TokenVerifier {
        AuthorizerConfig::new(
            &self.pool_id,
            &self.client_id,
            &self.admin_group,
            Some(self.jwks_url()),
        )
        .expect("a valid config")
        .verifier()
        .expect("an HTTP client")
    }
}

pub const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api42/Prod/GET/users/x";
pub const API: &str = "arn:aws:execute-api:us-east-1:123456789012:api42/Prod/";

/// Runs the authorizer on a TOKEN event carrying `token`.
pub async fn authorize(
    verifier: &TokenVerifier,
    token: Option<&str>,
) -> Result<AuthorizerResponse, AuthorizerError> {
    let event = json!({"type": "TOKEN", "authorizationToken": token, "methodArn": METHOD_ARN});
    let request: ApiGatewayCustomAuthorizerRequest = serde_json::from_value(event).unwrap();
    users::authorizer::authorize(verifier, request).await
}

/// The resources of the policy's single Allow statement, without the API prefix.
pub fn allowed(resp: &AuthorizerResponse) -> Vec<String> {
    let policy = serde_json::to_value(&resp.policy_document).unwrap();
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(policy["Statement"][0]["Effect"], "Allow");
    let mut resources: Vec<String> = policy["Statement"][0]["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_str()
                .unwrap()
                .strip_prefix(API)
                .expect("scoped to the API")
                .to_owned()
        })
        .collect();
    resources.sort();
    resources
}

pub fn assert_unauthorized(result: Result<AuthorizerResponse, AuthorizerError>, case: &str) {
    match result {
        Err(err @ AuthorizerError::Unauthorized(_)) => {
            assert_eq!(
                lambda_runtime::Diagnostic::from(err).error_message,
                "Unauthorized",
                "{case}"
            );
        }
        other => panic!("{case}: expected Unauthorized, got {other:?}"),
    }
}

/// A test-only RSA key pair of our own (never used anywhere but these tests).
pub const TEST_KEY_PEM: &[u8] = include_bytes!("../data/test-only-rsa-key.pem");
pub const TEST_PUBLIC_KEY_PEM: &[u8] = include_bytes!("../data/test-only-rsa-key.pub.pem");

/// Signs `claims` with the test key as an RS256 token with key id `kid`.
pub fn mint(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(TEST_KEY_PEM).expect("the test key");
    jsonwebtoken::encode(&header, claims, &key).expect("a signed token")
}

/// The JWKS publishing the test key under each of `kids`.
pub fn test_jwks(kids: &[&str]) -> Value {
    let key = EncodingKey::from_rsa_pem(TEST_KEY_PEM).unwrap();
    let keys: Vec<Value> = kids
        .iter()
        .map(|kid| {
            let mut jwk =
                jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
            jwk.common.key_id = Some((*kid).to_owned());
            serde_json::to_value(jwk).unwrap()
        })
        .collect();
    json!({ "keys": keys })
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A JWKS endpoint on a free loopback port that counts its requests.
pub struct JwksServer {
    pub url: String,
    hits: Arc<AtomicUsize>,
    body: Arc<RwLock<String>>,
}

impl JwksServer {
    pub async fn start(jwks: Value) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let hits = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(RwLock::new(jwks.to_string()));
        let (h, b) = (hits.clone(), body.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (hits, body) = (h.clone(), b.clone());
                tokio::spawn(async move {
                    // One GET without a body: reading up to the blank line is enough.
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    hits.fetch_add(1, Ordering::SeqCst);
                    let body = body.read().await.clone();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(response.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        JwksServer { url, hits, body }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub async fn publish(&self, jwks: Value) {
        *self.body.write().await = jwks.to_string();
    }
}

/// A verifier for a made-up pool whose keys come from `server`.
pub const OWN_POOL: &str = "us-east-1_OwnPool";
pub const OWN_CLIENT: &str = "own-client";
pub const OWN_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OwnPool";

pub fn own_verifier(server: &JwksServer, min_refetch_interval: Duration) -> TokenVerifier {
    let config =
        AuthorizerConfig::new(OWN_POOL, OWN_CLIENT, "admins", Some(server.url.clone())).unwrap();
    assert_eq!(config.issuer, OWN_ISSUER);
    let keys = JwksCache::new(&config.jwks_url, reqwest::Client::new())
        .with_min_refetch_interval(min_refetch_interval);
    TokenVerifier::new(
        keys,
        &config.issuer,
        &config.app_client_id,
        &config.admin_group,
    )
}

/// Claims of a valid ID token of the made-up pool.
pub fn own_claims(sub: &str) -> Value {
    json!({
        "sub": sub, "aud": OWN_CLIENT, "iss": OWN_ISSUER, "token_use": "id",
        "email": "own@example.com", "iat": now(), "exp": now() + 600
    })
}
