//! What a service gives out: its stack outputs, and the SSM parameter publishing those
//! marked `publish` as one JSON object under the environment's name.

use minijinja::Value;
use serde::Serialize;
use serde_json::json;

use super::expr::{arn_of, endpoint, sub, value_of};
use super::{NamedProps, cfn, named};
use crate::check::Scope;
use crate::model::{Json, OutputValue, ServiceFile, outputs_parameter_name};

/// One entry of a template's `Outputs`.
#[derive(Serialize)]
pub(super) struct OutputView {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) value: Value,
}

/// The service's outputs, by name.
pub(super) fn outputs(scope: &Scope, svc: &ServiceFile) -> Vec<OutputView> {
    svc.outputs
        .iter()
        .map(|(n, o)| OutputView {
            name: n.to_string(),
            description: o.description.clone(),
            value: cfn(output_value(scope, svc, &o.value.value)),
        })
        .collect()
}

/// The `AWS::SSM::Parameter` holding the published outputs, when any is published.
pub(super) fn ssm_parameter(project: &str, scope: &Scope, svc: &ServiceFile) -> Option<NamedProps> {
    let published: Vec<(&str, Json)> = svc
        .outputs
        .iter()
        .filter(|(_, o)| o.publish)
        .map(|(n, o)| (n.as_str(), output_value(scope, svc, &o.value.value)))
        .collect();
    if published.is_empty() {
        return None;
    }
    let text = published
        .iter()
        .map(|(n, _)| format!("\"{n}\":\"${{{n}}}\""))
        .collect::<Vec<_>>()
        .join(",");
    let vars: serde_json::Map<String, Json> = published
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    Some(named(
        "ServiceOutputsParameter",
        json!({
            "Name": sub(outputs_parameter_name(project, "${Environment}", svc.service.as_str())),
            "Type": "String",
            "Description": format!("Outputs of the {} service, as one JSON object", svc.service),
            "Value": {"Fn::Sub": [format!("{{{text}}}"), vars]},
        }),
    ))
}

fn output_value(scope: &Scope, svc: &ServiceFile, value: &OutputValue) -> Json {
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
}
