//! `stackgen diff`: what a model change does to the rendered templates, resource by
//! resource, with the risks a reviewer must not miss ([`Risk`]).
//!
//! Both sides are rendered templates read back as JSON ([`read`]): resources are matched
//! by logical id; a changed one lists the property paths that differ.

pub mod read;
pub mod report;
mod risks;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// A change a reviewer must see, whatever else the diff holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Risk {
    /// A stateful resource (table, user pool, queue, bus) is replaced or deleted: its
    /// data is lost.
    Replace,
    /// A resource with `DeletionPolicy: Retain` leaves the template: it stays in the
    /// account, unmanaged.
    Orphan,
    /// Permissions widen: a policy, role, queue policy or invoke permission is added or
    /// gains a statement.
    Iam,
    /// An output is removed: a service or client reading it breaks.
    Output,
    /// An API route is removed: its clients break.
    Route,
}

impl Risk {
    /// Every risk, in the order reports list them.
    pub const ALL: [Risk; 5] = [
        Risk::Replace,
        Risk::Orphan,
        Risk::Iam,
        Risk::Output,
        Risk::Route,
    ];

    /// The name `--fail-on` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Replace => "replace",
            Risk::Orphan => "orphan",
            Risk::Iam => "iam",
            Risk::Output => "output",
            Risk::Route => "route",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Risk {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Risk::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Risk::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown risk `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// What happened to one resource or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Only in the new template.
    Added,
    /// Only in the old template.
    Removed,
    /// In both, with different properties.
    Modified,
}

/// One resource (or output, parameter, condition) that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its logical id (for an output, parameter or condition, `Outputs.<name>`...).
    pub id: String,
    /// Its type (`AWS::DynamoDB::Table`; `Output`, `Parameter` or `Condition`).
    pub kind: String,
    /// What happened.
    pub change: Change,
    /// The paths that differ, for a modified resource (`Properties.KeySchema[0]`).
    pub paths: Vec<String>,
    /// The risks it carries, each with why.
    pub risks: BTreeMap<Risk, String>,
}

/// The differences of one template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateDiff {
    /// The file, relative to `generated/`.
    pub file: String,
    /// Every resource and output that differs, by id.
    pub entries: Vec<Entry>,
}

impl TemplateDiff {
    /// Every risk of the template.
    pub fn risks(&self) -> BTreeSet<Risk> {
        self.entries
            .iter()
            .flat_map(|e| e.risks.keys().copied())
            .collect()
    }
}

/// Compares two templates (either may be absent: a template added or removed).
pub fn templates(file: &str, old: Option<&Value>, new: Option<&Value>) -> TemplateDiff {
    let empty = Value::Null;
    let old = old.unwrap_or(&empty);
    let new = new.unwrap_or(&empty);
    let mut entries = Vec::new();
    let old_resources = section(old, "Resources");
    let new_resources = section(new, "Resources");
    let ids: BTreeSet<&String> = old_resources
        .keys()
        .chain(new_resources.keys())
        .copied()
        .collect();
    for id in ids {
        let (before, after) = (
            old_resources.get(id).copied(),
            new_resources.get(id).copied(),
        );
        if before == after {
            continue;
        }
        let kind = after
            .or(before)
            .and_then(|r| r["Type"].as_str())
            .unwrap_or_default()
            .to_owned();
        let change = match (before, after) {
            (None, _) => Change::Added,
            (_, None) => Change::Removed,
            _ => Change::Modified,
        };
        let mut paths = Vec::new();
        if let (Some(b), Some(a)) = (before, after) {
            differing_paths(b, a, "", &mut paths);
        }
        let risks = risks::of_resource(&kind, before, after, &paths);
        entries.push(Entry {
            id: id.clone(),
            kind,
            change,
            paths,
            risks,
        });
    }
    entries.extend(other_entries(old, new, "Parameters", "Parameter"));
    entries.extend(other_entries(old, new, "Conditions", "Condition"));
    entries.extend(other_entries(old, new, "Outputs", "Output"));
    TemplateDiff {
        file: file.to_owned(),
        entries,
    }
}

/// The entries of another section (`Outputs`, `Parameters`...) that differ, each a `kind`;
/// a removed output carries [`Risk::Output`].
fn other_entries(old: &Value, new: &Value, name: &str, kind: &str) -> Vec<Entry> {
    let (before, after) = (section(old, name), section(new, name));
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).copied().collect();
    let mut entries = Vec::new();
    for id in names {
        let (b, a) = (before.get(id).copied(), after.get(id).copied());
        if b == a {
            continue;
        }
        let mut paths = Vec::new();
        let mut risks = BTreeMap::new();
        let change = match (b, a) {
            (None, _) => Change::Added,
            (_, None) if kind == "Output" => {
                risks.insert(
                    Risk::Output,
                    "an output is removed: whoever reads it (another service, a client) breaks"
                        .to_owned(),
                );
                Change::Removed
            }
            (_, None) => Change::Removed,
            (Some(b), Some(a)) => {
                differing_paths(b, a, "", &mut paths);
                Change::Modified
            }
        };
        entries.push(Entry {
            id: format!("{name}.{id}"),
            kind: kind.into(),
            change,
            paths,
            risks,
        });
    }
    entries
}

/// A top-level section of a template as a map (empty when absent).
fn section<'a>(template: &'a Value, name: &str) -> BTreeMap<&'a String, &'a Value> {
    template[name]
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// Appends the paths under `prefix` where `old` and `new` differ: a whole value when its
/// type or an array's length changes, else each differing key or item.
fn differing_paths(old: &Value, new: &Value, prefix: &str, out: &mut Vec<String>) {
    match (old, new) {
        _ if old == new => {}
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => differing_paths(x, y, &path, out),
                    _ => out.push(path),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differing_paths(x, y, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => out.push(if prefix.is_empty() {
            "(whole value)".to_owned()
        } else {
            prefix.to_owned()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_changed_resource_lists_the_paths_that_differ() {
        let old = json!({"Resources": {"T": {"Type": "AWS::SQS::Queue", "Properties": {"A": 1, "B": [1, 2], "C": {"D": "x"}}}}});
        let new = json!({"Resources": {"T": {"Type": "AWS::SQS::Queue", "Properties": {"A": 2, "B": [1, 3], "C": {"E": "x"}}}}});
        let diff = templates("t.yaml", Some(&old), Some(&new));
        assert_eq!(diff.entries.len(), 1);
        assert_eq!(diff.entries[0].change, Change::Modified);
        assert_eq!(
            diff.entries[0].paths,
            [
                "Properties.A",
                "Properties.B[1]",
                "Properties.C.D",
                "Properties.C.E"
            ]
        );
    }

    #[test]
    fn an_unknown_risk_names_the_known_ones() {
        assert_eq!("iam".parse::<Risk>(), Ok(Risk::Iam));
        let error = "iamm".parse::<Risk>().unwrap_err();
        assert!(
            error.contains("replace, orphan, iam, output, route"),
            "{error}"
        );
    }
}
