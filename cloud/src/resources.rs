//! Creates in the endpoint every resource the model declares, and keeps what each
//! logical name became there ([`Resolved`]): the values the functions' environment, the
//! triggers and the gateway are wired with.
//!
//! Physical names are `<service>-<Name>` (a bus `users-UserPool`...), which is what
//! CloudFormation's `<stack>-<Name>` naming becomes without a stack. Creation is
//! idempotent: what already exists under that name is found and reused, so `stackgen
//! invoke --aws-endpoint` can run against the endpoint of a running `stackgen local`.
//!
//! Each rule also gets an SQS queue of its own, `<service>-<Rule>-target`, as an extra
//! target: the endpoint delivers the events the rule matches there, whoever put them, and
//! the rule trigger polls it (see [`super::triggers`]).

use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, PasswordPolicyType, PreventUserExistenceErrorTypes,
    SchemaAttributeType, UserPoolPolicyType, UsernameAttributeType, VerifiedAttributeType,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType as DynamoKeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_eventbridge::types::{RuleState, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_ssm::error::DisplayErrorContext;
use serde_json::json;

use super::endpoint::Clients;
use stackgen::app::{self, App, Import};
use stackgen::check::Attr;
use stackgen::model::{Json, KeyType, OutputValue};

/// Visibility timeout of a rule's target queue: longer than every retry of one event, so
/// an event being retried is not delivered twice.
const RULE_QUEUE_VISIBILITY_SECONDS: u32 = 900;

/// Why a resource could not be created or found.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// A call to the endpoint failed.
    #[error("cannot create {what}: {message}")]
    Create {
        /// The resource (`table users-UsersTable`).
        what: String,
        /// The endpoint's error, with its causes.
        message: String,
    },
    /// The endpoint answered without a value we need.
    #[error("the endpoint returned no {field} for {what}")]
    Missing {
        /// The resource.
        what: String,
        /// The missing field.
        field: &'static str,
    },
}

fn create_error(what: &str, e: impl std::error::Error) -> ResourceError {
    ResourceError::Create {
        what: what.to_owned(),
        message: DisplayErrorContext(&e).to_string(),
    }
}

fn missing(what: &str, field: &'static str) -> ResourceError {
    ResourceError::Missing {
        what: what.to_owned(),
        field,
    }
}

/// What one logical name of a service became in the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Physical {
    /// A stack parameter, with its default value.
    Parameter {
        /// The value as text.
        value: String,
    },
    /// A DynamoDB table.
    Table {
        /// Its name.
        name: String,
        /// Its ARN.
        arn: String,
    },
    /// An SQS queue.
    Queue {
        /// Its name.
        name: String,
        /// Its URL.
        url: String,
        /// Its ARN.
        arn: String,
    },
    /// An EventBridge bus.
    Bus {
        /// Its name.
        name: String,
        /// Its ARN.
        arn: String,
    },
    /// A Cognito user pool.
    UserPool {
        /// Its id (`us-east-1_abc`).
        id: String,
        /// Its ARN.
        arn: String,
        /// The id of its app client.
        client_id: String,
    },
    /// A Cognito app client.
    UserPoolClient {
        /// Its id.
        id: String,
    },
    /// A Cognito group.
    UserPoolGroup {
        /// Its name.
        name: String,
    },
    /// An EventBridge rule.
    Rule {
        /// Its name.
        name: String,
        /// Its ARN.
        arn: String,
        /// The URL of the queue the endpoint delivers the rule's events to.
        target_queue_url: String,
    },
    /// A Lambda function, by its name in the local runtime.
    Function {
        /// The name to invoke it by.
        name: String,
    },
    /// A REST API served locally.
    Api {
        /// Its base URL (`http://127.0.0.1:3000`), once a port is chosen.
        url: String,
    },
}

impl Physical {
    /// What CloudFormation's `Ref` gives: a name, URL, id or value.
    pub fn value(&self) -> &str {
        match self {
            Physical::Parameter { value } => value,
            Physical::Table { name, .. }
            | Physical::Bus { name, .. }
            | Physical::UserPoolGroup { name }
            | Physical::Rule { name, .. }
            | Physical::Function { name } => name,
            Physical::Queue { url, .. } => url,
            Physical::UserPool { id, .. } | Physical::UserPoolClient { id } => id,
            Physical::Api { url } => url,
        }
    }

    /// The ARN, for the resources that have one.
    pub fn arn(&self) -> Option<&str> {
        match self {
            Physical::Table { arn, .. }
            | Physical::Queue { arn, .. }
            | Physical::Bus { arn, .. }
            | Physical::UserPool { arn, .. }
            | Physical::Rule { arn, .. } => Some(arn),
            _ => None,
        }
    }
}

/// Every service's logical names and what they became, imports followed to the
/// service that declares them.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    project: String,
    services: BTreeMap<String, Service>,
}

#[derive(Debug, Clone, Default)]
struct Service {
    local: BTreeMap<String, Physical>,
    /// Import name → the resource holding its value, and which value.
    imports: BTreeMap<String, Import>,
    /// Output name → its value in the model.
    outputs: BTreeMap<String, (OutputValue, bool)>,
}

impl Resolved {
    /// Every resource of every service, with its service and model name, in order.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str, &Physical)> {
        self.services.iter().flat_map(|(service, svc)| {
            svc.local
                .iter()
                .map(move |(name, p)| (service.as_str(), name.as_str(), p))
        })
    }

    /// The project name (the SSM parameters' prefix).
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The names of the services, sorted.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.keys().map(String::as_str)
    }

    /// The resource behind `name` in `service`: one of its own, or, for an import, the
    /// resource of the other service that the imported output names.
    pub fn resource(&self, service: &str, name: &str) -> Option<&Physical> {
        self.follow(service, name).map(|(physical, _)| physical)
    }

    /// What `Ref` on `name` gives in `service`'s template: for an import, the imported
    /// output's value (a name, URL, id, ARN or endpoint).
    pub fn value(&self, service: &str, name: &str) -> Option<String> {
        self.value_at(service, name)
    }

    /// The ARN of `name` in `service` (following imports).
    pub fn arn(&self, service: &str, name: &str) -> Option<String> {
        self.resource(service, name)
            .and_then(Physical::arn)
            .map(str::to_owned)
    }

    /// The values a service publishes in its SSM parameter, by output name.
    pub fn published_outputs(&self, service: &str) -> BTreeMap<String, String> {
        let Some(svc) = self.services.get(service) else {
            return BTreeMap::new();
        };
        svc.outputs
            .iter()
            .filter(|(_, (_, publish))| *publish)
            .filter_map(|(name, (value, _))| {
                Some((name.clone(), self.output_value(service, value)?))
            })
            .collect()
    }

    /// Records the base URL an API is served at.
    pub fn set_api_url(&mut self, service: &str, api: &str, url: String) {
        if let Some(svc) = self.services.get_mut(service) {
            svc.local
                .insert(api.to_owned(), Physical::Api { url: url.clone() });
        }
    }

    /// The resource `name` stands for in `service`: its own, or the one an import holds.
    fn follow(&self, service: &str, name: &str) -> Option<(&Physical, Attr)> {
        let svc = self.services.get(service)?;
        if let Some(p) = svc.local.get(name) {
            return Some((p, Attr::Ref));
        }
        let import = svc.imports.get(name)?;
        let origin = self.services.get(&import.origin.service)?;
        Some((origin.local.get(&import.origin.resource)?, import.attr))
    }

    fn value_at(&self, service: &str, name: &str) -> Option<String> {
        let (physical, attr) = self.follow(service, name)?;
        match attr {
            Attr::Ref | Attr::Endpoint => Some(physical.value().to_owned()),
            Attr::Arn => physical.arn().map(str::to_owned),
        }
    }

    fn output_value(&self, service: &str, value: &OutputValue) -> Option<String> {
        match value {
            OutputValue::Ref(x) | OutputValue::Endpoint(x) => self.value_at(service, x.as_str()),
            OutputValue::Arn(x) => self.arn(service, x.as_str()),
        }
    }
}

/// The physical name of `name` in `service`.
pub fn physical_name(service: &str, name: &str) -> String {
    format!("{service}-{name}")
}

/// Creates (or finds) every resource of every service, in dependency order.
pub async fn create(app: &App, clients: &Clients) -> Result<Resolved, ResourceError> {
    let mut resolved = Resolved {
        project: app.project().to_owned(),
        services: BTreeMap::new(),
    };
    for service in app.in_dependency_order() {
        let created = create_service(service, clients).await?;
        resolved.services.insert(service.name().to_owned(), created);
    }
    Ok(resolved)
}

async fn create_service(
    app_service: &app::Service,
    clients: &Clients,
) -> Result<Service, ResourceError> {
    let svc = app_service.file();
    let service = svc.service.as_str();
    let mut out = Service {
        imports: app_service.imports.clone(),
        ..Service::default()
    };
    for (name, output) in &svc.outputs {
        out.outputs.insert(
            name.to_string(),
            (output.value.value.clone(), output.publish),
        );
    }
    for (name, p) in &svc.parameters {
        let value = match &p.default.value {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.local
            .insert(name.to_string(), Physical::Parameter { value });
    }
    for (name, table) in &svc.tables {
        let physical = create_table(clients, &physical_name(service, name.as_str()), table).await?;
        out.local.insert(name.to_string(), physical);
    }
    for (name, pool) in &svc.user_pools {
        let pool_name = physical_name(service, name.as_str());
        let (id, arn) = create_user_pool(clients, &pool_name, pool).await?;
        let client_id =
            create_app_client(clients, &id, &physical_name(service, pool.client.as_str())).await?;
        for (group_name, group) in &pool.groups {
            create_group(clients, &id, &group.name, &group.description).await?;
            out.local.insert(
                group_name.to_string(),
                Physical::UserPoolGroup {
                    name: group.name.clone(),
                },
            );
        }
        out.local.insert(
            pool.client.to_string(),
            Physical::UserPoolClient {
                id: client_id.clone(),
            },
        );
        out.local
            .insert(name.to_string(), Physical::UserPool { id, arn, client_id });
    }
    // Dead-letter queues first: a redrive policy names its queue's ARN.
    let mut queues: Vec<_> = svc.queues.iter().collect();
    queues.sort_by_key(|(_, q)| q.dead_letter.is_some());
    for (name, queue) in queues {
        let mut attributes = BTreeMap::new();
        if let Some(v) = &queue.visibility_timeout_seconds {
            attributes.insert(QueueAttributeName::VisibilityTimeout, v.value.to_string());
        }
        if let Some(v) = queue.retention_seconds {
            attributes.insert(QueueAttributeName::MessageRetentionPeriod, v.to_string());
        }
        if let Some(dl) = &queue.dead_letter {
            let Some(Physical::Queue { arn, .. }) = out.local.get(dl.queue.as_str()) else {
                return Err(missing(
                    &format!("the dead-letter queue {}", dl.queue),
                    "ARN",
                ));
            };
            attributes.insert(
                QueueAttributeName::RedrivePolicy,
                json!({"deadLetterTargetArn": arn, "maxReceiveCount": dl.max_receive_count.value})
                    .to_string(),
            );
        }
        let physical =
            create_queue(clients, &physical_name(service, name.as_str()), attributes).await?;
        out.local.insert(name.to_string(), physical);
    }
    for name in svc.buses.keys() {
        let physical = create_bus(clients, &physical_name(service, name.as_str())).await?;
        out.local.insert(name.to_string(), physical);
    }
    for (name, rule) in &svc.rules {
        let Some(Physical::Bus { name: bus, .. }) = out.local.get(rule.bus.as_str()).cloned()
        else {
            return Err(missing(&format!("the bus of rule {name}"), "name"));
        };
        let rule_name = physical_name(service, name.as_str());
        let target = create_queue(
            clients,
            &format!("{rule_name}-target"),
            BTreeMap::from([(
                QueueAttributeName::VisibilityTimeout,
                RULE_QUEUE_VISIBILITY_SECONDS.to_string(),
            )]),
        )
        .await?;
        let Physical::Queue {
            url: target_url,
            arn: target_arn,
            ..
        } = target
        else {
            return Err(missing(&rule_name, "target queue"));
        };
        let arn = create_rule(clients, &rule_name, &bus, &rule.pattern.value, &target_arn).await?;
        out.local.insert(
            name.to_string(),
            Physical::Rule {
                name: rule_name,
                arn,
                target_queue_url: target_url,
            },
        );
    }
    for name in svc.functions.keys() {
        out.local.insert(
            name.to_string(),
            Physical::Function {
                name: name.to_string(),
            },
        );
    }
    for name in svc.apis.keys() {
        out.local
            .insert(name.to_string(), Physical::Api { url: String::new() });
    }
    Ok(out)
}

async fn create_table(
    clients: &Clients,
    name: &str,
    table: &stackgen::model::Table,
) -> Result<Physical, ResourceError> {
    let what = format!("table {name}");
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    let keys = [
        Some((&table.partition_key, DynamoKeyType::Hash)),
        table.sort_key.as_ref().map(|k| (k, DynamoKeyType::Range)),
    ];
    for (key, role) in keys.into_iter().flatten() {
        let kind = match key.kind {
            KeyType::S => ScalarAttributeType::S,
            KeyType::N => ScalarAttributeType::N,
            KeyType::B => ScalarAttributeType::B,
        };
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&key.name)
                    .attribute_type(kind)
                    .build()
                    .map_err(|e| create_error(&what, e))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(&key.name)
                    .key_type(role)
                    .build()
                    .map_err(|e| create_error(&what, e))?,
            );
    }
    let arn = match request.send().await {
        Ok(out) => {
            if let Some(ttl) = &table.ttl_attribute {
                clients
                    .dynamodb
                    .update_time_to_live()
                    .table_name(name)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .attribute_name(ttl)
                            .enabled(true)
                            .build()
                            .map_err(|e| create_error(&what, e))?,
                    )
                    .send()
                    .await
                    .map_err(|e| create_error(&format!("the TTL of {what}"), e))?;
            }
            out.table_description()
                .and_then(|d| d.table_arn())
                .map(str::to_owned)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            let out = clients
                .dynamodb
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| create_error(&what, e))?;
            out.table().and_then(|d| d.table_arn()).map(str::to_owned)
        }
        Err(e) => return Err(create_error(&what, e)),
    };
    Ok(Physical::Table {
        name: name.to_owned(),
        arn: arn.ok_or_else(|| missing(&what, "ARN"))?,
    })
}

async fn create_user_pool(
    clients: &Clients,
    name: &str,
    pool: &stackgen::model::UserPool,
) -> Result<(String, String), ResourceError> {
    let what = format!("user pool {name}");
    let cognito = &clients.cognito;
    let existing = cognito
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .map_err(|e| create_error(&what, e))?;
    let found = existing
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(name))
        .and_then(|p| p.id())
        .map(str::to_owned);
    let pool = match found {
        Some(id) => {
            cognito
                .describe_user_pool()
                .user_pool_id(id)
                .send()
                .await
                .map_err(|e| create_error(&what, e))?
                .user_pool
        }
        None => {
            let mut attributes = vec!["email".to_owned()];
            attributes.extend(
                pool.required_attributes
                    .iter()
                    .filter(|a| a.as_str() != "email")
                    .cloned(),
            );
            let mut request = cognito
                .create_user_pool()
                .pool_name(name)
                .username_attributes(UsernameAttributeType::Email)
                .auto_verified_attributes(VerifiedAttributeType::Email)
                .policies(
                    UserPoolPolicyType::builder()
                        .password_policy(
                            PasswordPolicyType::builder()
                                .minimum_length(8)
                                .require_lowercase(true)
                                .require_numbers(true)
                                .require_symbols(false)
                                .require_uppercase(true)
                                .build(),
                        )
                        .build(),
                );
            for attribute in attributes {
                request = request.schema(
                    SchemaAttributeType::builder()
                        .name(attribute)
                        .attribute_data_type(AttributeDataType::String)
                        .required(true)
                        .mutable(true)
                        .build(),
                );
            }
            request
                .send()
                .await
                .map_err(|e| create_error(&what, e))?
                .user_pool
        }
    };
    let pool = pool.ok_or_else(|| missing(&what, "user pool"))?;
    let id = pool.id().ok_or_else(|| missing(&what, "id"))?.to_owned();
    let arn = pool.arn().ok_or_else(|| missing(&what, "ARN"))?.to_owned();
    Ok((id, arn))
}

async fn create_app_client(
    clients: &Clients,
    pool_id: &str,
    name: &str,
) -> Result<String, ResourceError> {
    let what = format!("app client {name}");
    let cognito = &clients.cognito;
    let existing = cognito
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .max_results(60)
        .send()
        .await
        .map_err(|e| create_error(&what, e))?;
    if let Some(id) = existing
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some(name))
        .and_then(|c| c.client_id())
    {
        return Ok(id.to_owned());
    }
    let out = cognito
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name(name)
        .generate_secret(false)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await
        .map_err(|e| create_error(&what, e))?;
    out.user_pool_client()
        .and_then(|c| c.client_id())
        .map(str::to_owned)
        .ok_or_else(|| missing(&what, "client id"))
}

async fn create_group(
    clients: &Clients,
    pool_id: &str,
    name: &str,
    description: &str,
) -> Result<(), ResourceError> {
    match clients
        .cognito
        .create_group()
        .user_pool_id(pool_id)
        .group_name(name)
        .description(description)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_group_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(create_error(&format!("group {name}"), e)),
    }
}

async fn create_queue(
    clients: &Clients,
    name: &str,
    attributes: BTreeMap<QueueAttributeName, String>,
) -> Result<Physical, ResourceError> {
    let what = format!("queue {name}");
    let sqs = &clients.sqs;
    let mut request = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k, v);
    }
    let url = request
        .send()
        .await
        .map_err(|e| create_error(&what, e))?
        .queue_url
        .ok_or_else(|| missing(&what, "URL"))?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| create_error(&what, e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| missing(&what, "ARN"))?;
    Ok(Physical::Queue {
        name: name.to_owned(),
        url,
        arn,
    })
}

async fn create_bus(clients: &Clients, name: &str) -> Result<Physical, ResourceError> {
    let what = format!("bus {name}");
    let events = &clients.eventbridge;
    let arn = match events.create_event_bus().name(name).send().await {
        Ok(out) => out.event_bus_arn,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) =>
        {
            events
                .describe_event_bus()
                .name(name)
                .send()
                .await
                .map_err(|e| create_error(&what, e))?
                .arn
        }
        Err(e) => return Err(create_error(&what, e)),
    };
    Ok(Physical::Bus {
        name: name.to_owned(),
        arn: arn.ok_or_else(|| missing(&what, "ARN"))?,
    })
}

async fn create_rule(
    clients: &Clients,
    name: &str,
    bus: &str,
    pattern: &Json,
    target_queue_arn: &str,
) -> Result<String, ResourceError> {
    let what = format!("rule {name}");
    let events = &clients.eventbridge;
    let arn = events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .state(RuleState::Enabled)
        .send()
        .await
        .map_err(|e| create_error(&what, e))?
        .rule_arn
        .ok_or_else(|| missing(&what, "ARN"))?;
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(
            Target::builder()
                .id("stackgen-runtime")
                .arn(target_queue_arn)
                .build()
                .map_err(|e| create_error(&what, e))?,
        )
        .send()
        .await
        .map_err(|e| create_error(&format!("the target of {what}"), e))?;
    Ok(arn)
}

/// The environment a local run publishes its outputs under unless told another
/// (`stackgen-cloud local --environment`).
pub const LOCAL_ENVIRONMENT: &str = "local";

/// Writes each service's published outputs to
/// `/<project>/<environment>/outputs/service/<service>`, as a deployed environment does,
/// one JSON object per service with the same keys as on AWS. Call it once the APIs have
/// their URLs ([`Resolved::set_api_url`]).
pub async fn publish_outputs(
    resolved: &Resolved,
    environment: &str,
    clients: &Clients,
) -> Result<(), ResourceError> {
    for service in resolved.services() {
        let outputs = resolved.published_outputs(service);
        if outputs.is_empty() {
            continue;
        }
        let name =
            stackgen::model::outputs_parameter_name(resolved.project(), environment, service);
        let value = serde_json::to_string(&outputs).map_err(|e| create_error(&name, e))?;
        clients
            .ssm
            .put_parameter()
            .name(&name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| create_error(&format!("SSM parameter {name}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved() -> Resolved {
        let users = Service {
            local: BTreeMap::from([(
                "UserPool".to_owned(),
                Physical::UserPool {
                    id: "us-east-1_x".into(),
                    arn: "arn:pool".into(),
                    client_id: "c".into(),
                },
            )]),
            imports: BTreeMap::new(),
            outputs: BTreeMap::from([(
                "UserPoolArn".to_owned(),
                (
                    OutputValue::Arn(stackgen::model::Sp::new(
                        stackgen::model::Name::new("UserPool").unwrap(),
                        Default::default(),
                    )),
                    false,
                ),
            )]),
        };
        let orders = Service {
            local: BTreeMap::new(),
            imports: BTreeMap::from([(
                "UserPoolArn".to_owned(),
                Import {
                    origin: app::Origin {
                        service: "users".to_owned(),
                        resource: "UserPool".to_owned(),
                    },
                    attr: Attr::Arn,
                },
            )]),
            outputs: BTreeMap::new(),
        };
        Resolved {
            project: "p".into(),
            services: BTreeMap::from([("users".into(), users), ("orders".into(), orders)]),
        }
    }

    #[test]
    fn an_imported_arn_is_the_value_and_the_resource_is_the_pool() {
        let r = resolved();
        assert_eq!(
            r.value("orders", "UserPoolArn").as_deref(),
            Some("arn:pool")
        );
        assert!(matches!(
            r.resource("orders", "UserPoolArn"),
            Some(Physical::UserPool { id, .. }) if id == "us-east-1_x"
        ));
    }

    #[test]
    fn unpublished_outputs_stay_out_of_the_parameter() {
        assert!(resolved().published_outputs("users").is_empty());
    }
}
