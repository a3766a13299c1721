//! The checkov checks the app accepts, as the skips each resource's `Metadata` carries.

use minijinja::Value;
use serde_json::json;

use super::cfn;
use crate::model::{AcceptedRisk, ResourceFamily};

/// The skips of the resource `name` of `family` (its log group's, for `LogGroups`, by the
/// function's name): `[{id, comment}]`, or `None` when it has none.
pub(super) fn skips(risks: &[AcceptedRisk], family: ResourceFamily, name: &str) -> Option<Value> {
    let skips: Vec<_> = risks
        .iter()
        .filter(|r| r.applies_to(family, name))
        .map(|r| json!({"id": r.check.as_str(), "comment": r.reason.value}))
        .collect();
    (!skips.is_empty()).then(|| cfn(json!(skips)))
}
