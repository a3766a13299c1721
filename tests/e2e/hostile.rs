//! Hostile input over every route: malformed JSON, wrong types, numbers DynamoDB cannot
//! hold, deep nesting, huge strings, control characters, unicode edge cases, missing and
//! extra fields, odd path parameters and query strings. Whatever a client sends, the
//! answer is never a 5xx; a request the contract refuses is a 4xx and writes nothing.
//! And a user with a valid token of their own can neither read nor change another's data
//! through any route.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ASYNC_WAIT, App, User, app, call, eventually, sign_up};

/// One request of the suite.
struct Probe {
    what: String,
    method: Method,
    url: String,
    token: String,
    body: Option<Vec<u8>>,
    /// The contract refuses it: a 4xx, and nothing written.
    refused: bool,
}

/// Bodies every JSON route refuses, whatever its fields: not JSON, not UTF-8, not an object.
fn malformed(marker: &str) -> Vec<(String, Vec<u8>)> {
    let texts = [
        String::new(),
        "{".to_owned(),
        format!("{{\"name\": \"{marker}\""),
        format!("{{\"name\": \"{marker}\",}}"),
        "nul".to_owned(),
        format!("[\"{marker}\", 2"),
        format!("{{\"name\": \"{marker}\u{0}\"}}"),
        format!("{{'name': '{marker}'}}"),
        "[]".to_owned(),
        format!("\"{marker}\""),
        "42".to_owned(),
        "null".to_owned(),
        "true".to_owned(),
        "{}".to_owned(),
    ];
    let mut bodies: Vec<(String, Vec<u8>)> = texts
        .into_iter()
        .map(|t| (format!("body {t:?}"), t.into_bytes()))
        .collect();
    let mut invalid_utf8 = format!("{{\"name\": \"{marker}").into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe\"}");
    bodies.push(("invalid UTF-8".to_owned(), invalid_utf8));
    bodies
}

/// Puts a value somewhere in a body that the route stores as sent.
type Place<'a> = &'a dyn Fn(&Value, Value) -> Value;

/// A required field and values of it the route refuses.
type Required<'a> = (&'a str, Vec<Value>);

/// `base` without each required field, and with each of the field's refused values.
fn field_errors(base: &Value, required: &[Required<'_>]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (field, refused) in required {
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove(*field);
        out.push((format!("without {field}"), missing));
        for value in refused {
            let mut typed = base.clone();
            typed[*field] = value.clone();
            let shown: String = value.to_string().chars().take(40).collect();
            out.push((format!("{field} = {shown}"), typed));
        }
    }
    out
}

/// A JSON value nested `depth` arrays deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("x"), |inner, _| json!([inner]))
}

/// Values DynamoDB refuses in an item (400 or 413 before any write).
fn unstorable() -> Vec<(String, Value)> {
    vec![
        ("1e300".to_owned(), serde_json::from_str("1e300").unwrap()),
        ("1e-300".to_owned(), serde_json::from_str("1e-300").unwrap()),
        ("-1e200".to_owned(), serde_json::from_str("-1e200").unwrap()),
        (
            "39 significant digits".to_owned(),
            serde_json::from_str("1.23456789012345678901234567890123456789").unwrap(),
        ),
        ("nested 40 deep".to_owned(), nested(40)),
        ("an empty key".to_owned(), json!({"": 1})),
        ("a 1 MB string".to_owned(), json!("x".repeat(1 << 20))),
    ]
}

/// Text a client may well send in a string field: stored or refused, never a 5xx.
fn edge_strings() -> Vec<String> {
    [
        "é",
        "\u{2028}\u{2029}",
        "😀",
        "\u{feff}bom",
        "a\u{0}b",
        "\u{1}",
        "<script>alert(1)</script>",
        "'; DROP TABLE users; --",
        "${AWS::Region}",
        "#set($x = 1)$x",
        " ",
        "\u{fffe}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([String::from("x").repeat(10_000)])
    .collect()
}

/// Path segments a client may send as an id: answered, never a 5xx.
const ODD_IDS: [&str; 17] = [
    "%2F",
    "..",
    "%2E%2E",
    "%20",
    "%00",
    "a%2Fb",
    "%25",
    "%E2%80%A8",
    "%C3%A9",
    "%FF",
    "*",
    "%0A",
    "%09",
    "%7B%7D",
    "%22",
    "'",
    "%3Cx%3E",
];

struct Suite {
    probes: Vec<Probe>,
}

impl Suite {
    fn push(
        &mut self,
        what: String,
        method: Method,
        url: String,
        user: &User,
        body: Option<Vec<u8>>,
        refused: bool,
    ) {
        self.probes.push(Probe {
            what,
            method,
            url,
            token: user.token.clone(),
            body,
            refused,
        });
    }

    /// Every malformed body, field error and unstorable value for a JSON write route.
    #[allow(clippy::too_many_arguments)]
    fn refuse_bodies(
        &mut self,
        method: Method,
        url: &str,
        user: &User,
        marker: &str,
        base: &Value,
        required: &[Required<'_>],
        unstorable_at: Option<Place<'_>>,
    ) {
        for (what, body) in malformed(marker) {
            self.push(
                format!("{method} {url}: {what}"),
                method.clone(),
                url.to_owned(),
                user,
                Some(body),
                true,
            );
        }
        for (what, body) in field_errors(base, required) {
            self.push(
                format!("{method} {url}: {what}"),
                method.clone(),
                url.to_owned(),
                user,
                Some(body.to_string().into_bytes()),
                true,
            );
        }
        if let Some(place) = unstorable_at {
            for (what, value) in unstorable() {
                let body = place(base, value);
                self.push(
                    format!("{method} {url}: {what}"),
                    method.clone(),
                    url.to_owned(),
                    user,
                    Some(body.to_string().into_bytes()),
                    true,
                );
            }
            // A lone surrogate is not Unicode: no store can keep it as sent.
            let text = base.to_string();
            let body = text.replacen(marker, &format!("{marker}\\ud800"), 1);
            self.push(
                format!("{method} {url}: a lone surrogate"),
                method.clone(),
                url.to_owned(),
                user,
                Some(body.into_bytes()),
                true,
            );
        }
    }
}

async fn send(probe: &Probe) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client
        .request(probe.method.clone(), &probe.url)
        .header("Authorization", &probe.token);
    if let Some(body) = &probe.body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.clone());
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

/// Items of `table` whose text holds `marker`.
async fn items_with(app: &App, table: &str, marker: &str) -> Vec<String> {
    let clients = app.clients().await;
    let items: Vec<std::collections::HashMap<String, AttributeValue>> = clients
        .dynamodb
        .scan()
        .table_name(table)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("scan");
    items
        .into_iter()
        .map(|item| format!("{item:?}"))
        .filter(|text| text.contains(marker))
        .collect()
}

#[tokio::test]
async fn no_request_body_path_or_query_gets_a_5xx_and_a_refused_one_writes_nothing() {
    let app = app();
    let (admin, sender, other) =
        tokio::join!(sign_up(app, true), sign_up(app, false), sign_up(app, false));
    let marker = format!("hostile-{}", uuid::Uuid::new_v4().simple());
    let users = app.api("users", "APIEndpoint");
    let orders = app.api("orders", "OrdersServiceEndpoint");
    let profile = app.api("userprofile", "ProfileApiEndpoint");
    let mut suite = Suite { probes: Vec::new() };
    let not_strings = || vec![json!(5), json!(true), json!(null), json!([]), json!({})];

    // users: an object with a string `name`; the object is stored, so its values must fit.
    let user_body = json!({"name": marker, "userid": format!("{marker}-u"), "note": "n"});
    let in_note: Place<'_> = &|base, value| {
        let mut b = base.clone();
        b["note"] = value;
        b
    };
    suite.refuse_bodies(
        Method::POST,
        &format!("{users}/users"),
        &admin,
        &marker,
        &user_body,
        &[("name", not_strings())],
        Some(in_note),
    );
    suite.refuse_bodies(
        Method::PUT,
        &format!("{users}/users/{}", sender.sub),
        &sender,
        &marker,
        &user_body,
        &[("name", not_strings())],
        Some(in_note),
    );

    // orders: the four fields; items are stored as sent, so theirs must fit.
    let order_body = json!({"restaurantId": marker, "orderId": format!("{marker}-o"), "orderItems": [{"id": "i-1", "name": marker}], "totalAmount": 3});
    let in_items: Place<'_> = &|base, value| {
        let mut b = base.clone();
        b["orderItems"][0]["extra"] = value;
        b
    };
    let id = || {
        vec![
            json!(true),
            json!(null),
            json!([]),
            json!({}),
            json!(""),
            json!("   "),
        ]
    };
    let items = || vec![json!("x"), json!({}), json!([]), json!(5), json!(null)];
    let amount = || vec![json!("1"), json!(-1), json!(null), json!([]), json!(true)];
    let order_fields = [
        ("restaurantId", id()),
        ("orderId", id()),
        ("orderItems", items()),
        ("totalAmount", amount()),
    ];
    suite.refuse_bodies(
        Method::POST,
        &format!("{orders}/orders"),
        &sender,
        &marker,
        &order_body,
        &order_fields,
        Some(in_items),
    );
    let mut edit_body = order_body.clone();
    edit_body.as_object_mut().unwrap().remove("orderId");
    // The same fields, but an edit names the order in its path, not its body.
    let edit_fields: Vec<_> = order_fields
        .iter()
        .filter(|(field, _)| *field != "orderId")
        .cloned()
        .collect();
    suite.refuse_bodies(
        Method::PUT,
        &format!("{orders}/orders/{marker}-o"),
        &sender,
        &marker,
        &edit_body,
        &edit_fields,
        Some(in_items),
    );

    // userprofile: five strings for an address, one for a favorite (checked by the gateway).
    let address_body =
        json!({"line1": marker, "line2": "l2", "city": "c", "stateProvince": "s", "postal": "p"});
    let address_fields =
        ["line1", "line2", "city", "stateProvince", "postal"].map(|f| (f, not_strings()));
    suite.refuse_bodies(
        Method::POST,
        &format!("{profile}/address"),
        &sender,
        &marker,
        &address_body,
        &address_fields,
        None,
    );
    suite.refuse_bodies(
        Method::PUT,
        &format!("{profile}/address/{marker}-a"),
        &sender,
        &marker,
        &address_body,
        &address_fields,
        None,
    );
    let favorite_refused = vec![
        json!(5),
        json!(null),
        json!([]),
        json!(""),
        json!(format!("{marker}\u{1}")),
        json!(format!("{marker}{}", "r".repeat(300))),
    ];
    suite.refuse_bodies(
        Method::POST,
        &format!("{profile}/favorite"),
        &sender,
        &marker,
        &json!({"restaurantId": marker}),
        &[("restaurantId", favorite_refused)],
        None,
    );

    // Allowed, or refused for a reason of its own: unicode edge cases in every string a
    // client names, odd ids in every path, odd list queries, extra fields the gateway
    // ignores. Sent by another user, so the refused ones above stay the sender's alone.
    let run = uuid::Uuid::new_v4().simple().to_string();
    for (i, s) in edge_strings().into_iter().enumerate() {
        for (url, body) in [
            (format!("{users}/users/{}", other.sub), json!({"name": s})),
            (
                format!("{orders}/orders"),
                json!({"restaurantId": s, "orderId": format!("edge-{i}-{run}"), "orderItems": [{"id": s}], "totalAmount": 1}),
            ),
            (
                format!("{profile}/address"),
                json!({"line1": s, "line2": s, "city": s, "stateProvince": s, "postal": s}),
            ),
            (format!("{profile}/favorite"), json!({"restaurantId": s})),
        ] {
            let method = if url.contains("/users/") {
                Method::PUT
            } else {
                Method::POST
            };
            let shown: String = s.chars().take(20).collect();
            suite.push(
                format!("{method} {url}: string {shown:?}"),
                method,
                url,
                &other,
                Some(body.to_string().into_bytes()),
                false,
            );
        }
    }
    for id in ODD_IDS
        .iter()
        .map(|s| s.to_string())
        .chain(["x".repeat(2048)])
    {
        for (method, url) in [
            (Method::GET, format!("{users}/users/{id}")),
            (Method::PUT, format!("{users}/users/{id}")),
            (Method::DELETE, format!("{users}/users/{id}")),
            (Method::GET, format!("{orders}/orders/{id}")),
            (Method::PUT, format!("{orders}/orders/{id}")),
            (Method::DELETE, format!("{orders}/orders/{id}")),
            (Method::PUT, format!("{profile}/address/{id}")),
            (Method::DELETE, format!("{profile}/address/{id}")),
            (Method::DELETE, format!("{profile}/favorite/{id}")),
        ] {
            let body = match method {
                Method::PUT if url.starts_with(&users) => Some(json!({"name": "n"})),
                Method::PUT if url.starts_with(&orders) => Some(
                    json!({"restaurantId": "r", "orderItems": [{"id": "1"}], "totalAmount": 1}),
                ),
                Method::PUT => Some(
                    json!({"line1": "1", "line2": "2", "city": "c", "stateProvince": "s", "postal": "p"}),
                ),
                _ => None,
            };
            let body = body.map(|b| b.to_string().into_bytes());
            suite.push(
                format!("{method} {url:.120}"),
                method,
                url,
                &other,
                body,
                false,
            );
        }
    }
    for query in [
        "limit=0",
        "limit=-1",
        "limit=1001",
        "limit=abc",
        "limit=1e3",
        "limit=",
        "nextToken=%",
        "nextToken=AAAA",
        "nextToken=",
        "limit=1&limit=2",
    ] {
        for (user, url) in [
            (&admin, format!("{users}/users?{query}")),
            (&other, format!("{orders}/orders?{query}")),
            (&other, format!("{profile}/address?{query}")),
            (&other, format!("{profile}/favorite?{query}")),
        ] {
            suite.push(format!("GET {url}"), Method::GET, url, user, None, false);
        }
    }
    for (method, url) in [
        (Method::PATCH, format!("{users}/users/{}", other.sub)),
        (Method::POST, format!("{orders}/orders/o-1")),
        (Method::PUT, format!("{profile}/address")),
        (Method::GET, format!("{profile}/favorite/r-1")),
        (Method::DELETE, format!("{orders}/orders")),
    ] {
        suite.push(
            format!("{method} {url} (no such route)"),
            method,
            url,
            &other,
            None,
            false,
        );
    }

    let probes = suite.probes;
    assert!(probes.len() >= 500, "only {} requests", probes.len());
    let refused = probes.iter().filter(|p| p.refused).count();
    let probes = Arc::new(probes);
    let mut workers = tokio::task::JoinSet::new();
    const WORKERS: usize = 8;
    for w in 0..WORKERS {
        let probes = probes.clone();
        workers.spawn(async move {
            let mut failures = Vec::new();
            for probe in probes.iter().skip(w).step_by(WORKERS) {
                match send(probe).await {
                    Ok(status) if status >= 500 => {
                        failures.push(format!("{} -> {status}", probe.what))
                    }
                    Ok(status) if probe.refused && !(400..500).contains(&status) => {
                        failures.push(format!("{} -> {status}, not refused", probe.what))
                    }
                    Ok(_) => {}
                    Err(e) => failures.push(format!("{} -> no answer: {e}", probe.what)),
                }
            }
            failures
        });
    }
    let mut failures: Vec<String> = Vec::new();
    while let Some(result) = workers.join_next().await {
        failures.extend(result.expect("a worker"));
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} requests ({refused} to be refused) went wrong:\n{}",
        failures.len(),
        probes.len(),
        failures.join("\n")
    );

    // Nothing a refused request carried reached a table, now or through a queue or bus.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (service, table) in [
        ("users", "UsersTable"),
        ("orders", "OrdersTable"),
        ("userprofile", "AddressTable"),
        ("userprofile", "FavoritesTable"),
    ] {
        let written = items_with(app, app.output(service, table), &marker).await;
        assert!(
            written.is_empty(),
            "{table} holds what a refused request sent: {written:?}"
        );
    }
}

/// Everything `user` can read of their own data, through the APIs.
async fn everything_of(user: &User, order_id: &str) -> Value {
    let app = app();
    let get = |url: String| async move {
        let r = call(Method::GET, &url, Some(&user.token), None).await;
        json!({"status": r.status, "body": r.body})
    };
    json!({
        "user": get(format!("{}/users/{}", app.api("users", "APIEndpoint"), user.sub)).await,
        "order": get(format!("{}/orders/{order_id}", app.api("orders", "OrdersServiceEndpoint"))).await,
        "orders": get(format!("{}/orders", app.api("orders", "OrdersServiceEndpoint"))).await,
        "addresses": get(format!("{}/address", app.api("userprofile", "ProfileApiEndpoint"))).await,
        "favorites": get(format!("{}/favorite", app.api("userprofile", "ProfileApiEndpoint"))).await,
    })
}

#[tokio::test]
async fn no_route_reads_or_writes_another_users_data() {
    let app = app();
    let (victim, intruder) = tokio::join!(sign_up(app, false), sign_up(app, false));
    let users = app.api("users", "APIEndpoint");
    let orders = app.api("orders", "OrdersServiceEndpoint");
    let profile = app.api("userprofile", "ProfileApiEndpoint");
    let restaurant = format!("r-{}", uuid::Uuid::new_v4().simple());
    let order_id = uuid::Uuid::new_v4().to_string();
    let address = json!({"line1": "1 Main St", "line2": "", "city": "Springfield", "stateProvince": "OR", "postal": "97403"});
    let ok = |r: crate::helpers::Response| assert_eq!(r.status, 200, "{r:?}");
    ok(call(
        Method::PUT,
        &format!("{users}/users/{}", victim.sub),
        Some(&victim.token),
        Some(&json!({"name": "Victim"})),
    )
    .await);
    ok(call(Method::POST, &format!("{orders}/orders"), Some(&victim.token), Some(&json!({"restaurantId": restaurant, "orderId": order_id, "orderItems": [{"id": "i-1"}], "totalAmount": 5}))).await);
    ok(call(
        Method::POST,
        &format!("{profile}/address"),
        Some(&victim.token),
        Some(&address),
    )
    .await);
    ok(call(
        Method::POST,
        &format!("{profile}/favorite"),
        Some(&victim.token),
        Some(&json!({"restaurantId": restaurant})),
    )
    .await);
    let before = eventually("the victim's address and favorite", ASYNC_WAIT, || async {
        let all = everything_of(&victim, &order_id).await;
        let listed = |k: &str, f: &str| all[k]["body"][f].as_array().is_some_and(|a| !a.is_empty());
        (listed("addresses", "addresses") && listed("favorites", "favorites")).then_some(all)
    })
    .await;
    let address_id = before["addresses"]["body"]["addresses"][0]["address_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The intruder, with a valid token of their own, names the victim's ids on every route.
    let changed = json!({"line1": "Intruder Ave", "line2": "", "city": "X", "stateProvince": "X", "postal": "0"});
    let order_body =
        json!({"restaurantId": "evil", "orderItems": [{"id": "evil"}], "totalAmount": 0});
    let attempts = [
        (
            Method::GET,
            format!("{users}/users/{}", victim.sub),
            None,
            403,
        ),
        (
            Method::PUT,
            format!("{users}/users/{}", victim.sub),
            Some(json!({"name": "evil"})),
            403,
        ),
        (
            Method::DELETE,
            format!("{users}/users/{}", victim.sub),
            None,
            403,
        ),
        (Method::GET, format!("{users}/users"), None, 403),
        (
            Method::GET,
            format!("{orders}/orders/{order_id}"),
            None,
            404,
        ),
        (
            Method::PUT,
            format!("{orders}/orders/{order_id}"),
            Some(order_body),
            404,
        ),
        (
            Method::DELETE,
            format!("{orders}/orders/{order_id}"),
            None,
            404,
        ),
        // Asynchronous: accepted for the intruder's own data, of which there is none.
        (
            Method::PUT,
            format!("{profile}/address/{address_id}"),
            Some(changed),
            200,
        ),
        (
            Method::DELETE,
            format!("{profile}/address/{address_id}"),
            None,
            200,
        ),
        (
            Method::DELETE,
            format!("{profile}/favorite/{restaurant}"),
            None,
            200,
        ),
    ];
    for (method, url, body, status) in attempts {
        let r = call(method.clone(), &url, Some(&intruder.token), body.as_ref()).await;
        assert_eq!(r.status, status, "{method} {url}: {r:?}");
        let text = r.body.to_string();
        for secret in [
            victim.sub.as_str(),
            restaurant.as_str(),
            address_id.as_str(),
        ] {
            assert!(
                !text.contains(secret),
                "{method} {url} showed {secret}: {text}"
            );
        }
    }
    // The intruder's lists show nothing of the victim's.
    let theirs = everything_of(&intruder, &order_id).await;
    for (key, field) in [
        ("orders", "orders"),
        ("addresses", "addresses"),
        ("favorites", "favorites"),
    ] {
        assert_eq!(theirs[key]["body"][field], json!([]), "{key}: {theirs}");
    }

    // Once the intruder's asynchronous commands were applied (their own marker shows up
    // after them), the victim's data is exactly as it was.
    ok(call(
        Method::POST,
        &format!("{profile}/favorite"),
        Some(&intruder.token),
        Some(&json!({"restaurantId": "marker"})),
    )
    .await);
    ok(call(
        Method::POST,
        &format!("{profile}/address"),
        Some(&intruder.token),
        Some(&address),
    )
    .await);
    eventually(
        "the intruder's own commands applied",
        ASYNC_WAIT,
        || async {
            let mine = everything_of(&intruder, &order_id).await;
            let count = |k: &str, f: &str| mine[k]["body"][f].as_array().map_or(0, Vec::len);
            (count("addresses", "addresses") == 1 && count("favorites", "favorites") == 1)
                .then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(everything_of(&victim, &order_id).await, before);
}
