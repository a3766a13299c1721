//! Checks on the raw model, and the checked model that rendering consumes.
//!
//! [`check`] runs every rule over every service and returns all findings (it never stops at
//! the first). [`Checked::new`] only succeeds when there are none, so a [`Checked`] model
//! has every reference resolved: a name used as a table is a table of the service or an
//! import of another service's table, and so on. Render and local runs rely on that.
//!
//! Rules, each with its own failing fixture under `stackgen/tests/fixtures/`:
//! duplicate names (resources in a service, services, routes); undefined references
//! (resources, services, outputs, authorizers, models); references to the wrong kind of
//! resource; permissions whose access does not fit the resource; event patterns and JSON
//! Schemas that AWS would reject; values out of AWS's ranges; and cycles between services.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use crate::diag::{self, Diagnostic};
use crate::model::Throttle;
use crate::model::{
    Access, Api, Authorizer, EnvValue, Integration, Json, Loc, Model, Name, OutputValue,
    ParameterType, Permission, QueueTrigger, ResourceFamily, Route, RouteAuth, ServiceFile, Sp,
    ValueSource,
};
use crate::vtl;

/// What a name in a service stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A stack parameter.
    Parameter,
    /// An import (a stack parameter filled from another service's output).
    Import,
    /// A DynamoDB table.
    Table,
    /// A Cognito user pool.
    UserPool,
    /// A Cognito app client.
    UserPoolClient,
    /// A Cognito group.
    UserPoolGroup,
    /// An SQS queue.
    Queue,
    /// An EventBridge bus.
    Bus,
    /// A Lambda function.
    Function,
    /// An EventBridge rule.
    Rule,
    /// A REST API.
    Api,
}

impl Kind {
    /// The name used in messages (`table`).
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Parameter => "parameter",
            Kind::Import => "import",
            Kind::Table => "table",
            Kind::UserPool => "user pool",
            Kind::UserPoolClient => "user pool client",
            Kind::UserPoolGroup => "user pool group",
            Kind::Queue => "queue",
            Kind::Bus => "bus",
            Kind::Function => "function",
            Kind::Rule => "rule",
            Kind::Api => "api",
        }
    }

    fn plural(self) -> String {
        match self {
            Kind::Bus => "buses".into(),
            k => format!("{}s", k.noun()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Which value of a resource an output or import carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attr {
    /// Its main value (name, URL or id).
    Ref,
    /// Its ARN.
    Arn,
    /// An API's base URL.
    Endpoint,
}

impl Attr {
    fn describe(self, kind: Kind) -> String {
        match self {
            Attr::Ref => match kind {
                Kind::Queue => "a queue's URL".into(),
                Kind::UserPool | Kind::UserPoolClient => format!("a {kind}'s id"),
                Kind::Parameter | Kind::Import => format!("a {kind}'s value"),
                k => format!("a {k}'s name"),
            },
            Attr::Arn => format!("a {kind}'s ARN"),
            Attr::Endpoint => "an API's endpoint URL".into(),
        }
    }
}

/// A name as declared in a service.
#[derive(Clone, Copy, Debug)]
pub struct Symbol {
    /// What it is.
    pub kind: Kind,
    /// Where it is declared.
    pub loc: Loc,
}

/// What an import resolves to.
#[derive(Clone, Debug)]
pub struct ImportTarget {
    /// The exporting service.
    pub service: String,
    /// The output's name.
    pub output: String,
    /// What the output carries: the kind of resource it refers to and which of its values.
    pub kind: Kind,
    /// Which value.
    pub attr: Attr,
    /// The service and resource that hold the value, re-exports followed.
    pub origin: Origin,
}

/// The service and resource that hold an import's value, imports of imports followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The service that declares the resource.
    pub service: String,
    /// The resource's name there.
    pub resource: String,
}

/// How a reference resolved.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// A resource of this service.
    Local(Kind),
    /// A value from another service, passed in as a stack parameter.
    Imported(ImportTarget),
}

/// The names of one service.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Every declared name.
    pub symbols: BTreeMap<String, Symbol>,
    /// Imports and what they point at (only those that resolved).
    pub imports: BTreeMap<String, ImportTarget>,
}

impl Scope {
    /// How `name` resolves; `None` when it is not declared.
    pub fn resolve(&self, name: &str) -> Option<Resolved> {
        if let Some(target) = self.imports.get(name) {
            return Some(Resolved::Imported(target.clone()));
        }
        self.symbols.get(name).map(|s| Resolved::Local(s.kind))
    }

    fn names_of(&self, kind: Kind) -> Vec<&str> {
        self.symbols
            .iter()
            .filter(|(_, s)| s.kind == kind)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// A model that passed every check: rendering and local runs consume this.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The raw model.
    pub model: Model,
    /// One scope per service, in the order of `model.services`.
    pub scopes: Vec<Scope>,
    /// Service names in dependency order (a service comes after those it imports from).
    pub order: Vec<usize>,
}

impl Checked {
    /// Runs the checks; the checked model when there are no findings, else all findings sorted.
    pub fn new(model: Model) -> Result<Self, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let (scopes, order) = run(&model, &mut diags);
        if diags.is_empty() {
            Ok(Self {
                model,
                scopes,
                order,
            })
        } else {
            diag::sort(&mut diags);
            Err(diags)
        }
    }

    /// The scope of the service at `index` in `model.services`.
    pub fn scope(&self, index: usize) -> &Scope {
        &self.scopes[index]
    }
}

/// Every finding in the model, sorted by file and position.
pub fn check(model: &Model) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    run(model, &mut diags);
    diag::sort(&mut diags);
    diags
}

fn run(model: &Model, diags: &mut Vec<Diagnostic>) -> (Vec<Scope>, Vec<usize>) {
    check_app(model, diags);
    check_environments(model, diags);
    check_accepted_risks(model, diags);
    let mut service_index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in model.services.iter().enumerate() {
        let name = s.file.service.as_str().to_string();
        if let Some(&first) = service_index.get(&name) {
            diags.push(Diagnostic::new(
                &s.path,
                s.file.service.loc,
                format!("duplicate service `{name}`"),
                Some(format!(
                    "it is already declared in {}",
                    model.services[first]
                        .path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                )),
            ));
        } else {
            service_index.insert(name, i);
        }
    }
    let mut scopes: Vec<Scope> = model
        .services
        .iter()
        .map(|s| declare(&s.path, &s.file, diags))
        .collect();
    // In dependency order, so that an output re-exporting an import is resolved before
    // the services that import it look it up.
    let order = dependency_order(model, &service_index, diags);
    for &i in &order {
        let imports = resolve_imports(model, &service_index, &scopes, i, diags);
        scopes[i].imports = imports;
    }
    for (i, s) in model.services.iter().enumerate() {
        let cx = Cx {
            file: &s.path,
            svc: &s.file,
            scope: &scopes[i],
            defaults: &model.app.file.defaults,
            diags: &mut *diags,
        };
        cx.check_service();
    }
    (scopes, order)
}

fn range(
    file: &Path,
    value: &Sp<u32>,
    min: u32,
    max: u32,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if !(min..=max).contains(&value.value) {
        diags.push(Diagnostic::new(
            file,
            value.loc,
            format!("{what} {} is out of range", value.value),
            Some(format!("use a value from {min} to {max}")),
        ));
    }
}

const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Every accepted risk says why, and each resource it names exists with that kind.
fn check_accepted_risks(model: &Model, diags: &mut Vec<Diagnostic>) {
    let file = &model.app.path;
    for risk in &model.app.file.accepted_risks {
        if risk.reason.value.trim().is_empty() {
            diags.push(Diagnostic::new(
                file,
                risk.reason.loc,
                format!("accepted risk {} gives no reason", risk.check.as_str()),
                Some("say why the app accepts it: the reason is the skip's comment in every template".into()),
            ));
        }
        let declared: Vec<&str> = model
            .services
            .iter()
            .flat_map(|s| family_names(&s.file, risk.on))
            .collect();
        for name in &risk.only {
            if !declared.contains(&name.as_str()) {
                diags.push(Diagnostic::new(
                    file,
                    name.loc,
                    format!(
                        "accepted risk {} names `{name}`, which is none of the app's {}",
                        risk.check.as_str(),
                        risk.on.as_str()
                    ),
                    Some(crate::suggest::help(
                        name.as_str(),
                        declared.iter().copied(),
                        format!("declared: {}", list(&declared)),
                    )),
                ));
            }
        }
    }
}

/// The names of a service's resources of one family (a log group by the name of its
/// function, or of the API whose access log it keeps).
fn family_names(svc: &ServiceFile, family: ResourceFamily) -> Vec<&str> {
    match family {
        ResourceFamily::Functions => svc.functions.keys().map(|n| n.as_str()).collect(),
        ResourceFamily::LogGroups => svc
            .functions
            .keys()
            .chain(svc.apis.keys())
            .map(|n| n.as_str())
            .collect(),
        ResourceFamily::Tables => svc.tables.keys().map(|n| n.as_str()).collect(),
        ResourceFamily::Queues => svc.queues.keys().map(|n| n.as_str()).collect(),
        ResourceFamily::Apis => svc.apis.keys().map(|n| n.as_str()).collect(),
    }
}

fn check_app(model: &Model, diags: &mut Vec<Diagnostic>) {
    let d = &model.app.file.defaults;
    let file = &model.app.path;
    range(file, &d.memory_mb, 128, 10240, "memory_mb", diags);
    range(file, &d.timeout_seconds, 1, 900, "timeout_seconds", diags);
    if !LOG_RETENTION_DAYS.contains(&d.log_retention_days.value) {
        diags.push(Diagnostic::new(
            file,
            d.log_retention_days.loc,
            format!(
                "log_retention_days {} is not a retention CloudWatch Logs offers",
                d.log_retention_days.value
            ),
            Some(format!("use one of {LOG_RETENTION_DAYS:?}")),
        ));
    }
}

/// Every environment's parameter values name a parameter some service declares and fit
/// its type; services that declare the same name agree on its type (the root stack has
/// one parameter per name); tags are ones CloudFormation accepts.
fn check_environments(model: &Model, diags: &mut Vec<Diagnostic>) {
    let file = &model.app.path;
    let mut declared: BTreeMap<&str, (ParameterType, &str)> = BTreeMap::new();
    for s in &model.services {
        for (name, p) in &s.file.parameters {
            match declared.get(name.as_str()) {
                Some((kind, by)) if *kind != p.kind => diags.push(Diagnostic::new(
                    &s.path,
                    name.loc,
                    format!(
                        "parameter `{name}` is a {:?} here but a {kind:?} in service `{by}`",
                        p.kind
                    ),
                    Some("the root stack passes one value per parameter name: give them one type, or rename one".into()),
                )),
                Some(_) => {}
                None => {
                    declared.insert(name.as_str(), (p.kind, s.file.service.as_str()));
                }
            }
        }
    }
    for (env, e) in &model.app.file.environments {
        for (name, value) in &e.parameters {
            match declared.get(name.as_str()) {
                None => diags.push(Diagnostic::new(
                    file,
                    name.loc,
                    format!("environment `{env}`: no service declares a parameter `{name}`"),
                    Some(crate::suggest::help(
                        name.as_str(),
                        declared.keys().copied(),
                        format!(
                            "declared parameters: {}",
                            declared.keys().copied().collect::<Vec<_>>().join(", ")
                        ),
                    )),
                )),
                Some((kind, _)) => {
                    if !kind.admits(value) {
                        diags.push(Diagnostic::new(
                            file,
                            value.loc,
                            format!(
                                "environment `{env}`: parameter `{name}` is a {kind:?}, not {}",
                                value.value
                            ),
                            None,
                        ));
                    }
                }
            }
        }
        for (key, value) in &e.tags {
            let key_problem = if key.value.is_empty() || key.value.chars().count() > 128 {
                Some("a tag key has 1 to 128 characters")
            } else if key.value.to_ascii_lowercase().starts_with("aws:") {
                Some("the `aws:` prefix is reserved for AWS")
            } else {
                None
            };
            let value_problem =
                (value.chars().count() > 256).then_some("the value is over 256 characters");
            for problem in [key_problem, value_problem].into_iter().flatten() {
                diags.push(Diagnostic::new(
                    file,
                    key.loc,
                    format!("environment `{env}`: tag `{}`: {problem}", key.value),
                    None,
                ));
            }
        }
    }
}

/// Collects the names a service declares and reports duplicates.
fn declare(file: &Path, svc: &ServiceFile, diags: &mut Vec<Diagnostic>) -> Scope {
    let mut scope = Scope::default();
    let mut add = |name: &Sp<Name>, kind: Kind| {
        if let Some(first) = scope.symbols.get(name.as_str()) {
            diags.push(Diagnostic::new(
                file,
                name.loc,
                format!(
                    "duplicate name `{name}`: already declared as a {} at line {}",
                    first.kind, first.loc.line
                ),
                Some(
                    "names become CloudFormation logical ids, so they must be unique in a service"
                        .into(),
                ),
            ));
        } else {
            scope.symbols.insert(
                name.as_str().to_string(),
                Symbol {
                    kind,
                    loc: name.loc,
                },
            );
        }
    };
    svc.parameters.keys().for_each(|n| add(n, Kind::Parameter));
    svc.imports.keys().for_each(|n| add(n, Kind::Import));
    svc.tables.keys().for_each(|n| add(n, Kind::Table));
    for (n, pool) in &svc.user_pools {
        add(n, Kind::UserPool);
        add(&pool.client, Kind::UserPoolClient);
        pool.groups.keys().for_each(|g| add(g, Kind::UserPoolGroup));
    }
    svc.queues.keys().for_each(|n| add(n, Kind::Queue));
    svc.buses.keys().for_each(|n| add(n, Kind::Bus));
    svc.functions.keys().for_each(|n| add(n, Kind::Function));
    svc.rules.keys().for_each(|n| add(n, Kind::Rule));
    svc.apis.keys().for_each(|n| add(n, Kind::Api));
    scope
}

/// What an environment variable's value stands for.
#[derive(Clone, Copy, Debug)]
pub enum EnvTarget<'a> {
    /// A literal.
    Literal(&'a str),
    /// A name of the service, which must be of this kind.
    Named(&'a Sp<Name>, Kind),
}

impl EnvValue {
    /// What the value stands for: the one place that maps each form to a kind.
    pub fn target(&self) -> EnvTarget<'_> {
        let (name, kind) = match self {
            EnvValue::Value(s) => return EnvTarget::Literal(s),
            EnvValue::Table(n) => (n, Kind::Table),
            EnvValue::Queue(n) => (n, Kind::Queue),
            EnvValue::Bus(n) => (n, Kind::Bus),
            EnvValue::UserPool(n) => (n, Kind::UserPool),
            EnvValue::UserPoolClient(n) => (n, Kind::UserPoolClient),
            EnvValue::UserPoolGroup(n) => (n, Kind::UserPoolGroup),
            EnvValue::Parameter(n) => (n, Kind::Parameter),
        };
        EnvTarget::Named(name, kind)
    }
}

/// The kind and value an output carries, when its reference resolves locally.
fn output_target(
    service: &str,
    scope: &Scope,
    value: &OutputValue,
) -> Option<(Kind, Attr, Origin)> {
    let name = value.resource();
    let attr = match value {
        OutputValue::Ref(_) => Attr::Ref,
        OutputValue::Arn(_) => Attr::Arn,
        OutputValue::Endpoint(_) => Attr::Endpoint,
    };
    match scope.resolve(name.as_str())? {
        Resolved::Local(kind) => Some((
            kind,
            attr,
            Origin {
                service: service.to_owned(),
                resource: name.as_str().to_owned(),
            },
        )),
        // Re-exporting an import passes its value on unchanged.
        Resolved::Imported(t) if attr == Attr::Ref => Some((t.kind, t.attr, t.origin.clone())),
        Resolved::Imported(_) => None,
    }
}

fn resolve_imports(
    model: &Model,
    services: &BTreeMap<String, usize>,
    scopes: &[Scope],
    me: usize,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, ImportTarget> {
    let src = &model.services[me];
    let mut out = BTreeMap::new();
    for (name, import) in &src.file.imports {
        let Some(&other) = services.get(import.service.as_str()) else {
            diags.push(Diagnostic::new(
                &src.path,
                import.service.loc,
                format!(
                    "import `{name}` refers to undefined service `{}`",
                    import.service
                ),
                Some(format!(
                    "declared services: {}",
                    services.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            ));
            continue;
        };
        if other == me {
            diags.push(Diagnostic::new(
                &src.path,
                import.service.loc,
                format!(
                    "import `{name}` refers to its own service `{}`",
                    import.service
                ),
                Some("refer to the resource directly instead".into()),
            ));
            continue;
        }
        let exporter = &model.services[other].file;
        let Some((_, output)) = exporter
            .outputs
            .iter()
            .find(|(n, _)| n.as_str() == import.output.as_str())
        else {
            let names: Vec<&str> = exporter.outputs.keys().map(|n| n.as_str()).collect();
            diags.push(Diagnostic::new(
                &src.path,
                import.output.loc,
                format!(
                    "service `{}` has no output `{}`",
                    import.service, import.output
                ),
                Some(format!("its outputs: {}", list(&names))),
            ));
            continue;
        };
        // An output whose own reference is broken is reported in its own file.
        if let Some((kind, attr, origin)) =
            output_target(import.service.as_str(), &scopes[other], &output.value)
        {
            out.insert(
                name.as_str().to_string(),
                ImportTarget {
                    service: import.service.as_str().to_string(),
                    output: import.output.as_str().to_string(),
                    kind,
                    attr,
                    origin,
                },
            );
        }
    }
    out
}

/// Orders services so that each comes after the services it imports from; reports cycles.
fn dependency_order(
    model: &Model,
    services: &BTreeMap<String, usize>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<usize> {
    let deps: Vec<BTreeSet<usize>> = model
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.file
                .imports
                .values()
                .filter_map(|imp| services.get(imp.service.as_str()).copied())
                .filter(|&j| j != i)
                .collect()
        })
        .collect();
    let mut state = vec![0u8; deps.len()];
    let mut order = Vec::new();
    let mut cycles = Vec::new();
    for i in 0..deps.len() {
        if state[i] == 0 {
            visit(
                i,
                &deps,
                &mut state,
                &mut Vec::new(),
                &mut order,
                &mut cycles,
            );
        }
    }
    report_cycles(model, cycles, diags);
    order
}

/// Depth-first visit from `i`: appends `i` after its dependencies to `order`, and each
/// loop it finds to `cycles` (state: 0 unvisited, 1 on the current path, 2 done).
fn visit(
    i: usize,
    deps: &[BTreeSet<usize>],
    state: &mut [u8],
    path: &mut Vec<usize>,
    order: &mut Vec<usize>,
    cycles: &mut Vec<Vec<usize>>,
) {
    state[i] = 1;
    path.push(i);
    for &j in &deps[i] {
        match state[j] {
            0 => visit(j, deps, state, path, order, cycles),
            1 => {
                let start = path.iter().position(|&p| p == j).unwrap_or(0);
                cycles.push(path[start..].to_vec());
            }
            _ => {}
        }
    }
    path.pop();
    state[i] = 2;
    order.push(i);
}

/// Reports each import cycle once, at the import that closes it.
fn report_cycles(model: &Model, cycles: Vec<Vec<usize>>, diags: &mut Vec<Diagnostic>) {
    let mut reported = BTreeSet::new();
    for cycle in cycles {
        let mut key = cycle.clone();
        key.sort();
        if !reported.insert(key) {
            continue;
        }
        // `cycle` is [a, b, .., z]: a imports from b, .., z imports from a. Report it at z's
        // import of a, the one that closes the loop.
        let first = cycle[0];
        let last = cycle[cycle.len() - 1];
        let name = |i: usize| model.services[i].file.service.as_str();
        let chain: Vec<&str> = std::iter::once(last)
            .chain(cycle[..cycle.len() - 1].iter().copied())
            .chain(std::iter::once(last))
            .map(name)
            .collect();
        let src = &model.services[last];
        let loc = src
            .file
            .imports
            .values()
            .find(|imp| imp.service.as_str() == name(first))
            .map(|imp| imp.service.loc)
            .unwrap_or(src.file.service.loc);
        diags.push(Diagnostic::new(
            &src.path,
            loc,
            format!("cycle in cross-service references: {}", chain.join(" -> ")),
            Some("services deploy in dependency order, so imports must not loop; move the shared resource into one service".into()),
        ));
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Context for checking one service.
struct Cx<'a> {
    file: &'a Path,
    svc: &'a ServiceFile,
    scope: &'a Scope,
    defaults: &'a crate::model::Defaults,
    diags: &'a mut Vec<Diagnostic>,
}

impl Cx<'_> {
    fn error(&mut self, loc: Loc, message: String, help: Option<String>) {
        self.diags
            .push(Diagnostic::new(self.file, loc, message, help));
    }

    /// Checks that `name` is a local resource of `kind`, or (when `import` allows it) an
    /// import of such a resource's `attr`. `what` names the use in messages.
    fn expect(&mut self, name: &Sp<Name>, kind: Kind, import: Option<Attr>, what: &str) -> bool {
        let declared = || self.scope.names_of(kind);
        match self.scope.resolve(name.as_str()) {
            None => {
                let names = declared();
                let declared_list = format!("declared {}: {}", kind.plural(), list(&names));
                self.error(
                    name.loc,
                    format!("{what} refers to undefined {kind} `{name}`"),
                    Some(crate::suggest::help(
                        name.as_str(),
                        names.iter().copied(),
                        declared_list,
                    )),
                );
                false
            }
            Some(Resolved::Local(k)) if k == kind => true,
            Some(Resolved::Local(k)) => {
                self.error(
                    name.loc,
                    format!("{what} refers to `{name}`, which is a {k}, not a {kind}"),
                    Some(format!("declared {}: {}", kind.plural(), list(&declared()))),
                );
                false
            }
            Some(Resolved::Imported(t)) => match import {
                Some(attr) if t.kind == kind && t.attr == attr => true,
                Some(attr) => {
                    self.error(
                        name.loc,
                        format!(
                            "{what} needs {}, but import `{name}` carries {} (output `{}` of service `{}`)",
                            attr.describe(kind),
                            t.attr.describe(t.kind),
                            t.output,
                            t.service
                        ),
                        None,
                    );
                    false
                }
                None => {
                    self.error(
                        name.loc,
                        format!("{what} must be a {kind} of this service; `{name}` is an import"),
                        Some(format!("declared {}: {}", kind.plural(), list(&declared()))),
                    );
                    false
                }
            },
        }
    }

    fn check_service(mut self) {
        let svc = self.svc;
        if let Some((n, _)) = svc.user_pools.iter().nth(1) {
            self.error(
                n.loc,
                "a service declares at most one user pool".into(),
                None,
            );
        }
        for (name, f) in &svc.functions {
            self.check_function(name, f);
            if let Some(rollout) = &f.rollout {
                let alarmed = svc
                    .alarms
                    .as_ref()
                    .is_some_and(|a| a.functions.iter().any(|x| x.value == name.value));
                if !alarmed {
                    self.error(
                        rollout.loc,
                        format!("`{name}` rolls out with {} but has no errors alarm to roll back on", rollout.value.as_str()),
                        Some(format!("add `{name}` to `alarms.functions`: CodeDeploy stops the shift and returns traffic when that alarm fires")),
                    );
                }
            }
        }
        for (name, q) in &svc.queues {
            self.check_queue(name, q);
        }
        for (name, rule) in &svc.rules {
            self.check_rule(name, rule);
        }
        for (name, api) in &svc.apis {
            self.check_api(name, api);
        }
        if let Some(alarms) = &svc.alarms {
            self.check_alarms(alarms);
        }
        for (name, out) in &svc.outputs {
            self.check_output(name, &out.value.value);
        }
        for (name, p) in &svc.parameters {
            self.check_parameter(name, p);
        }
    }

    fn check_queue(&mut self, name: &Sp<Name>, q: &crate::model::Queue) {
        if let Some(v) = &q.visibility_timeout_seconds {
            range(
                self.file,
                v,
                0,
                43200,
                "visibility_timeout_seconds",
                self.diags,
            );
        }
        if let Some(dl) = &q.dead_letter {
            if dl.queue.value == name.value {
                self.error(
                    dl.queue.loc,
                    format!("queue `{name}` cannot be its own dead-letter queue"),
                    None,
                );
            } else {
                self.expect(
                    &dl.queue,
                    Kind::Queue,
                    None,
                    &format!("dead-letter queue of `{name}`"),
                );
            }
            range(
                self.file,
                &dl.max_receive_count,
                1,
                1000,
                "max_receive_count",
                self.diags,
            );
        }
    }

    fn check_rule(&mut self, name: &Sp<Name>, rule: &crate::model::Rule) {
        let what = format!("rule `{name}`");
        self.expect(&rule.bus, Kind::Bus, Some(Attr::Ref), &what);
        self.expect(
            &rule.target,
            Kind::Function,
            None,
            &format!("target of {what}"),
        );
        if let Some(q) = &rule.dead_letter_queue {
            self.expect(
                q,
                Kind::Queue,
                None,
                &format!("dead-letter queue of {what}"),
            );
        }
        if let Some(r) = &rule.retry {
            range(
                self.file,
                &r.max_attempts,
                0,
                185,
                "max_attempts",
                self.diags,
            );
            range(
                self.file,
                &r.max_event_age_seconds,
                60,
                86400,
                "max_event_age_seconds",
                self.diags,
            );
        }
        if let Err(why) = check_event_pattern(&rule.pattern) {
            self.error(
                rule.pattern.loc,
                format!("invalid event pattern in rule `{name}`: {why}"),
                Some("each field maps to an array of values or matchers (prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard, cidr), or to a nested object".into()),
            );
        }
    }

    fn check_alarms(&mut self, alarms: &crate::model::Alarms) {
        for api in &alarms.apis {
            self.expect(api, Kind::Api, None, "alarm");
        }
        for f in &alarms.functions {
            self.expect(f, Kind::Function, None, "alarm");
        }
    }

    fn check_output(&mut self, name: &Sp<Name>, value: &OutputValue) {
        let what = format!("output `{name}`");
        match value {
            OutputValue::Ref(n) => {
                let ok = [
                    Kind::Table,
                    Kind::Queue,
                    Kind::Bus,
                    Kind::UserPool,
                    Kind::UserPoolClient,
                    Kind::UserPoolGroup,
                    Kind::Parameter,
                    Kind::Import,
                ];
                self.expect_one_of(n, &ok, &what, "ref");
            }
            OutputValue::Arn(n) => {
                let ok = [
                    Kind::Table,
                    Kind::Queue,
                    Kind::Bus,
                    Kind::UserPool,
                    Kind::Function,
                ];
                self.expect_one_of(n, &ok, &what, "arn");
            }
            OutputValue::Endpoint(n) => {
                self.expect(n, Kind::Api, None, &what);
            }
        }
    }

    fn check_parameter(&mut self, name: &Sp<Name>, p: &crate::model::Parameter) {
        if !p.kind.admits(&p.default) {
            self.error(
                p.default.loc,
                format!("default of parameter `{name}` is not a {:?}", p.kind),
                None,
            );
        }
    }

    fn expect_one_of(&mut self, name: &Sp<Name>, kinds: &[Kind], what: &str, form: &str) {
        let symbol = self.scope.symbols.get(name.as_str()).copied();
        match symbol {
            None => self.error(
                name.loc,
                format!("{what} refers to undefined resource `{name}`"),
                None,
            ),
            Some(s) if kinds.contains(&s.kind) => {}
            Some(s) => {
                let nouns: Vec<&str> = kinds.iter().map(|k| k.noun()).collect();
                self.error(
                    name.loc,
                    format!(
                        "{what}: `{form}` does not apply to `{name}`, which is a {}",
                        s.kind
                    ),
                    Some(format!("`{form}` applies to a {}", nouns.join(", "))),
                );
            }
        }
    }

    fn check_function(&mut self, name: &Sp<Name>, f: &crate::model::Function) {
        if let Some(m) = &f.memory_mb {
            range(self.file, m, 128, 10240, "memory_mb", self.diags);
        }
        if let Some(t) = &f.timeout_seconds {
            range(self.file, t, 1, 900, "timeout_seconds", self.diags);
        }
        let timeout = f
            .timeout_seconds
            .as_ref()
            .map_or(self.defaults.timeout_seconds.value, |t| t.value);
        for (var, value) in &f.environment {
            self.check_variable(name, var.as_str(), &value.value);
        }
        for p in &f.permissions {
            self.check_permission(name, p);
        }
        for t in &f.triggers {
            self.check_trigger(name, t, timeout);
        }
        if let Some(q) = &f.dead_letter_queue {
            self.expect(
                q,
                Kind::Queue,
                None,
                &format!("dead-letter queue of `{name}`"),
            );
        }
    }

    fn check_variable(&mut self, name: &Sp<Name>, var: &str, value: &EnvValue) {
        let what = format!("environment variable `{var}` of `{name}`");
        match value.target() {
            EnvTarget::Literal(_) => {}
            // A parameter's value may come from this service or from an import.
            EnvTarget::Named(n, Kind::Parameter) => {
                if !matches!(
                    self.scope.resolve(n.as_str()),
                    Some(Resolved::Local(Kind::Parameter) | Resolved::Imported(_))
                ) {
                    self.expect(n, Kind::Parameter, None, &what);
                }
            }
            EnvTarget::Named(n, kind) => {
                self.expect(n, kind, Some(Attr::Ref), &what);
            }
        }
    }

    fn check_permission(&mut self, name: &Sp<Name>, p: &Permission) {
        let what = format!("permission of `{name}`");
        let (target, kind) = match p {
            Permission::Table { table, .. } => (table, Kind::Table),
            Permission::Queue { queue, .. } => (queue, Kind::Queue),
            Permission::Bus { bus, .. } => (bus, Kind::Bus),
        };
        let access = p.access();
        let allowed: &[Access] = match kind {
            Kind::Table => &[
                Access::Get,
                Access::Query,
                Access::Scan,
                Access::Put,
                Access::Update,
                Access::Delete,
                Access::Read,
                Access::Write,
                Access::Crud,
            ],
            Kind::Queue => &[Access::Send, Access::Poll],
            _ => &[Access::PutEvents],
        };
        if !allowed.contains(&access.value) {
            let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
            self.error(
                access.loc,
                format!(
                    "{what}: access `{}` does not apply to a {kind}",
                    access.value.as_str()
                ),
                Some(format!("a {kind} permission takes {}", names.join(", "))),
            );
        }
        let import = if kind == Kind::Queue {
            None
        } else {
            Some(Attr::Ref)
        };
        self.expect(target, kind, import, &what);
    }

    /// A queue trigger of function `name`, whose timeout is `timeout` seconds.
    fn check_trigger(&mut self, name: &Sp<Name>, t: &QueueTrigger, timeout: u32) {
        let what = format!("trigger of `{name}`");
        range(self.file, &t.batch_size, 1, 10000, "batch_size", self.diags);
        if let Some(m) = &t.max_concurrency {
            range(self.file, m, 2, 1000, "max_concurrency", self.diags);
        }
        if self.expect(&t.queue, Kind::Queue, None, &what) {
            let queue = self
                .svc
                .queues
                .iter()
                .find(|(n, _)| n.as_str() == t.queue.as_str());
            if let Some((qname, q)) = queue {
                let vt = q
                    .visibility_timeout_seconds
                    .as_ref()
                    .map_or(30, |v| v.value);
                if vt < timeout {
                    self.error(
                        t.queue.loc,
                        format!("queue `{qname}` has a visibility timeout of {vt} s, shorter than the {timeout} s timeout of `{name}`"),
                        Some("Lambda rejects the trigger; raise the queue's visibility_timeout_seconds".into()),
                    );
                }
            }
        }
    }

    fn check_field_names<'k>(
        &mut self,
        loc: Loc,
        what: &str,
        noun: &str,
        names: impl Iterator<Item = &'k String>,
    ) {
        for name in names {
            if !vtl::is_safe_field(name) {
                self.error(
                    loc,
                    format!("{what}: {noun} `{name}` is not a plain name (letters, digits, `_`, `-`, `.`)"),
                    None,
                );
            }
        }
    }

    /// Each checked path parameter is in some route's path, reaches only service
    /// integrations (the gateway cannot check what it hands a function), and has a pattern
    /// and description the mapping templates, the local gateway and OpenAPI read alike.
    fn check_path_parameters(&mut self, name: &Sp<Name>, api: &Api) {
        for (param, p) in &api.path_parameters {
            let routes: Vec<&Route> = api
                .routes
                .iter()
                .filter(|r| r.route.params().contains(&param.as_str()))
                .collect();
            if routes.is_empty() {
                let mut declared: Vec<&str> =
                    api.routes.iter().flat_map(|r| r.route.params()).collect();
                declared.sort_unstable();
                declared.dedup();
                self.error(
                    param.loc,
                    format!("path parameter `{param}` of api `{name}` is in no route's path"),
                    Some(crate::suggest::help(
                        param.as_str(),
                        declared.iter().copied(),
                        format!("the routes' parameters: {}", list(&declared)),
                    )),
                );
            }
            for r in routes {
                if let Integration::Function(f) = &r.integration.value {
                    self.error(
                        param.loc,
                        format!(
                            "path parameter `{param}` has a pattern, but `{}` passes it to `{f}`, where API Gateway cannot check it",
                            r.route.value
                        ),
                        Some(format!("check it in the handler, or leave `{param}` out of `path_parameters`")),
                    );
                }
            }
            if let Err(why) = check_path_pattern(&p.pattern.value) {
                self.error(
                    p.pattern.loc,
                    format!("pattern of path parameter `{param}`: {why}"),
                    None,
                );
            }
            if !vtl::is_safe_message(&p.description.value) {
                self.error(
                    p.description.loc,
                    format!("description of path parameter `{param}` must be plain text: no `\"`, `\\`, `$`, `#` or control characters"),
                    Some("it is written into the 400's message by a mapping template".into()),
                );
            }
        }
    }

    fn check_api(&mut self, name: &Sp<Name>, api: &Api) {
        let authorizers: Vec<&str> = api.authorizers.keys().map(|n| n.as_str()).collect();
        for (aname, a) in &api.authorizers {
            let what = format!("authorizer `{aname}`");
            match a {
                Authorizer::Token {
                    function,
                    result_ttl_seconds,
                    ..
                } => {
                    self.expect(function, Kind::Function, None, &what);
                    if *result_ttl_seconds > 3600 {
                        self.error(
                            aname.loc,
                            format!("{what}: result_ttl_seconds must be at most 3600"),
                            None,
                        );
                    }
                }
                Authorizer::Cognito { user_pool } => {
                    self.expect(user_pool, Kind::UserPool, Some(Attr::Arn), &what);
                }
            }
        }
        if let Some(auth) = &api.auth
            && !api.authorizers.keys().any(|k| k.value == auth.value)
        {
            self.error(
                auth.loc,
                format!("api `{name}` uses undefined authorizer `{auth}`"),
                Some(format!("authorizers of `{name}`: {}", list(&authorizers))),
            );
        }
        for (mname, schema) in &api.models {
            if let Err(why) = check_json_schema(schema) {
                self.error(
                    schema.loc,
                    format!("model `{mname}` is not a valid JSON Schema (draft 4): {why}"),
                    Some("API Gateway validates request bodies with JSON Schema draft 4".into()),
                );
            }
        }
        self.check_path_parameters(name, api);
        let mut seen: BTreeMap<(crate::model::Method, String), &Sp<crate::model::RouteSpec>> =
            BTreeMap::new();
        for route in &api.routes {
            let key = (route.route.method, route.route.shape());
            if let Some(first) = seen.get(&key) {
                self.error(
                    route.route.loc,
                    format!(
                        "duplicate route `{}` in api `{name}`: `{}` at line {} already matches it",
                        route.route.value, first.value, first.loc.line
                    ),
                    None,
                );
            } else {
                seen.insert(key, &route.route);
            }
            self.check_route(name, api, route, &authorizers);
        }
        self.check_throttles(name, api);
    }

    /// Limits must let something through, and a route's above its stage's would never apply.
    fn check_throttles(&mut self, name: &Sp<Name>, api: &Api) {
        let stage = api.throttle.as_ref().map_or(Throttle::STAGE, |t| t.value);
        let mut given: Vec<(String, &Sp<Throttle>)> = Vec::new();
        if let Some(t) = &api.throttle {
            given.push((format!("api `{name}`"), t));
        }
        for route in &api.routes {
            if let Some(t) = &route.throttle {
                given.push((format!("route `{}`", route.route.value), t));
                if t.value.rate > stage.rate || t.value.burst > stage.burst {
                    self.error(
                        t.loc,
                        format!(
                            "route `{}`: throttle {}/s (burst {}) is above the stage's {}/s (burst {}), so it would never apply",
                            route.route.value, t.value.rate, t.value.burst, stage.rate, stage.burst
                        ),
                        Some("lower the route's limit, or raise the api's `throttle`".into()),
                    );
                }
            }
        }
        for (what, t) in given {
            if t.value.rate == 0 || t.value.burst == 0 {
                self.error(
                    t.loc,
                    format!(
                        "{what}: a throttle of rate {} and burst {} lets no request through",
                        t.value.rate, t.value.burst
                    ),
                    Some("give `rate` and `burst` of at least 1".into()),
                );
            }
        }
    }

    fn check_route(&mut self, api_name: &Sp<Name>, api: &Api, route: &Route, authorizers: &[&str]) {
        let what = format!("route `{}`", route.route.value);
        self.check_route_auth(api_name, route, authorizers, &what);
        let schema = self.body_schema(api_name, api, route, &what);
        self.check_responses(api_name, api, route, &what);
        let sources = self.check_integration(route, &what);
        let cx = RouteCx {
            what: &what,
            route,
            params: route.route.params(),
            authorized: route.authorizer(api).is_some(),
            schema,
        };
        for src in sources {
            self.check_source(&cx, src);
        }
    }

    fn check_route_auth(
        &mut self,
        api_name: &Sp<Name>,
        route: &Route,
        authorizers: &[&str],
        what: &str,
    ) {
        if let Some(a) = &route.auth
            && let RouteAuth::Authorizer(name) = &a.value
            && !authorizers.contains(&name.as_str())
        {
            self.error(
                a.loc,
                format!("{what} uses undefined authorizer `{name}`"),
                Some(format!(
                    "authorizers of `{api_name}`: {}, or `{}`",
                    list(authorizers),
                    RouteAuth::PUBLIC
                )),
            );
        }
    }

    /// Each documented answer has an HTTP status and, when it names one, a model of the API.
    fn check_responses(&mut self, api_name: &Sp<Name>, api: &Api, route: &Route, what: &str) {
        for (status, response) in &route.responses {
            if !(200..=599).contains(&status.value) {
                self.error(
                    status.loc,
                    format!(
                        "{what}: `{}` is not an HTTP status of an answer (200 to 599)",
                        status.value
                    ),
                    None,
                );
            }
            if let Some(body) = &response.body
                && !api.models.keys().any(|m| m.value == body.value)
            {
                let models: Vec<&str> = api.models.keys().map(|n| n.as_str()).collect();
                self.error(
                    body.loc,
                    format!(
                        "{what}: answer {} uses undefined model `{body}`",
                        status.value
                    ),
                    Some(crate::suggest::help(
                        body.as_str(),
                        models.iter().copied(),
                        format!("models of `{api_name}`: {}", list(&models)),
                    )),
                );
            }
        }
    }

    /// The schema of the route's body model, reported when it names no model of the API.
    fn body_schema<'a>(
        &mut self,
        api_name: &Sp<Name>,
        api: &'a Api,
        route: &Route,
        what: &str,
    ) -> Option<&'a Json> {
        route.body.as_ref().and_then(|b| {
            let found = api
                .models
                .iter()
                .find(|(n, _)| n.value == b.value)
                .map(|(_, s)| &s.value);
            if found.is_none() {
                let models: Vec<&str> = api.models.keys().map(|n| n.as_str()).collect();
                self.error(
                    b.loc,
                    format!("{what} uses undefined model `{b}`"),
                    Some(format!("models of `{api_name}`: {}", list(&models))),
                );
            }
            found
        })
    }

    /// Checks the route's integration; returns the values it maps into the request.
    fn check_integration<'a>(&mut self, route: &'a Route, what: &str) -> Vec<&'a Sp<ValueSource>> {
        let mut sources: Vec<&Sp<ValueSource>> = Vec::new();
        match &route.integration.value {
            Integration::Function(f) => {
                self.expect(f, Kind::Function, None, what);
            }
            Integration::PutEvents(p) => {
                self.expect(&p.bus, Kind::Bus, None, what);
                for (field, value) in [("source", &p.source), ("detail_type", &p.detail_type)] {
                    if !vtl::is_safe_constant(value) {
                        self.error(
                            route.integration.loc,
                            format!("{what}: {field} `{value}` must be non-empty and hold only letters, digits and ` ._-:/@+=`"),
                            None,
                        );
                    }
                }
                self.check_field_names(
                    route.integration.loc,
                    what,
                    "detail field",
                    p.detail.keys(),
                );
                sources.extend(p.detail.values());
            }
            Integration::SendMessage(s) => {
                self.expect(&s.queue, Kind::Queue, None, what);
                self.check_field_names(
                    route.integration.loc,
                    what,
                    "message attribute",
                    s.attributes.keys(),
                );
                sources.push(&s.body);
                sources.extend(s.attributes.values());
            }
        }
        sources
    }

    /// Checks one value an integration maps from the request.
    fn check_source(&mut self, cx: &RouteCx<'_>, src: &Sp<ValueSource>) {
        let what = cx.what;
        let params = &cx.params;
        match &src.value {
                ValueSource::Value(v) if !vtl::is_safe_constant(v) => self.error(
                    src.loc,
                    format!("{what}: constant `{v}` must be non-empty and hold only letters, digits and ` ._-:/@+=`"),
                    None,
                ),
                ValueSource::Body(f) | ValueSource::Path(f) if !vtl::is_safe_field(f) => self.error(
                    src.loc,
                    format!("{what}: `{f}` is not a plain field name (letters, digits, `_`, `-`, `.`)"),
                    None,
                ),
                ValueSource::Caller if !cx.authorized => self.error(
                    src.loc,
                    format!("{what} uses `caller`, but the route has no authorizer"),
                    Some("the caller's identity comes from the authorizer; set `auth` on the route or the api".into()),
                ),
                ValueSource::Path(p) if !params.contains(&p.as_str()) => self.error(
                    src.loc,
                    format!("{what} has no path parameter `{p}`"),
                    Some(format!("its path parameters: {}", list(params))),
                ),
                ValueSource::Body(field) => match cx.schema {
                    None if cx.route.body.is_none() => self.error(
                        src.loc,
                        format!("{what} reads body field `{field}` but declares no body model"),
                        Some("set `body:` to a model that requires the field, so API Gateway checks it".into()),
                    ),
                    Some(schema) if !requires_string(schema, field) => self.error(
                        src.loc,
                        format!("{what} reads body field `{field}`, which its body model does not require as a string"),
                        Some("list the field under `required` and give it `type: string` in the model".into()),
                    ),
                    _ => {}
                },
                _ => {}
            }
    }
}

/// What checking a route's values needs to know of the route.
struct RouteCx<'a> {
    what: &'a str,
    route: &'a Route,
    params: Vec<&'a str>,
    authorized: bool,
    schema: Option<&'a Json>,
}

/// Whether a JSON Schema requires `field` and types it as a string.
fn requires_string(schema: &Json, field: &str) -> bool {
    let required = schema
        .get("required")
        .and_then(Json::as_array)
        .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(field)));
    let typed = schema
        .get("properties")
        .and_then(|p| p.get(field))
        .and_then(|p| p.get("type"))
        .and_then(Json::as_str)
        == Some("string");
    required && typed
}

/// Checks a request model against the JSON Schema draft 4 meta-schema, and that each of its
/// regular expressions is valid and keeps to ECMA 262, the dialect draft 4 prescribes.
pub fn check_json_schema(schema: &Json) -> Result<(), String> {
    if !schema.is_object() {
        return Err("a schema must be an object".into());
    }
    jsonschema::draft4::meta::validate(schema).map_err(|e| schema_error(&e))?;
    check_schema_regexes(schema, "")?;
    // What `stackgen local` does with the model; it must not fail there either.
    jsonschema::draft4::new(schema)
        .map(drop)
        .map_err(|e| schema_error(&e))
}

/// A JSON Schema error with the position in the schema it is about.
fn schema_error(e: &jsonschema::ValidationError<'_>) -> String {
    let at = match e.instance_path.to_string() {
        at if at.is_empty() => e.schema_path.to_string(),
        at => at,
    };
    let what = match (&e.kind, e.instance.as_str()) {
        (jsonschema::error::ValidationErrorKind::Format { format }, Some(regex))
            if format == "regex" =>
        {
            format!("pattern `{regex}` is not a valid regular expression")
        }
        _ => e.to_string(),
    };
    if at.is_empty() {
        what
    } else {
        format!("at `{at}`: {what}")
    }
}

/// A path parameter's pattern: anchored at both ends (Java's `matches` and ECMA's `test`
/// then agree), ECMA 262 syntax that compiles, and nothing that would end the mapping
/// template's string literal (`'`) or be taken by `Fn::Sub` (`${`).
fn check_path_pattern(pattern: &str) -> Result<(), String> {
    if !pattern.starts_with('^') || !pattern.ends_with('$') || pattern.ends_with("\\$") {
        return Err(format!(
            "`{pattern}` must match the whole value: begin it with `^` and end it with `$`"
        ));
    }
    if pattern.contains('\'') || pattern.contains("${") {
        return Err(format!(
            "`{pattern}` may not contain `'` or `${{` (write `\\u0027` for a quote)"
        ));
    }
    // The schema's checks include the ECMA syntax check.
    check_json_schema(&vtl::PathCheck::schema(pattern))
        .map_err(|why| why.replace("at `/pattern`: ", ""))
}

/// Checks the `pattern`s and `patternProperties` names of a schema and of the schemas in it
/// with [`check_ecma_regex`]. Only draft 4's schema keywords are followed, so data (`enum`,
/// `default`) and property names are never taken for a regex.
fn check_schema_regexes(schema: &Json, at: &str) -> Result<(), String> {
    let Json::Object(map) = schema else {
        return Ok(());
    };
    for (key, value) in map {
        let here = format!("{at}/{key}");
        match (key.as_str(), value) {
            ("pattern", Json::String(regex)) => {
                check_ecma_regex(regex).map_err(|why| format!("at `{here}`: {why}"))?
            }
            (
                "properties" | "patternProperties" | "definitions" | "dependencies",
                Json::Object(subs),
            ) => {
                for (name, sub) in subs {
                    if key == "patternProperties" {
                        check_ecma_regex(name).map_err(|why| format!("at `{here}`: {why}"))?;
                    }
                    check_schema_regexes(sub, &format!("{here}/{name}"))?;
                }
            }
            ("items" | "allOf" | "anyOf" | "oneOf", Json::Array(subs)) => {
                for (i, sub) in subs.iter().enumerate() {
                    check_schema_regexes(sub, &format!("{here}/{i}"))?;
                }
            }
            ("items" | "additionalItems" | "additionalProperties" | "not", sub) => {
                check_schema_regexes(sub, &here)?
            }
            _ => {}
        }
    }
    Ok(())
}

/// Rejects syntax outside ECMA 262 (5th edition) that the local validator would still
/// accept, so a model cannot validate differently under `stackgen local` and on AWS:
/// escapes ECMA 262 does not define (`\p{..}`, `\A`, `\z`, `\x{..}`, `\u{..}`...), and
/// groups other than `(?:..)`, `(?=..)` and `(?!..)` (inline flags, named groups,
/// look-behind).
pub fn check_ecma_regex(regex: &str) -> Result<(), String> {
    let not_ecma = |what: String| {
        Err(format!(
            "pattern `{regex}` uses {what}, which is not ECMA 262 (5th edition) syntax; \
             write a character as `\\uXXXX` and a group as `(?:...)`"
        ))
    };
    let hex =
        |rest: &str, n: usize| rest.chars().take(n).filter(char::is_ascii_hexdigit).count() == n;
    let mut in_class = false;
    let mut chars = regex.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((j, e)) = chars.next() else {
                    return Err(format!("pattern `{regex}` ends with a lone `\\`"));
                };
                let rest = &regex[j + e.len_utf8()..];
                let defined = match e {
                    // Classes, assertions, control characters, back-references.
                    _ if "dDwWsSbBtnvfr0123456789".contains(e) => true,
                    'c' => rest.starts_with(|l: char| l.is_ascii_alphabetic()),
                    'x' => hex(rest, 2),
                    'u' => hex(rest, 4),
                    other => !other.is_ascii_alphanumeric(),
                };
                if !defined {
                    return not_ecma(format!("the escape `\\{e}`"));
                }
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class && chars.peek().is_some_and(|(_, n)| *n == '?') => {
                let kind = regex[i + 2..].chars().next();
                if !matches!(kind, Some(':' | '=' | '!')) {
                    return not_ecma(format!(
                        "the group `(?{}`",
                        kind.map(String::from).unwrap_or_default()
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks an EventBridge event pattern's structure.
pub fn check_event_pattern(pattern: &Json) -> Result<(), String> {
    match pattern {
        Json::Object(map) if !map.is_empty() => check_pattern_object(map, ""),
        Json::Object(_) => Err("the pattern is empty".into()),
        _ => Err("a pattern must be an object".into()),
    }
}

fn check_pattern_object(map: &serde_json::Map<String, Json>, path: &str) -> Result<(), String> {
    for (key, value) in map {
        let here = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match value {
            Json::Object(inner) if !inner.is_empty() => check_pattern_object(inner, &here)?,
            Json::Object(_) => return Err(format!("`{here}` is an empty object")),
            Json::Array(items) if !items.is_empty() => {
                for item in items {
                    check_matcher(item, &here)?;
                }
            }
            Json::Array(_) => {
                return Err(format!(
                    "`{here}` has an empty array, which matches nothing"
                ));
            }
            other => {
                return Err(format!(
                    "`{here}` is {other}, but a value must be an array (write `[{other}]`) or an object"
                ));
            }
        }
    }
    Ok(())
}

fn check_matcher(item: &Json, path: &str) -> Result<(), String> {
    let Json::Object(m) = item else {
        return Ok(());
    };
    if m.len() != 1 {
        return Err(format!(
            "`{path}`: a matcher object has exactly one operator"
        ));
    }
    let (op, arg) = m
        .iter()
        .next()
        .ok_or_else(|| format!("`{path}`: empty matcher"))?;
    let bad = |what: &str| Err(format!("`{path}`: `{op}` takes {what}"));
    match op.as_str() {
        "prefix" | "suffix" => match arg {
            Json::String(_) => Ok(()),
            Json::Object(o)
                if o.len() == 1 && o.get("equals-ignore-case").is_some_and(Json::is_string) =>
            {
                Ok(())
            }
            _ => bad("a string"),
        },
        "equals-ignore-case" | "wildcard" | "cidr" => {
            if arg.is_string() {
                Ok(())
            } else {
                bad("a string")
            }
        }
        "exists" => {
            if arg.is_boolean() {
                Ok(())
            } else {
                bad("true or false")
            }
        }
        "anything-but" => anything_but(arg).or_else(bad),
        "numeric" => numeric(arg).or_else(bad),
        other => Err(format!(
            "`{path}`: unknown operator `{other}` (expected prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard or cidr)"
        )),
    }
}

/// An `anything-but` matcher's argument; `Err` says what it takes.
fn anything_but(arg: &Json) -> Result<(), &'static str> {
    const TAKES: &str =
        "a value, a list of values, or one of prefix, suffix, wildcard, equals-ignore-case";
    let ok = match arg {
        Json::String(_) | Json::Number(_) => true,
        Json::Array(a) => !a.is_empty() && a.iter().all(|v| v.is_string() || v.is_number()),
        Json::Object(o) if o.len() == 1 => o.iter().all(|(inner, v)| {
            matches!(
                inner.as_str(),
                "prefix" | "suffix" | "wildcard" | "equals-ignore-case"
            ) && (v.is_string() || v.is_array())
        }),
        _ => false,
    };
    if ok { Ok(()) } else { Err(TAKES) }
}

/// A `numeric` matcher's argument: operator and number pairs; `Err` says what it takes.
fn numeric(arg: &Json) -> Result<(), &'static str> {
    const OPS: [&str; 5] = ["<", "<=", "=", ">", ">="];
    let ok = matches!(arg, Json::Array(a) if !a.is_empty()
        && a.len() % 2 == 0
        && a.chunks(2)
            .all(|c| c[0].as_str().is_some_and(|o| OPS.contains(&o)) && c[1].is_number()));
    if ok {
        Ok(())
    } else {
        Err("a list like [\">\", 0, \"<=\", 5]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schema_pattern_must_compile_and_keep_to_ecma_262() {
        let with = |pattern: &str| {
            check_json_schema(&json!({
                "type": "object",
                "properties": {"id": {"type": "string", "pattern": pattern}},
            }))
        };
        assert_eq!(with(r"^[^\u0000-\u001F\u007F-\u009F]+$"), Ok(()));
        assert_eq!(with(r"^(?:[a-z]\d|\-|\\|[(?])*(?!x)$"), Ok(()));
        assert_eq!(
            with("^[a-"),
            Err(
                "at `/properties/id/pattern`: pattern `^[a-` is not a valid regular expression"
                    .into()
            )
        );
        let e = with(r"^\p{L}+$").unwrap_err();
        assert!(
            e.contains("`^\\p{L}+$` uses the escape `\\p`, which is not ECMA 262"),
            "{e}"
        );
        assert!(with(r"\x{41}").unwrap_err().contains("the escape `\\x`"));
        assert!(with(r"\u{41}").unwrap_err().contains("the escape `\\u`"));
        assert!(with(r"^\A").unwrap_err().contains("the escape `\\A`"));
        assert!(with("(?i)abc").unwrap_err().contains("the group `(?i`"));
        assert!(with("(?<n>a)").unwrap_err().contains("the group `(?<`"));
        let e = check_json_schema(&json!({"patternProperties": {r"^\z": {}}})).unwrap_err();
        assert!(e.contains("at `/patternProperties`"), "{e}");
        // Data is not a schema: a `pattern` key inside an enum value is not checked.
        assert_eq!(
            check_json_schema(
                &json!({"enum": [{"pattern": r"\p"}], "properties": {"pattern": {}}})
            ),
            Ok(())
        );
        let e = check_json_schema(&json!({"items": [{"not": {"pattern": "(?i)"}}]})).unwrap_err();
        assert!(e.starts_with("at `/items/0/not/pattern`"), "{e}");
    }

    #[test]
    fn a_plain_pattern_is_valid() {
        assert!(
            check_event_pattern(
                &json!({"source": ["restaurant"], "detail-type": ["order.updated"]})
            )
            .is_ok()
        );
        assert!(
            check_event_pattern(
                &json!({"detail": {"n": [{"numeric": [">", 0]}], "s": [{"prefix": "a"}]}})
            )
            .is_ok()
        );
    }

    #[test]
    fn a_scalar_pattern_value_is_invalid() {
        let e = check_event_pattern(&json!({"source": "restaurant"})).unwrap_err();
        assert!(e.contains("`source` is \"restaurant\""), "{e}");
    }

    #[test]
    fn an_unknown_operator_is_invalid() {
        let e = check_event_pattern(&json!({"source": [{"startsWith": "a"}]})).unwrap_err();
        assert!(e.contains("unknown operator `startsWith`"), "{e}");
    }

    #[test]
    fn a_schema_with_a_bad_type_is_invalid() {
        assert!(check_json_schema(&json!({"type": "object"})).is_ok());
        assert!(check_json_schema(&json!({"type": "strng"})).is_err());
        assert!(check_json_schema(&json!({"required": "name"})).is_err());
    }
}
