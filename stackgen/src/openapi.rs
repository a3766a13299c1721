//! OpenAPI 3.1 documents of the APIs, for client teams: every path and method with its path
//! parameters (and the patterns the gateway checks), the security scheme, the request body
//! schema, and the answers the gateway itself gives (a refused body, a refused token, a
//! refused path id, a failure) in the error shape every answer of the app shares. Written to
//! `generated/openapi/`, drift-checked like the templates.

use std::collections::BTreeMap;

use serde_json::{Map, json};

use crate::app::{App, Route};
use crate::model::{Api, Authorizer, Integration, Json, TokenShape};

/// Where the documents go, under `generated/`.
pub const DIR: &str = "openapi";

/// The name of the error schema every error answer uses.
const ERROR: &str = "Error";

/// Every API's document: `(path under generated/, JSON text)`, sorted.
pub fn documents(app: &App) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for service in &app.services {
        for (name, api) in &service.file().apis {
            let doc = document(
                service.name(),
                name.as_str(),
                api,
                service.routes(name.as_str()),
            );
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            out.push((format!("{DIR}/{}-{name}.json", service.name()), text));
        }
    }
    out.sort();
    out
}

/// The document of one API.
pub fn document(service: &str, name: &str, api: &Api, routes: &[Route]) -> Json {
    let mut paths: BTreeMap<&str, Map<String, Json>> = BTreeMap::new();
    for route in routes {
        let spec = &route.spec.route.value;
        let item = paths.entry(spec.path.as_str()).or_default();
        let parameters: Vec<Json> = spec
            .params()
            .into_iter()
            .map(|p| path_parameter(p, route))
            .collect();
        if !parameters.is_empty() {
            item.insert("parameters".into(), Json::Array(parameters));
        }
        item.insert(spec.method.as_str().to_ascii_lowercase(), operation(route));
    }
    let mut schemas: Map<String, Json> = api
        .models
        .iter()
        .map(|(k, v)| (k.to_string(), schema(&v.value)))
        .collect();
    schemas.insert(
        ERROR.into(),
        json!({
            "type": "object",
            "description": "Every error answer: what went wrong, for a person to read",
            "required": ["message"],
            "properties": {"message": {"type": "string"}},
        }),
    );
    let security: Map<String, Json> = api
        .authorizers
        .iter()
        .map(|(k, a)| (k.to_string(), security_scheme(a)))
        .collect();
    let mut components = json!({"schemas": schemas});
    if !security.is_empty() {
        components["securitySchemes"] = Json::Object(security);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{service} {name}"),
            "description": api.description,
            "version": "1.0",
        },
        "servers": [{
            "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
            "description": format!("The deployed stage: the stack output `{name}Endpoint`"),
            "variables": {
                "apiId": {"default": "api-id", "description": "The REST API's id"},
                "region": {"default": "us-east-1"},
                "stage": {"default": api.stage.as_str(), "enum": [api.stage.as_str()]},
            },
        }],
        "paths": paths,
        "components": components,
    })
}

/// A path parameter, with the pattern the gateway checks when the route has one.
fn path_parameter(param: &str, route: &Route) -> Json {
    let mut schema = json!({"type": "string", "minLength": 1});
    let mut p = json!({"name": param, "in": "path", "required": true});
    if let Some(check) = route.path_checks.iter().find(|c| c.param == param) {
        schema["pattern"] = json!(check.pattern);
        p["description"] = json!(format!("{}; anything else is 400", check.description));
    }
    p["schema"] = schema;
    p
}

/// A draft 4 request model as an OpenAPI 3.1 (JSON Schema 2020-12) schema: the same
/// keywords, without the draft's `$schema`.
fn schema(model: &Json) -> Json {
    let mut s = model.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("$schema");
    }
    s
}

/// How a client authenticates: the ID token in `Authorization`.
fn security_scheme(a: &Authorizer) -> Json {
    let description = match a {
        Authorizer::Cognito { .. } => {
            "A Cognito ID token of the app's user pool, as is (no `Bearer `)".to_owned()
        }
        Authorizer::Token { token_shape, .. } => {
            let shape = match token_shape {
                TokenShape::Jwt => {
                    "; anything not shaped like a JWT is 401 without reaching the authorizer"
                }
                TokenShape::Any => "",
            };
            format!(
                "A Cognito ID token of the app's user pool, checked by the API's authorizer function{shape}"
            )
        }
    };
    json!({"type": "apiKey", "in": "header", "name": "Authorization", "description": description})
}

/// One operation: what it calls, its body, and the answers the gateway and the integration
/// give.
fn operation(route: &Route) -> Json {
    let spec = &route.spec;
    let mut op = Map::new();
    op.insert(
        "operationId".into(),
        json!(operation_id(&spec.route.value.to_string())),
    );
    let security = match route.auth.authorizer() {
        Some(a) => json!([{ a: [] }]),
        None => json!([]),
    };
    op.insert("security".into(), security);
    if let Some(body) = &spec.body {
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}},
            }),
        );
    }
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{ERROR}")}}},
        })
    };
    let mut responses = Map::new();
    match &spec.integration.value {
        Integration::Function(f) => {
            op.insert(
                "description".into(),
                json!(format!(
                    "Served by the function `{f}`; its answers are on the service's docs page"
                )),
            );
            responses.insert(
                "2XX".into(),
                json!({"description": "The function's answer", "content": {"application/json": {}}}),
            );
            responses.insert(
                "4XX".into(),
                error("The function refused the request: its message says why"),
            );
        }
        Integration::PutEvents(p) => {
            op.insert(
                "description".into(),
                json!(format!(
                    "Puts a `{}` event on the bus `{}`; the service applies it asynchronously",
                    p.detail_type, p.bus
                )),
            );
            responses.insert("200".into(), json!({"description": "The event is on the bus", "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}}}));
        }
        Integration::SendMessage(s) => {
            op.insert(
                "description".into(),
                json!(format!(
                    "Sends a message to the queue `{}`; the service applies it asynchronously",
                    s.queue
                )),
            );
            responses.insert("200".into(), json!({"description": "The message is in the queue", "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}}}));
        }
    }
    let service_integration = !matches!(spec.integration.value, Integration::Function(_));
    if spec.body.is_some() || service_integration || !route.path_checks.is_empty() {
        responses.insert(
            "400".into(),
            error("The body does not match its schema, a path id its pattern, or the service refused a value"),
        );
    }
    if route.auth.authorizer().is_some() {
        responses.insert("401".into(), error("No token, or one that is not valid"));
        responses.insert("403".into(), error("The token does not allow this call"));
    }
    if service_integration {
        responses.insert("415".into(), error("The body is not JSON"));
    }
    responses.insert(
        "429".into(),
        error("Over the stage's or the route's rate limit"),
    );
    responses.insert("500".into(), error("Internal server error"));
    if !spec.responses.is_empty() {
        // The model says what the function answers: that replaces the generic ranges.
        responses.remove("2XX");
        responses.remove("4XX");
    }
    for (status, r) in &spec.responses {
        let schema = match (&r.body, status.value) {
            (Some(model), _) => Some(format!("#/components/schemas/{model}")),
            (None, 400..) => Some(format!("#/components/schemas/{ERROR}")),
            (None, _) => None,
        };
        let description = match responses.get(&status.value.to_string()) {
            Some(gateway) => format!(
                "{}; or: {}",
                r.description,
                gateway["description"].as_str().unwrap_or_default()
            ),
            None => r.description.clone(),
        };
        let mut answer = json!({"description": description});
        if let Some(schema) = schema {
            answer["content"] = json!({"application/json": {"schema": {"$ref": schema}}});
        }
        responses.insert(status.value.to_string(), answer);
    }
    op.insert("responses".into(), Json::Object(responses));
    Json::Object(op)
}

/// `getOrdersOrderId` from `GET /orders/{orderId}`.
fn operation_id(route: &str) -> String {
    let (method, path) = route.split_once(' ').unwrap_or((route, ""));
    let mut out = method.to_ascii_lowercase();
    let mut upper = true;
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::operation_id;

    #[test]
    fn an_operation_id_is_the_route_in_camel_case() {
        assert_eq!(operation_id("GET /orders/{orderId}"), "getOrdersOrderId");
        assert_eq!(
            operation_id("DELETE /favorite/{restaurantId}"),
            "deleteFavoriteRestaurantId"
        );
        assert_eq!(operation_id("POST /users"), "postUsers");
        assert_eq!(operation_id("GET /users/{userid}"), "getUsersUserid");
    }
}
