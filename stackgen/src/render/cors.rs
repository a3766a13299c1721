//! CORS: what a preflight is answered with, shared with the local gateway, and the
//! OPTIONS operation every path gets.

use std::collections::BTreeSet;

use serde_json::json;

use crate::model::Json;

/// `Access-Control-Allow-Headers` of a preflight answer: what the app's clients send, and
/// the headers of SigV4-signed and API key calls. `Authorization` is named because the
/// wildcard `*` does not cover it.
pub const CORS_ALLOW_HEADERS: &str =
    "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token";

/// `Access-Control-Max-Age` of a preflight answer, in seconds: browsers cache it this long
/// (Chromium caps it at two hours), so a change of a path's methods shows within minutes.
pub const CORS_MAX_AGE_SECONDS: u32 = 600;

/// The headers answering a CORS preflight on a path whose routes have `methods` (upper
/// case), sorted by name. The origin is `*`, as in every response of the handlers: the APIs
/// authenticate with a token in `Authorization`, never with cookies, so no origin needs to
/// be trusted. `Access-Control-Allow-Methods` is the path's methods and `OPTIONS`, sorted.
pub fn preflight_headers<'a>(
    methods: impl IntoIterator<Item = &'a str>,
) -> [(&'static str, String); 4] {
    let mut allowed: BTreeSet<&str> = methods.into_iter().collect();
    allowed.insert("OPTIONS");
    [
        (
            "Access-Control-Allow-Headers",
            CORS_ALLOW_HEADERS.to_owned(),
        ),
        (
            "Access-Control-Allow-Methods",
            allowed.into_iter().collect::<Vec<_>>().join(","),
        ),
        ("Access-Control-Allow-Origin", "*".to_owned()),
        ("Access-Control-Max-Age", CORS_MAX_AGE_SECONDS.to_string()),
    ]
}

/// The unauthenticated OPTIONS operation of a path: a mock integration answering 200 with
/// the [`preflight_headers`] and no body.
pub(super) fn preflight_operation<'a>(methods: impl IntoIterator<Item = &'a str>) -> Json {
    let headers = preflight_headers(methods);
    let declared: serde_json::Map<String, Json> = headers
        .iter()
        .map(|(name, _)| (name.to_string(), json!({"type": "string"})))
        .collect();
    let values: serde_json::Map<String, Json> = headers
        .iter()
        .map(|(name, value)| {
            (
                format!("method.response.header.{name}"),
                json!(format!("'{value}'")),
            )
        })
        .collect();
    json!({
        "summary": "CORS preflight",
        "produces": ["application/json"],
        "security": [],
        "responses": {"200": {"description": "CORS preflight answer", "headers": declared}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
            "passthroughBehavior": "when_no_match",
            "responses": {"default": {"statusCode": "200", "responseParameters": values}},
        },
    })
}
