//! How a template's resources call its functions: a function with a rollout is called
//! through its alias (SAM's `AutoPublishAlias`), so CodeDeploy's traffic shift covers every
//! route, authorizer, rule and trigger; any other function unqualified.

use std::collections::BTreeSet;

use serde_json::json;

use super::expr::{get_att, r, sub};
use crate::app::Function;
use crate::model::{Json, Rollout};

/// The functions of a template called through their alias.
pub(super) struct Callees(BTreeSet<String>);

impl Callees {
    /// From the template's functions.
    pub(super) fn new<'a>(functions: impl IntoIterator<Item = &'a Function>) -> Self {
        Callees(
            functions
                .into_iter()
                .filter(|f| f.rollout.is_some())
                .map(|f| f.name.clone())
                .collect(),
        )
    }

    /// The logical id of the alias SAM creates (`<Function>Alias<alias>`), whose `Ref` is
    /// its ARN. Written out, not as `<Function>.Alias`, which SAM resolves in a `Ref` but
    /// not inside the `Fn::Sub` of an API's body.
    fn qualified(&self, function: &str) -> Option<String> {
        self.0
            .contains(function)
            .then(|| format!("{function}Alias{}", Rollout::ALIAS))
    }

    /// The ARN to invoke: a rule target's `Arn`.
    pub(super) fn arn(&self, function: &str) -> Json {
        match self.qualified(function) {
            Some(alias) => r(&alias),
            None => get_att(function, "Arn"),
        }
    }

    /// What a Lambda permission or an event source mapping names.
    pub(super) fn name(&self, function: &str) -> Json {
        r(&self
            .qualified(function)
            .unwrap_or_else(|| function.to_owned()))
    }

    /// API Gateway's invocation URI of the function, for a route or an authorizer.
    pub(super) fn uri(&self, function: &str) -> Json {
        let arn = self
            .qualified(function)
            .unwrap_or_else(|| format!("{function}.Arn"));
        sub(format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{arn}}}/invocations"
        ))
    }
}

/// SAM's properties of a function with `rollout`: a new version published behind the
/// alias, and traffic shifted to it, rolled back when one of `alarms` fires.
pub(super) fn publish(props: &mut Json, rollout: Rollout, alarms: &[String]) {
    let alarms: Vec<Json> = alarms.iter().map(|a| r(a)).collect();
    props["AutoPublishAlias"] = json!(Rollout::ALIAS);
    props["DeploymentPreference"] = json!({"Type": rollout.as_str(), "Alarms": alarms});
}
