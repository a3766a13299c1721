//! REST APIs: the `AWS::Serverless::Api` with its whole OpenAPI (Swagger 2.0) body, the
//! role API Gateway assumes for service integrations, and the permissions letting it invoke
//! functions and authorizers.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Value;
use serde::Serialize;
use serde_json::json;

use super::callees::Callees;
use super::cors::preflight_operation;
use super::expr::{arn_of, camel, get_att, sub};
use super::{NamedProps, cfn, named};
use crate::app::Route;
use crate::check::Scope;
use crate::model::{Api, Authorizer, Integration, Json, PutEvents, SendMessage, Throttle};
use crate::vtl::{self, CallerSource, PathCheck};

/// An `AWS::Serverless::Api`.
#[derive(Serialize)]
pub(super) struct ApiView {
    pub(super) name: String,
    properties: Value,
    /// The checkov checks the app accepts on it, each with its reason.
    pub(super) skips: Option<Value>,
}

/// The log group of a stage's access log.
#[derive(Serialize)]
pub(super) struct LogGroupView {
    pub(super) name: String,
    /// The API whose stage logs into it.
    #[serde(skip)]
    pub(super) api: String,
    properties: Value,
    /// The checkov checks the app accepts on it (named by its API), each with its reason.
    pub(super) skips: Option<Value>,
}

/// An API and what comes with it.
pub(super) struct BuiltApi {
    pub(super) view: ApiView,
    /// The log group of its stage's access log, when it keeps one.
    pub(super) access_log: Option<LogGroupView>,
    /// The role of its service integrations, when it has any.
    pub(super) role: Option<NamedProps>,
    /// Lambda permissions for its function routes and TOKEN authorizers.
    pub(super) permissions: Vec<NamedProps>,
}

/// The API `name` with its `routes` (their authentication decided).
pub(super) fn api(
    scope: &Scope,
    name: &str,
    api: &Api,
    routes: &[Route],
    tracing: bool,
    log_retention_days: u32,
    callees: &Callees,
) -> BuiltApi {
    let mut body = Body {
        scope,
        callees,
        api: name,
        role: format!("{name}IntegrationRole"),
        permissions: Vec::new(),
        permission_ids: BTreeSet::new(),
        role_statements: BTreeMap::new(),
    };
    let mut paths: BTreeMap<String, serde_json::Map<String, Json>> = BTreeMap::new();
    for route in routes {
        let spec = &route.spec.route.value;
        paths.entry(spec.path.clone()).or_default().insert(
            spec.method.as_str().to_ascii_lowercase(),
            body.operation(route),
        );
    }
    // Browsers preflight every call that sends `Authorization` or a JSON body; the
    // preflight carries no credentials, so it must not meet an authorizer. An OPTIONS route
    // the model declares itself replaces the generated one, as with SAM's `Cors`.
    for ops in paths.values_mut() {
        if !ops.contains_key("options") {
            let methods: Vec<String> = ops.keys().map(|m| m.to_ascii_uppercase()).collect();
            ops.insert(
                "options".into(),
                preflight_operation(methods.iter().map(String::as_str)),
            );
        }
    }
    let security = body.security(api);
    let definition = definition(name, api, routes, paths, security);
    let role = body.role_view();
    let mut properties = json!({
        "Name": sub(format!("${{AWS::StackName}}-{name}")),
        "Description": api.description,
        "StageName": api.stage.as_str(),
        "MethodSettings": method_settings(api),
        // Any OpenApiVersion stops SAM from also deploying an implicit stage named
        // `Stage`; "2.0" matches the Swagger 2.0 body, which SAM then leaves as is.
        "OpenApiVersion": "2.0",
        "TracingEnabled": tracing,
        "EndpointConfiguration": {"Type": "REGIONAL"},
        "DefinitionBody": definition,
    });
    let access_log = api.access_log.then(|| {
        let group = access_log_group(name);
        properties["AccessLogSetting"] = json!({
            "DestinationArn": get_att(&group, "Arn"),
            "Format": access_log_format(routes),
        });
        LogGroupView {
            name: group,
            api: name.to_owned(),
            properties: cfn(json!({"RetentionInDays": log_retention_days})),
            skips: None,
        }
    });
    BuiltApi {
        view: ApiView {
            skips: None,
            name: name.to_string(),
            properties: cfn(properties),
        },
        access_log,
        role,
        permissions: body.permissions,
    }
}

/// The logical id of the log group of `api`'s access log.
pub(super) fn access_log_group(api: &str) -> String {
    format!("{api}AccessLogs")
}

/// One JSON line per request: who (source ip, the caller's `sub` as each authorizer kind
/// of the API gives it), what (method, resource path), the answer (status, length), how
/// long, and the integration's or the gateway's error, keyed by request id.
fn access_log_format(routes: &[Route]) -> String {
    let callers: BTreeSet<&str> = routes
        .iter()
        .filter_map(|r| r.auth.caller())
        .map(|c| match c {
            CallerSource::CognitoClaims => "caller",
            CallerSource::LambdaPrincipal => "principal",
        })
        .collect();
    let mut fields = vec![
        ("requestId", "$context.requestId"),
        ("requestTime", "$context.requestTimeEpoch"),
        ("sourceIp", "$context.identity.sourceIp"),
    ];
    if callers.contains("caller") {
        fields.push(("caller", CallerSource::CognitoClaims.expr()));
    }
    if callers.contains("principal") {
        fields.push(("principal", CallerSource::LambdaPrincipal.expr()));
    }
    fields.extend([
        ("httpMethod", "$context.httpMethod"),
        ("resourcePath", "$context.resourcePath"),
        ("status", "$context.status"),
        ("responseLength", "$context.responseLength"),
        ("latencyMs", "$context.responseLatency"),
        ("integrationLatencyMs", "$context.integration.latency"),
        ("integrationStatus", "$context.integration.status"),
        ("integrationError", "$context.integration.error"),
    ]);
    let mut fields: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    // The gateway's own message (an authorizer's refusal, a throttle), already a quoted
    // JSON string with its quotes escaped.
    fields.push("\"error\":$context.error.messageString".to_owned());
    format!("{{{}}}", fields.join(","))
}

/// The Swagger document around the operations.
fn definition(
    name: &str,
    api: &Api,
    routes: &[Route],
    paths: BTreeMap<String, serde_json::Map<String, Json>>,
    security: serde_json::Map<String, Json>,
) -> Json {
    let error_template = json!({"application/json": "{\"message\":$context.error.messageString}"});
    let gateway_cors = json!({"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"});
    let mut definition = json!({
        "swagger": "2.0",
        "info": {"title": sub(format!("${{AWS::StackName}}-{name}")), "description": api.description, "version": "1.0"},
        "schemes": ["https"],
        "paths": paths,
        "x-amazon-apigateway-gateway-responses": {
            "DEFAULT_4XX": {"responseParameters": gateway_cors, "responseTemplates": error_template},
            "DEFAULT_5XX": {"responseParameters": gateway_cors, "responseTemplates": error_template},
        },
    });
    if !security.is_empty() {
        definition["securityDefinitions"] = Json::Object(security);
    }
    if !api.models.is_empty() {
        let defs: serde_json::Map<String, Json> = api
            .models
            .iter()
            .map(|(k, v)| (k.to_string(), v.value.clone()))
            .collect();
        definition["definitions"] = Json::Object(defs);
    }
    if routes.iter().any(|r| r.spec.body.is_some()) {
        definition["x-amazon-apigateway-request-validators"] =
            json!({"body": {"validateRequestBody": true, "validateRequestParameters": false}});
    }
    definition
}

/// What the operations of one API gather as they are built.
struct Body<'a> {
    scope: &'a Scope,
    /// How its routes and authorizers call functions.
    callees: &'a Callees,
    api: &'a str,
    /// The integration role's logical id.
    role: String,
    permissions: Vec<NamedProps>,
    permission_ids: BTreeSet<String>,
    /// The integration role's statements, one per bus or queue.
    role_statements: BTreeMap<String, Json>,
}

impl Body<'_> {
    /// The OpenAPI operation of one route.
    fn operation(&mut self, route: &Route) -> Json {
        let spec = &route.spec.route.value;
        let mut op = serde_json::Map::new();
        let mut params: Vec<Json> = spec
            .params()
            .iter()
            .map(|p| json!({"name": p, "in": "path", "required": true, "type": "string"}))
            .collect();
        if let Some(body) = &route.spec.body {
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": format!("#/definitions/{body}")}}));
            op.insert("consumes".into(), json!(["application/json"]));
            op.insert(
                "x-amazon-apigateway-request-validator".into(),
                json!("body"),
            );
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Json::Array(params));
        }
        op.insert("produces".into(), json!(["application/json"]));
        let security = match route.auth.authorizer() {
            Some(a) => json!([{ a: [] }]),
            None => json!([]),
        };
        op.insert("security".into(), security);
        let caller = route.auth.caller();
        let integration = match &route.spec.integration.value {
            Integration::Function(f) => {
                self.permit_route(f.as_str(), route);
                op.insert("responses".into(), json!({}));
                json!({"type": "aws_proxy", "httpMethod": "POST", "uri": self.callees.uri(f.as_str()), "passthroughBehavior": "when_no_match"})
            }
            Integration::PutEvents(p) => {
                op.insert("responses".into(), service_method_responses());
                self.put_events(p, caller, &route.path_checks)
            }
            Integration::SendMessage(s) => {
                op.insert("responses".into(), service_method_responses());
                self.send_message(s, caller, &route.path_checks)
            }
        };
        op.insert("x-amazon-apigateway-integration".into(), integration);
        Json::Object(op)
    }

    /// Lets API Gateway invoke `function` for `route` only.
    fn permit_route(&mut self, function: &str, route: &Route) {
        let spec = &route.spec.route.value;
        let name = self.api;
        let mut id = format!(
            "{function}{name}{}{}Permission",
            camel(spec.method.as_str().to_ascii_lowercase().as_str()),
            camel(&spec.path)
        );
        let mut k = 2;
        while !self.permission_ids.insert(id.clone()) {
            id = format!("{function}{name}Route{k}Permission");
            k += 1;
        }
        self.permissions.push(named(
            id,
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": self.callees.name(function),
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": sub(format!(
                    "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{name}}}/*/{}{}",
                    spec.method.as_str(),
                    spec.arn_path()
                )),
            }),
        ));
    }

    fn put_events(
        &mut self,
        p: &PutEvents,
        caller: Option<CallerSource>,
        checks: &[PathCheck],
    ) -> Json {
        self.role_statements.insert(
            format!("events {}", p.bus),
            json!({"Effect": "Allow", "Action": "events:PutEvents", "Resource": arn_of(self.scope, p.bus.as_str())}),
        );
        let request = vtl::put_events_request(p, &format!("${{{}}}", p.bus), caller, checks);
        service_integration(
            sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:events:action/PutEvents"),
            &self.role,
            json!({
                "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
                "integration.request.header.Content-Type": "'application/x-amz-json-1.1'",
            }),
            sub(request),
            vtl::Service::EventBridge,
            checks,
        )
    }

    fn send_message(
        &mut self,
        s: &SendMessage,
        caller: Option<CallerSource>,
        checks: &[PathCheck],
    ) -> Json {
        self.role_statements.insert(
            format!("sqs {}", s.queue),
            json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att(s.queue.as_str(), "Arn")}),
        );
        service_integration(
            sub(format!(
                "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:sqs:path/${{AWS::AccountId}}/${{{}.QueueName}}",
                s.queue
            )),
            &self.role,
            json!({"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}),
            json!(vtl::send_message_request(s, caller, checks)),
            vtl::Service::Sqs,
            checks,
        )
    }

    /// The `securityDefinitions`: one per authorizer; a TOKEN authorizer's function gets a
    /// permission to be invoked by this API's authorizers.
    fn security(&mut self, api: &Api) -> serde_json::Map<String, Json> {
        let mut security = serde_json::Map::new();
        for (aname, a) in &api.authorizers {
            let authorizer = match a {
                Authorizer::Token {
                    function,
                    result_ttl_seconds,
                    token_shape,
                } => {
                    self.permit_authorizer(function.as_str());
                    let mut authorizer = json!({
                        "type": "token",
                        "authorizerUri": self.callees.uri(function.as_str()),
                        "authorizerResultTtlInSeconds": result_ttl_seconds,
                        "identitySource": "method.request.header.Authorization",
                    });
                    if let Some(expression) = token_shape.validation_expression() {
                        authorizer["identityValidationExpression"] = json!(expression);
                    }
                    json!({
                        "x-amazon-apigateway-authtype": "custom",
                        "x-amazon-apigateway-authorizer": authorizer,
                    })
                }
                Authorizer::Cognito { user_pool } => json!({
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {
                        "type": "cognito_user_pools",
                        "providerARNs": [arn_of(self.scope, user_pool.as_str())],
                    },
                }),
            };
            let mut entry = json!({"type": "apiKey", "name": "Authorization", "in": "header"});
            if let (Some(e), Some(a)) = (entry.as_object_mut(), authorizer.as_object()) {
                e.extend(a.clone());
            }
            security.insert(aname.to_string(), entry);
        }
        security
    }

    fn permit_authorizer(&mut self, function: &str) {
        let name = self.api;
        self.permissions.push(named(
            format!("{function}{name}AuthorizerPermission"),
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": self.callees.name(function),
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": sub(format!(
                    "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{name}}}/authorizers/*"
                )),
            }),
        ));
    }

    /// The role API Gateway assumes to call the services its routes integrate with.
    fn role_view(&mut self) -> Option<NamedProps> {
        if self.role_statements.is_empty() {
            return None;
        }
        let statements: Vec<Json> = std::mem::take(&mut self.role_statements)
            .into_values()
            .collect();
        Some(named(
            self.role.clone(),
            json!({
                "Description": format!("Lets {} call the services its routes integrate with", self.api),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                },
                "Policies": [{
                    "PolicyName": "integrations",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }],
            }),
        ))
    }
}

/// The method responses of a service integration.
fn service_method_responses() -> Json {
    let cors_header = json!({"Access-Control-Allow-Origin": {"type": "string"}});
    json!({
        "200": {"description": "Accepted", "headers": cors_header},
        "400": {"description": "The integrated service refused a value of the request", "headers": cors_header},
        "500": {"description": "The integrated service failed", "headers": cors_header},
    })
}

/// An `aws` integration with a typed service: the request template and one response per
/// outcome the service can have, each with the CORS origin header.
fn service_integration(
    uri: Json,
    role: &str,
    request_parameters: Json,
    request: Json,
    service: vtl::Service,
    checks: &[PathCheck],
) -> Json {
    let cors = json!({"method.response.header.Access-Control-Allow-Origin": "'*'"});
    let responses: serde_json::Map<String, Json> = vtl::integration_responses(service, checks)
        .into_iter()
        .map(|r| {
            (
                r.selection_pattern.unwrap_or("default").to_string(),
                json!({
                    "statusCode": r.status.to_string(),
                    "responseParameters": cors,
                    "responseTemplates": {"application/json": r.template},
                }),
            )
        })
        .collect();
    json!({
        "type": "aws",
        "httpMethod": "POST",
        "uri": uri,
        "credentials": get_att(role, "Arn"),
        "requestParameters": request_parameters,
        "requestTemplates": {"application/json": request},
        "passthroughBehavior": "never",
        "responses": responses,
    })
}

/// The stage's throttling: its own limit for every method, then each route's tighter one.
fn method_settings(api: &Api) -> Json {
    let stage = api.throttle.as_ref().map_or(Throttle::STAGE, |t| t.value);
    let setting = |path: String, method: &str, t: Throttle| {
        json!({
            "ResourcePath": path,
            "HttpMethod": method,
            "ThrottlingRateLimit": t.rate,
            "ThrottlingBurstLimit": t.burst,
        })
    };
    let mut settings = vec![setting("/*".to_owned(), "*", stage)];
    for route in &api.routes {
        if let Some(t) = route.own_throttle() {
            // A resource path in method settings writes each `/` as `~1`.
            let path = format!("/{}", route.route.path.replace('/', "~1"));
            settings.push(setting(path, route.route.method.as_str(), t));
        }
    }
    json!(settings)
}
