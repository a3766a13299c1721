//! Where the app keeps data: DynamoDB tables and Cognito user pools (with their app
//! client and groups), retained by default.

use minijinja::Value;
use serde::Serialize;
use serde_json::json;

use super::expr::{r, sub};
use super::{NamedProps, cfn, named};
use crate::model::{DeletionPolicy, ServiceFile};

/// A resource holding data, with its `DeletionPolicy` (also its `UpdateReplacePolicy`).
#[derive(Serialize)]
pub(super) struct StatefulView {
    pub(super) name: String,
    pub(super) policy: &'static str,
    pub(super) properties: Value,
    /// The checkov checks the app accepts on it, each with its reason.
    pub(super) skips: Option<Value>,
}

#[derive(Serialize)]
pub(super) struct UserPoolView {
    name: String,
    /// The pool's and its groups' policy: a group holds its members.
    policy: &'static str,
    pool: Value,
    client_name: String,
    client: Value,
    groups: Vec<NamedProps>,
}

/// The service's tables, by name.
pub(super) fn tables(svc: &ServiceFile) -> Vec<StatefulView> {
    svc
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
                skips: None,
            }
        })
        .collect()
}

/// The service's user pools, by name.
pub(super) fn user_pools(svc: &ServiceFile) -> Vec<UserPoolView> {
    svc
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
        .collect()
}
