//! How services pass work on: SQS queues (and the policies letting rules dead-letter to
//! them), EventBridge buses, and rules with their function targets.

use std::collections::BTreeMap;

use serde_json::json;

use super::callees::Callees;
use super::data::StatefulView;
use super::expr::{get_att, r, sub, value_of};
use super::{NamedProps, cfn, named};
use crate::model::{DeletionPolicy, Json, ServiceFile};

/// The service's queues, by name.
pub(super) fn queues(svc: &ServiceFile) -> Vec<StatefulView> {
    svc.queues
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
                skips: None,
            }
        })
        .collect()
}

/// One policy per queue that rules dead-letter to, letting EventBridge send to it for
/// those rules only (a second policy on a queue would replace the first).
pub(super) fn queue_policies(svc: &ServiceFile) -> Vec<NamedProps> {
    let mut dlq_rules: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (n, rule) in &svc.rules {
        if let Some(q) = &rule.dead_letter_queue {
            dlq_rules.entry(q.as_str()).or_default().push(n.as_str());
        }
    }
    dlq_rules
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
        .collect()
}

/// The service's buses, by name.
pub(super) fn buses(svc: &ServiceFile) -> Vec<NamedProps> {
    svc.buses
        .iter()
        .map(|(n, b)| {
            let mut props = json!({"Name": sub(format!("${{AWS::StackName}}-{n}"))});
            if let Some(desc) = &b.description {
                props["Description"] = json!(desc);
            }
            named(n.as_str(), props)
        })
        .collect()
}

/// The service's rules, and the permissions letting each invoke its target.
pub(super) fn rules(svc: &ServiceFile, callees: &Callees) -> (Vec<NamedProps>, Vec<NamedProps>) {
    let mut rules = Vec::new();
    let mut permissions = Vec::new();
    for (n, rule) in &svc.rules {
        let mut target =
            json!({"Id": rule.target.as_str(), "Arn": callees.arn(rule.target.as_str())});
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
        permissions.push(named(
            format!("{n}Permission"),
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": callees.name(rule.target.as_str()),
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att(n.as_str(), "Arn"),
            }),
        ));
    }
    (rules, permissions)
}
