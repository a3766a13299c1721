//! CloudFormation expressions in their JSON form (`{"Ref": ...}`, `Fn::GetAtt`, `Fn::Sub`),
//! the way every resource family refers to names.

use serde_json::json;

use crate::check::{Resolved, Scope};
use crate::model::Json;

/// `Ref` of a logical id or parameter.
pub(super) fn r(name: &str) -> Json {
    json!({ "Ref": name })
}

/// `Fn::GetAtt` of a resource's attribute.
pub(super) fn get_att(name: &str, attr: &str) -> Json {
    json!({ "Fn::GetAtt": [name, attr] })
}

/// `Fn::Sub` of a text with `${...}` placeholders.
pub(super) fn sub(text: impl Into<String>) -> Json {
    json!({ "Fn::Sub": text.into() })
}

/// The main value of a name (table name, queue URL, pool id, parameter value...). Imports
/// and local resources both resolve through `Ref`: an import is a stack parameter.
pub(super) fn value_of(name: &str) -> Json {
    r(name)
}

/// The ARN of a resource of this service, or the imported ARN.
pub(super) fn arn_of(scope: &Scope, name: &str) -> Json {
    match scope.resolve(name) {
        Some(Resolved::Imported(_)) => r(name),
        _ => get_att(name, "Arn"),
    }
}

/// The base URL of an API's stage.
pub(super) fn endpoint(api: &str, stage: &str) -> Json {
    sub(format!(
        "https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}"
    ))
}

/// `FooBar` from `foo-bar`.
pub(super) fn camel(s: &str) -> String {
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
