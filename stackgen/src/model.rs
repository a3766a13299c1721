//! The raw model: serde types that mirror the YAML files under `model/`, and [`load`].
//!
//! Conventions:
//! - Every struct rejects unknown fields (`deny_unknown_fields`), so a typo is an error with
//!   its line and column instead of a silently ignored key.
//! - Names, paths and other constrained strings are newtypes whose `Deserialize` calls the
//!   validating constructor, so a bad value is reported at its own position.
//! - Values that other parts of the model point at, or that a later check may complain
//!   about, are wrapped in [`Sp`], which keeps their position for `check`.
//! - Maps are `BTreeMap`s: iteration order is the sorted order, which keeps rendering
//!   deterministic.
//!
//! This layer only knows the shape of each file. Whether references resolve is `check`'s job.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};

use crate::diag::Diagnostic;
use crate::enclosing::{self, Enclosing};
use crate::recover;
pub use crate::span::{Loc, Sp};

/// Declares a validated string newtype: `new` checks the value, `Deserialize` calls `new`,
/// and the JSON Schema carries the pattern and description.
macro_rules! str_newtype {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $what:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("The pattern of a valid ", $what, " (the JSON Schema's).")]
            pub const PATTERN: &'static str = $pattern;

            #[doc = concat!("Checks `value` and wraps it; the error says why it is not a valid ", $what, ".")]
            pub fn new(value: impl Into<String>) -> Result<Self, String> {
                let value = value.into();
                let check: fn(&str) -> Result<(), String> = $check;
                match check(&value) {
                    Ok(()) => Ok(Self(value)),
                    Err(why) => Err(format!("invalid {} `{}`: {}", $what, value, why)),
                }
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                $name::new(value).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "pattern": Self::PATTERN, "description": $what })
            }
        }
    };
}

fn check_chars(
    value: &str,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
    rule: &str,
) -> Result<(), String> {
    let mut chars = value.chars();
    match chars.next() {
        None => Err("it is empty".into()),
        Some(c) if !first(c) => Err(rule.into()),
        Some(_) if !chars.all(rest) => Err(rule.into()),
        Some(_) => Ok(()),
    }
}

str_newtype!(
    /// A resource name in a service: also its CloudFormation logical id (`UsersTable`).
    Name,
    "^[A-Za-z][A-Za-z0-9]{0,63}$",
    "name",
    |v| {
        if v.len() > 64 {
            return Err("use at most 64 characters".into());
        }
        check_chars(
            v,
            |c| c.is_ascii_alphabetic(),
            |c| c.is_ascii_alphanumeric(),
            "use letters and digits only, starting with a letter (it becomes a CloudFormation logical id)",
        )
    }
);

str_newtype!(
    /// A project or service name: lower-case letters, digits and dashes (`userprofile`).
    Ident,
    "^[a-z][a-z0-9-]{0,39}$",
    "identifier",
    |v| {
        if v.len() > 40 {
            return Err("use at most 40 characters".into());
        }
        check_chars(
            v,
            |c| c.is_ascii_lowercase(),
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            "use lower-case letters, digits and `-`, starting with a letter",
        )
    }
);

str_newtype!(
    /// A checkov check id (`CKV_AWS_117`, `CKV2_AWS_29`).
    CheckId,
    "^CKV2?_AWS_[0-9]+$",
    "checkov check id",
    |v| {
        let digits = v
            .strip_prefix("CKV_AWS_")
            .or_else(|| v.strip_prefix("CKV2_AWS_"))
            .ok_or("write it as checkov names it, `CKV_AWS_<n>` or `CKV2_AWS_<n>`")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the id ends in the check's number".into());
        }
        Ok(())
    }
);

str_newtype!(
    /// A Cargo crate or binary name (`create-order`).
    CrateName,
    "^[a-z][a-z0-9_-]*$",
    "crate or binary name",
    |v| check_chars(
        v,
        |c| c.is_ascii_lowercase(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_',
        "use lower-case letters, digits, `-` and `_`, starting with a letter",
    )
);

str_newtype!(
    /// An environment variable name (`USERS_TABLE`).
    EnvName,
    "^[A-Z_][A-Z0-9_]*$",
    "environment variable name",
    |v| check_chars(
        v,
        |c| c.is_ascii_uppercase() || c == '_',
        |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_',
        "use upper-case letters, digits and `_`, not starting with a digit",
    )
);

str_newtype!(
    /// An API Gateway stage name (`Prod`).
    StageName,
    "^[A-Za-z0-9_]{1,128}$",
    "stage name",
    |v| check_chars(
        v,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_',
        "use letters, digits and `_`",
    )
);

str_newtype!(
    /// An AWS region (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
    Region,
    "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$",
    "AWS region",
    |v| {
        let mut parts: Vec<&str> = v.split('-').collect();
        let number = parts.pop().unwrap_or_default();
        let shaped = parts.len() >= 2
            && parts[0].len() == 2
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && (1..=2).contains(&number.len())
            && number.chars().all(|c| c.is_ascii_digit());
        if shaped {
            Ok(())
        } else {
            Err("write a region code such as `us-east-1`".into())
        }
    }
);

str_newtype!(
    /// A CloudFormation stack name (`foodapp-dev`).
    StackName,
    "^[A-Za-z][A-Za-z0-9-]{0,127}$",
    "stack name",
    |v| {
        if v.len() > 128 {
            return Err("use at most 128 characters".into());
        }
        check_chars(
            v,
            |c| c.is_ascii_alphabetic(),
            |c| c.is_ascii_alphanumeric() || c == '-',
            "use letters, digits and `-`, starting with a letter",
        )
    }
);

str_newtype!(
    /// An e-mail address the alarms are sent to (an SNS `email` subscription).
    Email,
    "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
    "e-mail address",
    |v| {
        let shaped = v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|label| !label.is_empty())
        });
        if shaped && !v.chars().any(char::is_whitespace) {
            Ok(())
        } else {
            Err("write one address such as `oncall@example.com`".into())
        }
    }
);

/// An HTTP method API Gateway routes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
}

impl Method {
    const ALL: [(&'static str, Method); 7] = [
        ("GET", Method::Get),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("PATCH", Method::Patch),
        ("DELETE", Method::Delete),
        ("HEAD", Method::Head),
        ("OPTIONS", Method::Options),
    ];

    /// The upper-case method name (`GET`).
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(s, _)| *s)
            .unwrap_or("GET")
    }
}

/// One segment of a route path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A literal segment (`users`).
    Literal(String),
    /// A path parameter (`{userid}`); `greedy` for `{proxy+}`.
    Param {
        /// The parameter name.
        name: String,
        /// Whether it matches the rest of the path.
        greedy: bool,
    },
}

/// A route: method and path, written `GET /users/{userid}` in the model.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path, as written (`/users/{userid}`).
    pub path: String,
    /// The path split into segments.
    pub segments: Vec<Segment>,
}

impl RouteSpec {
    /// Parses `METHOD /path/{param}`.
    ///
    /// ```
    /// let route = stackgen::model::RouteSpec::parse("GET /users/{userid}").unwrap();
    /// assert_eq!(route.params(), vec!["userid"]);
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let malformed = |why: &str| format!("malformed route `{text}`: {why}");
        let (method, path) = text
            .split_once(' ')
            .ok_or_else(|| malformed("write it as `METHOD /path`, e.g. `GET /users/{userid}`"))?;
        let method = Method::ALL
            .iter()
            .find(|(s, _)| *s == method)
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                malformed(&format!(
                    "unknown method `{method}`, expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
                ))
            })?;
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(malformed("the path must start with `/`"));
        }
        let mut segments = Vec::new();
        if path != "/" {
            let parts: Vec<&str> = path[1..].split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                if part.is_empty() {
                    return Err(malformed(
                        "the path has an empty segment (`//` or a trailing `/`)",
                    ));
                }
                if let Some(inner) = part.strip_prefix('{') {
                    let inner = inner.strip_suffix('}').ok_or_else(|| {
                        malformed(&format!("segment `{part}` opens `{{` without closing it"))
                    })?;
                    let (name, greedy) = match inner.strip_suffix('+') {
                        Some(name) => (name, true),
                        None => (inner, false),
                    };
                    let valid = name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !valid {
                        return Err(malformed(&format!(
                            "path parameter `{{{inner}}}` must be a name of letters, digits and `_`"
                        )));
                    }
                    if greedy && i + 1 != parts.len() {
                        return Err(malformed(
                            "a greedy parameter `{name+}` must be the last segment",
                        ));
                    }
                    if segments
                        .iter()
                        .any(|s| matches!(s, Segment::Param { name: n, .. } if n == name))
                    {
                        return Err(malformed(&format!("path parameter `{name}` appears twice")));
                    }
                    segments.push(Segment::Param {
                        name: name.to_string(),
                        greedy,
                    });
                } else if part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    segments.push(Segment::Literal(part.to_string()));
                } else {
                    return Err(malformed(&format!(
                        "segment `{part}` may only hold letters, digits, `-`, `_`, `.` or be a `{{param}}`"
                    )));
                }
            }
        }
        Ok(Self {
            method,
            path: path.to_string(),
            segments,
        })
    }

    /// The names of the path parameters, in order.
    pub fn params(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Param { name, .. } => Some(name.as_str()),
                Segment::Literal(_) => None,
            })
            .collect()
    }

    /// The path with every parameter replaced by `*`, as IAM resource ARNs for API Gateway want it.
    pub fn arn_path(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Param { .. } => out.push('*'),
            }
        }
        if out.is_empty() { "/".into() } else { out }
    }

    /// The shape of the path, parameters reduced to `{}`: two routes with the same shape
    /// and method collide in API Gateway.
    pub fn shape(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Param { greedy: false, .. } => out.push_str("{}"),
                Segment::Param { greedy: true, .. } => out.push_str("{+}"),
            }
        }
        out
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.path)
    }
}

impl<'de> Deserialize<'de> for RouteSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RouteSpec::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for RouteSpec {
    fn schema_name() -> Cow<'static, str> {
        "RouteSpec".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /",
            "description": "method and path, e.g. `GET /users/{userid}`"
        })
    }
}

/// A JSON value written in YAML (event patterns, JSON Schemas, parameter defaults).
pub type Json = serde_json::Value;

// ---------------------------------------------------------------------------------------
// model/app.yaml
// ---------------------------------------------------------------------------------------

/// `model/app.yaml`: the project and the defaults every function starts from.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppFile {
    /// Project name: prefixes the SSM output parameters
    /// (`/<project>/<environment>/outputs/service/<service>`).
    pub project: Sp<Ident>,
    /// One line for the root template's description.
    pub description: String,
    /// Settings every function gets unless it says otherwise.
    pub defaults: Defaults,
    /// Where the app is deployed: one stack per environment (`dev`, `prod`), each with its
    /// own `sam deploy --config-env <name>` settings in the rendered `samconfig.toml`.
    #[serde(default)]
    pub environments: BTreeMap<Sp<Ident>, Environment>,
    /// checkov findings the app accepts, each with why; rendered as a skip, with its reason,
    /// in the `Metadata` of every resource it applies to.
    #[serde(default)]
    pub accepted_risks: Vec<AcceptedRisk>,
    /// Who sets the role through which API Gateway writes the stages' access logs: an
    /// account-wide, per-region setting, without which no stage can log.
    #[serde(default)]
    pub api_logging_role: ApiLoggingRole,
}

/// Who sets the account's API Gateway CloudWatch Logs role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiLoggingRole {
    /// The root stack creates the role and sets it for the account in its region. The role
    /// is kept when the stack is deleted, since every API of the account logs through it.
    #[default]
    Create,
    /// The account already has one (set by another stack or by hand); the stacks leave the
    /// setting alone.
    Existing,
}

/// A checkov check the app does not meet on purpose, and why.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptedRisk {
    /// The check.
    pub check: Sp<CheckId>,
    /// The kind of resource it is accepted on.
    pub on: ResourceFamily,
    /// Only these resources of that kind (by name, in any service); every one when empty.
    #[serde(default)]
    pub only: Vec<Sp<Name>>,
    /// Why the app accepts it: the skip's comment, for whoever reads the template.
    pub reason: Sp<String>,
}

/// A kind of resource a risk is accepted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceFamily {
    /// Lambda functions.
    Functions,
    /// Log groups: a function's, or an API stage's access log (named by the function or API).
    LogGroups,
    /// DynamoDB tables.
    Tables,
    /// SQS queues.
    Queues,
    /// REST APIs.
    Apis,
}

impl ResourceFamily {
    /// The name used in the model (`log_groups`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceFamily::Functions => "functions",
            ResourceFamily::LogGroups => "log_groups",
            ResourceFamily::Tables => "tables",
            ResourceFamily::Queues => "queues",
            ResourceFamily::Apis => "apis",
        }
    }
}

impl AcceptedRisk {
    /// Whether it applies to the resource `name` of `family`.
    pub fn applies_to(&self, family: ResourceFamily, name: &str) -> bool {
        self.on == family && (self.only.is_empty() || self.only.iter().any(|n| n.as_str() == name))
    }
}

/// One deployment of the whole app: its stack, region and deploy-time values.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The region the stack lives in.
    pub region: Sp<Region>,
    /// The root stack's name: `<project>-<environment>` when not given.
    #[serde(default)]
    pub stack_name: Option<Sp<StackName>>,
    /// Values for service parameters (by name), instead of their defaults.
    #[serde(default)]
    pub parameters: BTreeMap<Sp<Name>, Sp<Json>>,
    /// Who hears the alarms: an e-mail subscription to the environment's alarm topic
    /// (the address confirms it once, from the mail SNS sends).
    #[serde(default)]
    pub alarm_email: Option<Sp<Email>>,
    /// Tags on the stacks and every resource CloudFormation tags.
    #[serde(default)]
    pub tags: BTreeMap<Sp<String>, String>,
    /// Whether `sam deploy` shows the change set and waits for a yes before applying it.
    #[serde(default)]
    pub confirm_changeset: bool,
}

/// Function defaults.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Lambda runtime; `provided.al2023` for Rust `bootstrap` binaries.
    pub runtime: Runtime,
    /// CPU architecture; `x86_64` builds with the host's Rust target.
    pub architecture: Architecture,
    /// Memory in MB (128–10240).
    pub memory_mb: Sp<u32>,
    /// Timeout in seconds (1–900).
    pub timeout_seconds: Sp<u32>,
    /// X-Ray tracing of functions and API stages.
    pub tracing: Tracing,
    /// Days to keep function logs (a value CloudWatch Logs accepts, e.g. 7, 14, 30).
    pub log_retention_days: Sp<u32>,
    /// `RUST_LOG` for every function.
    pub log_level: String,
}

/// Lambda runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Runtime {
    /// The Amazon Linux 2023 OS-only runtime.
    #[serde(rename = "provided.al2023")]
    ProvidedAl2023,
}

impl Runtime {
    /// The name CloudFormation wants.
    pub fn as_str(self) -> &'static str {
        "provided.al2023"
    }
}

/// CPU architecture of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Intel/AMD 64-bit.
    X86_64,
    /// Graviton.
    Arm64,
}

impl Architecture {
    /// The name CloudFormation wants.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// X-Ray tracing mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Tracing {
    /// Sample and trace requests.
    Active,
    /// Only pass trace headers on.
    PassThrough,
}

// ---------------------------------------------------------------------------------------
// model/<service>.yaml
// ---------------------------------------------------------------------------------------

/// `model/<service>.yaml`: one service, rendered as one SAM template.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceFile {
    /// Service name: the generated file is `generated/<service>.yaml`.
    pub service: Sp<Ident>,
    /// One line for the template's description.
    pub description: String,
    /// Stack parameters with defaults (overridable at deploy time).
    #[serde(default)]
    pub parameters: BTreeMap<Sp<Name>, Parameter>,
    /// Values taken from another service's outputs; each becomes a stack parameter that the
    /// root template fills in.
    #[serde(default)]
    pub imports: BTreeMap<Sp<Name>, Import>,
    /// DynamoDB tables.
    #[serde(default)]
    pub tables: BTreeMap<Sp<Name>, Table>,
    /// Cognito user pools.
    #[serde(default)]
    pub user_pools: BTreeMap<Sp<Name>, UserPool>,
    /// SQS queues.
    #[serde(default)]
    pub queues: BTreeMap<Sp<Name>, Queue>,
    /// EventBridge buses.
    #[serde(default)]
    pub buses: BTreeMap<Sp<Name>, Bus>,
    /// Lambda functions.
    #[serde(default)]
    pub functions: BTreeMap<Sp<Name>, Function>,
    /// EventBridge rules, each with one function target.
    #[serde(default)]
    pub rules: BTreeMap<Sp<Name>, Rule>,
    /// REST APIs.
    #[serde(default)]
    pub apis: BTreeMap<Sp<Name>, Api>,
    /// CloudWatch alarms, sent to the environment's alarm topic.
    #[serde(default)]
    pub alarms: Option<Alarms>,
    /// Stack outputs; those with `publish: true` also go into the service's SSM parameter.
    #[serde(default)]
    pub outputs: BTreeMap<Sp<Name>, Output>,
}

/// A stack parameter.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// CloudFormation parameter type.
    #[serde(rename = "type")]
    pub kind: ParameterType,
    /// Default value.
    pub default: Sp<Json>,
    /// What it is for.
    pub description: String,
}

/// Type of a stack parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ParameterType {
    /// A string.
    String,
    /// A number.
    Number,
}

impl ParameterType {
    /// The name CloudFormation wants.
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterType::String => "String",
            ParameterType::Number => "Number",
        }
    }

    /// Whether `value`, written in the model, is a value of this type.
    pub fn admits(self, value: &Json) -> bool {
        match self {
            ParameterType::String => value.is_string(),
            ParameterType::Number => value.is_number(),
        }
    }
}

/// A value imported from another service's outputs.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// The service that declares the output.
    pub service: Sp<Ident>,
    /// The output's name in that service.
    pub output: Sp<Name>,
}

/// A DynamoDB table (string keys unless said otherwise).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Partition (hash) key.
    pub partition_key: Key,
    /// Sort (range) key.
    #[serde(default)]
    pub sort_key: Option<Key>,
    /// Attribute holding an epoch-seconds expiry time.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// Billing mode.
    #[serde(default)]
    pub billing_mode: BillingMode,
    /// Continuous backups.
    #[serde(default)]
    pub point_in_time_recovery: bool,
    /// What stack deletion and replacement do with the table: `retain` when not given.
    #[serde(default)]
    pub deletion_policy: Option<DeletionPolicy>,
}

/// What CloudFormation does with a resource when its stack is deleted or an update replaces
/// it (the resource's `DeletionPolicy` and `UpdateReplacePolicy`, always set alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeletionPolicy {
    /// Keep the resource, and its data, outside the stack.
    Retain,
    /// Delete the resource with its data.
    Delete,
}

impl DeletionPolicy {
    /// The CloudFormation value (`Retain`, `Delete`).
    pub fn as_cfn(self) -> &'static str {
        match self {
            Self::Retain => "Retain",
            Self::Delete => "Delete",
        }
    }
}

/// A key attribute.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// Attribute name.
    pub name: String,
    /// Attribute type.
    #[serde(rename = "type", default)]
    pub kind: KeyType,
}

/// DynamoDB key attribute type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum KeyType {
    /// String.
    #[default]
    S,
    /// Number.
    N,
    /// Binary.
    B,
}

/// DynamoDB billing mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum BillingMode {
    /// On-demand.
    #[default]
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
}

/// A Cognito user pool that signs users in by email, with one app client and its groups.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPool {
    /// Attributes every user must have (besides `email`, which is the username).
    pub required_attributes: Vec<String>,
    /// The app client (no secret; USER_PASSWORD_AUTH, SRP and refresh tokens).
    pub client: Sp<Name>,
    /// Groups created with the pool, by resource name.
    #[serde(default)]
    pub groups: BTreeMap<Sp<Name>, Group>,
    /// What stack deletion and replacement do with the pool and its groups: `retain` when
    /// not given.
    #[serde(default)]
    pub deletion_policy: Option<DeletionPolicy>,
}

/// A Cognito group.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The group's name in Cognito (what tokens carry in `cognito:groups`).
    pub name: String,
    /// What membership means.
    pub description: String,
}

/// An SQS queue.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Visibility timeout; must be at least the timeout of a function it triggers.
    #[serde(default)]
    pub visibility_timeout_seconds: Option<Sp<u32>>,
    /// How long messages are kept.
    #[serde(default)]
    pub retention_seconds: Option<u32>,
    /// Where messages go after `max_receive_count` failed receives.
    #[serde(default)]
    pub dead_letter: Option<DeadLetter>,
    /// What stack deletion and replacement do with the queue: `delete` when not given.
    #[serde(default)]
    pub deletion_policy: Option<DeletionPolicy>,
}

/// A redrive policy.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    /// The dead-letter queue.
    pub queue: Sp<Name>,
    /// Receives before a message moves there.
    pub max_receive_count: Sp<u32>,
}

/// An EventBridge bus.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bus {
    /// What travels on it.
    #[serde(default)]
    pub description: Option<String>,
}

/// A Lambda function: one of the functions its handler crate's bootstrap serves.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Function {
    /// The crate under `handlers/`.
    #[serde(rename = "crate")]
    pub krate: Sp<CrateName>,
    /// Which of the crate's functions this is: the template's `Handler`, which the crate's
    /// one bootstrap reads (as `_HANDLER`) to serve it.
    pub handler: Sp<CrateName>,
    /// What it does.
    pub description: String,
    /// Overrides `defaults.memory_mb`.
    #[serde(default)]
    pub memory_mb: Option<Sp<u32>>,
    /// Overrides `defaults.timeout_seconds`.
    #[serde(default)]
    pub timeout_seconds: Option<Sp<u32>>,
    /// Overrides `defaults.architecture`.
    #[serde(default)]
    pub architecture: Option<Architecture>,
    /// Environment variables (`RUST_LOG` is added from the defaults).
    #[serde(default)]
    pub environment: BTreeMap<Sp<EnvName>, Sp<EnvValue>>,
    /// What the function may do to which resource.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Queues that invoke it.
    #[serde(default)]
    pub triggers: Vec<QueueTrigger>,
    /// Queue for events whose asynchronous invocation failed after Lambda's retries.
    #[serde(default)]
    pub dead_letter_queue: Option<Sp<Name>>,
    /// How a new version takes traffic: published behind the alias `live`, which every
    /// route and trigger calls, and shifted by CodeDeploy, rolled back when the function's
    /// errors alarm fires (so the function must be in `alarms.functions`). All at once by
    /// default, with no alias.
    #[serde(default)]
    pub rollout: Option<Sp<Rollout>>,
}

/// A CodeDeploy traffic shift for a new function version (SAM's `DeploymentPreference`
/// types): a share first, then the rest; or steps of 10%.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Rollout {
    /// 10% for 5 minutes, then all.
    Canary10Percent5Minutes,
    /// 10% for 10 minutes, then all.
    Canary10Percent10Minutes,
    /// 10% for 15 minutes, then all.
    Canary10Percent15Minutes,
    /// 10% for 30 minutes, then all.
    Canary10Percent30Minutes,
    /// 10% more every minute.
    Linear10PercentEvery1Minute,
    /// 10% more every 2 minutes.
    Linear10PercentEvery2Minutes,
    /// 10% more every 3 minutes.
    Linear10PercentEvery3Minutes,
    /// 10% more every 10 minutes.
    Linear10PercentEvery10Minutes,
    /// All at once, still through the alias and with the alarm's rollback.
    AllAtOnce,
}

impl Rollout {
    /// The alias a function with a rollout is called through.
    pub const ALIAS: &'static str = "live";

    /// SAM's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rollout::Canary10Percent5Minutes => "Canary10Percent5Minutes",
            Rollout::Canary10Percent10Minutes => "Canary10Percent10Minutes",
            Rollout::Canary10Percent15Minutes => "Canary10Percent15Minutes",
            Rollout::Canary10Percent30Minutes => "Canary10Percent30Minutes",
            Rollout::Linear10PercentEvery1Minute => "Linear10PercentEvery1Minute",
            Rollout::Linear10PercentEvery2Minutes => "Linear10PercentEvery2Minutes",
            Rollout::Linear10PercentEvery3Minutes => "Linear10PercentEvery3Minutes",
            Rollout::Linear10PercentEvery10Minutes => "Linear10PercentEvery10Minutes",
            Rollout::AllAtOnce => "AllAtOnce",
        }
    }
}

/// The value of an environment variable: a literal or a reference, written as a one-key map.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EnvValue {
    /// A literal string.
    Value(String),
    /// A table's name.
    Table(Sp<Name>),
    /// A queue's URL.
    Queue(Sp<Name>),
    /// A bus's name.
    Bus(Sp<Name>),
    /// A user pool's id.
    UserPool(Sp<Name>),
    /// An app client's id.
    UserPoolClient(Sp<Name>),
    /// A group's name.
    UserPoolGroup(Sp<Name>),
    /// A stack parameter's value.
    Parameter(Sp<Name>),
}

/// A permission: one table, queue or bus, and the access it grants. Written as a map with
/// exactly one of `table`, `queue`, `bus`, and `access`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(try_from = "PermissionFields")]
pub enum Permission {
    /// On a table (local or imported).
    Table {
        /// The table.
        table: Sp<Name>,
        /// `read`, `write` or `crud`.
        access: Sp<Access>,
    },
    /// On a queue of the service.
    Queue {
        /// The queue.
        queue: Sp<Name>,
        /// `send` or `poll`.
        access: Sp<Access>,
    },
    /// On a bus (local or imported).
    Bus {
        /// The bus.
        bus: Sp<Name>,
        /// `put-events`.
        access: Sp<Access>,
    },
}

impl Permission {
    /// The resource it grants access to.
    pub fn target(&self) -> &Sp<Name> {
        match self {
            Permission::Table { table: n, .. }
            | Permission::Queue { queue: n, .. }
            | Permission::Bus { bus: n, .. } => n,
        }
    }

    /// The access it grants.
    pub fn access(&self) -> &Sp<Access> {
        match self {
            Permission::Table { access, .. }
            | Permission::Queue { access, .. }
            | Permission::Bus { access, .. } => access,
        }
    }
}

/// A permission as written: exactly one of `table`, `queue`, `bus`, and the access it grants.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PermissionFields {
    /// A table (local or imported).
    #[serde(default)]
    table: Option<Sp<Name>>,
    /// A queue.
    #[serde(default)]
    queue: Option<Sp<Name>>,
    /// A bus (local or imported).
    #[serde(default)]
    bus: Option<Sp<Name>>,
    /// The access: `read`, `write` (put/update, no delete) or `crud` on tables; `send` or
    /// `poll` on queues; `put-events` on buses.
    access: Sp<Access>,
}

impl TryFrom<PermissionFields> for Permission {
    type Error = String;

    fn try_from(p: PermissionFields) -> Result<Self, String> {
        match (p.table, p.queue, p.bus) {
            (Some(table), None, None) => Ok(Permission::Table {
                table,
                access: p.access,
            }),
            (None, Some(queue), None) => Ok(Permission::Queue {
                queue,
                access: p.access,
            }),
            (None, None, Some(bus)) => Ok(Permission::Bus {
                bus,
                access: p.access,
            }),
            (table, queue, bus) => Err(format!(
                "a permission names exactly one of `table`, `queue`, `bus` (this one names {})",
                [table.is_some(), queue.is_some(), bus.is_some()]
                    .into_iter()
                    .filter(|&given| given)
                    .count()
            )),
        }
    }
}

/// Kinds of access a permission grants.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Get, query, scan.
    Read,
    /// Put, update, batch write (no delete).
    Write,
    /// Read, write and delete.
    Crud,
    /// `GetItem` only (also inside a transaction's condition check).
    Get,
    /// `Query` only.
    Query,
    /// `Scan` only.
    Scan,
    /// `PutItem` only (also as a transaction's put).
    Put,
    /// `UpdateItem` only (also as a transaction's update).
    Update,
    /// `DeleteItem` only (also as a transaction's delete).
    Delete,
    /// Send messages.
    Send,
    /// Receive and delete messages.
    Poll,
    /// Put events.
    PutEvents,
}

impl Access {
    /// The name used in the model.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Crud => "crud",
            Access::Get => "get",
            Access::Query => "query",
            Access::Scan => "scan",
            Access::Put => "put",
            Access::Update => "update",
            Access::Delete => "delete",
            Access::Send => "send",
            Access::Poll => "poll",
            Access::PutEvents => "put-events",
        }
    }

    /// The one DynamoDB action a single-action table access grants; `None` for the
    /// broader ones (`read`, `write`, `crud`) and the other kinds'.
    pub fn table_action(self) -> Option<&'static str> {
        match self {
            Access::Get => Some("dynamodb:GetItem"),
            Access::Query => Some("dynamodb:Query"),
            Access::Scan => Some("dynamodb:Scan"),
            Access::Put => Some("dynamodb:PutItem"),
            Access::Update => Some("dynamodb:UpdateItem"),
            Access::Delete => Some("dynamodb:DeleteItem"),
            _ => None,
        }
    }
}

/// An SQS event source.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueTrigger {
    /// The queue.
    pub queue: Sp<Name>,
    /// Messages per invocation (1–10000).
    pub batch_size: Sp<u32>,
    /// Seconds to gather a batch (0–300).
    #[serde(default)]
    pub max_batching_window_seconds: Option<u32>,
    /// The function returns `batchItemFailures`, so only failed messages are retried.
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// The most concurrent invocations this queue may cause (2–1000): a flood of messages
    /// then waits in the queue instead of using up the account's concurrency, without
    /// reserving any (which a new account's concurrency limit may not allow).
    #[serde(default)]
    pub max_concurrency: Option<Sp<u32>>,
}

/// An EventBridge rule with one function target.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The bus it listens on.
    pub bus: Sp<Name>,
    /// The event pattern.
    pub pattern: Sp<Json>,
    /// The function it invokes.
    pub target: Sp<Name>,
    /// Delivery retries.
    #[serde(default)]
    pub retry: Option<RetryPolicy>,
    /// Queue for events that could not be delivered.
    #[serde(default)]
    pub dead_letter_queue: Option<Sp<Name>>,
}

/// Delivery retry policy of a rule target.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// 0–185.
    pub max_attempts: Sp<u32>,
    /// 60–86400.
    pub max_event_age_seconds: Sp<u32>,
}

/// A REST API.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Stage name; part of the endpoint URL.
    pub stage: StageName,
    /// What it serves.
    pub description: String,
    /// Authorizer every route uses unless it says otherwise.
    #[serde(default)]
    pub auth: Option<Sp<Name>>,
    /// Authorizers by name.
    #[serde(default)]
    pub authorizers: BTreeMap<Sp<Name>, Authorizer>,
    /// Request and response body models (JSON Schema draft 4) by name.
    #[serde(default)]
    pub models: BTreeMap<Sp<Name>, Sp<Json>>,
    /// The stage's request rate limit, for all callers together; by default
    /// [`Throttle::STAGE`].
    #[serde(default)]
    pub throttle: Option<Sp<Throttle>>,
    /// Whether the stage writes an access log, one JSON line per request (who, what, the
    /// answer, how long, any integration error), to a log group of its own kept for
    /// `defaults.log_retention_days`; on by default. A stage can log only once the account
    /// has an API Gateway logging role (`api_logging_role`).
    #[serde(default = "yes")]
    pub access_log: bool,
    /// Path parameters the gateway checks, by name: a request whose value does not match
    /// gets 400 before anything is sent. Only a service integration's parameters can be
    /// checked there; a function gets its parameters as sent and checks them itself.
    #[serde(default)]
    pub path_parameters: BTreeMap<Sp<String>, PathParameter>,
    /// The routes.
    pub routes: Vec<Route>,
}

/// What a path parameter's value must be.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathParameter {
    /// The whole value must match it: an ECMA 262 regular expression from `^` to `$`, the
    /// syntax API Gateway's mapping templates (Java) and OpenAPI documents share.
    pub pattern: Sp<String>,
    /// What it must be, in words: the 400's message says it.
    pub description: Sp<String>,
}

/// An API Gateway request rate limit (token bucket): steady requests per second, and how
/// many may come at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Requests per second, steady.
    pub rate: u32,
    /// Requests at once (the bucket's size).
    pub burst: u32,
}

impl Throttle {
    /// A stage's limit unless the model says otherwise.
    pub const STAGE: Throttle = Throttle {
        rate: 100,
        burst: 200,
    };
    /// A route that writes straight to a bus or queue (no function in front to slow a
    /// flood down) unless the model says otherwise.
    pub const DIRECT_WRITE: Throttle = Throttle {
        rate: 20,
        burst: 40,
    };
}

/// What the gateway checks of a TOKEN authorizer's token before calling the function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenShape {
    /// Three base64url parts separated by dots, optionally after `Bearer `: anything else
    /// is 401 at the gateway, so junk tokens never invoke (or bill) the function.
    #[default]
    Jwt,
    /// Any non-empty value.
    Any,
}

impl TokenShape {
    /// API Gateway's `identityValidationExpression` (a Java regex) for this shape.
    pub fn validation_expression(self) -> Option<&'static str> {
        match self {
            TokenShape::Jwt => Some("^(Bearer )?[-0-9A-Za-z_]+\\.[-0-9A-Za-z_]+\\.[-0-9A-Za-z_]+$"),
            TokenShape::Any => None,
        }
    }

    /// Whether `token` (the whole header) has this shape; the same test as
    /// [`TokenShape::validation_expression`], without a regex engine.
    pub fn admits(self, token: &str) -> bool {
        match self {
            TokenShape::Any => true,
            TokenShape::Jwt => {
                let token = token.strip_prefix("Bearer ").unwrap_or(token);
                let part = |p: &str| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                };
                let parts: Vec<&str> = token.split('.').collect();
                parts.len() == 3 && parts.iter().all(|p| part(p))
            }
        }
    }
}

/// An API authorizer, written as a one-key map.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Authorizer {
    /// A Lambda TOKEN authorizer reading the `Authorization` header.
    Token {
        /// The authorizer function.
        function: Sp<Name>,
        /// Seconds API Gateway caches a policy per token (0 disables caching).
        result_ttl_seconds: u32,
        /// What a token must look like before the function is called: `jwt` (the
        /// default) or `any`.
        #[serde(default)]
        token_shape: TokenShape,
    },
    /// A Cognito user pool authorizer (ID tokens in the `Authorization` header).
    Cognito {
        /// A user pool of this service, or an import of another service's pool ARN.
        user_pool: Sp<Name>,
    },
}

/// A route and what it integrates with.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `METHOD /path`, with `{param}` segments.
    pub route: Sp<RouteSpec>,
    /// An authorizer name, or `none` for a public route; defaults to the API's `auth`.
    #[serde(default)]
    pub auth: Option<Sp<RouteAuth>>,
    /// Request body model name; API Gateway answers 400 when the body does not match.
    #[serde(default)]
    pub body: Option<Sp<Name>>,
    /// The route's own rate limit, below the stage's; by default
    /// [`Throttle::DIRECT_WRITE`] for `put_events` and `send_message` routes, none (the
    /// stage's) for functions.
    #[serde(default)]
    pub throttle: Option<Sp<Throttle>>,
    /// The integration.
    pub integration: Sp<Integration>,
    /// What the route answers, by HTTP status: its API's OpenAPI document lists them, and
    /// the end-to-end tests hold every answer to them.
    #[serde(default)]
    pub responses: BTreeMap<Sp<u16>, RouteResponse>,
}

/// One answer of a route.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteResponse {
    /// When it is given.
    pub description: String,
    /// A model of the API its body matches; by default none for a 2xx, the error shape
    /// (`{"message": "..."}`) otherwise.
    #[serde(default)]
    pub body: Option<Sp<Name>>,
}

/// What a route says of its caller's authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteAuth {
    /// `none`: a public route, even when the API has a default authorizer.
    Public,
    /// An authorizer of the API, by name.
    Authorizer(Name),
}

impl RouteAuth {
    /// The word that makes a route public.
    pub const PUBLIC: &'static str = "none";
}

impl fmt::Display for RouteAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteAuth::Public => f.write_str(Self::PUBLIC),
            RouteAuth::Authorizer(name) => name.fmt(f),
        }
    }
}

impl<'de> Deserialize<'de> for RouteAuth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value == Self::PUBLIC {
            return Ok(RouteAuth::Public);
        }
        Name::new(value)
            .map(RouteAuth::Authorizer)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for RouteAuth {
    fn schema_name() -> Cow<'static, str> {
        "RouteAuth".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "an authorizer of the API, or `none` for a public route",
            "anyOf": [{ "const": Self::PUBLIC }, generator.subschema_for::<Name>()],
        })
    }
}

impl Route {
    /// The authorizer the route uses: its own `auth`, else the API's; `None` when public.
    pub fn authorizer<'a>(&'a self, api: &'a Api) -> Option<&'a Name> {
        match self.auth.as_ref().map(|a| &a.value) {
            Some(RouteAuth::Public) => None,
            Some(RouteAuth::Authorizer(name)) => Some(name),
            None => api.auth.as_ref().map(|a| &a.value),
        }
    }

    /// The route's own limit: the model's, or the default for its integration.
    pub fn own_throttle(&self) -> Option<Throttle> {
        self.throttle
            .as_ref()
            .map(|t| t.value)
            .or(match self.integration.value {
                Integration::Function(_) => None,
                Integration::PutEvents(_) | Integration::SendMessage(_) => {
                    Some(Throttle::DIRECT_WRITE)
                }
            })
    }
}

/// What a route calls, written as a one-key map.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Integration {
    /// A Lambda function (proxy integration).
    Function(Sp<Name>),
    /// EventBridge `PutEvents` of one event.
    PutEvents(PutEvents),
    /// SQS `SendMessage` of one message.
    SendMessage(SendMessage),
}

/// An EventBridge `PutEvents` integration.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutEvents {
    /// The bus.
    pub bus: Sp<Name>,
    /// The event's `source`.
    pub source: String,
    /// The event's `detail-type`.
    pub detail_type: String,
    /// The event's `detail`: a flat JSON object of strings, by field name.
    pub detail: BTreeMap<String, Sp<ValueSource>>,
}

/// An SQS `SendMessage` integration.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The queue.
    pub queue: Sp<Name>,
    /// The message body.
    pub body: Sp<ValueSource>,
    /// String message attributes, by name.
    #[serde(default)]
    pub attributes: BTreeMap<String, Sp<ValueSource>>,
}

/// Where a value in an integration comes from.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueSource {
    /// The caller's `sub`, from the authorizer (never from the request).
    Caller,
    /// A string field at the top level of the JSON body.
    Body(String),
    /// A path parameter of the route.
    Path(String),
    /// A constant.
    Value(String),
    /// When API Gateway received the request, in milliseconds since the Unix epoch, as
    /// decimal text (`$context.requestTimeEpoch`): orders a client's commands.
    RequestTime,
    /// API Gateway's id of the request (`$context.requestId`).
    RequestId,
}

/// CloudWatch alarms to the environment's alarm topic (created by the root stack, its ARN
/// passed to the service as the parameter `AlarmTopicArn`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    /// APIs that alarm on any 5XX response in a 5-minute period, and on a slow p99.
    #[serde(default)]
    pub apis: Vec<Sp<Name>>,
    /// The p99 latency (ms) above which an API of `apis` alarms, for 3 periods of 5 minutes.
    #[serde(default = "default_p99_ms")]
    pub api_p99_latency_ms: u32,
    /// Functions that alarm on any error or throttle in a 5-minute period.
    #[serde(default)]
    pub functions: Vec<Sp<Name>>,
    /// Metrics the functions emit themselves (EMF) that alarm when they reach 1 in a
    /// 5-minute period.
    #[serde(default)]
    pub metrics: Vec<MetricAlarm>,
}

fn default_p99_ms() -> u32 {
    3000
}

/// An alarm on a metric a function emits itself.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricAlarm {
    /// The metric's namespace.
    pub namespace: String,
    /// The metric's name; the alarm is `<name>Alarm`.
    pub name: Sp<Name>,
    /// The metric's dimensions, by name (for EMF: `service`).
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    /// What a breach means, for the alarm's description.
    pub description: String,
}

/// A stack output.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// What it is.
    pub description: String,
    /// The value, written as a one-key map.
    pub value: Sp<OutputValue>,
    /// Whether it also goes into the service's SSM parameter.
    #[serde(default = "yes")]
    pub publish: bool,
}

fn yes() -> bool {
    true
}

/// The value of an output.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputValue {
    /// The resource's main value: a table's or bus's name, a queue's URL, a pool's or
    /// client's id, a group's name, a parameter's value.
    Ref(Sp<Name>),
    /// The resource's ARN (table, queue, bus, user pool, function, topic).
    Arn(Sp<Name>),
    /// An API's base URL including the stage (`https://…/Prod`).
    Endpoint(Sp<Name>),
}

impl OutputValue {
    /// The resource (or parameter, or import) whose value it carries.
    pub fn resource(&self) -> &Sp<Name> {
        match self {
            OutputValue::Ref(n) | OutputValue::Arn(n) | OutputValue::Endpoint(n) => n,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/// One parsed file with its path and text (kept for diagnostics).
#[derive(Clone, Debug)]
pub struct Source<T> {
    /// The path as given (relative to the working directory when possible).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// The parsed content.
    pub file: T,
}

/// Where a deployed service publishes its outputs, as one JSON object: the SSM parameter
/// `/<project>/<environment>/outputs/service/<service>`.
pub fn outputs_parameter_name(project: &str, environment: &str, service: &str) -> String {
    format!("/{project}/{environment}/outputs/service/{service}")
}

/// The whole raw model: `app.yaml` and the service files, sorted by file name.
#[derive(Clone, Debug)]
pub struct Model {
    /// `app.yaml`.
    pub app: Source<AppFile>,
    /// Every other `*.yaml` in the model directory.
    pub services: Vec<Source<ServiceFile>>,
}

/// Name of the file with the project settings in the model directory.
pub const APP_FILE: &str = "app.yaml";

/// Reads and parses every model file in `dir`: the model, or every parse finding of every file.
pub fn load(dir: &Path) -> Result<Model, Vec<Diagnostic>> {
    match read(dir) {
        Read {
            model: Some(model),
            findings,
            ..
        } if findings.is_empty() => Ok(model),
        read => Err(read.findings),
    }
}

/// The model directory read as far as it parses.
#[derive(Debug, Default)]
pub struct Read {
    /// The model, when every file parsed once its bad entries were left out.
    pub model: Option<Model>,
    /// A finding for each bad entry, in every file.
    pub findings: Vec<Diagnostic>,
    /// The keys of the entries left out (`GetOrderFunction`, `timeout_secnds`): findings
    /// of the checks that name one of them are consequences of its being left out.
    pub left_out: Vec<String>,
}

/// Reads every model file in `dir`, each on past its bad entries ([`parse_partial`]).
pub fn read(dir: &Path) -> Read {
    let mut paths = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect::<Vec<_>>(),
        Err(e) => {
            return Read {
                findings: vec![Diagnostic::file(
                    dir,
                    format!("cannot read the model directory: {e}"),
                    Some(
                        "run from the repository (it holds `model/app.yaml`) or pass `--root`"
                            .into(),
                    ),
                )],
                ..Read::default()
            };
        }
    };
    paths.sort();
    let mut read = Read::default();
    let app_path = dir.join(APP_FILE);
    let app = read_file::<AppFile>(&app_path, &mut read);
    let services: Vec<_> = paths
        .iter()
        .filter(|p| p.file_name() != app_path.file_name())
        .map(|path| read_file::<ServiceFile>(path, &mut read))
        .collect();
    let services: Option<Vec<_>> = services.into_iter().collect();
    read.model = app
        .zip(services)
        .map(|(app, services)| Model { app, services });
    read
}

/// Reads one file on past its bad entries, adding its findings to `read`.
fn read_file<T: serde::de::DeserializeOwned>(path: &Path, read: &mut Read) -> Option<Source<T>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let partial = parse_partial(path, text);
            read.findings.extend(partial.findings);
            read.left_out.extend(partial.left_out);
            partial.source
        }
        Err(e) => {
            read.findings.push(Diagnostic::file(
                path,
                format!("cannot read the file: {e}"),
                None,
            ));
            None
        }
    }
}

/// Parses one file, or says where it first went wrong.
pub fn parse_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Source<T>, Diagnostic> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::file(path, format!("cannot read the file: {e}"), None))?;
    parse_str(path, text)
}

/// Parses `text` as the file at `path`, or says where it first went wrong.
pub fn parse_str<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: String,
) -> Result<Source<T>, Diagnostic> {
    match parse_text::<T>(&text) {
        Ok(file) => Ok(Source {
            path: path.to_path_buf(),
            text,
            file,
        }),
        Err(e) => Err(e.diagnostic(path)),
    }
}

/// A file parsed on past its bad entries.
#[derive(Debug)]
pub struct Partial<T> {
    /// What parsed once the bad entries were left out; `None` when the file could not be
    /// read past an error (a required key missing at the top, a malformed document).
    pub source: Option<Source<T>>,
    /// One finding per bad entry, in the order they were met.
    pub findings: Vec<Diagnostic>,
    /// The keys of the entries left out.
    pub left_out: Vec<String>,
}

/// Entries one file may have left out before reading it stops.
const MAX_FINDINGS_PER_FILE: usize = 100;

/// Parses `text` as the file at `path`; at each error, reports it, leaves out the entry
/// that holds it ([`crate::recover`]) and parses again. An error in a mapping from which an
/// entry was already left out (its required key was that entry) is not reported again.
pub fn parse_partial<T: serde::de::DeserializeOwned>(path: &Path, text: String) -> Partial<T> {
    let mut partial = Partial {
        source: None,
        findings: Vec::new(),
        left_out: Vec::new(),
    };
    let mut work = text.clone();
    let mut gone: Vec<recover::Lines> = Vec::new();
    while gone.len() < MAX_FINDINGS_PER_FILE {
        let error = match parse_text::<T>(&work) {
            Ok(file) => {
                partial.source = Some(Source {
                    path: path.to_path_buf(),
                    text,
                    file,
                });
                return partial;
            }
            Err(error) => error,
        };
        // The entry that holds the error: for a missing key, the mapping that lacks it.
        // Entries are measured in the file as written: one whose only key was left out
        // still holds that key's lines.
        let holder = match error.holder {
            Holder::Root => None,
            Holder::Line(line) => recover::entry(&text, line),
        };
        let caused_by_leaving_out = match holder {
            Some(lines) => gone.iter().any(|g| lines.holds(*g)),
            None => !gone.is_empty(),
        };
        if !caused_by_leaving_out {
            partial.findings.push(error.diagnostic(path));
        }
        let Some(lines) = holder.filter(|lines| !gone.contains(lines)) else {
            return partial;
        };
        partial.left_out.extend(recover::key(&text, lines.first));
        work = recover::leave_out(&work, lines);
        gone.push(lines);
    }
    partial
}

/// A parse error, placed.
struct ParseError {
    loc: Loc,
    message: String,
    /// Where the entry that holds it starts.
    holder: Holder,
}

/// Where the entry holding a parse error starts.
enum Holder {
    /// The file's top-level mapping: nothing to leave out.
    Root,
    /// The entry starting on this line.
    Line(u64),
}

impl ParseError {
    fn diagnostic(&self, path: &Path) -> Diagnostic {
        let help = crate::suggest::for_parse_error(&self.message);
        Diagnostic::new(path, self.loc, self.message.clone(), help)
    }
}

/// Parses `text` with the options every model file is read with.
fn parse_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| {
        let at = e
            .location()
            .map(|l| Loc {
                line: l.line(),
                col: l.column(),
            })
            .unwrap_or(Loc { line: 1, col: 1 });
        // A missing key is told, and held, at the mapping that lacks it.
        let (loc, message, found) = enclosing::missing_field(text, at, parse_message(&e));
        let holder = match found {
            Some(Enclosing::Root) => Holder::Root,
            _ => Holder::Line(loc.line),
        };
        ParseError {
            loc,
            message,
            holder,
        }
    })
}

/// The error's message without serde-saphyr's own `line N column M:` prefix.
fn parse_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let text = match text.strip_prefix("line ") {
        Some(rest) => rest.split_once(": ").map(|(_, m)| m).unwrap_or(rest),
        None => text,
    };
    let first = text.lines().next().unwrap_or_default().trim();
    // Some messages end with their own ` at line N, column M`; the position is printed once, in front.
    let message = match first.rfind(" at line ") {
        Some(i) if first[i..].contains(", column ") => &first[..i],
        _ => first,
    };
    in_model_words(message)
}

/// The YAML reader's wording where it speaks of its own events or options rather than the
/// model.
fn in_model_words(message: &str) -> String {
    let shape = match message {
        "expected mapping start" | "expected empty mapping start" => Some(
            "expected a mapping here: `key: value` lines indented below the key, or `{ key: value }`",
        ),
        "expected sequence start" => {
            Some("expected a list here: `- item` lines indented below the key, or `[a, b]`")
        }
        "expected string scalar" | "expected scalar" => {
            Some("expected a single value here, not a list or a mapping")
        }
        _ => None,
    };
    if let Some(shape) = shape {
        return shape.to_owned();
    }
    let Some(rest) = message.strip_prefix("duplicate mapping key") else {
        return message.to_owned();
    };
    let key = rest
        .strip_prefix(": ")
        .and_then(|r| r.split_once(", set DuplicateKeyPolicy"))
        .map(|(key, _)| key);
    match key {
        Some(key) => format!("duplicate key `{key}`: each key may appear once in a mapping"),
        None => "duplicate key: each key may appear once in a mapping".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_shaped_token_is_three_base64url_parts() {
        for ok in [
            "a.b.c",
            "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_",
            "A-_.0.z",
        ] {
            assert!(TokenShape::Jwt.admits(ok), "{ok}");
        }
        for junk in [
            "",
            "garbage",
            "a.b",
            "a.b.c.d",
            "a..c",
            ".b.c",
            "a.b.",
            "a.b.c=",
            "a.b.c ",
            "bearer a.b.c",
            "Bearer  a.b.c",
            "a.b+.c",
            "a.b/.c",
            "é.b.c",
        ] {
            assert!(!TokenShape::Jwt.admits(junk), "{junk:?}");
            assert!(TokenShape::Any.admits(junk));
        }
        assert_eq!(TokenShape::Any.validation_expression(), None);
    }

    #[test]
    fn a_duplicate_key_is_told_in_the_models_words() {
        let err =
            serde_saphyr::from_str::<serde_json::Value>("project: a\nproject: b\n").unwrap_err();
        let message = parse_message(&err);
        assert_eq!(
            message,
            "duplicate key `project`: each key may appear once in a mapping"
        );
    }

    #[test]
    fn a_wrong_shape_is_told_in_the_models_words() {
        let message = |yaml: &str| {
            let err = serde_saphyr::from_str::<BTreeMap<String, BTreeMap<String, String>>>(yaml)
                .unwrap_err();
            parse_message(&err)
        };
        assert_eq!(
            message("environment:\n"),
            "expected a mapping here: `key: value` lines indented below the key, or `{ key: value }`"
        );
        assert_eq!(
            message("environment:\n  A: [x]\n"),
            "expected a single value here, not a list or a mapping"
        );
    }

    #[test]
    fn a_file_is_read_on_past_each_bad_entry() {
        let text = "service: shop\ntabels: {}\ndescription: x\nfunctions:\n  F:\n    crat: shop\n    handler: h\n    description: d\n  G:\n    crate: shop\n    handler: g\n    description: d\n    memory_mb: lots\n";
        let partial = parse_partial::<ServiceFile>(Path::new("shop.yaml"), text.into());
        let found: Vec<String> = partial.findings.iter().map(|d| d.to_string()).collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("shop.yaml:2:1: unknown field `tabels`"));
        // `F` lacks `crate` only because `crat` was left out: not told twice.
        assert!(found[1].starts_with("shop.yaml:6:5: unknown field `crat`"));
        assert!(
            found[2].starts_with("shop.yaml:13:16: invalid"),
            "{}",
            found[2]
        );
        let source = partial.source.expect("the rest of the file parses");
        let functions: Vec<&str> = source.file.functions.keys().map(|n| n.as_str()).collect();
        assert_eq!(functions, ["G"]);
        assert_eq!(source.text, text, "the text is kept as written");
        assert!(partial.left_out.contains(&"F".to_owned()));
    }

    #[test]
    fn route_with_params_parses() {
        let r = RouteSpec::parse("PUT /address/{addressId}").unwrap();
        assert_eq!(r.method, Method::Put);
        assert_eq!(r.params(), vec!["addressId"]);
        assert_eq!(r.arn_path(), "/address/*");
        assert_eq!(r.shape(), "/address/{}");
    }

    #[test]
    fn route_without_slash_is_malformed() {
        let e = RouteSpec::parse("GET users").unwrap_err();
        assert_eq!(
            e,
            "malformed route `GET users`: the path must start with `/`"
        );
    }

    #[test]
    fn route_with_unknown_method_is_malformed() {
        assert!(
            RouteSpec::parse("FETCH /users")
                .unwrap_err()
                .contains("unknown method `FETCH`")
        );
    }

    #[test]
    fn route_with_trailing_slash_is_malformed() {
        assert!(RouteSpec::parse("GET /users/").is_err());
        assert!(RouteSpec::parse("GET /users/{id").is_err());
        assert!(RouteSpec::parse("GET /a/{x}/{x}").is_err());
    }

    #[test]
    fn names_must_be_alphanumeric() {
        assert!(Name::new("UsersTable").is_ok());
        assert!(Name::new("users-table").is_err());
        assert!(Name::new("1Table").is_err());
    }

    #[test]
    fn spanned_values_keep_their_position() {
        let src: Source<Import> = parse_str(
            Path::new("x.yaml"),
            "service: users\noutput: UserPoolArn\n".into(),
        )
        .unwrap();
        assert_eq!(src.file.output.loc, Loc { line: 2, col: 9 });
    }
}
