//! The users API behind the Lambda TOKEN authorizer, and what the gateway refuses for
//! every API.

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
