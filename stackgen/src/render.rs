//! Rendering: the checked model becomes a sorted, serializable view-model per template, and
//! minijinja templates from `templates/` turn it into SAM YAML.
//!
//! Conventions:
//! - One [`Renderer`] holds the minijinja environment, built once, with
//!   `UndefinedBehavior::Strict` so a typo in a template is an error, not an empty string.
//! - Templates are named `.yaml`, so minijinja JSON-escapes every `{{ x }}`, which is valid
//!   YAML. The filters `cfn` (one line) and `yaml` (a block) write CloudFormation values the
//!   view-model prepared (see [`crate::yaml`]); `key` writes a mapping key.
//! - Decisions live here, in Rust: logical ids, policies, OpenAPI bodies, VTL (through
//!   [`crate::vtl`]). Templates only lay the values out.
//! - Everything that reaches the output is in a `Vec` built in sorted order or a `BTreeMap`:
//!   same model, same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;
use serde_json::json;

use crate::check::{Checked, Resolved, Scope};
use crate::model::{
    Access, Api, Authorizer, DeletionPolicy, Email, EnvValue, Ident, Integration, Json,
    OutputValue, Parameter, Route, ServiceFile, Throttle, Tracing,
};
use crate::samconfig::{ALARM_EMAIL_PARAMETER, ALARM_TOPIC_PARAMETER};
use crate::vtl::{self, CallerSource};
use crate::yaml;

/// Errors while rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The templates directory could not be used.
    #[error("cannot load templates from `{dir}`: {reason}")]
    Templates {
        /// The directory.
        dir: String,
        /// Why.
        reason: String,
    },
    /// A template failed to render.
    #[error("template `{name}` failed: {source:#}")]
    Template {
        /// The template.
        name: String,
        /// The minijinja error (with its source chain).
        #[source]
        source: minijinja::Error,
    },
}

/// Name of the per-service template in `templates/`.
pub const SERVICE_TEMPLATE: &str = "service.yaml";
/// Name of the root template in `templates/`.
pub const ROOT_TEMPLATE: &str = "root.yaml";
/// File name of the rendered root template in `generated/`.
pub const ROOT_OUTPUT: &str = "template.yaml";

/// A CloudFormation value carried through minijinja untouched, for the `cfn`/`yaml` filters.
#[derive(Debug)]
struct Cfn(Json);

impl Object for Cfn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

fn cfn(value: Json) -> Value {
    Value::from_object(Cfn(value))
}

fn as_json(value: &Value) -> Result<Json, minijinja::Error> {
    if let Some(c) = value.downcast_object_ref::<Cfn>() {
        return Ok(c.0.clone());
    }
    serde_json::to_value(value)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))
}

fn filter_cfn(value: Value) -> Result<Value, minijinja::Error> {
    Ok(Value::from_safe_string(yaml::inline(&as_json(&value)?)))
}

fn filter_yaml(value: Value, indent: usize) -> Result<Value, minijinja::Error> {
    Ok(Value::from_safe_string(yaml::block(
        &as_json(&value)?,
        indent,
    )))
}

fn filter_key(value: String) -> Value {
    Value::from_safe_string(yaml::key(&value))
}

/// The minijinja environment with the project's templates and filters.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// Loads templates from `dir` (the repository's `templates/`).
    pub fn new(dir: &Path) -> Result<Self, RenderError> {
        if !dir.join(SERVICE_TEMPLATE).is_file() || !dir.join(ROOT_TEMPLATE).is_file() {
            return Err(RenderError::Templates {
                dir: dir.display().to_string(),
                reason: format!("expected `{SERVICE_TEMPLATE}` and `{ROOT_TEMPLATE}` there"),
            });
        }
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_debug(true);
        env.add_filter("cfn", filter_cfn);
        env.add_filter("yaml", filter_yaml);
        env.add_filter("key", filter_key);
        Ok(Self { env })
    }

    fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<String, RenderError> {
        let wrap = |source| RenderError::Template {
            name: name.to_string(),
            source,
        };
        let template = self.env.get_template(name).map_err(wrap)?;
        template.render(Value::from_serialize(ctx)).map_err(wrap)
    }

    /// Renders every template: `(file name in generated/, contents)`, sorted by file name.
    pub fn render_all(&self, checked: &Checked) -> Result<Vec<(String, String)>, RenderError> {
        let mut out = Vec::new();
        for (i, svc) in checked.model.services.iter().enumerate() {
            let view = service_view(checked, i);
            let text = self.render(SERVICE_TEMPLATE, &view)?;
            out.push((format!("{}.yaml", svc.file.service.as_str()), text));
        }
        out.push((
            ROOT_OUTPUT.to_string(),
            self.render(ROOT_TEMPLATE, &root_view(checked))?,
        ));
        let services: Vec<&ServiceFile> = checked.model.services.iter().map(|s| &s.file).collect();
        out.push((
            crate::diagram::OUTPUT.to_string(),
            crate::diagram::architecture(&services),
        ));
        out.push((
            crate::samconfig::OUTPUT.to_string(),
            crate::samconfig::render(&checked.model.app.file, &services),
        ));
        out.sort();
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------

fn r(name: &str) -> Json {
    json!({ "Ref": name })
}

fn get_att(name: &str, attr: &str) -> Json {
    json!({ "Fn::GetAtt": [name, attr] })
}

fn sub(text: impl Into<String>) -> Json {
    json!({ "Fn::Sub": text.into() })
}

/// The main value of a name (table name, queue URL, pool id, parameter value...). Imports
/// and local resources both resolve through `Ref`: an import is a stack parameter.
fn value_of(name: &str) -> Json {
    r(name)
}

/// The ARN of a resource of this service, or the imported ARN.
fn arn_of(scope: &Scope, name: &str) -> Json {
    match scope.resolve(name) {
        Some(Resolved::Imported(_)) => r(name),
        _ => get_att(name, "Arn"),
    }
}

fn endpoint(api: &str, stage: &str) -> Json {
    sub(format!(
        "https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}"
    ))
}

fn lambda_uri(function: &str) -> Json {
    sub(format!(
        "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{function}.Arn}}/invocations"
    ))
}

/// `FooBar` from `foo-bar`.
fn camel(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            match cs.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// View-model of a service template
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct ServiceView {
    project: String,
    service: String,
    source: String,
    description: String,
    parameters: Vec<ParamView>,
    tables: Vec<StatefulView>,
    user_pools: Vec<UserPoolView>,
    queues: Vec<StatefulView>,
    queue_policies: Vec<NamedProps>,
    buses: Vec<NamedProps>,
    functions: Vec<FunctionView>,
    event_source_mappings: Vec<NamedProps>,
    rules: Vec<NamedProps>,
    apis: Vec<ApiView>,
    roles: Vec<NamedProps>,
    lambda_permissions: Vec<NamedProps>,
    alarms: Vec<NamedProps>,
    ssm_parameter: Option<NamedProps>,
    outputs: Vec<OutputView>,
}

/// A resource whose `Properties` the view-model builds whole.
#[derive(Serialize)]
struct NamedProps {
    name: String,
    properties: Value,
}

fn named(name: impl Into<String>, properties: Json) -> NamedProps {
    NamedProps {
        name: name.into(),
        properties: cfn(properties),
    }
}

#[derive(Serialize)]
struct ParamView {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    default: Option<Value>,
    description: String,
    /// What CloudFormation accepts, when narrower than the type.
    allowed_pattern: Option<String>,
}

/// A parameter a service declares, with its default; the root declares it again, with
/// the service named in its `description`.
fn service_parameter(name: &str, p: &Parameter, description: String) -> ParamView {
    ParamView {
        name: name.to_owned(),
        kind: p.kind.as_str(),
        default: Some(cfn(p.default.value.clone())),
        description,
        allowed_pattern: None,
    }
}

/// The `Environment` parameter every stack takes: the root from `sam deploy`, each service
/// from the root. It is part of every name that must be unique in an account and region.
fn environment_parameter() -> ParamView {
    ParamView {
        name: crate::samconfig::ENVIRONMENT_PARAMETER.into(),
        kind: "String",
        default: None,
        description: "The environment this stack belongs to (dev, prod...): part of every name that must be unique in the account".into(),
        // Environment names are identifiers in the model.
        allowed_pattern: Some(Ident::PATTERN.into()),
    }
}

/// A resource holding data, with its `DeletionPolicy` (also its `UpdateReplacePolicy`).
#[derive(Serialize)]
struct StatefulView {
    name: String,
    policy: &'static str,
    properties: Value,
}

#[derive(Serialize)]
struct UserPoolView {
    name: String,
    /// The pool's and its groups' policy: a group holds its members.
    policy: &'static str,
    pool: Value,
    client_name: String,
    client: Value,
    groups: Vec<NamedProps>,
}

#[derive(Serialize)]
struct FunctionView {
    name: String,
    /// The bootstrap SAM builds: the crate's one binary, named as the crate.
    binary: String,
    properties: Value,
    log_group: Value,
}

#[derive(Serialize)]
struct ApiView {
    name: String,
    properties: Value,
}

#[derive(Serialize)]
struct OutputView {
    name: String,
    description: String,
    value: Value,
}

fn service_view(checked: &Checked, index: usize) -> ServiceView {
    let src = &checked.model.services[index];
    let svc = &src.file;
    let scope = checked.scope(index);
    let app = &checked.model.app.file;
    let d = &app.defaults;
    let mut lambda_permissions = Vec::new();
    let mut roles = Vec::new();

    let mut parameters: Vec<ParamView> = svc
        .parameters
        .iter()
        .map(|(n, p)| service_parameter(n.as_str(), p, p.description.clone()))
        .chain(std::iter::once(environment_parameter()))
        .collect();
    if svc.alarms.is_some() {
        parameters.push(ParamView {
            name: ALARM_TOPIC_PARAMETER.into(),
            kind: "String",
            default: None,
            description: "ARN of the environment's alarm topic (set by the root template)".into(),
            allowed_pattern: None,
        });
    }
    for (n, imp) in &svc.imports {
        parameters.push(ParamView {
            name: n.to_string(),
            kind: "String",
            default: None,
            description: format!(
                "Output `{}` of the {} service (set by the root template)",
                imp.output, imp.service
            ),
            allowed_pattern: None,
        });
    }
    parameters.sort_by(|a, b| a.name.cmp(&b.name));

    let tables = svc
        .tables
        .iter()
        .map(|(n, t)| {
            let mut keys = vec![(&t.partition_key, "HASH")];
            if let Some(k) = &t.sort_key {
                keys.push((k, "RANGE"));
            }
            let mut props = json!({
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": keys.iter().map(|(k, _)| json!({"AttributeName": k.name, "AttributeType": k.kind})).collect::<Vec<_>>(),
                "KeySchema": keys.iter().map(|(k, role)| json!({"AttributeName": k.name, "KeyType": role})).collect::<Vec<_>>(),
                "SSESpecification": {"SSEEnabled": true},
            });
            if t.point_in_time_recovery {
                props["PointInTimeRecoverySpecification"] = json!({"PointInTimeRecoveryEnabled": true});
            }
            if let Some(ttl) = &t.ttl_attribute {
                props["TimeToLiveSpecification"] = json!({"AttributeName": ttl, "Enabled": true});
            }
            StatefulView {
                name: n.to_string(),
                policy: t.deletion_policy.unwrap_or(DeletionPolicy::Retain).as_cfn(),
                properties: cfn(props),
            }
        })
        .collect();

    let user_pools = svc
        .user_pools
        .iter()
        .map(|(n, p)| {
            let mut schema = vec![json!({"Name": "email", "AttributeDataType": "String", "Required": true, "Mutable": true})];
            for a in p.required_attributes.iter().filter(|a| a.as_str() != "email") {
                schema.push(json!({"Name": a, "AttributeDataType": "String", "Required": true, "Mutable": true}));
            }
            UserPoolView {
                name: n.to_string(),
                policy: p.deletion_policy.unwrap_or(DeletionPolicy::Retain).as_cfn(),
                pool: cfn(json!({
                    "UserPoolName": sub(format!("${{AWS::StackName}}-{n}")),
                    "UsernameAttributes": ["email"],
                    "AutoVerifiedAttributes": ["email"],
                    "Schema": schema,
                    "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireLowercase": true, "RequireNumbers": true, "RequireSymbols": false, "RequireUppercase": true}},
                })),
                client_name: p.client.to_string(),
                client: cfn(json!({
                    "UserPoolId": r(n.as_str()),
                    "ClientName": sub(format!("${{AWS::StackName}}-{}", p.client)),
                    "GenerateSecret": false,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                    "PreventUserExistenceErrors": "ENABLED",
                })),
                groups: p
                    .groups
                    .iter()
                    .map(|(g, group)| {
                        named(
                            g.as_str(),
                            json!({"UserPoolId": r(n.as_str()), "GroupName": group.name, "Description": group.description}),
                        )
                    })
                    .collect(),
            }
        })
        .collect();

    let queues = svc
        .queues
        .iter()
        .map(|(n, q)| {
            let mut props = json!({"SqsManagedSseEnabled": true});
            if let Some(v) = &q.visibility_timeout_seconds {
                props["VisibilityTimeout"] = json!(v.value);
            }
            if let Some(v) = q.retention_seconds {
                props["MessageRetentionPeriod"] = json!(v);
            }
            if let Some(dl) = &q.dead_letter {
                props["RedrivePolicy"] = json!({
                    "deadLetterTargetArn": get_att(dl.queue.as_str(), "Arn"),
                    "maxReceiveCount": dl.max_receive_count.value,
                });
            }
            StatefulView {
                name: n.to_string(),
                // Messages are in flight, not records: they are kept at most 14 days, and a
                // deleted stack has nothing left to consume them.
                policy: q.deletion_policy.unwrap_or(DeletionPolicy::Delete).as_cfn(),
                properties: cfn(props),
            }
        })
        .collect();

    // Rule dead-letter queues need a queue policy letting EventBridge send to them, one
    // policy per queue with one statement per rule (a second policy would replace the first).
    let mut dlq_rules: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (n, rule) in &svc.rules {
        if let Some(q) = &rule.dead_letter_queue {
            dlq_rules.entry(q.as_str()).or_default().push(n.as_str());
        }
    }
    let queue_policies = dlq_rules
        .iter()
        .map(|(q, rules)| {
            let statements: Vec<Json> = rules
                .iter()
                .map(|rule| {
                    json!({
                        "Sid": format!("{rule}DeadLetters"),
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": get_att(q, "Arn"),
                        "Condition": {"ArnEquals": {"aws:SourceArn": get_att(rule, "Arn")}},
                    })
                })
                .collect();
            named(
                format!("{q}Policy"),
                json!({"Queues": [r(q)], "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}),
            )
        })
        .collect();

    let buses = svc
        .buses
        .iter()
        .map(|(n, b)| {
            let mut props = json!({"Name": sub(format!("${{AWS::StackName}}-{n}"))});
            if let Some(desc) = &b.description {
                props["Description"] = json!(desc);
            }
            named(n.as_str(), props)
        })
        .collect();

    let mut functions = Vec::new();
    let mut event_source_mappings = Vec::new();
    for (n, f) in &svc.functions {
        let mut env = BTreeMap::new();
        env.insert("RUST_LOG".to_string(), json!(d.log_level));
        for (var, value) in &f.environment {
            let v = match &value.value {
                EnvValue::Value(s) => json!(s),
                EnvValue::Table(x)
                | EnvValue::Queue(x)
                | EnvValue::Bus(x)
                | EnvValue::UserPool(x)
                | EnvValue::UserPoolClient(x)
                | EnvValue::UserPoolGroup(x)
                | EnvValue::Parameter(x) => value_of(x.as_str()),
            };
            env.insert(var.to_string(), v);
        }
        let mut policies: Vec<Json> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut push = |p: Json| {
            if seen.insert(p.to_string()) {
                policies.push(p);
            }
        };
        for p in &f.permissions {
            if let Some(t) = &p.table {
                let template = match p.access.value {
                    Access::Read => "DynamoDBReadPolicy",
                    Access::Write => "DynamoDBWritePolicy",
                    _ => "DynamoDBCrudPolicy",
                };
                push(json!({ template: {"TableName": value_of(t.as_str())} }));
            } else if let Some(q) = &p.queue {
                if p.access.value == Access::Poll {
                    push(poller_policy(q.as_str()));
                } else {
                    push(
                        json!({"SQSSendMessagePolicy": {"QueueName": get_att(q.as_str(), "QueueName")}}),
                    );
                }
            } else if let Some(b) = &p.bus {
                push(json!({"EventBridgePutEventsPolicy": {"EventBusName": value_of(b.as_str())}}));
            }
        }
        for t in &f.triggers {
            push(poller_policy(t.queue.as_str()));
            let mut props = json!({
                "EventSourceArn": get_att(t.queue.as_str(), "Arn"),
                "FunctionName": r(n.as_str()),
                "BatchSize": t.batch_size.value,
                "Enabled": true,
            });
            if let Some(w) = t.max_batching_window_seconds {
                props["MaximumBatchingWindowInSeconds"] = json!(w);
            }
            if t.report_batch_item_failures {
                props["FunctionResponseTypes"] = json!(["ReportBatchItemFailures"]);
            }
            if let Some(m) = &t.max_concurrency {
                props["ScalingConfig"] = json!({"MaximumConcurrency": m.value});
            }
            event_source_mappings.push(named(format!("{n}{}Trigger", t.queue), props));
        }
        let mut props = json!({
            "Description": f.description,
            "CodeUri": format!("../handlers/{}", f.krate),
            "Handler": f.handler.as_str(),
            "Runtime": d.runtime.as_str(),
            "Architectures": [f.architecture.unwrap_or(d.architecture).as_str()],
            "MemorySize": f.memory_mb.as_ref().map_or(d.memory_mb.value, |m| m.value),
            "Timeout": f.timeout_seconds.as_ref().map_or(d.timeout_seconds.value, |t| t.value),
            "Tracing": match d.tracing { Tracing::Active => "Active", Tracing::PassThrough => "PassThrough" },
            "Environment": {"Variables": env},
        });
        if !policies.is_empty() {
            props["Policies"] = Json::Array(policies);
        }
        if let Some(q) = &f.dead_letter_queue {
            props["DeadLetterQueue"] =
                json!({"Type": "SQS", "TargetArn": get_att(q.as_str(), "Arn")});
        }
        functions.push(FunctionView {
            name: n.to_string(),
            binary: f.krate.to_string(),
            properties: cfn(props),
            log_group: cfn(json!({
                "LogGroupName": sub(format!("/aws/lambda/${{{n}}}")),
                "RetentionInDays": d.log_retention_days.value,
            })),
        });
    }

    let mut rules = Vec::new();
    for (n, rule) in &svc.rules {
        let mut target =
            json!({"Id": rule.target.as_str(), "Arn": get_att(rule.target.as_str(), "Arn")});
        if let Some(retry) = &rule.retry {
            target["RetryPolicy"] = json!({
                "MaximumRetryAttempts": retry.max_attempts.value,
                "MaximumEventAgeInSeconds": retry.max_event_age_seconds.value,
            });
        }
        if let Some(q) = &rule.dead_letter_queue {
            target["DeadLetterConfig"] = json!({"Arn": get_att(q.as_str(), "Arn")});
        }
        rules.push(named(
            n.as_str(),
            json!({
                "EventBusName": value_of(rule.bus.as_str()),
                "EventPattern": rule.pattern.value,
                "State": "ENABLED",
                "Targets": [target],
            }),
        ));
        lambda_permissions.push(named(
            format!("{n}Permission"),
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": r(rule.target.as_str()),
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att(n.as_str(), "Arn"),
            }),
        ));
    }

    let mut apis = Vec::new();
    for (n, api) in &svc.apis {
        let built = api_view(scope, n.as_str(), api, d.tracing == Tracing::Active);
        apis.push(built.view);
        roles.extend(built.role);
        lambda_permissions.extend(built.permissions);
    }
    lambda_permissions.sort_by(|a, b| a.name.cmp(&b.name));

    let mut alarms = Vec::new();
    if let Some(a) = &svc.alarms {
        let topic = ALARM_TOPIC_PARAMETER;
        let alarm = |description: String, namespace: &str, metric: &str, dimensions: Json| {
            any_in_5_minutes(topic, description, namespace, metric, dimensions, "Sum")
        };
        for api in &a.apis {
            let stage = svc
                .apis
                .iter()
                .find(|(k, _)| k.value == api.value)
                .map(|(_, v)| v.stage.to_string());
            let dimensions = json!([
                {"Name": "ApiName", "Value": sub(format!("${{AWS::StackName}}-{api}"))},
                {"Name": "Stage", "Value": stage.unwrap_or_default()},
            ]);
            alarms.push(named(
                format!("{api}5xxAlarm"),
                alarm(
                    format!("{api} answered with a 5XX status"),
                    "AWS/ApiGateway",
                    "5XXError",
                    dimensions.clone(),
                ),
            ));
            alarms.push(named(
                format!("{api}LatencyAlarm"),
                json!({
                    "AlarmDescription": format!("{api}'s p99 latency is above {} ms", a.api_p99_latency_ms),
                    "Namespace": "AWS/ApiGateway",
                    "MetricName": "Latency",
                    "Dimensions": dimensions,
                    "ExtendedStatistic": "p99",
                    "Period": 300,
                    // Three periods in a row: one slow cold start is not an incident.
                    "EvaluationPeriods": 3,
                    "Threshold": a.api_p99_latency_ms,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [r(topic)],
                }),
            ));
        }
        for f in &a.functions {
            for (metric, what) in [("Errors", "failed"), ("Throttles", "was throttled")] {
                alarms.push(named(
                    format!("{f}{metric}Alarm"),
                    alarm(
                        format!("{f} {what}"),
                        "AWS/Lambda",
                        metric,
                        json!([{"Name": "FunctionName", "Value": r(f.as_str())}]),
                    ),
                ));
            }
        }
        alarms.extend(failure_path_alarms(svc, topic));
        for m in &a.metrics {
            let dimensions: Vec<Json> = m
                .dimensions
                .iter()
                .map(|(name, value)| json!({"Name": name, "Value": value}))
                .collect();
            alarms.push(named(
                format!("{}Alarm", m.name),
                alarm(
                    m.description.clone(),
                    &m.namespace,
                    m.name.as_str(),
                    json!(dimensions),
                ),
            ));
        }
        alarms.sort_by(|a, b| a.name.cmp(&b.name));
    }

    let output_value = |value: &OutputValue| -> Json {
        match value {
            OutputValue::Ref(x) => value_of(x.as_str()),
            OutputValue::Arn(x) => arn_of(scope, x.as_str()),
            OutputValue::Endpoint(x) => {
                let stage = svc
                    .apis
                    .iter()
                    .find(|(k, _)| k.value == x.value)
                    .map(|(_, v)| v.stage.to_string());
                endpoint(x.as_str(), &stage.unwrap_or_default())
            }
        }
    };
    let outputs: Vec<OutputView> = svc
        .outputs
        .iter()
        .map(|(n, o)| OutputView {
            name: n.to_string(),
            description: o.description.clone(),
            value: cfn(output_value(&o.value.value)),
        })
        .collect();
    let published: Vec<(&str, Json)> = svc
        .outputs
        .iter()
        .filter(|(_, o)| o.publish)
        .map(|(n, o)| (n.as_str(), output_value(&o.value.value)))
        .collect();
    let ssm_parameter = (!published.is_empty()).then(|| {
        let text = published
            .iter()
            .map(|(n, _)| format!("\"{n}\":\"${{{n}}}\""))
            .collect::<Vec<_>>()
            .join(",");
        let vars: serde_json::Map<String, Json> = published.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        named(
            "ServiceOutputsParameter",
            json!({
                "Name": sub(crate::model::outputs_parameter_name(app.project.as_str(), "${Environment}", svc.service.as_str())),
                "Type": "String",
                "Description": format!("Outputs of the {} service, as one JSON object", svc.service),
                "Value": {"Fn::Sub": [format!("{{{text}}}"), vars]},
            }),
        )
    });

    ServiceView {
        project: app.project.to_string(),
        service: svc.service.to_string(),
        source: format!(
            "model/{}",
            src.path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        description: svc.description.clone(),
        parameters,
        tables,
        user_pools,
        queues,
        queue_policies,
        buses,
        functions,
        event_source_mappings,
        rules,
        apis,
        roles,
        lambda_permissions,
        alarms,
        ssm_parameter,
        outputs,
    }
}

struct BuiltApi {
    view: ApiView,
    role: Option<NamedProps>,
    permissions: Vec<NamedProps>,
}

/// The `AWS::Serverless::Api` with its whole OpenAPI body, the role API Gateway assumes for
/// service integrations, and the permissions letting it invoke functions.
fn api_view(scope: &Scope, name: &str, api: &Api, tracing: bool) -> BuiltApi {
    let role_name = format!("{name}IntegrationRole");
    let mut paths: BTreeMap<String, serde_json::Map<String, Json>> = BTreeMap::new();
    let mut permissions = Vec::new();
    let mut permission_ids = BTreeSet::new();
    let mut role_statements: BTreeMap<String, Json> = BTreeMap::new();
    let mut uses_validator = false;
    let cors = json!({"method.response.header.Access-Control-Allow-Origin": "'*'"});
    let method_responses = json!({
        "200": {"description": "Accepted", "headers": {"Access-Control-Allow-Origin": {"type": "string"}}},
        "400": {"description": "The integrated service refused a value of the request", "headers": {"Access-Control-Allow-Origin": {"type": "string"}}},
        "500": {"description": "The integrated service failed", "headers": {"Access-Control-Allow-Origin": {"type": "string"}}},
    });

    for route in &api.routes {
        let spec = &route.route.value;
        let auth = effective_auth(api, route);
        let caller = auth
            .and_then(|a| api.authorizers.iter().find(|(k, _)| k.as_str() == a))
            .map(|(_, a)| match a {
                Authorizer::Token { .. } => CallerSource::LambdaPrincipal,
                Authorizer::Cognito { .. } => CallerSource::CognitoClaims,
            });
        let mut op = serde_json::Map::new();
        let mut params: Vec<Json> = spec
            .params()
            .iter()
            .map(|p| json!({"name": p, "in": "path", "required": true, "type": "string"}))
            .collect();
        if let Some(body) = &route.body {
            uses_validator = true;
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
        match auth {
            Some(a) => op.insert("security".into(), json!([{ a: [] }])),
            None => op.insert("security".into(), json!([])),
        };
        let integration = match &route.integration.value {
            Integration::Function(f) => {
                let mut id = format!(
                    "{f}{name}{}{}Permission",
                    camel(spec.method.as_str().to_ascii_lowercase().as_str()),
                    camel(&spec.path)
                );
                let mut k = 2;
                while !permission_ids.insert(id.clone()) {
                    id = format!("{f}{name}Route{k}Permission");
                    k += 1;
                }
                permissions.push(named(
                    id,
                    json!({
                        "Action": "lambda:InvokeFunction",
                        "FunctionName": r(f.as_str()),
                        "Principal": "apigateway.amazonaws.com",
                        "SourceArn": sub(format!(
                            "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{name}}}/*/{}{}",
                            spec.method.as_str(),
                            spec.arn_path()
                        )),
                    }),
                ));
                op.insert("responses".into(), json!({}));
                json!({"type": "aws_proxy", "httpMethod": "POST", "uri": lambda_uri(f.as_str()), "passthroughBehavior": "when_no_match"})
            }
            Integration::PutEvents(p) => {
                role_statements.insert(
                    format!("events {}", p.bus),
                    json!({"Effect": "Allow", "Action": "events:PutEvents", "Resource": arn_of(scope, p.bus.as_str())}),
                );
                op.insert("responses".into(), method_responses.clone());
                let request = vtl::put_events_request(p, &format!("${{{}}}", p.bus), caller);
                service_integration(
                    sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:events:action/PutEvents"),
                    &role_name,
                    json!({
                        "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
                        "integration.request.header.Content-Type": "'application/x-amz-json-1.1'",
                    }),
                    sub(request),
                    vtl::Service::EventBridge,
                    &cors,
                )
            }
            Integration::SendMessage(s) => {
                role_statements.insert(
                    format!("sqs {}", s.queue),
                    json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att(s.queue.as_str(), "Arn")}),
                );
                op.insert("responses".into(), method_responses.clone());
                service_integration(
                    sub(format!(
                        "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:sqs:path/${{AWS::AccountId}}/${{{}.QueueName}}",
                        s.queue
                    )),
                    &role_name,
                    json!({"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}),
                    json!(vtl::send_message_request(s, caller)),
                    vtl::Service::Sqs,
                    &cors,
                )
            }
        };
        op.insert("x-amazon-apigateway-integration".into(), integration);
        paths
            .entry(spec.path.clone())
            .or_default()
            .insert(spec.method.as_str().to_ascii_lowercase(), Json::Object(op));
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

    let mut security = serde_json::Map::new();
    for (aname, a) in &api.authorizers {
        let authorizer = match a {
            Authorizer::Token {
                function,
                result_ttl_seconds,
                token_shape,
            } => {
                permissions.push(named(
                    format!("{function}{name}AuthorizerPermission"),
                    json!({
                        "Action": "lambda:InvokeFunction",
                        "FunctionName": r(function.as_str()),
                        "Principal": "apigateway.amazonaws.com",
                        "SourceArn": sub(format!(
                            "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{name}}}/authorizers/*"
                        )),
                    }),
                ));
                let mut authorizer = json!({
                    "type": "token",
                    "authorizerUri": lambda_uri(function.as_str()),
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
                    "providerARNs": [arn_of(scope, user_pool.as_str())],
                },
            }),
        };
        let mut entry = json!({"type": "apiKey", "name": "Authorization", "in": "header"});
        if let (Some(e), Some(a)) = (entry.as_object_mut(), authorizer.as_object()) {
            e.extend(a.clone());
        }
        security.insert(aname.to_string(), entry);
    }

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
    if uses_validator {
        definition["x-amazon-apigateway-request-validators"] =
            json!({"body": {"validateRequestBody": true, "validateRequestParameters": false}});
    }

    let role = (!role_statements.is_empty()).then(|| {
        named(
            role_name.clone(),
            json!({
                "Description": format!("Lets {name} call the services its routes integrate with"),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                },
                "Policies": [{
                    "PolicyName": "integrations",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": role_statements.into_values().collect::<Vec<_>>()},
                }],
            }),
        )
    });

    BuiltApi {
        view: ApiView {
            name: name.to_string(),
            properties: cfn(json!({
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
            })),
        },
        role,
        permissions,
    }
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

/// An alarm to `topic` when `metric` (by `statistic`) reaches 1 in a 5-minute period.
fn any_in_5_minutes(
    topic: &str,
    description: String,
    namespace: &str,
    metric: &str,
    dimensions: Json,
    statistic: &str,
) -> Json {
    json!({
        "AlarmDescription": description,
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": dimensions,
        "Statistic": statistic,
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [r(topic)],
    })
}

/// Alarms on the failure paths of a service with alarms: a message in any dead-letter queue
/// (of a queue, a function's async invocations or a rule target), and any event a rule
/// could not deliver.
fn failure_path_alarms(svc: &ServiceFile, topic: &str) -> Vec<NamedProps> {
    let mut dead_letter_queues = BTreeSet::new();
    dead_letter_queues.extend(
        svc.queues
            .values()
            .filter_map(|q| q.dead_letter.as_ref())
            .map(|d| d.queue.as_str()),
    );
    dead_letter_queues.extend(
        svc.functions
            .values()
            .filter_map(|f| f.dead_letter_queue.as_ref())
            .map(|q| q.as_str()),
    );
    dead_letter_queues.extend(
        svc.rules
            .values()
            .filter_map(|r| r.dead_letter_queue.as_ref())
            .map(|q| q.as_str()),
    );
    let mut alarms: Vec<NamedProps> = dead_letter_queues
        .into_iter()
        .map(|q| {
            named(
                format!("{q}DepthAlarm"),
                any_in_5_minutes(
                    topic,
                    format!("{q} holds a message that could not be processed"),
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    json!([{"Name": "QueueName", "Value": get_att(q, "QueueName")}]),
                    "Maximum",
                ),
            )
        })
        .collect();
    for (name, rule) in &svc.rules {
        // Metrics of a rule on a custom bus carry both names; the rule's name is the last
        // part of its ARN (`rule/<bus>/<rule>`), whatever `Ref` returns for it.
        let rule_name =
            json!({"Fn::Select": [2, {"Fn::Split": ["/", get_att(name.as_str(), "Arn")]}]});
        alarms.push(named(
            format!("{name}FailedInvocationsAlarm"),
            any_in_5_minutes(
                topic,
                format!("{name} could not deliver an event to its target"),
                "AWS/Events",
                "FailedInvocations",
                json!([
                    {"Name": "EventBusName", "Value": value_of(rule.bus.as_str())},
                    {"Name": "RuleName", "Value": rule_name},
                ]),
                "Sum",
            ),
        ));
    }
    alarms
}

/// What Lambda's event source mapping needs to poll `queue` for a function. Written out
/// rather than SAM's `SQSPollerPolicy`, whose `*Batch` actions are not IAM actions (the
/// batch calls are authorized by the single ones).
fn poller_policy(queue: &str) -> Json {
    json!({"Statement": [{
        "Effect": "Allow",
        "Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
        "Resource": get_att(queue, "Arn"),
    }]})
}

fn service_integration(
    uri: Json,
    role: &str,
    request_parameters: Json,
    request: Json,
    service: vtl::Service,
    cors: &Json,
) -> Json {
    let responses: serde_json::Map<String, Json> = vtl::integration_responses(service)
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
fn preflight_operation<'a>(methods: impl IntoIterator<Item = &'a str>) -> Json {
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

/// The authorizer a route uses: its own `auth`, else the API's; `None` for public routes.
pub fn effective_auth<'a>(api: &'a Api, route: &'a Route) -> Option<&'a str> {
    match &route.auth {
        Some(a) if a.as_str() == "none" => None,
        Some(a) => Some(a.as_str()),
        None => api.auth.as_ref().map(|a| a.as_str()),
    }
}

// ---------------------------------------------------------------------------------------
// View-model of the root template
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct RootView {
    project: String,
    description: String,
    parameters: Vec<ParamView>,
    /// The environment's alarm topic, when a service has alarms.
    alarm_topic: Option<Value>,
    applications: Vec<NamedProps>,
    outputs: Vec<OutputView>,
}

/// The root stack's alarm topic, one per environment.
const ALARM_TOPIC: &str = "AlarmTopic";

/// The logical id of a service's nested application in the root template.
pub fn application_id(service: &str) -> String {
    format!("{}Service", camel(service))
}

fn root_view(checked: &Checked) -> RootView {
    let app = &checked.model.app.file;
    let mut applications = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &checked.model.services {
        for o in s.file.outputs.keys() {
            *counts.entry(o.as_str()).or_default() += 1;
        }
    }
    let mut outputs = Vec::new();
    let mut parameters: BTreeMap<String, ParamView> = BTreeMap::new();
    let environment = environment_parameter();
    for s in &checked.model.services {
        let svc: &ServiceFile = &s.file;
        let id = application_id(svc.service.as_str());
        let mut props = json!({"Location": format!("{}.yaml", svc.service)});
        // The root's own parameters pass through under the same name; imports are the
        // outputs of the service that publishes them.
        let mut params = serde_json::Map::new();
        params.insert(environment.name.clone(), r(&environment.name));
        if svc.alarms.is_some() {
            params.insert(ALARM_TOPIC_PARAMETER.into(), r(ALARM_TOPIC));
        }
        for (n, p) in &svc.parameters {
            params.insert(n.to_string(), r(n.as_str()));
            parameters.entry(n.to_string()).or_insert_with(|| {
                let description = format!("{} ({} service)", p.description, svc.service);
                service_parameter(n.as_str(), p, description)
            });
        }
        for (n, imp) in &svc.imports {
            params.insert(
                n.to_string(),
                get_att(
                    &application_id(imp.service.as_str()),
                    &format!("Outputs.{}", imp.output),
                ),
            );
        }
        props["Parameters"] = Json::Object(params);
        applications.push(named(id.clone(), props));
        for (o, out) in &svc.outputs {
            let name = if counts.get(o.as_str()) == Some(&1) {
                o.to_string()
            } else {
                format!("{}{o}", camel(svc.service.as_str()))
            };
            outputs.push(OutputView {
                name,
                description: format!("{} ({} service)", out.description, svc.service),
                value: cfn(get_att(&id, &format!("Outputs.{o}"))),
            });
        }
    }
    applications.sort_by(|a, b| a.name.cmp(&b.name));
    parameters.insert(environment.name.clone(), environment);
    let services_with_alarms = checked
        .model
        .services
        .iter()
        .any(|s| s.file.alarms.is_some());
    let alarm_topic = services_with_alarms.then(|| {
        parameters.insert(
            ALARM_EMAIL_PARAMETER.into(),
            ParamView {
                name: ALARM_EMAIL_PARAMETER.into(),
                kind: "String",
                default: Some(cfn(json!(""))),
                description: "Who hears the alarms: an e-mail address subscribed to the alarm topic (empty: none)".into(),
                allowed_pattern: Some(format!("^$|{}", Email::PATTERN)),
            },
        );
        outputs.push(OutputView {
            name: "AlarmTopicArn".into(),
            description: "The environment's alarm topic: every service's alarms notify it".into(),
            value: cfn(r(ALARM_TOPIC)),
        });
        cfn(json!({
            "DisplayName": format!("{} alarms", app.project),
            "KmsMasterKeyId": "alias/aws/sns",
        }))
    });
    outputs.sort_by(|a, b| a.name.cmp(&b.name));
    RootView {
        project: app.project.to_string(),
        description: app.description.clone(),
        parameters: parameters.into_values().collect(),
        alarm_topic,
        applications,
        outputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_joins_words() {
        assert_eq!(camel("/users/{userid}"), "UsersUserid");
        assert_eq!(camel("order-status"), "OrderStatus");
        assert_eq!(application_id("userprofile"), "UserprofileService");
    }
}
