//! The API Gateway emulation of `stackgen local` over HTTP: routing, both authorizers, body
//! validation, proxy integrations against a stand-in for the local runtime, and service
//! integrations against moto.
//!
//! The stand-in [`Fake`] answers each function by name and records every payload, so tests
//! can say what the gateway invoked, with what, and how often (the authorizer cache).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use stackgen::model::{Api, ServiceFile};
use stackgen_cloud::gateway::{self, GatewayContext, Invoker, RunningApi, UserPool};
use stackgen_runtime::{FunctionError, InvokeError, InvokeOutcome};

const API: &str = r#"
service: test
description: gateway tests
apis:
  TestApi:
    stage: Prod
    description: test
    auth: Token
    authorizers:
      # The tests' tokens are words (`user-1`), not JWTs.
      Token:
        token: { function: AuthFn, result_ttl_seconds: 300, token_shape: any }
      ShortToken:
        token: { function: AuthFn, result_ttl_seconds: 1, token_shape: any }
      NoCache:
        token: { function: AuthFn, result_ttl_seconds: 0, token_shape: any }
      Pool:
        cognito: { user_pool: UserPoolArn }
    models:
      Thing:
        $schema: http://json-schema.org/draft-04/schema#
        type: object
        required: [name]
        properties:
          name: { type: string, minLength: 1 }
    routes:
      - { route: "GET /public/{id}", auth: none, integration: { function: Echo } }
      - { route: POST /public, auth: none, body: Thing, integration: { function: Echo } }
      - { route: "GET /users/{userid}", integration: { function: Echo } }
      - { route: GET /users, integration: { function: Echo } }
      - { route: "PUT /users/{userid}", integration: { function: Echo } }
      - { route: "GET /short/{x}", auth: ShortToken, integration: { function: Echo } }
      - { route: GET /nocache, auth: NoCache, integration: { function: Echo } }
      - { route: "GET /orders/{orderId}", auth: Pool, integration: { function: Echo } }
      - { route: GET /malformed, auth: none, integration: { function: Malformed } }
      - { route: GET /failing, auth: none, integration: { function: Failing } }
      - { route: GET /slow, auth: none, integration: { function: Slow } }
"#;

const POOL: &str = "us-east-1_test";
const CLIENT: &str = "client-1";
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test";

fn api() -> Api {
    let source = stackgen::model::parse_str::<ServiceFile>(Path::new("test.yaml"), API.into())
        .expect("the test API parses");
    source
        .file
        .apis
        .into_iter()
        .find(|(n, _)| n.as_str() == "TestApi")
        .map(|(_, a)| a)
        .expect("TestApi")
}

// --- A stand-in for the local runtime -------------------------------------------------------

#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<(String, Value)>>,
}

impl Fake {
    fn calls_of(&self, function: &str) -> Vec<Value> {
        self.calls
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|(f, _)| f == function)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn answer(function: &str, event: &Value) -> Result<InvokeOutcome, InvokeError> {
        let ok = |v: Value| Ok(InvokeOutcome::Response(v));
        match function {
            "Echo" => ok(json!({
                "statusCode": 200,
                "headers": {"x-fn": "echo"},
                "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
                "body": event.to_string(),
            })),
            "Malformed" => ok(json!({"status": 200, "body": "no statusCode"})),
            "Failing" => Ok(InvokeOutcome::Error(FunctionError::new("Boom", "it broke"))),
            "Slow" => Err(InvokeError::Timeout {
                function: "Slow".into(),
                request_id: "r".into(),
                timeout: Duration::from_secs(3),
            }),
            "AuthFn" => Self::authorize(event),
            other => Err(InvokeError::UnknownFunction(other.into())),
        }
    }

    /// A TOKEN authorizer: the token says what it answers.
    fn authorize(event: &Value) -> Result<InvokeOutcome, InvokeError> {
        let arn = event["methodArn"].as_str().unwrap_or_default();
        let stage = arn
            .split("/GET")
            .next()
            .unwrap_or_default()
            .split("/PUT")
            .next()
            .unwrap_or_default();
        let statement = |effect: &str, resource: String| json!({"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource});
        let answer = |statements: Vec<Value>, principal: &str, admin: bool| {
            Ok(InvokeOutcome::Response(json!({
                "principalId": principal,
                "policyDocument": {"Version": "2012-10-17", "Statement": statements},
                "context": {"sub": principal, "isAdmin": admin, "email": "u@example.com"},
            })))
        };
        match event["authorizationToken"].as_str() {
            Some("user-1") => answer(
                vec![
                    statement("Allow", format!("{stage}/GET/users/u-1")),
                    statement("Allow", format!("{stage}/GET/short/*")),
                    statement("Allow", format!("{stage}/GET/nocache")),
                ],
                "u-1",
                false,
            ),
            Some("admin") => answer(
                vec![
                    statement("Allow", format!("{stage}/*")),
                    statement("Deny", format!("{stage}/GET/users/secret?")),
                ],
                "admin-1",
                true,
            ),
            Some("unauthorized") => Ok(InvokeOutcome::Error(FunctionError::new(
                "Error",
                "Unauthorized",
            ))),
            Some("no-policy") => Ok(InvokeOutcome::Response(json!({"principalId": "x"}))),
            _ => Ok(InvokeOutcome::Error(FunctionError::new("Error", "boom"))),
        }
    }
}

impl Invoker for Fake {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Bytes,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'a>,
    > {
        let event: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        let answer = Self::answer(function, &event);
        self.calls
            .lock()
            .expect("not poisoned")
            .push((function.to_owned(), event));
        Box::pin(std::future::ready(answer))
    }
}

// --- A served API and a JWKS --------------------------------------------------------------------

struct App {
    api: RunningApi,
    fake: Arc<Fake>,
    http: reqwest::Client,
    _jwks: tokio::task::JoinHandle<()>,
}

impl App {
    async fn start() -> App {
        let jwks_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let jwks_addr = jwks_listener.local_addr().expect("addr");
        let keys = json!({"keys": [{
            "kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
            "n": include_str!("../src/gateway/testdata/rsa.n").trim(), "e": "AQAB",
        }]});
        let router = axum::Router::new().route(
            &format!("/{POOL}/.well-known/jwks.json"),
            axum::routing::get(move || {
                let keys = keys.to_string();
                async move { keys }
            }),
        );
        let jwks = tokio::spawn(async move {
            let _ = axum::serve(jwks_listener, router).await;
        });
        let fake = Arc::new(Fake::default());
        let mut ctx = GatewayContext::new(fake.clone());
        ctx.api_id = Some("testapi".into());
        ctx.user_pools.insert(
            "UserPoolArn".into(),
            UserPool::new(&format!("http://{jwks_addr}"), POOL, CLIENT),
        );
        let api = gateway::serve("TestApi", &api(), ctx)
            .await
            .expect("the API serves");
        App {
            api,
            fake,
            http: reqwest::Client::new(),
            _jwks: jwks,
        }
    }

    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.get(format!("{}{path}", self.api.url()));
        if let Some(t) = token {
            request = request.header("Authorization", t);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.api.url()))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn id_token(edit: impl FnOnce(&mut Value)) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let mut claims = json!({
        "sub": "c-1", "aud": CLIENT, "iss": ISSUER, "token_use": "id",
        "exp": now + 3600, "iat": now, "auth_time": now,
        "email": "c1@example.com", "email_verified": true,
        "cognito:groups": ["apiAdmins", "other"], "cognito:username": "c1",
    });
    edit(&mut claims);
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".into());
    let key = EncodingKey::from_rsa_pem(include_bytes!("../src/gateway/testdata/rsa.pem"))
        .expect("the test key reads");
    jsonwebtoken::encode(&header, &claims, &key).expect("the token signs")
}

/// The event `Echo` answered with as its body.
fn event_of(body: &Value) -> Value {
    match body.as_str() {
        Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        None => body.clone(),
    }
}

// --- Routing ------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_paths_methods_and_stages_are_403_missing_authentication_token() {
    let app = App::start().await;
    for path in ["/nope", "/public", "/public/a/b", "/users/u-1/extra"] {
        let (status, headers, body) = app.get(path, None).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(
            body,
            json!({"message": "Missing Authentication Token"}),
            "{path}"
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(headers["content-type"], "application/json");
    }
    let response = app
        .http
        .delete(format!("{}/public/1", app.api.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 403);
    let wrong_stage = format!("http://{}/Dev/public/1", app.api.addr());
    let response = app.http.get(wrong_stage).send().await.expect("answers");
    assert_eq!(response.status(), 403);
    assert!(app.fake.calls_of("Echo").is_empty());
}

#[tokio::test]
async fn a_cors_preflight_is_200_with_the_paths_methods_and_calls_no_authorizer() {
    let app = App::start().await;
    for (path, methods) in [
        ("/users/u-1", "GET,OPTIONS,PUT"),
        ("/users", "GET,OPTIONS"),
        ("/orders/o-1", "GET,OPTIONS"),
        ("/public", "OPTIONS,POST"),
        ("/public/a/", "GET,OPTIONS"),
    ] {
        // What a browser sends before a call with a token and a JSON body.
        let response = app
            .http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", app.api.url()))
            .header("Origin", "https://app.example.com")
            .header("Access-Control-Request-Method", "PUT")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers["access-control-allow-origin"], "*", "{path}");
        assert_eq!(headers["access-control-allow-methods"], methods, "{path}");
        assert_eq!(
            headers["access-control-allow-headers"],
            "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token",
            "{path}"
        );
        assert_eq!(headers["access-control-max-age"], "600", "{path}");
        assert!(headers.contains_key("x-amzn-requestid"), "{path}");
        assert_eq!(response.bytes().await.expect("a body").len(), 0, "{path}");
    }
    // An unknown path has no preflight either.
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/nope", app.api.url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 403);
    assert!(app.fake.calls_of("AuthFn").is_empty());
    assert!(app.fake.calls_of("Echo").is_empty());
}

// --- Proxy integrations -------------------------------------------------------------------------

#[tokio::test]
async fn a_public_route_sends_the_full_proxy_event_and_maps_the_response() {
    let app = App::start().await;
    let response = app
        .http
        .get(format!("{}/public/a%20b?x=1&x=2&y=z", app.api.url()))
        .header("x-custom", "v")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-fn"], "echo");
    assert_eq!(response.headers()["content-type"], "application/json");
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let event = event_of(&response.json::<Value>().await.expect("JSON"));
    assert_eq!(event["resource"], "/public/{id}");
    assert_eq!(event["path"], "/public/a%20b");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"], json!({"id": "a b"}));
    assert_eq!(event["queryStringParameters"], json!({"x": "2", "y": "z"}));
    assert_eq!(
        event["multiValueQueryStringParameters"]["x"],
        json!(["1", "2"])
    );
    assert_eq!(event["headers"]["x-custom"], "v");
    assert_eq!(event["requestContext"]["stage"], "Prod");
    assert_eq!(event["requestContext"]["apiId"], "testapi");
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert!(event["requestContext"].get("authorizer").is_none());
    let text = event.to_string();
    serde_json::from_str::<aws_lambda_events::apigw::ApiGatewayProxyRequest>(&text)
        .expect("aws_lambda_events reads it");
    lambda_http::request::from_str(&text).expect("lambda_http reads it");
}

#[tokio::test]
async fn function_errors_and_malformed_responses_are_502_and_timeouts_504() {
    let app = App::start().await;
    for path in ["/malformed", "/failing"] {
        let (status, headers, body) = app.get(path, None).await;
        assert_eq!(status, 502, "{path}");
        assert_eq!(body, json!({"message": "Internal server error"}));
        assert_eq!(headers["access-control-allow-origin"], "*");
    }
    let (status, _, body) = app.get("/slow", None).await;
    assert_eq!(status, 504);
    assert_eq!(body, json!({"message": "Endpoint request timed out"}));
}

// --- Request validation -------------------------------------------------------------------------

#[tokio::test]
async fn a_body_failing_its_model_is_400_before_the_integration_runs() {
    let app = App::start().await;
    for bad in [
        "",
        "not json",
        "[]",
        "{}",
        r#"{"name": ""}"#,
        r#"{"name": 1}"#,
    ] {
        let (status, body) = app.post("/public", bad).await;
        assert_eq!(status, 400, "{bad:?}");
        assert_eq!(body, json!({"message": "Invalid request body"}));
    }
    assert!(app.fake.calls_of("Echo").is_empty());
    let (status, body) = app.post("/public", r#"{"name": "x", "extra": true}"#).await;
    assert_eq!(status, 200);
    assert_eq!(event_of(&body)["body"], r#"{"name": "x", "extra": true}"#);
}

// --- The Lambda TOKEN authorizer ------------------------------------------------------------------

#[tokio::test]
async fn without_a_token_the_answer_is_401_and_the_authorizer_is_not_called() {
    let app = App::start().await;
    let (status, headers, body) = app.get("/users/u-1", None).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({"message": "Unauthorized"}));
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(app.fake.calls_of("AuthFn").is_empty());
}

#[tokio::test]
async fn the_authorizer_gets_the_token_and_method_arn_and_its_context_reaches_the_function() {
    let app = App::start().await;
    let (status, _, body) = app.get("/users/u-1", Some("user-1")).await;
    assert_eq!(status, 200, "{body}");
    let calls = app.fake.calls_of("AuthFn");
    assert_eq!(
        calls,
        [json!({
            "type": "TOKEN",
            "authorizationToken": "user-1",
            "methodArn": "arn:aws:execute-api:us-east-1:000000000000:testapi/Prod/GET/users/u-1",
        })]
    );
    let event = event_of(&body);
    assert_eq!(
        event["requestContext"]["authorizer"],
        json!({"principalId": "u-1", "sub": "u-1", "isAdmin": "false", "email": "u@example.com"})
    );
}

#[tokio::test]
async fn a_policy_not_allowing_the_method_is_403_and_an_explicit_deny_wins() {
    let app = App::start().await;
    let (status, _, body) = app.get("/users", Some("user-1")).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"message": "User is not authorized to access this resource"})
    );
    let (status, _, _) = app.get("/users/u-2", Some("user-1")).await;
    assert_eq!(status, 403);
    let (status, _, _) = app.get("/users/anyone", Some("admin")).await;
    assert_eq!(status, 200);
    let (status, _, _) = app.get("/users/secret1", Some("admin")).await;
    assert_eq!(status, 403);
    assert!(app.fake.calls_of("Echo").len() == 1);
}

#[tokio::test]
async fn the_policy_is_cached_by_token_and_evaluated_per_request() {
    let app = App::start().await;
    assert_eq!(app.get("/users/u-1", Some("user-1")).await.0, 200);
    assert_eq!(app.get("/users/u-1", Some("user-1")).await.0, 200);
    // Another route of the API, same token: the cached policy decides, and denies.
    assert_eq!(app.get("/users", Some("user-1")).await.0, 403);
    assert_eq!(app.fake.calls_of("AuthFn").len(), 1);
    assert_eq!(app.get("/users/anyone", Some("admin")).await.0, 200);
    assert_eq!(app.fake.calls_of("AuthFn").len(), 2);
}

#[tokio::test]
async fn the_cache_lasts_the_authorizers_ttl_and_a_zero_ttl_caches_nothing() {
    let app = App::start().await;
    assert_eq!(app.get("/short/a", Some("user-1")).await.0, 200);
    assert_eq!(app.get("/short/b", Some("user-1")).await.0, 200);
    assert_eq!(app.fake.calls_of("AuthFn").len(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/short/a", Some("user-1")).await.0, 200);
    assert_eq!(app.fake.calls_of("AuthFn").len(), 2);
    assert_eq!(app.get("/nocache", Some("user-1")).await.0, 200);
    assert_eq!(app.get("/nocache", Some("user-1")).await.0, 200);
    assert_eq!(app.fake.calls_of("AuthFn").len(), 4);
}

#[tokio::test]
async fn an_unauthorized_error_is_401_and_other_failures_500() {
    let app = App::start().await;
    let (status, _, body) = app.get("/users/u-1", Some("unauthorized")).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({"message": "Unauthorized"}));
    for token in ["no-policy", "crash"] {
        let (status, _, body) = app.get("/users/u-1", Some(token)).await;
        assert_eq!(status, 500, "{token}");
        assert_eq!(body, json!({"message": null}));
    }
    assert!(app.fake.calls_of("Echo").is_empty());
}

// --- The Cognito authorizer ------------------------------------------------------------------

#[tokio::test]
async fn a_valid_id_token_passes_with_its_claims_as_strings() {
    let app = App::start().await;
    let token = id_token(|_| {});
    for header in [token.clone(), format!("Bearer {token}")] {
        let (status, _, body) = app.get("/orders/o-1", Some(&header)).await;
        assert_eq!(status, 200, "{body}");
        let claims = &event_of(&body)["requestContext"]["authorizer"]["claims"];
        assert_eq!(claims["sub"], "c-1");
        assert_eq!(claims["cognito:groups"], "apiAdmins,other");
        assert_eq!(claims["email_verified"], "true");
        assert!(
            claims["exp"].as_str().is_some_and(|e| e.contains(" UTC ")),
            "{claims}"
        );
        assert!(
            claims["auth_time"]
                .as_str()
                .is_some_and(|t| t.parse::<u64>().is_ok())
        );
    }
}

#[tokio::test]
async fn bad_id_tokens_are_401() {
    let app = App::start().await;
    let valid = id_token(|_| {});
    let mut tampered: Vec<&str> = valid.split('.').collect();
    let other = id_token(|c| c["sub"] = json!("someone-else"));
    let other_payload = other.split('.').nth(1).unwrap_or_default().to_owned();
    tampered[1] = &other_payload;
    let tampered = tampered.join(".");
    let bad = [
        None,
        Some("".to_owned()),
        Some("not a jwt".to_owned()),
        Some(tampered),
        Some(id_token(|c| c["exp"] = json!(1_000_000_000))),
        Some(id_token(|c| c["aud"] = json!("other-client"))),
        Some(id_token(|c| {
            c["iss"] = json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")
        })),
        Some(id_token(|c| c["token_use"] = json!("access"))),
    ];
    for token in bad {
        let (status, _, body) = app.get("/orders/o-1", token.as_deref()).await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body, json!({"message": "Unauthorized"}));
    }
    assert!(app.fake.calls_of("Echo").is_empty());
}
