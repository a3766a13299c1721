//! The checked app: what rendering and the local cloud read.
//!
//! [`App::new`] turns a model that passed every check into final facts, each worked out
//! once: a function's memory, timeout, architecture and environment with the defaults
//! applied and every reference resolved (to a resource of the service or an import, and an
//! import to the service and resource that hold its value), and each route's
//! authentication as an enum with the source of the caller's identity decided. Nothing
//! downstream re-checks what the checks guarantee or applies a default again.

use std::collections::BTreeMap;
use std::path::Path;

pub use crate::check::Origin;
use crate::check::{Attr, Checked, EnvTarget, ImportTarget, Kind, Resolved, Scope};
use crate::model::{
    self, AppFile, Architecture, Authorizer, Model, Name, Permission, QueueTrigger, Rollout,
    Runtime, ServiceFile, Source, Tracing,
};
use crate::vtl::{CallerSource, PathCheck};

/// A model that passed every check, with every derived fact final.
#[derive(Clone, Debug)]
pub struct App {
    /// `app.yaml`: the project, defaults and environments.
    pub app: Source<AppFile>,
    /// Every service, in the order of the model's files.
    pub services: Vec<Service>,
    /// Indexes into `services` in dependency order (a service after those it imports from).
    pub order: Vec<usize>,
}

/// One service: its declarations, its names, and its functions and APIs made final.
#[derive(Clone, Debug)]
pub struct Service {
    /// The service's file as written: what needs no deriving (keys, descriptions...).
    pub source: Source<ServiceFile>,
    /// What each name of the service stands for.
    pub scope: Scope,
    /// Its imports, by name: where each value is held and which of its values it is.
    pub imports: BTreeMap<String, Import>,
    /// Its functions, by name.
    pub functions: BTreeMap<String, Function>,
    /// Its APIs' routes with their authentication decided, by API name.
    pub apis: BTreeMap<String, Vec<Route>>,
}

/// A function with its settings final.
#[derive(Clone, Debug)]
pub struct Function {
    /// Its logical name.
    pub name: String,
    /// The handler crate that builds its bootstrap.
    pub krate: String,
    /// The handler its bootstrap runs (`_HANDLER`).
    pub handler: String,
    /// What it does.
    pub description: String,
    /// The Lambda runtime.
    pub runtime: Runtime,
    /// The instruction set.
    pub architecture: Architecture,
    /// Memory in MB.
    pub memory_mb: u32,
    /// Timeout in seconds.
    pub timeout_seconds: u32,
    /// X-Ray tracing.
    pub tracing: Tracing,
    /// Days its log group keeps events.
    pub log_retention_days: u32,
    /// Every variable it gets, `RUST_LOG` included.
    pub environment: BTreeMap<String, Binding>,
    /// What it may call.
    pub permissions: Vec<Permission>,
    /// Queues that invoke it.
    pub triggers: Vec<QueueTrigger>,
    /// Queue for events whose asynchronous invocation failed.
    pub dead_letter_queue: Option<String>,
    /// How a new version takes traffic, behind the alias [`Rollout::ALIAS`]; none: the
    /// function is called unqualified and updated at once.
    pub rollout: Option<Rollout>,
}

/// The variable through which the AWS SDK of every handler takes another endpoint.
pub const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL";

/// The variable through which a function that verifies a pool's tokens takes another
/// address of the pool's keys (a local endpoint serves them elsewhere than Cognito).
pub const JWKS_VARIABLE: &str = "JWKS_URL";

impl Function {
    /// The user pool whose id the function reads, if any: it verifies that pool's tokens.
    pub fn user_pool(&self) -> Option<&Reference> {
        self.environment.values().find_map(|binding| match binding {
            Binding::Value(reference) if reference.kind == Kind::UserPool => Some(reference),
            _ => None,
        })
    }
}

/// The value of an environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// A literal.
    Text(String),
    /// The main value (name, URL or id) of a resource, parameter or import.
    Value(Reference),
}

/// A name of a service, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The name as the service uses it (its logical id, or the import's parameter).
    pub name: String,
    /// What it refers to (for an import, what the exporting service's output carries).
    pub kind: Kind,
    /// Where the value comes from, when it is an import.
    pub import: Option<Origin>,
}

/// An import, followed to the resource that holds its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The resource.
    pub origin: Origin,
    /// Which of its values the import carries.
    pub attr: Attr,
}

/// A route with its authentication decided.
#[derive(Clone, Debug)]
pub struct Route {
    /// The route as written.
    pub spec: model::Route,
    /// Who may call it.
    pub auth: RouteAuth,
    /// What the gateway checks of its path parameters, in the path's order.
    pub path_checks: Vec<PathCheck>,
}

/// Who may call a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteAuth {
    /// Anyone.
    Public,
    /// Callers an authorizer of the API lets through.
    Authorizer {
        /// The authorizer's name.
        name: String,
        /// Where the caller's identity comes from.
        caller: CallerSource,
    },
}

impl RouteAuth {
    /// The authorizer's name, `None` when public.
    pub fn authorizer(&self) -> Option<&str> {
        match self {
            RouteAuth::Public => None,
            RouteAuth::Authorizer { name, .. } => Some(name),
        }
    }

    /// Where the caller's identity comes from, `None` when public.
    pub fn caller(&self) -> Option<CallerSource> {
        match self {
            RouteAuth::Public => None,
            RouteAuth::Authorizer { caller, .. } => Some(*caller),
        }
    }
}

/// Whether the model has findings or not, the result of loading it as an app.
pub type Checks = Result<App, Vec<crate::diag::Diagnostic>>;

impl App {
    /// Reads the model in `dir` and checks it: the app, or every finding of both, sorted.
    ///
    /// A file read past a bad entry is still checked, so one run shows its bad entries and
    /// its broken references; a check finding that names an entry left out is dropped, as
    /// that entry's own finding already tells the cause.
    pub fn load(dir: &Path) -> Checks {
        let read = model::read(dir);
        let mut findings = read.findings;
        if let Some(model) = read.model {
            match App::check(model) {
                Ok(app) if findings.is_empty() => return Ok(app),
                Ok(_) => {}
                Err(checks) => findings.extend(checks.into_iter().filter(|d| {
                    !read
                        .left_out
                        .iter()
                        .any(|key| d.message.contains(&format!("`{key}`")))
                })),
            }
        }
        crate::diag::sort(&mut findings);
        Err(findings)
    }

    /// Runs the checks on `model`: the app when there are no findings, else all of them.
    pub fn check(model: Model) -> Checks {
        Checked::new(model).map(App::new)
    }

    /// Makes every derived fact of a checked model final.
    pub fn new(checked: Checked) -> App {
        let Checked {
            model,
            scopes,
            order,
        } = checked;
        let app = model.app;
        let services = model
            .services
            .into_iter()
            .zip(scopes)
            .map(|(source, scope)| {
                let functions = source
                    .file
                    .functions
                    .iter()
                    .map(|(name, f)| {
                        let f = function(&app.file, &scope, name, f);
                        (f.name.clone(), f)
                    })
                    .collect();
                let apis = source
                    .file
                    .apis
                    .iter()
                    .map(|(name, api)| (name.to_string(), routes(api)))
                    .collect();
                let imports = scope
                    .imports
                    .iter()
                    .map(|(name, target)| {
                        let origin = target.origin.clone();
                        (
                            name.clone(),
                            Import {
                                origin,
                                attr: target.attr,
                            },
                        )
                    })
                    .collect();
                Service {
                    source,
                    scope,
                    imports,
                    functions,
                    apis,
                }
            })
            .collect();
        App {
            app,
            services,
            order,
        }
    }

    /// The project's name.
    pub fn project(&self) -> &str {
        self.app.file.project.as_str()
    }

    /// The service named `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name() == name)
    }

    /// Services in dependency order.
    pub fn in_dependency_order(&self) -> impl Iterator<Item = &Service> {
        self.order.iter().map(|&i| &self.services[i])
    }

    /// The service files as written, in the model's order.
    pub fn files(&self) -> Vec<&ServiceFile> {
        self.services.iter().map(|s| &s.source.file).collect()
    }
}

impl Service {
    /// Its name.
    pub fn name(&self) -> &str {
        self.source.file.service.as_str()
    }

    /// Its declarations as written.
    pub fn file(&self) -> &ServiceFile {
        &self.source.file
    }

    /// The routes of its API `api`, in the model's order.
    pub fn routes(&self, api: &str) -> &[Route] {
        self.apis.get(api).map_or(&[], Vec::as_slice)
    }
}

/// `f` with the app's defaults applied and its environment resolved.
fn function(app: &AppFile, scope: &Scope, name: &Name, f: &model::Function) -> Function {
    let d = &app.defaults;
    let mut environment = BTreeMap::new();
    environment.insert("RUST_LOG".to_owned(), Binding::Text(d.log_level.clone()));
    for (var, value) in &f.environment {
        let binding = match value.target() {
            EnvTarget::Literal(s) => Binding::Text(s.to_owned()),
            EnvTarget::Named(x, _) => Binding::Value(reference(scope, x.as_str())),
        };
        environment.insert(var.to_string(), binding);
    }
    Function {
        name: name.to_string(),
        krate: f.krate.to_string(),
        handler: f.handler.to_string(),
        description: f.description.clone(),
        runtime: d.runtime,
        architecture: f.architecture.unwrap_or(d.architecture),
        memory_mb: f.memory_mb.as_ref().map_or(d.memory_mb.value, |m| m.value),
        timeout_seconds: f
            .timeout_seconds
            .as_ref()
            .map_or(d.timeout_seconds.value, |t| t.value),
        tracing: d.tracing,
        log_retention_days: d.log_retention_days.value,
        environment,
        permissions: f.permissions.clone(),
        triggers: f.triggers.clone(),
        dead_letter_queue: f.dead_letter_queue.as_ref().map(|q| q.to_string()),
        rollout: f.rollout.as_ref().map(|r| r.value),
    }
}

/// `name` as the checks resolved it.
fn reference(scope: &Scope, name: &str) -> Reference {
    let (kind, import) = match scope.resolve(name) {
        Some(Resolved::Local(kind)) => (kind, None),
        Some(Resolved::Imported(ImportTarget { kind, origin, .. })) => (kind, Some(origin)),
        // The checks refuse undefined names; a parameter is the safest reading.
        None => (Kind::Parameter, None),
    };
    Reference {
        name: name.to_owned(),
        kind,
        import,
    }
}

/// The routes of `api` with their authorizer (the route's own, else the API's) and where
/// the caller's identity comes from.
pub fn routes(api: &model::Api) -> Vec<Route> {
    api.routes
        .iter()
        .map(|route| {
            let auth = route
                .authorizer(api)
                .and_then(|name| {
                    let (_, authorizer) = api.authorizers.iter().find(|(k, _)| k.value == *name)?;
                    let caller = match authorizer {
                        Authorizer::Token { .. } => CallerSource::LambdaPrincipal,
                        Authorizer::Cognito { .. } => CallerSource::CognitoClaims,
                    };
                    Some(RouteAuth::Authorizer {
                        name: name.to_string(),
                        caller,
                    })
                })
                .unwrap_or(RouteAuth::Public);
            let path_checks = route
                .route
                .params()
                .into_iter()
                .filter_map(|param| {
                    let (_, p) = api.path_parameters.iter().find(|(k, _)| k.value == param)?;
                    Some(PathCheck {
                        param: param.to_owned(),
                        pattern: p.pattern.value.clone(),
                        description: p.description.value.clone(),
                    })
                })
                .collect();
            Route {
                spec: route.clone(),
                auth,
                path_checks,
            }
        })
        .collect()
}
