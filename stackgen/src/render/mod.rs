//! Rendering: the checked [`crate::app::App`] becomes a sorted, serializable view-model per
//! template, and minijinja templates from `templates/` turn it into SAM YAML. Each resource
//! family builds its own part of the view in its own module (`parameters`, `data`,
//! `messaging`, `functions`, `apis` with `cors`, `alarms`, `outputs`, `root`).
//!
//! Conventions:
//! - One [`Renderer`] holds the minijinja environment, built once, with
//!   `UndefinedBehavior::Strict` so a typo in a template is an error, not an empty string.
//! - Templates are named `.yaml`, so minijinja JSON-escapes every `{{ x }}`, which is valid
//!   YAML. The filters `cfn` (one line) and `yaml` (a block) write CloudFormation values the
//!   view-model prepared (see [`crate::yaml`]); `key` writes a mapping key.
//! - Decisions live here, in Rust: logical ids, policies, OpenAPI bodies, VTL (through
//!   [`crate::vtl`]). Templates only lay the values out.
//! - Everything that reaches the output is in a `Vec` built in sorted order or a `BTreeMap`:
//!   same model, same bytes.

use std::path::Path;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::app::{App, Service};
use crate::model::{Json, ResourceFamily, Tracing};
use crate::yaml;

mod alarms;
mod apis;
mod callees;
mod cors;
mod data;
mod expr;
mod functions;
mod messaging;
mod outputs;
mod parameters;
mod risks;
mod root;

pub use cors::{CORS_ALLOW_HEADERS, CORS_MAX_AGE_SECONDS, preflight_headers};
pub use parameters::LOCAL_ENDPOINT_PARAMETER;
pub use root::application_id;

/// Errors while rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The templates directory could not be used.
    #[error("cannot load templates from `{dir}`: {reason}")]
    Templates {
        /// The directory.
        dir: String,
        /// Why.
        reason: String,
    },
    /// A template failed to render.
    #[error("template `{name}` failed: {source:#}")]
    Template {
        /// The template.
        name: String,
        /// The minijinja error (with its source chain).
        #[source]
        source: minijinja::Error,
    },
}

/// Name of the per-service template in `templates/`.
pub const SERVICE_TEMPLATE: &str = "service.yaml";
/// Name of the root template in `templates/`.
pub const ROOT_TEMPLATE: &str = "root.yaml";
/// File name of the rendered root template in `generated/`.
pub const ROOT_OUTPUT: &str = "template.yaml";

/// A CloudFormation value carried through minijinja untouched, for the `cfn`/`yaml` filters.
#[derive(Debug)]
struct Cfn(Json);

impl Object for Cfn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

fn cfn(value: Json) -> Value {
    Value::from_object(Cfn(value))
}

fn as_json(value: &Value) -> Result<Json, minijinja::Error> {
    if let Some(c) = value.downcast_object_ref::<Cfn>() {
        return Ok(c.0.clone());
    }
    serde_json::to_value(value)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))
}

fn filter_cfn(value: Value) -> Result<Value, minijinja::Error> {
    Ok(Value::from_safe_string(yaml::inline(&as_json(&value)?)))
}

fn filter_yaml(value: Value, indent: usize) -> Result<Value, minijinja::Error> {
    Ok(Value::from_safe_string(yaml::block(
        &as_json(&value)?,
        indent,
    )))
}

fn filter_key(value: String) -> Value {
    Value::from_safe_string(yaml::key(&value))
}

/// The minijinja environment with the project's templates and filters.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// Loads templates from `dir` (the repository's `templates/`).
    pub fn new(dir: &Path) -> Result<Self, RenderError> {
        if !dir.join(SERVICE_TEMPLATE).is_file() || !dir.join(ROOT_TEMPLATE).is_file() {
            return Err(RenderError::Templates {
                dir: dir.display().to_string(),
                reason: format!("expected `{SERVICE_TEMPLATE}` and `{ROOT_TEMPLATE}` there"),
            });
        }
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_debug(true);
        env.add_filter("cfn", filter_cfn);
        env.add_filter("yaml", filter_yaml);
        env.add_filter("key", filter_key);
        Ok(Self { env })
    }

    fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<String, RenderError> {
        let wrap = |source| RenderError::Template {
            name: name.to_string(),
            source,
        };
        let template = self.env.get_template(name).map_err(wrap)?;
        template.render(Value::from_serialize(ctx)).map_err(wrap)
    }

    /// Renders every template: `(file name in generated/, contents)`, sorted by file name.
    pub fn render_all(&self, app: &App) -> Result<Vec<(String, String)>, RenderError> {
        let mut out = Vec::new();
        for service in &app.services {
            let view = service_view(app, service);
            let text = self.render(SERVICE_TEMPLATE, &view)?;
            out.push((format!("{}.yaml", service.name()), text));
        }
        out.push((
            ROOT_OUTPUT.to_string(),
            self.render(ROOT_TEMPLATE, &root::root_view(app))?,
        ));
        let services = app.files();
        out.push((
            crate::diagram::OUTPUT.to_string(),
            crate::diagram::architecture(&services),
        ));
        out.extend(crate::openapi::documents(app));
        out.push((
            crate::samconfig::OUTPUT.to_string(),
            crate::samconfig::render(&app.app.file, &services),
        ));
        out.sort();
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// View-model of a service template
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct ServiceView {
    project: String,
    service: String,
    source: String,
    description: String,
    parameters: Vec<parameters::ParamView>,
    /// `Conditions`: name and expression, sorted by name.
    conditions: Vec<(String, Value)>,
    tables: Vec<data::StatefulView>,
    user_pools: Vec<data::UserPoolView>,
    queues: Vec<data::StatefulView>,
    queue_policies: Vec<NamedProps>,
    buses: Vec<NamedProps>,
    functions: Vec<functions::FunctionView>,
    event_source_mappings: Vec<NamedProps>,
    rules: Vec<NamedProps>,
    apis: Vec<apis::ApiView>,
    /// The log groups of the stages' access logs.
    access_logs: Vec<apis::LogGroupView>,
    roles: Vec<NamedProps>,
    lambda_permissions: Vec<NamedProps>,
    alarms: Vec<NamedProps>,
    ssm_parameter: Option<NamedProps>,
    outputs: Vec<outputs::OutputView>,
}

/// A resource whose `Properties` the view-model builds whole.
#[derive(Serialize)]
struct NamedProps {
    name: String,
    properties: Value,
}

fn named(name: impl Into<String>, properties: Json) -> NamedProps {
    NamedProps {
        name: name.into(),
        properties: cfn(properties),
    }
}

/// A service template's view-model, each family from its own module.
fn service_view(app: &App, service: &Service) -> ServiceView {
    let svc = service.file();
    let callees = callees::Callees::new(service.functions.values());
    let (mut functions, event_source_mappings) =
        functions::functions(svc, service.functions.values(), &callees);
    let (rules, mut lambda_permissions) = messaging::rules(svc, &callees);
    let mut apis = Vec::new();
    let mut access_logs = Vec::new();
    let mut roles = Vec::new();
    let tracing = app.app.file.defaults.tracing == Tracing::Active;
    for (n, api) in &svc.apis {
        let built = apis::api(
            &service.scope,
            n.as_str(),
            api,
            service.routes(n.as_str()),
            tracing,
            app.app.file.defaults.log_retention_days.value,
            &callees,
        );
        apis.push(built.view);
        access_logs.extend(built.access_log);
        roles.extend(built.role);
        lambda_permissions.extend(built.permissions);
    }
    lambda_permissions.sort_by(|a, b| a.name.cmp(&b.name));
    let risks = &app.app.file.accepted_risks;
    for f in &mut functions {
        f.skips = risks::skips(risks, ResourceFamily::Functions, &f.name);
        f.log_group_skips = risks::skips(risks, ResourceFamily::LogGroups, &f.name);
    }
    let mut tables = data::tables(svc);
    for t in &mut tables {
        t.skips = risks::skips(risks, ResourceFamily::Tables, &t.name);
    }
    let mut queues = messaging::queues(svc);
    for q in &mut queues {
        q.skips = risks::skips(risks, ResourceFamily::Queues, &q.name);
    }
    for a in &mut apis {
        a.skips = risks::skips(risks, ResourceFamily::Apis, &a.name);
    }
    for g in &mut access_logs {
        g.skips = risks::skips(risks, ResourceFamily::LogGroups, &g.api);
    }
    ServiceView {
        project: app.project().to_owned(),
        service: svc.service.to_string(),
        source: format!(
            "model/{}",
            service
                .source
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        description: svc.description.clone(),
        parameters: parameters::of_service(svc),
        conditions: functions::conditions(svc),
        tables,
        user_pools: data::user_pools(svc),
        queues,
        queue_policies: messaging::queue_policies(svc),
        buses: messaging::buses(svc),
        functions,
        event_source_mappings,
        rules,
        apis,
        access_logs,
        roles,
        lambda_permissions,
        alarms: alarms::alarms(svc),
        ssm_parameter: outputs::ssm_parameter(app.project(), &service.scope, svc),
        outputs: outputs::outputs(&service.scope, svc),
    }
}

#[cfg(test)]
mod tests {
    use super::expr::camel;
    use super::*;

    #[test]
    fn camel_case_joins_words() {
        assert_eq!(camel("/users/{userid}"), "UsersUserid");
        assert_eq!(camel("order-status"), "OrderStatus");
        assert_eq!(application_id("userprofile"), "UserprofileService");
    }
}
