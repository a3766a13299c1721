//! The users API behind the Lambda TOKEN authorizer, and what the gateway refuses for
//! every API.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{app, call, sign_up};

#[tokio::test]
async fn requests_without_a_valid_token_are_401_on_every_api() {
    let app = app();
    let forged = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImR1bW15In0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    for url in [
        format!("{}/users", app.api("users", "APIEndpoint")),
        format!("{}/orders", app.api("orders", "OrdersServiceEndpoint")),
        format!("{}/address", app.api("userprofile", "ProfileApiEndpoint")),
    ] {
        let missing = call(Method::GET, &url, None, None).await;
        assert_eq!(missing.status, 401, "{url}: {missing:?}");
        assert_eq!(missing.cors.as_deref(), Some("*"), "{url}");
        let bad = call(Method::GET, &url, Some(forged), None).await;
        assert_eq!(bad.status, 401, "{url}: {bad:?}");
    }
}

#[tokio::test]
async fn a_browser_preflight_without_a_token_is_200_on_every_api() {
    let app = app();
    let client = reqwest::Client::new();
    for (url, methods) in [
        (
            format!("{}/users/someone", app.api("users", "APIEndpoint")),
            "DELETE,GET,OPTIONS,PUT",
        ),
        (
            format!("{}/orders", app.api("orders", "OrdersServiceEndpoint")),
            "GET,OPTIONS,POST",
        ),
        (
            format!(
                "{}/favorite/r-1",
                app.api("userprofile", "ProfileApiEndpoint")
            ),
            "DELETE,OPTIONS",
        ),
    ] {
        let response = client
            .request(Method::OPTIONS, &url)
            .header("Origin", "https://app.example.com")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(response.status(), 200, "{url}");
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*", "{url}");
        assert_eq!(headers["access-control-allow-methods"], methods, "{url}");
        let allowed = headers["access-control-allow-headers"]
            .to_str()
            .expect("ASCII")
            .to_ascii_lowercase();
        for header in ["authorization", "content-type"] {
            assert!(allowed.split(',').any(|h| h == header), "{url}: {allowed}");
        }
        assert!(headers.contains_key("access-control-max-age"), "{url}");
    }
}

#[tokio::test]
async fn a_regular_user_reaches_only_their_own_record_and_an_admin_every_record() {
    let app = app();
    let api = app.api("users", "APIEndpoint");
    let admin = sign_up(app, true).await;
    let user = sign_up(app, false).await;
    let other = sign_up(app, false).await;

    let listed_by_user = call(
        Method::GET,
        &format!("{api}/users"),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(listed_by_user.status, 403, "{listed_by_user:?}");
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let body = (method == Method::PUT).then(|| json!({"name": "Not Mine"}));
        let url = format!("{api}/users/{}", other.sub);
        let foreign = call(method.clone(), &url, Some(&user.token), body.as_ref()).await;
        assert_eq!(
            foreign.status, 403,
            "{method} another user's record: {foreign:?}"
        );
    }

    let own = json!({"name": "Own Name", "email": user.email});
    let put = call(
        Method::PUT,
        &format!("{api}/users/{}", user.sub),
        Some(&user.token),
        Some(&own),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(put.body["userid"], user.sub.as_str());
    let got = call(
        Method::GET,
        &format!("{api}/users/{}", user.sub),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!((got.status, &got.body["name"]), (200, &json!("Own Name")));

    let created = call(
        Method::POST,
        &format!("{api}/users"),
        Some(&admin.token),
        Some(&json!({"name": "Made By Admin"})),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");
    let listed = call(
        Method::GET,
        &format!("{api}/users"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let ids: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["userid"].as_str())
        .collect();
    assert!(
        ids.contains(&user.sub.as_str()) && ids.contains(&created.body["userid"].as_str().unwrap())
    );
    let bad = call(
        Method::POST,
        &format!("{api}/users"),
        Some(&admin.token),
        Some(&json!({"name": 3})),
    )
    .await;
    assert_eq!(bad.status, 400, "{bad:?}");

    let deleted = call(
        Method::DELETE,
        &format!("{api}/users/{}", user.sub),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!((deleted.status, &deleted.body), (200, &json!({})));
}

#[tokio::test]
async fn a_token_of_another_app_client_is_401_and_a_missing_user_is_404() {
    let app = app();
    let clients = app.clients().await;
    let user = sign_up(app, true).await;
    let other_client = clients
        .cognito
        .create_user_pool_client()
        .user_pool_id(app.output("users", "UserPool"))
        .client_name(format!("other-{}", uuid::Uuid::new_v4().simple()))
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserPasswordAuth,
        )
        .send()
        .await
        .expect("create_user_pool_client")
        .user_pool_client
        .and_then(|c| c.client_id)
        .expect("a client id");
    let foreign_token = clients
        .cognito
        .initiate_auth()
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
        .client_id(other_client)
        .auth_parameters("USERNAME", &user.email)
        .auth_parameters("PASSWORD", crate::helpers::PASSWORD)
        .send()
        .await
        .expect("initiate_auth")
        .authentication_result
        .and_then(|r| r.id_token)
        .expect("an ID token");

    for url in [
        format!("{}/users", app.api("users", "APIEndpoint")),
        format!("{}/orders", app.api("orders", "OrdersServiceEndpoint")),
    ] {
        let refused = call(Method::GET, &url, Some(&foreign_token), None).await;
        assert_eq!(refused.status, 401, "{url}: {refused:?}");
    }

    let api = app.api("users", "APIEndpoint");
    let missing = call(
        Method::GET,
        &format!("{api}/users/{}", uuid::Uuid::new_v4()),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(missing.status, 404, "{missing:?}");
}

#[tokio::test]
async fn an_admin_lists_every_user_also_past_the_first_megabyte_of_the_table() {
    const USERS: usize = 1500;
    let app = app();
    let clients = app.clients().await;
    let table = app.output("users", "UsersTable");
    let admin = sign_up(app, true).await;

    // Items of the shape the users function stores, about 1 KB each: 1.5 MB in all, so
    // one Scan page cannot hold them.
    let timestamp = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("zero nanoseconds")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    let about = "x".repeat(1000);
    let ids: Vec<String> = (0..USERS)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    for chunk in ids.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|id| {
                let item = HashMap::from([
                    ("userid".to_owned(), AttributeValue::S(id.clone())),
                    ("name".to_owned(), AttributeValue::S(format!("Bulk {id}"))),
                    ("timestamp".to_owned(), AttributeValue::S(timestamp.clone())),
                    ("about".to_owned(), AttributeValue::S(about.clone())),
                ]);
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .expect("a put request has an item");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let mut attempts = 0;
        while !requests.is_empty() {
            attempts += 1;
            assert!(
                attempts <= 10,
                "items still unprocessed: {}",
                requests.len()
            );
            let out = clients
                .dynamodb
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .expect("batch_write_item");
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            if !requests.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempts)).await;
            }
        }
    }
    let first_page = clients
        .dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan");
    assert!(
        first_page.last_evaluated_key().is_some(),
        "the table fits one Scan page ({} items), so nothing pages",
        first_page.count()
    );

    let listed = call(
        Method::GET,
        &format!("{}/users", app.api("users", "APIEndpoint")),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(listed.status, 200, "status {}", listed.status);
    let returned: HashSet<&str> = listed
        .body
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|u| u["userid"].as_str())
        .collect();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !returned.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {USERS} users missing from GET /users ({} returned)",
        missing.len(),
        returned.len()
    );
}
