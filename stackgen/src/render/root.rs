//! The root template: the stack `sam deploy` creates, nesting one application per service
//! and wiring each service's imports to the outputs of the service that publishes them.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;
use serde_json::json;

use super::cfn;
use super::expr::{camel, get_att, r, sub};
use super::outputs::OutputView;
use super::parameters::{self, ParamView};
use crate::app::App;
use crate::model::{ApiLoggingRole, Json};
use crate::samconfig::{ALARM_EMAIL_PARAMETER, ALARM_TOPIC_PARAMETER};

/// What the root template lays out.
#[derive(Serialize)]
pub(super) struct RootView {
    project: String,
    description: String,
    parameters: Vec<ParamView>,
    /// The environment's alarm topic, when a service has alarms.
    alarm_topic: Option<Value>,
    /// The account's API Gateway logging role, when the root sets it.
    api_logging_role: Option<Value>,
    applications: Vec<ApplicationView>,
    outputs: Vec<OutputView>,
}

/// A service's nested application.
#[derive(Serialize)]
struct ApplicationView {
    name: String,
    /// What CloudFormation must create first: the account's logging role for a service
    /// whose stages keep access logs (a stage cannot log before it is set).
    depends_on: Option<&'static str>,
    properties: Value,
}

/// The root stack's alarm topic, one per environment.
const ALARM_TOPIC: &str = "AlarmTopic";

/// The logical id of the account's API Gateway settings in the root stack.
const API_GATEWAY_ACCOUNT: &str = "ApiGatewayAccount";

/// The logical id of a service's nested application in the root template.
pub fn application_id(service: &str) -> String {
    format!("{}Service", camel(service))
}

/// The root stack: one nested application per service, the root's parameters, the alarm
/// topic and every service output under a unique name.
pub(super) fn root_view(app: &App) -> RootView {
    let services = app.files();
    let mut applications = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &services {
        for o in s.outputs.keys() {
            *counts.entry(o.as_str()).or_default() += 1;
        }
    }
    let mut outputs = Vec::new();
    let mut parameters: BTreeMap<String, ParamView> = BTreeMap::new();
    let environment = parameters::environment();
    let sets_logging_role = app.app.file.api_logging_role == ApiLoggingRole::Create;
    for svc in &services {
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
                parameters::service_parameter(n.as_str(), p, description)
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
        let logs = svc.apis.values().any(|a| a.access_log);
        applications.push(ApplicationView {
            name: id.clone(),
            depends_on: (logs && sets_logging_role).then_some(API_GATEWAY_ACCOUNT),
            properties: cfn(props),
        });
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
    let services_with_alarms = services.iter().any(|s| s.alarms.is_some());
    let alarm_topic = services_with_alarms.then(|| {
        parameters.insert(ALARM_EMAIL_PARAMETER.into(), parameters::alarm_email());
        outputs.push(OutputView {
            name: "AlarmTopicArn".into(),
            description: "The environment's alarm topic: every service's alarms notify it".into(),
            value: cfn(r(ALARM_TOPIC)),
        });
        cfn(json!({
            "DisplayName": format!("{} alarms", app.project()),
            "KmsMasterKeyId": "alias/aws/sns",
        }))
    });
    outputs.sort_by(|a, b| a.name.cmp(&b.name));
    let api_logging_role = applications
        .iter()
        .any(|a| a.depends_on.is_some())
        .then(|| cfn(logging_role()));
    RootView {
        project: app.project().to_owned(),
        description: app.app.file.description.clone(),
        parameters: parameters.into_values().collect(),
        alarm_topic,
        api_logging_role,
        applications,
        outputs,
    }
}

/// The role API Gateway writes every stage's logs through, for the account in this region
/// (AWS's managed policy for exactly that).
fn logging_role() -> Json {
    json!({
        "Description": "Lets API Gateway write the access logs of every stage in this account and region",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        },
        "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")],
    })
}
