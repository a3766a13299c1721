//! Lambda functions: their properties and policies, log groups, and the event source
//! mappings of their queue triggers. Settings come final from the [`App`](crate::app::App).

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Value;
use serde::Serialize;
use serde_json::json;

use super::alarms::rollback_alarms;
use super::callees::{self, Callees};
use super::expr::{get_att, sub, value_of};
use super::parameters::{LOCAL_ENDPOINT_PARAMETER, USES_LOCAL_ENDPOINT};
use super::{NamedProps, cfn, named};
use crate::app::{Binding, ENDPOINT_VARIABLE, Function, JWKS_VARIABLE};
use crate::model::{Access, Json, Permission, QueueTrigger, ServiceFile, Tracing};

/// An `AWS::Serverless::Function` and its log group.
#[derive(Serialize)]
pub(super) struct FunctionView {
    pub(super) name: String,
    /// The checkov checks the app accepts on the function and on its log group.
    pub(super) skips: Option<Value>,
    pub(super) log_group_skips: Option<Value>,
    /// The bootstrap SAM builds: the crate's one binary, named as the crate.
    binary: String,
    properties: Value,
    log_group: Value,
}

/// The functions, in order, and the event source mappings of their triggers.
pub(super) fn functions<'a>(
    svc: &ServiceFile,
    functions: impl IntoIterator<Item = &'a Function>,
    callees: &Callees,
) -> (Vec<FunctionView>, Vec<NamedProps>) {
    let mut views = Vec::new();
    let mut mappings = Vec::new();
    for f in functions {
        mappings.extend(f.triggers.iter().map(|t| trigger(&f.name, t, callees)));
        views.push(FunctionView {
            skips: None,
            log_group_skips: None,
            name: f.name.clone(),
            binary: f.krate.clone(),
            properties: cfn(properties(svc, f)),
            log_group: cfn(json!({
                "LogGroupName": sub(format!("/aws/lambda/${{{}}}", f.name)),
                "RetentionInDays": f.log_retention_days,
            })),
        });
    }
    (views, mappings)
}

/// The conditions of a service's functions: whether a local invoke set an endpoint.
pub(super) fn conditions(svc: &ServiceFile) -> Vec<(String, Value)> {
    if svc.functions.is_empty() {
        return Vec::new();
    }
    let set = json!({"Fn::Not": [{"Fn::Equals": [{"Ref": LOCAL_ENDPOINT_PARAMETER}, ""]}]});
    vec![(USES_LOCAL_ENDPOINT.to_owned(), cfn(set))]
}

/// `value` when a local invoke set an endpoint; as deployed, no variable at all.
fn when_local(value: Json) -> Json {
    json!({"Fn::If": [USES_LOCAL_ENDPOINT, value, {"Ref": "AWS::NoValue"}]})
}

/// The function's variables: the model's, and those a local invoke needs to reach the
/// local cloud (`sam local invoke --env-vars` sets only variables the template declares).
fn environment(f: &Function) -> BTreeMap<&str, Json> {
    let mut env: BTreeMap<&str, Json> = f
        .environment
        .iter()
        .map(|(var, binding)| {
            let value = match binding {
                Binding::Text(s) => json!(s),
                Binding::Value(reference) => value_of(&reference.name),
            };
            (var.as_str(), value)
        })
        .collect();
    env.insert(
        ENDPOINT_VARIABLE,
        when_local(json!({"Ref": LOCAL_ENDPOINT_PARAMETER})),
    );
    if let Some(pool) = f.user_pool() {
        let keys = format!(
            "${{{LOCAL_ENDPOINT_PARAMETER}}}/${{{}}}/.well-known/jwks.json",
            pool.name
        );
        env.insert(JWKS_VARIABLE, when_local(sub(keys)));
    }
    env
}

fn properties(svc: &ServiceFile, f: &Function) -> Json {
    let env = environment(f);
    let mut props = json!({
        "Description": f.description,
        "CodeUri": format!("../handlers/{}", f.krate),
        "Handler": f.handler,
        "Runtime": f.runtime.as_str(),
        "Architectures": [f.architecture.as_str()],
        "MemorySize": f.memory_mb,
        "Timeout": f.timeout_seconds,
        "Tracing": match f.tracing { Tracing::Active => "Active", Tracing::PassThrough => "PassThrough" },
        "Environment": {"Variables": env},
    });
    let policies = policies(f);
    if !policies.is_empty() {
        props["Policies"] = Json::Array(policies);
    }
    if let Some(q) = &f.dead_letter_queue {
        props["DeadLetterQueue"] = json!({"Type": "SQS", "TargetArn": get_att(q, "Arn")});
    }
    if let Some(rollout) = f.rollout {
        callees::publish(&mut props, rollout, &rollback_alarms(svc, &f.name));
    }
    props
}

/// The function's policies in the model's order, each once: its permissions (the
/// single-action table accesses of a table as one statement, where the table's first
/// one is), then what its triggers need to poll their queues.
fn policies(f: &Function) -> Vec<Json> {
    let mut policies: Vec<Json> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut granted = Vec::new();
    for p in &f.permissions {
        match (p, p.access().value.table_action()) {
            (Permission::Table { table, .. }, Some(_)) => {
                if seen.insert(format!("actions on {table}")) {
                    granted.push(table_statement(f, table.as_str()));
                }
            }
            _ => granted.push(policy(p)),
        }
    }
    let polled = f.triggers.iter().map(|t| poller_policy(t.queue.as_str()));
    for p in granted.into_iter().chain(polled) {
        if seen.insert(p.to_string()) {
            policies.push(p);
        }
    }
    policies
}

/// One statement granting every single action `f` has on `table`, on that table only
/// (its name, local or imported, makes the ARN, as SAM's own DynamoDB policies do).
fn table_statement(f: &Function, table: &str) -> Json {
    let actions: BTreeSet<&str> = f
        .permissions
        .iter()
        .filter_map(|p| match p {
            Permission::Table { table: t, access } if t.as_str() == table => {
                access.value.table_action()
            }
            _ => None,
        })
        .collect();
    json!({"Statement": [{
        "Effect": "Allow",
        "Action": actions,
        "Resource": sub(format!(
            "arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{{table}}}"
        )),
    }]})
}

/// The SAM policy template (or statement) granting one permission.
fn policy(p: &Permission) -> Json {
    match p {
        Permission::Table { table, access } => {
            let template = match access.value {
                Access::Read => "DynamoDBReadPolicy",
                Access::Write => "DynamoDBWritePolicy",
                _ => "DynamoDBCrudPolicy",
            };
            json!({ template: {"TableName": value_of(table.as_str())} })
        }
        Permission::Queue { queue, access } if access.value == Access::Poll => {
            poller_policy(queue.as_str())
        }
        Permission::Queue { queue, .. } => {
            json!({"SQSSendMessagePolicy": {"QueueName": get_att(queue.as_str(), "QueueName")}})
        }
        Permission::Bus { bus, .. } => {
            json!({"EventBridgePutEventsPolicy": {"EventBusName": value_of(bus.as_str())}})
        }
    }
}

/// The event source mapping of a queue trigger of `function`.
fn trigger(function: &str, t: &QueueTrigger, callees: &Callees) -> NamedProps {
    let mut props = json!({
        "EventSourceArn": get_att(t.queue.as_str(), "Arn"),
        "FunctionName": callees.name(function),
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
    named(format!("{function}{}Trigger", t.queue), props)
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
