//! Lambda proxy integrations: the v1 proxy event a function receives, and the HTTP response
//! made from what it returns.
//!
//! The event has every field API Gateway REST APIs send (`aws_lambda_events`'
//! `ApiGatewayProxyRequest` and `lambda_http` both read it; the tests parse it with each).
//! Maps with no entries are `null`, as on AWS. The body is passed as text when it is UTF-8,
//! else base64-encoded with `isBase64Encoded: true`.
//!
//! A response is malformed, and the gateway answers 502, when it is not an object, has no
//! integer `statusCode` from 100 to 599, has header values that are not strings, a `body`
//! that is not a string, or an `isBase64Encoded` body that is not base64.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

/// What the event is built from.
#[derive(Debug)]
pub struct ProxyRequest<'a> {
    /// The route's path as written in the model (`/orders/{orderId}`).
    pub resource: &'a str,
    /// API Gateway's id of that resource.
    pub resource_id: &'a str,
    /// The request path after the stage, as sent (`/orders/42`).
    pub path: &'a str,
    /// The upper-case method.
    pub method: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
    /// Path parameters, decoded.
    pub path_parameters: &'a BTreeMap<String, String>,
    /// `requestContext.authorizer`, when the route has an authorizer.
    pub authorizer: Option<&'a Value>,
    /// The caller's address.
    pub source_ip: &'a str,
    /// The request id (also the `x-amzn-RequestId` response header).
    pub request_id: &'a str,
    /// Milliseconds since the epoch when the request arrived.
    pub request_time_epoch: i64,
    /// The API's settings.
    pub api: &'a ApiInfo,
}

/// What every event of one API shares.
#[derive(Debug, Clone)]
pub struct ApiInfo {
    /// The API id (`requestContext.apiId`, part of the method ARN).
    pub api_id: String,
    /// The stage.
    pub stage: String,
    /// The account id.
    pub account_id: String,
    /// `host:port` the API listens on (`requestContext.domainName`).
    pub domain_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: Option<BTreeMap<&'a str, &'a str>>,
    multi_value_headers: Option<BTreeMap<&'a str, Vec<&'a str>>>,
    query_string_parameters: Option<BTreeMap<String, String>>,
    multi_value_query_string_parameters: Option<BTreeMap<String, Vec<String>>>,
    path_parameters: Option<&'a BTreeMap<String, String>>,
    stage_variables: Option<BTreeMap<String, String>>,
    request_context: Context<'a>,
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Context<'a> {
    resource_id: &'a str,
    resource_path: &'a str,
    http_method: &'a str,
    extended_request_id: &'a str,
    request_time: String,
    path: String,
    account_id: &'a str,
    protocol: &'static str,
    stage: &'a str,
    domain_prefix: &'a str,
    request_time_epoch: i64,
    request_id: &'a str,
    identity: Identity<'a>,
    domain_name: &'a str,
    api_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<&'a Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    cognito_identity_pool_id: Option<&'a str>,
    account_id: Option<&'a str>,
    cognito_identity_id: Option<&'a str>,
    caller: Option<&'a str>,
    source_ip: &'a str,
    principal_org_id: Option<&'a str>,
    access_key: Option<&'a str>,
    cognito_authentication_type: Option<&'a str>,
    cognito_authentication_provider: Option<&'a str>,
    user_arn: Option<&'a str>,
    user_agent: Option<&'a str>,
    user: Option<&'a str>,
}

/// The event as JSON text.
pub fn event(r: &ProxyRequest<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let mut headers = BTreeMap::new();
    let mut multi: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in r.headers {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str(), value);
            multi.entry(name.as_str()).or_default().push(value);
        }
    }
    let (query, multi_query) = query_parameters(r.query);
    let (body, is_base64_encoded) = match (r.body.is_empty(), std::str::from_utf8(r.body)) {
        (true, _) => (None, false),
        (false, Ok(text)) => (Some(Cow::Borrowed(text)), false),
        (false, Err(_)) => (
            Some(Cow::Owned(
                base64::engine::general_purpose::STANDARD.encode(r.body),
            )),
            true,
        ),
    };
    let domain_prefix = r
        .api
        .domain_name
        .split(['.', ':'])
        .next()
        .unwrap_or_default();
    let event = Event {
        resource: r.resource,
        path: r.path,
        http_method: r.method,
        headers: (!headers.is_empty()).then_some(headers),
        multi_value_headers: (!multi.is_empty()).then_some(multi),
        query_string_parameters: query,
        multi_value_query_string_parameters: multi_query,
        path_parameters: (!r.path_parameters.is_empty()).then_some(r.path_parameters),
        stage_variables: None,
        request_context: Context {
            resource_id: r.resource_id,
            resource_path: r.resource,
            http_method: r.method,
            extended_request_id: r.request_id,
            request_time: request_time(r.request_time_epoch),
            path: format!("/{}{}", r.api.stage, r.path),
            account_id: &r.api.account_id,
            protocol: "HTTP/1.1",
            stage: &r.api.stage,
            domain_prefix,
            request_time_epoch: r.request_time_epoch,
            request_id: r.request_id,
            identity: Identity {
                cognito_identity_pool_id: None,
                account_id: None,
                cognito_identity_id: None,
                caller: None,
                source_ip: r.source_ip,
                principal_org_id: None,
                access_key: None,
                cognito_authentication_type: None,
                cognito_authentication_provider: None,
                user_arn: None,
                user_agent: r.headers.get("user-agent").and_then(|v| v.to_str().ok()),
                user: None,
            },
            domain_name: &r.api.domain_name,
            api_id: &r.api.api_id,
            authorizer: r.authorizer,
        },
        body,
        is_base64_encoded,
    };
    serde_json::to_vec(&event)
}

type Query = (
    Option<BTreeMap<String, String>>,
    Option<BTreeMap<String, Vec<String>>>,
);

/// `queryStringParameters` (the last value of each name) and the multi-value form.
fn query_parameters(query: Option<&str>) -> Query {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return (None, None);
    };
    let mut single = BTreeMap::new();
    let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = super::routes::percent_decode(name, true);
        let value = super::routes::percent_decode(value, true);
        single.insert(name.clone(), value.clone());
        multi.entry(name).or_default().push(value);
    }
    if single.is_empty() {
        (None, None)
    } else {
        (Some(single), Some(multi))
    }
}

/// `requestContext.requestTime`: `26/Nov/2026:01:02:03 +0000`.
fn request_time(epoch_ms: i64) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from_unix_timestamp(epoch_ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The HTTP response a function's proxy response stands for.
#[derive(Debug)]
pub struct ProxyResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers, in order, repeated names kept.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, base64-decoded when the function said so.
    pub body: Bytes,
}

/// The function's response is not a proxy response.
#[derive(Debug, thiserror::Error)]
#[error("malformed Lambda proxy response: {0}")]
pub struct MalformedResponse(&'static str);

/// Reads a function's proxy response.
pub fn response(value: &Value) -> Result<ProxyResponse, MalformedResponse> {
    let object = value
        .as_object()
        .ok_or(MalformedResponse("not an object"))?;
    let status = object
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or(MalformedResponse("statusCode is not an HTTP status"))?;
    let mut headers = Vec::new();
    let mut multi_names = Vec::new();
    if let Some(multi) = non_null(object.get("multiValueHeaders")) {
        let multi = multi
            .as_object()
            .ok_or(MalformedResponse("multiValueHeaders is not an object"))?;
        for (name, values) in multi {
            let name = header_name(name)?;
            let values = values
                .as_array()
                .ok_or(MalformedResponse("a multiValueHeaders entry is not a list"))?;
            for v in values {
                headers.push((name.clone(), header_value(v)?));
            }
            multi_names.push(name);
        }
    }
    if let Some(single) = non_null(object.get("headers")) {
        let single = single
            .as_object()
            .ok_or(MalformedResponse("headers is not an object"))?;
        for (name, value) in single {
            let name = header_name(name)?;
            if !multi_names.contains(&name) {
                headers.push((name, header_value(value)?));
            }
        }
    }
    let base64 = match non_null(object.get("isBase64Encoded")) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(MalformedResponse("isBase64Encoded is not a boolean")),
    };
    let body = match non_null(object.get("body")) {
        None => Bytes::new(),
        Some(Value::String(s)) if base64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Bytes::from)
            .map_err(|_| MalformedResponse("the body is not base64"))?,
        Some(Value::String(s)) => Bytes::copy_from_slice(s.as_bytes()),
        Some(_) => return Err(MalformedResponse("body is not a string")),
    };
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

fn non_null(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn header_name(name: &str) -> Result<HeaderName, MalformedResponse> {
    HeaderName::try_from(name).map_err(|_| MalformedResponse("a header name is not valid"))
}

fn header_value(value: &Value) -> Result<HeaderValue, MalformedResponse> {
    let text: Cow<'_, str> = match value {
        Value::String(s) => Cow::Borrowed(s),
        // API Gateway prints numbers and booleans as they are written.
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        _ => return Err(MalformedResponse("a header value is not a string")),
    };
    HeaderValue::try_from(text.as_ref())
        .map_err(|_| MalformedResponse("a header value is not valid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api() -> ApiInfo {
        ApiInfo {
            api_id: "ordersapi".into(),
            stage: "Prod".into(),
            account_id: "000000000000".into(),
            domain_name: "127.0.0.1:4000".into(),
        }
    }

    fn sample(body: &[u8], query: Option<&str>, authorizer: Option<&Value>) -> Value {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        headers.insert("user-agent", HeaderValue::from_static("test"));
        let params = BTreeMap::from([("orderId".to_string(), "o 1".to_string())]);
        let api = api();
        let request = ProxyRequest {
            resource: "/orders/{orderId}",
            resource_id: "abc123",
            path: "/orders/o%201",
            method: "GET",
            query,
            headers: &headers,
            body,
            path_parameters: &params,
            authorizer,
            source_ip: "127.0.0.1",
            request_id: "req-1",
            request_time_epoch: 1_764_118_923_456,
            api: &api,
        };
        serde_json::from_slice(&event(&request).unwrap()).unwrap()
    }

    #[test]
    fn the_event_has_the_v1_shape() {
        let authorizer = json!({"claims": {"sub": "u-1", "cognito:groups": "a,b"}});
        let e = sample(
            b"{\"a\":1}",
            Some("x=1&x=2&y=a%20b&flag"),
            Some(&authorizer),
        );
        assert_eq!(e["resource"], "/orders/{orderId}");
        assert_eq!(e["path"], "/orders/o%201");
        assert_eq!(e["httpMethod"], "GET");
        assert_eq!(e["headers"]["x-multi"], "b");
        assert_eq!(e["multiValueHeaders"]["x-multi"], json!(["a", "b"]));
        assert_eq!(
            e["queryStringParameters"],
            json!({"x": "2", "y": "a b", "flag": ""})
        );
        assert_eq!(e["multiValueQueryStringParameters"]["x"], json!(["1", "2"]));
        assert_eq!(e["pathParameters"], json!({"orderId": "o 1"}));
        assert_eq!(e["stageVariables"], Value::Null);
        assert_eq!(e["body"], "{\"a\":1}");
        assert_eq!(e["isBase64Encoded"], false);
        let c = &e["requestContext"];
        assert_eq!(c["resourcePath"], "/orders/{orderId}");
        assert_eq!(c["httpMethod"], "GET");
        assert_eq!(c["stage"], "Prod");
        assert_eq!(c["path"], "/Prod/orders/o%201");
        assert_eq!(c["requestId"], "req-1");
        assert_eq!(c["requestTimeEpoch"], 1_764_118_923_456_i64);
        assert_eq!(c["requestTime"], "26/Nov/2025:01:02:03 +0000");
        assert_eq!(c["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(c["identity"]["userAgent"], "test");
        assert_eq!(c["apiId"], "ordersapi");
        assert_eq!(c["accountId"], "000000000000");
        assert_eq!(c["authorizer"]["claims"]["sub"], "u-1");
    }

    #[test]
    fn both_event_readers_accept_it() {
        let authorizer = json!({"principalId": "u-1", "sub": "u-1", "isAdmin": "true"});
        for e in [
            sample(b"", None, None),
            sample(b"{}", Some("a=1"), Some(&authorizer)),
            sample(&[0xff, 0xfe], None, None),
        ] {
            let text = serde_json::to_string(&e).unwrap();
            let typed: aws_lambda_events::apigw::ApiGatewayProxyRequest =
                serde_json::from_str(&text).unwrap();
            assert_eq!(typed.path.as_deref(), Some("/orders/o%201"));
            assert_eq!(
                typed.path_parameters.get("orderId").map(String::as_str),
                Some("o 1")
            );
            let request = lambda_http::request::from_str(&text).unwrap();
            assert_eq!(request.method(), "GET");
        }
    }

    #[test]
    fn a_binary_body_is_base64_and_an_empty_one_is_null() {
        let e = sample(&[0xff, 0xfe], None, None);
        assert_eq!(e["body"], "//4=");
        assert_eq!(e["isBase64Encoded"], true);
        let e = sample(b"", None, None);
        assert_eq!(e["body"], Value::Null);
        assert_eq!(e["queryStringParameters"], Value::Null);
        assert!(e["requestContext"].get("authorizer").is_none());
    }

    #[test]
    fn a_response_maps_status_headers_and_body() {
        let r = response(&json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-one": "1", "x-both": "single"},
            "multiValueHeaders": {"x-both": ["m1", "m2"]},
            "body": "{\"ok\":true}",
        }))
        .unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(&r.body[..], b"{\"ok\":true}");
        let both: Vec<_> = r
            .headers
            .iter()
            .filter(|(n, _)| n == "x-both")
            .map(|(_, v)| v.clone())
            .collect();
        assert_eq!(both, ["m1", "m2"]);
        assert!(r.headers.iter().any(|(n, v)| n == "x-one" && v == "1"));
    }

    #[test]
    fn a_base64_body_is_decoded() {
        let r =
            response(&json!({"statusCode": 200, "body": "//4=", "isBase64Encoded": true})).unwrap();
        assert_eq!(&r.body[..], &[0xff, 0xfe]);
    }

    #[test]
    fn malformed_responses_are_rejected() {
        for bad in [
            json!("just a string"),
            json!({"body": "no status"}),
            json!({"statusCode": "200"}),
            json!({"statusCode": 42}),
            json!({"statusCode": 200, "body": {"an": "object"}}),
            json!({"statusCode": 200, "headers": {"x": {"nested": 1}}}),
            json!({"statusCode": 200, "headers": {"bad name": "x"}}),
            json!({"statusCode": 200, "body": "***", "isBase64Encoded": true}),
        ] {
            assert!(response(&bad).is_err(), "{bad}");
        }
    }
}
