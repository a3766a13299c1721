//! The event files shipped for `sam local invoke` (`events/users/`) are real API Gateway
//! events: each parses into its typed event and does what its name says.

use aws_lambda_events::apigw::{ApiGatewayCustomAuthorizerRequest, ApiGatewayProxyRequest};
use lambda_http::Body;
use serde_json::{Value, json};

use crate::api::{Route, handle};
use crate::authorizer::ApiStageArn;
use crate::domain::UserId;
use crate::store::memory::MemoryStore;

const LIST: &str = include_str!("../../../events/users/list-users.json");
const CREATE: &str = include_str!("../../../events/users/create-user.json");
const GET: &str = include_str!("../../../events/users/get-user.json");
const REPLACE: &str = include_str!("../../../events/users/replace-user.json");
const DELETE: &str = include_str!("../../../events/users/delete-user.json");
const AUTHORIZER: &str = include_str!("../../../events/users/authorizer.json");

const OWNER: &str = "5d2c8a61-7e4b-4f3a-a9d0-2b6c1e8f4a77";

fn request(text: &str) -> lambda_http::Request {
    let typed: ApiGatewayProxyRequest = serde_json::from_str(text).expect("a REST API proxy event");
    assert!(typed.request_context.resource_path.is_some());
    lambda_http::request::from_str(text).expect("lambda_http reads it as a REST API event")
}

async fn status_and_body(store: &MemoryStore, text: &str) -> (u16, Value) {
    let resp = handle(store, request(text)).await;
    let Body::Text(body) = resp.body() else {
        panic!("expected a text body");
    };
    (resp.status().as_u16(), serde_json::from_str(body).unwrap())
}

#[test]
fn each_route_event_is_routed_to_its_route() {
    let owner = UserId::parse(OWNER).unwrap();
    assert_eq!(Route::of(&request(LIST)).unwrap(), Route::List);
    assert_eq!(Route::of(&request(CREATE)).unwrap(), Route::Create);
    assert_eq!(Route::of(&request(GET)).unwrap(), Route::Get(owner.clone()));
    assert_eq!(
        Route::of(&request(REPLACE)).unwrap(),
        Route::Replace(owner.clone())
    );
    assert_eq!(Route::of(&request(DELETE)).unwrap(), Route::Delete(owner));
}

#[tokio::test]
async fn the_route_events_make_a_full_cycle() {
    let store = MemoryStore::default();
    let (status, created) = status_and_body(&store, CREATE).await;
    assert_eq!(status, 200);
    assert_eq!(created["name"], "Ann Example");
    assert_eq!(status_and_body(&store, GET).await.0, 404);
    let (status, replaced) = status_and_body(&store, REPLACE).await;
    assert_eq!((status, &replaced["userid"]), (200, &json!(OWNER)));
    assert_eq!(status_and_body(&store, GET).await, (200, replaced));
    let (status, listed) = status_and_body(&store, LIST).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(2)));
    assert_eq!(status_and_body(&store, DELETE).await, (200, json!({})));
    assert_eq!(status_and_body(&store, GET).await.0, 404);
}

#[test]
fn the_authorizer_event_is_a_token_event_with_a_method_arn() {
    let event: ApiGatewayCustomAuthorizerRequest = serde_json::from_str(AUTHORIZER).unwrap();
    assert_eq!(event.type_.as_deref(), Some("TOKEN"));
    assert!(event.authorization_token.is_some_and(|t| !t.is_empty()));
    let arn = ApiStageArn::from_method_arn(event.method_arn.as_deref().unwrap()).unwrap();
    assert_eq!(
        arn.as_str(),
        "arn:aws:execute-api:us-east-1:123456789012:abc123def4/Prod/"
    );
}
