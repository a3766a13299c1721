//! CloudWatch alarms of a service, all notifying the environment's alarm topic: API 5XX
//! and p99 latency, function errors and throttles, every failure path (dead-letter queues,
//! rule deliveries) and the model's own metrics.

use std::collections::BTreeSet;

use serde_json::json;

use super::expr::{get_att, r, sub, value_of};
use super::{NamedProps, named};
use crate::model::{Alarms, Integration, Json, ServiceFile};
use crate::samconfig::ALARM_TOPIC_PARAMETER;

/// Every alarm of a service with `alarms`, sorted by logical id; none without.
pub(super) fn alarms(svc: &ServiceFile) -> Vec<NamedProps> {
    let Some(a) = &svc.alarms else {
        return Vec::new();
    };
    let topic = ALARM_TOPIC_PARAMETER;
    let mut alarms = api_alarms(svc, a, topic);
    for f in &a.functions {
        for (metric, what) in [("Errors", "failed"), ("Throttles", "was throttled")] {
            alarms.push(named(
                function_alarm(f.as_str(), metric),
                any_in_5_minutes(
                    topic,
                    format!("{f} {what}"),
                    "AWS/Lambda",
                    metric,
                    json!([{"Name": "FunctionName", "Value": r(f.as_str())}]),
                    "Sum",
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
            any_in_5_minutes(
                topic,
                m.description.clone(),
                &m.namespace,
                m.name.as_str(),
                json!(dimensions),
                "Sum",
            ),
        ));
    }
    alarms.sort_by(|a, b| a.name.cmp(&b.name));
    alarms
}

/// The alarms that roll a new version of `function` back: its errors alarm (a crash or a
/// timeout), and the 5XX alarm of each watched API that routes to it (an answer of 500 is
/// no Lambda error). Its throttles alarm is left out: throttling comes from load, not from
/// the version.
pub(super) fn rollback_alarms(svc: &ServiceFile, function: &str) -> Vec<String> {
    let mut alarms = vec![function_alarm(function, "Errors")];
    let watched = svc.alarms.iter().flat_map(|a| &a.apis);
    for api in watched {
        let routes_to_it = svc.apis.iter().any(|(n, a)| {
            n.value == api.value
                && a.routes.iter().any(|r| {
                    matches!(&r.integration.value, Integration::Function(f) if f.as_str() == function)
                })
        });
        if routes_to_it {
            alarms.push(api_5xx_alarm(api.as_str()));
        }
    }
    alarms
}

/// The logical id of `api`'s 5XX alarm.
fn api_5xx_alarm(api: &str) -> String {
    format!("{api}5xxAlarm")
}

/// The logical id of `function`'s alarm on the Lambda metric `metric` (`Errors`).
pub(super) fn function_alarm(function: &str, metric: &str) -> String {
    format!("{function}{metric}Alarm")
}

/// A 5XX and a p99 latency alarm for each API the model watches.
fn api_alarms(svc: &ServiceFile, a: &Alarms, topic: &str) -> Vec<NamedProps> {
    let mut alarms = Vec::new();
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
            api_5xx_alarm(api.as_str()),
            any_in_5_minutes(
                topic,
                format!("{api} answered with a 5XX status"),
                "AWS/ApiGateway",
                "5XXError",
                dimensions.clone(),
                "Sum",
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
    alarms
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
