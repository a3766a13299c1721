//! The users function: the five routes of the users API over a [`UserStore`].
//!
//! Routing uses the event's resource (`requestContext.resourcePath`, e.g.
//! `/users/{userid}`) and method, as API Gateway matched them; when an event carries no
//! resource (a hand-written test event), it is inferred from the path. The gateway's
//! authorizer policy already limits who reaches which route; the same rule is checked here
//! again from the caller identity, so a misconfigured gateway cannot expose other users.

use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use time::OffsetDateTime;

use handler_common::paging::{self, PageQuery, PagingError};
use handler_common::{ApiError, BodyError, Caller, error_response, json_response};

use crate::domain::{User, UserId, UserInput, ValidationError};
use crate::listing::{self, ListError};
use crate::store::{StoreError, UserStore};

/// Why a users request failed; [`ApiError::status`] is the one status mapping.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The body or path is not acceptable (400; 413 when only its size is).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The body is missing or not JSON (400).
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A list query's `limit` or token cannot be used (400).
    #[error(transparent)]
    Paging(#[from] PagingError),
    /// No user has this id (404).
    #[error("user {0} not found")]
    NotFound(UserId),
    /// No route has this path (404).
    #[error("no route for {0}")]
    NoRoute(String),
    /// The path exists but not with this method (405).
    #[error("method {method} is not allowed on {resource}")]
    MethodNotAllowed {
        /// The request's method.
        method: Method,
        /// The matched resource.
        resource: &'static str,
    },
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Storage failed (500; the cause goes to the log only).
    #[error("storage failed")]
    Internal(#[from] StoreError),
}

impl From<ListError> for UsersError {
    fn from(err: ListError) -> UsersError {
        match err {
            ListError::Query(e) => UsersError::Paging(e),
            ListError::Store(e) => UsersError::Internal(e),
        }
    }
}

impl ApiError for UsersError {
    fn status(&self) -> u16 {
        match self {
            UsersError::Validation(e) if e.is_too_large() => 413,
            UsersError::Validation(_) | UsersError::Body(_) | UsersError::Paging(_) => 400,
            UsersError::Forbidden(_) => 403,
            UsersError::NotFound(_) | UsersError::NoRoute(_) => 404,
            UsersError::MethodNotAllowed { .. } => 405,
            UsersError::Internal(_) => 500,
        }
    }
}

const COLLECTION: &str = "/users";
const ITEM: &str = "/users/{userid}";

/// A request of the users API, routed and with its path parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /users`
    List,
    /// `POST /users`
    Create,
    /// `GET /users/{userid}`
    Get(UserId),
    /// `PUT /users/{userid}`
    Replace(UserId),
    /// `DELETE /users/{userid}`
    Delete(UserId),
}

impl Route {
    /// Routes `req` by its resource and method.
    pub fn of(req: &Request) -> Result<Route, UsersError> {
        let raw_path = req.raw_http_path().trim_end_matches('/');
        let resource = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.resource_path.clone(),
            _ => None,
        };
        let resource = resource.unwrap_or_else(|| infer_resource(raw_path).to_owned());
        let method = req.method();
        match resource.as_str() {
            COLLECTION => match *method {
                Method::GET => Ok(Route::List),
                Method::POST => Ok(Route::Create),
                _ => Err(not_allowed(method, COLLECTION)),
            },
            ITEM => {
                let id = req
                    .path_parameters_ref()
                    .and_then(|p| p.first("userid"))
                    .map(str::to_owned)
                    .or_else(|| raw_path.strip_prefix("/users/").map(str::to_owned))
                    .unwrap_or_default();
                let id = UserId::parse(id)?;
                match *method {
                    Method::GET => Ok(Route::Get(id)),
                    Method::PUT => Ok(Route::Replace(id)),
                    Method::DELETE => Ok(Route::Delete(id)),
                    _ => Err(not_allowed(method, ITEM)),
                }
            }
            _ => Err(UsersError::NoRoute(format!("{method} {raw_path}"))),
        }
    }

    /// Whether `caller` may take this route: admins everything, a user only their own item.
    fn allows(&self, caller: Option<&Caller>) -> Result<(), UsersError> {
        let Some(caller) = caller else {
            return Err(UsersError::Forbidden(
                "the request carries no caller identity",
            ));
        };
        if caller.is_admin {
            return Ok(());
        }
        match self {
            Route::List | Route::Create => Err(UsersError::Forbidden(
                "only admins may list or create users",
            )),
            Route::Get(id) | Route::Replace(id) | Route::Delete(id)
                if id.as_str() == caller.sub =>
            {
                Ok(())
            }
            Route::Get(_) | Route::Replace(_) | Route::Delete(_) => Err(UsersError::Forbidden(
                "users may only access their own record",
            )),
        }
    }
}

fn not_allowed(method: &Method, resource: &'static str) -> UsersError {
    UsersError::MethodNotAllowed {
        method: method.clone(),
        resource,
    }
}

/// The resource a bare path would have matched, for events without `resourcePath`.
fn infer_resource(path: &str) -> &str {
    match path.strip_prefix("/users") {
        Some("") => COLLECTION,
        Some(rest) if rest.len() > 1 && !rest[1..].contains('/') && rest.starts_with('/') => ITEM,
        _ => path,
    }
}

/// Answers one request of the users API; every failure becomes a JSON error response.
///
/// ```no_run
/// # async fn run(store: users::store::DynamoUserStore) -> Result<(), lambda_http::Error> {
/// lambda_http::run(lambda_http::service_fn(|req| async {
///     Ok::<_, std::convert::Infallible>(users::api::handle(&store, req).await)
/// }))
/// .await
/// # }
/// ```
#[tracing::instrument(skip_all, fields(method = %req.method(), path = req.raw_http_path()))]
pub async fn handle<S: UserStore>(store: &S, req: Request) -> Response<Body> {
    match dispatch(store, &req).await {
        Ok(resp) => resp,
        Err(err) => {
            let mut resp = error_response(&err);
            if let UsersError::MethodNotAllowed { resource, .. } = &err {
                let allow = if *resource == COLLECTION {
                    "GET, POST"
                } else {
                    "GET, PUT, DELETE"
                };
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            resp
        }
    }
}

async fn dispatch<S: UserStore>(store: &S, req: &Request) -> Result<Response<Body>, UsersError> {
    let route = Route::of(req)?;
    route.allows(handler_common::caller(req).as_ref())?;
    match route {
        Route::List => {
            let (users, next) = listing::page(store, &PageQuery::of(req)?).await?;
            let mut resp = json_response(200, &users);
            paging::set_token(&mut resp, next.as_deref());
            Ok(resp)
        }
        Route::Create => {
            let input = parse_body(req)?;
            let id = input.userid().cloned().unwrap_or_else(UserId::generate);
            let user = User::new(input, id, OffsetDateTime::now_utc());
            store.put(&user).await?;
            Ok(json_response(200, &user))
        }
        Route::Get(id) => match store.get(&id).await? {
            Some(user) => Ok(json_response(200, &user)),
            None => Err(UsersError::NotFound(id)),
        },
        Route::Replace(id) => {
            // The path names the user; a `userid` in the body does not move it elsewhere.
            let user = User::new(parse_body(req)?, id, OffsetDateTime::now_utc());
            store.put(&user).await?;
            Ok(json_response(200, &user))
        }
        Route::Delete(id) => {
            store.delete(&id).await?;
            Ok(json_response(200, &serde_json::json!({})))
        }
    }
}

fn parse_body(req: &Request) -> Result<UserInput, UsersError> {
    let body: Value = handler_common::json_body(req)?;
    Ok(UserInput::try_from(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use serde_json::json;

    const OWNER: &str = "11111111-2222-3333-4444-555555555555";

    /// A REST API (v1) proxy event as API Gateway sends it behind the TOKEN authorizer.
    fn event(
        method: &str,
        resource: &str,
        path: &str,
        body: Option<Value>,
        caller: Value,
    ) -> Request {
        let params = path
            .strip_prefix("/users/")
            .map(|id| json!({ "userid": id }))
            .unwrap_or(Value::Null);
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
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    fn admin() -> Value {
        json!({"principalId": "admin-sub", "sub": "admin-sub", "email": "a@example.com", "isAdmin": "true"})
    }

    fn owner() -> Value {
        json!({"principalId": OWNER, "sub": OWNER, "email": "o@example.com", "isAdmin": "false"})
    }

    async fn call(store: &MemoryStore, req: Request) -> (u16, Value) {
        let resp = handle(store, req).await;
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        let Body::Text(text) = resp.body() else {
            panic!("expected a text body, got {:?}", resp.body());
        };
        (resp.status().as_u16(), serde_json::from_str(text).unwrap())
    }

    fn stored(store: &MemoryStore, id: &str) -> Option<Value> {
        let users = store.users.lock().unwrap();
        let user = users.get(&UserId::parse(id).unwrap())?;
        Some(serde_json::to_value(user).unwrap())
    }

    #[tokio::test]
    async fn create_stores_the_body_with_a_new_uuid_and_a_timestamp() {
        let store = MemoryStore::default();
        let req = event(
            "POST",
            "/users",
            "/users",
            Some(json!({"name": "Ann", "city": "Oslo"})),
            admin(),
        );
        let (status, body) = call(&store, req).await;
        assert_eq!(status, 200);
        assert_eq!(body["name"], "Ann");
        assert_eq!(body["city"], "Oslo");
        let id = body["userid"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        let ts = body["timestamp"].as_str().unwrap();
        assert!(OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok());
        assert!(ts.ends_with('Z'), "{ts}");
        assert_eq!(stored(&store, id), Some(body));
    }

    #[tokio::test]
    async fn create_keeps_a_given_userid() {
        let store = MemoryStore::default();
        let req = event(
            "POST",
            "/users",
            "/users",
            Some(json!({"name": "Ann", "userid": "ann-1"})),
            admin(),
        );
        let (status, body) = call(&store, req).await;
        assert_eq!(status, 200);
        assert_eq!(body["userid"], "ann-1");
        assert!(stored(&store, "ann-1").is_some());
    }

    #[tokio::test]
    async fn a_bad_body_is_a_400_naming_the_problem_and_stores_nothing() {
        let cases = [
            (None, "request body is missing"),
            (Some(json!([1])), "request body must be a JSON object"),
            (Some(json!({"age": 3})), "name is required"),
            (Some(json!({"name": 3})), "name must be a string"),
            (
                Some(json!({"name": "A", "userid": false})),
                "userid must be a string",
            ),
        ];
        for (body, message) in cases {
            let store = MemoryStore::default();
            for req in [
                event("POST", "/users", "/users", body.clone(), admin()),
                event(
                    "PUT",
                    "/users/{userid}",
                    &format!("/users/{OWNER}"),
                    body.clone(),
                    owner(),
                ),
            ] {
                let (status, resp) = call(&store, req).await;
                assert_eq!(status, 400, "{body:?}");
                assert_eq!(resp, json!({"message": message}));
            }
            assert!(store.users.lock().unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_a_400() {
        let store = MemoryStore::default();
        let mut req = event("POST", "/users", "/users", None, admin());
        *req.body_mut() = Body::Text("{oops".into());
        let (status, body) = call(&store, req).await;
        assert_eq!(status, 400);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("request body is not valid JSON")
        );
    }

    #[tokio::test]
    async fn list_returns_every_user_to_an_admin() {
        let store = MemoryStore::default();
        for name in ["Ann", "Bob"] {
            let req = event(
                "POST",
                "/users",
                "/users",
                Some(json!({"name": name})),
                admin(),
            );
            assert_eq!(call(&store, req).await.0, 200);
        }
        let (status, body) = call(&store, event("GET", "/users", "/users", None, admin())).await;
        assert_eq!(status, 200);
        let mut names: Vec<_> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].clone())
            .collect();
        names.sort_by_key(|n| n.to_string());
        assert_eq!(names, [json!("Ann"), json!("Bob")]);
    }

    #[tokio::test]
    async fn an_empty_table_lists_as_an_empty_array() {
        let store = MemoryStore::default();
        let (status, body) = call(&store, event("GET", "/users", "/users", None, admin())).await;
        assert_eq!((status, body), (200, json!([])));
    }

    #[tokio::test]
    async fn get_returns_the_user_or_404() {
        let store = MemoryStore::default();
        let path = format!("/users/{OWNER}");
        let (status, body) = call(
            &store,
            event("GET", "/users/{userid}", &path, None, owner()),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(body, json!({"message": format!("user {OWNER} not found")}));

        let req = event(
            "PUT",
            "/users/{userid}",
            &path,
            Some(json!({"name": "Olga"})),
            owner(),
        );
        let (_, put) = call(&store, req).await;
        let (status, body) = call(
            &store,
            event("GET", "/users/{userid}", &path, None, owner()),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body, put);
    }

    #[tokio::test]
    async fn put_replaces_the_item_with_the_userid_of_the_path() {
        let store = MemoryStore::default();
        let path = format!("/users/{OWNER}");
        let first = json!({"name": "Olga", "city": "Oslo"});
        call(
            &store,
            event("PUT", "/users/{userid}", &path, Some(first), owner()),
        )
        .await;
        let second = json!({"name": "Olga B", "userid": "someone-else"});
        let (status, body) = call(
            &store,
            event("PUT", "/users/{userid}", &path, Some(second), owner()),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["userid"], OWNER);
        assert_eq!(body["name"], "Olga B");
        assert!(body.get("city").is_none(), "replaced, not merged: {body}");
        assert_eq!(stored(&store, OWNER), Some(body));
        assert!(stored(&store, "someone-else").is_none());
    }

    #[tokio::test]
    async fn delete_answers_an_empty_object_whether_or_not_the_user_existed() {
        let store = MemoryStore::default();
        let path = format!("/users/{OWNER}");
        call(
            &store,
            event(
                "PUT",
                "/users/{userid}",
                &path,
                Some(json!({"name": "O"})),
                owner(),
            ),
        )
        .await;
        for _ in 0..2 {
            let (status, body) = call(
                &store,
                event("DELETE", "/users/{userid}", &path, None, owner()),
            )
            .await;
            assert_eq!((status, body), (200, json!({})));
            assert!(stored(&store, OWNER).is_none());
        }
    }

    #[tokio::test]
    async fn an_admin_may_touch_any_user_and_a_user_only_their_own() {
        let store = MemoryStore::default();
        let other = "/users/someone-else";
        let (status, _) = call(
            &store,
            event("GET", "/users/{userid}", other, None, admin()),
        )
        .await;
        assert_eq!(status, 404);
        for (method, body) in [
            ("GET", None),
            ("PUT", Some(json!({"name": "X"}))),
            ("DELETE", None),
        ] {
            let (status, resp) = call(
                &store,
                event(method, "/users/{userid}", other, body, owner()),
            )
            .await;
            assert_eq!(status, 403, "{method}");
            assert_eq!(
                resp,
                json!({"message": "users may only access their own record"})
            );
        }
        for (method, body) in [("GET", None), ("POST", Some(json!({"name": "X"})))] {
            let (status, _) = call(&store, event(method, "/users", "/users", body, owner())).await;
            assert_eq!(status, 403, "{method}");
        }
        let (status, _) = call(&store, event("GET", "/users", "/users", None, json!({}))).await;
        assert_eq!(status, 403);
        assert!(store.users.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn unknown_routes_and_methods_are_json_404_and_405() {
        let store = MemoryStore::default();
        let (status, body) = call(&store, event("GET", "/orders", "/orders", None, admin())).await;
        assert_eq!(
            (status, body),
            (404, json!({"message": "no route for GET /orders"}))
        );

        let resp = handle(&store, event("PATCH", "/users", "/users", None, admin())).await;
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "GET, POST");
        let resp = handle(
            &store,
            event("POST", "/users/{userid}", "/users/x", None, admin()),
        )
        .await;
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "GET, PUT, DELETE");
    }

    #[tokio::test]
    async fn an_event_without_a_resource_is_routed_by_its_path() {
        let store = MemoryStore::default();
        let mut req = event(
            "GET",
            "/users/{userid}",
            &format!("/users/{OWNER}"),
            None,
            owner(),
        );
        if let Some(RequestContext::ApiGatewayV1(ctx)) =
            req.extensions_mut().get_mut::<RequestContext>()
        {
            ctx.resource_path = None;
        }
        let req = req.with_path_parameters(std::collections::HashMap::<String, String>::new());
        assert_eq!(
            Route::of(&req).unwrap(),
            Route::Get(UserId::parse(OWNER).unwrap())
        );
        assert_eq!(infer_resource("/users"), "/users");
        assert_eq!(infer_resource("/users/a/b"), "/users/a/b");
        assert_eq!(infer_resource("/users/"), "/users/");
        let _ = store;
    }

    #[tokio::test]
    async fn a_storage_failure_is_a_generic_500() {
        let store = MemoryStore {
            fail: true,
            ..Default::default()
        };
        let (status, body) = call(&store, event("GET", "/users", "/users", None, admin())).await;
        assert_eq!((status, body), (500, json!({"message": "internal error"})));
    }
}
