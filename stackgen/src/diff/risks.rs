//! The risks of one resource change: which properties replace a stateful resource, which
//! resources grant permissions, where an API's routes are.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Risk;

/// Resource types that hold data, with the properties whose change replaces them.
const STATEFUL: &[(&str, &[&str])] = &[
    (
        "AWS::DynamoDB::Table",
        &[
            "Properties.KeySchema",
            "Properties.TableName",
            "Properties.LocalSecondaryIndexes",
        ],
    ),
    (
        "AWS::Cognito::UserPool",
        &[
            "Properties.Schema",
            "Properties.UsernameAttributes",
            "Properties.AliasAttributes",
        ],
    ),
    (
        "AWS::Cognito::UserPoolGroup",
        &["Properties.GroupName", "Properties.UserPoolId"],
    ),
    (
        "AWS::SQS::Queue",
        &["Properties.FifoQueue", "Properties.QueueName"],
    ),
    ("AWS::Events::EventBus", &["Properties.Name"]),
];

/// Resource types that grant permissions.
const GRANTS: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Events::EventBusPolicy",
    "AWS::Lambda::Permission",
];

/// The risks of a resource that is `before` → `after` (absent when added or removed),
/// whose `paths` differ.
pub(super) fn of_resource(
    kind: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    paths: &[String],
) -> BTreeMap<Risk, String> {
    let mut risks = BTreeMap::new();
    let stateful = STATEFUL.iter().find(|(k, _)| *k == kind);
    match (before, after) {
        (Some(old), None) => {
            if old["DeletionPolicy"] == "Retain" {
                risks.insert(
                    Risk::Orphan,
                    "retained: it stays in the account, no longer managed by the stack".into(),
                );
            } else if stateful.is_some() {
                risks.insert(Risk::Replace, "deleted, with its data".into());
            }
        }
        (Some(_), Some(_)) => {
            let replacing = stateful.and_then(|(_, props)| {
                paths
                    .iter()
                    .find(|p| props.iter().any(|prop| under(p, prop)))
            });
            if let Some(path) = replacing {
                risks.insert(
                    Risk::Replace,
                    format!("`{path}` changes: CloudFormation replaces it, and its data is lost"),
                );
            }
        }
        _ => {}
    }
    if let Some(why) = widened(kind, before, after) {
        risks.insert(Risk::Iam, why);
    }
    let removed = routes(before)
        .difference(&routes(after))
        .cloned()
        .collect::<Vec<_>>();
    if !removed.is_empty() {
        risks.insert(
            Risk::Route,
            format!("routes removed: {}", removed.join(", ")),
        );
    }
    risks
}

/// Whether `path` is `prop` or lies under it.
fn under(path: &str, prop: &str) -> bool {
    path.strip_prefix(prop)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Why the change widens permissions, if it does: a granting resource added or changed, or
/// a policy or statement that was not there before.
fn widened(kind: &str, before: Option<&Value>, after: Option<&Value>) -> Option<String> {
    let after = after?;
    if GRANTS.contains(&kind) {
        return match before {
            None => Some(format!("a new {kind} grants access")),
            Some(before) => {
                let added = grants(after).difference(&grants(before)).count();
                (added > 0 || kind == "AWS::Lambda::Permission")
                    .then(|| format!("the {kind} grants more ({added} new statements)"))
            }
        };
    }
    let new = function_grants(after);
    let old = before.map(function_grants).unwrap_or_default();
    let added: Vec<&str> = new.difference(&old).map(String::as_str).collect();
    (!added.is_empty()).then(|| format!("new grants: {}", added.join("; ")))
}

/// SAM's DynamoDB policy templates and the actions each grants on its table and the
/// table's indexes (from SAM's `policy_templates.json`).
const DYNAMODB_TEMPLATES: &[(&str, &[&str])] = &[
    (
        "DynamoDBReadPolicy",
        &[
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
        ],
    ),
    (
        "DynamoDBWritePolicy",
        &[
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
        ],
    ),
    (
        "DynamoDBCrudPolicy",
        &[
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem",
        ],
    ),
];

/// What a function's policies grant, as `action on resource` where the policy says (a
/// statement, or a DynamoDB template expanded as SAM expands it), else the policy itself;
/// so a template replaced by a narrower statement is not a new grant.
fn function_grants(resource: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for policy in resource["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let template = DYNAMODB_TEMPLATES
            .iter()
            .find_map(|(name, actions)| Some((policy.get(name)?, *actions)));
        if let Some((args, actions)) = template {
            let table = match args["TableName"]["Ref"].as_str() {
                Some(name) => format!("${{{name}}}"),
                None => args["TableName"].as_str().unwrap_or_default().to_owned(),
            };
            let arn = format!(
                "arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table}"
            );
            for on in [arn.clone(), format!("{arn}/index/*")] {
                let on = serde_json::json!({ "Fn::Sub": on }).to_string();
                out.extend(actions.iter().map(|a| format!("{a} on {on}")));
            }
        } else if let Some(statements) = policy["Statement"].as_array() {
            for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
                for action in one_or_many(&s["Action"]) {
                    for on in one_or_many(&s["Resource"]) {
                        let action = action.as_str().unwrap_or_default();
                        out.insert(format!("{action} on {on}"));
                    }
                }
            }
        } else {
            out.insert(policy.to_string());
        }
    }
    out
}

/// A statement's field as a list: itself when it is one value.
fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Every statement of every policy document in a granting resource, as compact JSON; a
/// resource without documents (an invoke permission) is its properties.
fn grants(resource: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    statements(&resource["Properties"], &mut out);
    if out.is_empty() {
        out.insert(resource["Properties"].to_string());
    }
    out
}

fn statements(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("Statement", Value::Array(items)) => {
                        out.extend(items.iter().map(Value::to_string));
                    }
                    _ => statements(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| statements(v, out)),
        _ => {}
    }
}

/// An API's routes (`GET /orders`), from its OpenAPI body; empty for anything else.
fn routes(resource: Option<&Value>) -> BTreeSet<String> {
    let Some(paths) = resource.and_then(|r| r["Properties"]["DefinitionBody"]["paths"].as_object())
    else {
        return BTreeSet::new();
    };
    paths
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .filter(|m| *m != "parameters")
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_tables_key_change_replaces_it_and_a_throughput_change_does_not() {
        let t = json!({"Type": "AWS::DynamoDB::Table"});
        let risks = of_resource(
            "AWS::DynamoDB::Table",
            Some(&t),
            Some(&t),
            &paths(&["Properties.KeySchema[1].AttributeName"]),
        );
        assert!(risks.contains_key(&Risk::Replace), "{risks:?}");
        let risks = of_resource(
            "AWS::DynamoDB::Table",
            Some(&t),
            Some(&t),
            &paths(&["Properties.PointInTimeRecoverySpecification"]),
        );
        assert!(risks.is_empty(), "{risks:?}");
        assert!(!under("Properties.KeySchemaX", "Properties.KeySchema"));
    }

    #[test]
    fn a_removed_resource_is_orphaned_when_retained_and_lost_when_stateful() {
        let retained = json!({"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain"});
        let deleted = json!({"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete"});
        let rule = json!({"Type": "AWS::Events::Rule"});
        let of = |kind, r: &Value| of_resource(kind, Some(r), None, &[]);
        assert!(of("AWS::DynamoDB::Table", &retained).contains_key(&Risk::Orphan));
        assert!(of("AWS::SQS::Queue", &deleted).contains_key(&Risk::Replace));
        assert!(of("AWS::Events::Rule", &rule).is_empty());
    }

    #[test]
    fn a_new_policy_widens_and_a_dropped_one_does_not() {
        let read =
            json!({"Properties": {"Policies": [{"DynamoDBReadPolicy": {"TableName": "T"}}]}});
        let crud =
            json!({"Properties": {"Policies": [{"DynamoDBCrudPolicy": {"TableName": "T"}}]}});
        let none = json!({"Properties": {"Policies": []}});
        let kind = "AWS::Serverless::Function";
        assert!(of_resource(kind, Some(&read), Some(&crud), &[]).contains_key(&Risk::Iam));
        assert!(of_resource(kind, Some(&read), Some(&none), &[]).is_empty());
        let statement = |action: &str| json!({"Properties": {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": action}]}}});
        let kind = "AWS::SQS::QueuePolicy";
        let (send, all) = (statement("sqs:SendMessage"), statement("sqs:*"));
        assert!(of_resource(kind, Some(&send), Some(&all), &[]).contains_key(&Risk::Iam));
        assert!(of_resource(kind, None, Some(&send), &[]).contains_key(&Risk::Iam));
    }

    #[test]
    fn a_removed_route_is_named() {
        let api = |paths: Value| json!({"Properties": {"DefinitionBody": {"paths": paths}}});
        let old = api(json!({"/orders": {"get": {}, "post": {}}}));
        let new = api(json!({"/orders": {"post": {}}}));
        let risks = of_resource("AWS::Serverless::Api", Some(&old), Some(&new), &[]);
        assert_eq!(risks[&Risk::Route], "routes removed: GET /orders");
    }
}
