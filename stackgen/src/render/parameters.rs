//! Stack parameters: a service's own, the environment, the alarm topic and imports; the
//! root declares the service parameters again and the alarm e-mail.

use minijinja::Value;
use serde::Serialize;

use super::cfn;
use crate::model::{Email, Ident, Parameter, ServiceFile};
use crate::samconfig::{ALARM_EMAIL_PARAMETER, ALARM_TOPIC_PARAMETER, ENVIRONMENT_PARAMETER};

/// One entry of a template's `Parameters`.
#[derive(Serialize)]
pub(super) struct ParamView {
    pub(super) name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    default: Option<Value>,
    description: String,
    /// What CloudFormation accepts, when narrower than the type.
    allowed_pattern: Option<String>,
}

impl ParamView {
    /// A `String` parameter without a default, set by whoever deploys the stack.
    fn required(name: impl Into<String>, description: String) -> ParamView {
        ParamView {
            name: name.into(),
            kind: "String",
            default: None,
            description,
            allowed_pattern: None,
        }
    }
}

/// A parameter a service declares, with its default; the root declares it again, with
/// the service named in its `description`.
pub(super) fn service_parameter(name: &str, p: &Parameter, description: String) -> ParamView {
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
pub(super) fn environment() -> ParamView {
    ParamView {
        // Environment names are identifiers in the model.
        allowed_pattern: Some(Ident::PATTERN.into()),
        ..ParamView::required(
            ENVIRONMENT_PARAMETER,
            "The environment this stack belongs to (dev, prod...): part of every name that must be unique in the account".into(),
        )
    }
}

/// The parameter through which `sam local invoke` points a service's functions at another
/// AWS endpoint (`stackgen-cloud local`'s); empty, as deployed, it adds nothing.
pub const LOCAL_ENDPOINT_PARAMETER: &str = "LocalEndpoint";

/// The condition that holds when [`LOCAL_ENDPOINT_PARAMETER`] is set.
pub const USES_LOCAL_ENDPOINT: &str = "UsesLocalEndpoint";

/// A service's `LocalEndpoint`: for local invokes only, empty when deployed.
fn local_endpoint() -> ParamView {
    ParamView {
        name: LOCAL_ENDPOINT_PARAMETER.into(),
        kind: "String",
        default: Some(cfn(serde_json::json!(""))),
        description: "Only for sam local invoke: the AWS endpoint the functions call (stackgen-cloud local's); leave empty when deploying".into(),
        allowed_pattern: Some(r"^$|^https?://[^\s]+$".into()),
    }
}

/// The root's `AlarmEmail`: who hears the alarms, or nobody when empty.
pub(super) fn alarm_email() -> ParamView {
    ParamView {
        name: ALARM_EMAIL_PARAMETER.into(),
        kind: "String",
        default: Some(cfn(serde_json::json!(""))),
        description:
            "Who hears the alarms: an e-mail address subscribed to the alarm topic (empty: none)"
                .into(),
        allowed_pattern: Some(format!("^$|{}", Email::PATTERN)),
    }
}

/// A service template's parameters, sorted by name.
pub(super) fn of_service(svc: &ServiceFile) -> Vec<ParamView> {
    let mut parameters: Vec<ParamView> = svc
        .parameters
        .iter()
        .map(|(n, p)| service_parameter(n.as_str(), p, p.description.clone()))
        .chain(std::iter::once(environment()))
        .collect();
    if !svc.functions.is_empty() {
        parameters.push(local_endpoint());
    }
    if svc.alarms.is_some() {
        parameters.push(ParamView::required(
            ALARM_TOPIC_PARAMETER,
            "ARN of the environment's alarm topic (set by the root template)".into(),
        ));
    }
    for (n, imp) in &svc.imports {
        parameters.push(ParamView::required(
            n.to_string(),
            format!(
                "Output `{}` of the {} service (set by the root template)",
                imp.output, imp.service
            ),
        ));
    }
    parameters.sort_by(|a, b| a.name.cmp(&b.name));
    parameters
}
