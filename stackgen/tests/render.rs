//! Structural assertions on the rendered templates of the app's model: the names the
//! handler crates are coded against (docs/wiring.md), least privilege, outputs, determinism.

mod common;

use std::collections::{BTreeMap, BTreeSet};

/// The rendered templates (the `.yaml` files), by name.
fn files() -> BTreeMap<String, String> {
    common::render_repo()
        .into_iter()
        .filter(|(name, _)| name.ends_with(".yaml"))
        .collect()
}

/// The lines of one resource: from `  Name:` to the next resource.
fn resource<'a>(template: &'a str, name: &str) -> &'a str {
    let start = template
        .find(&format!("\n  {name}:\n"))
        .unwrap_or_else(|| panic!("no resource `{name}`"))
        + 1;
    let rest = &template[start..];
    let end = rest[3..]
        .find("\n  ")
        .map(|i| {
            let mut j = i + 3;
            while rest[j + 1..].starts_with("   ") {
                j = j + 1 + rest[j + 1..].find('\n').unwrap_or(rest.len() - j - 1);
            }
            j
        })
        .unwrap_or(rest.len());
    &rest[..end]
}

const FUNCTIONS: &[(&str, &str, &str, &str, &[&str])] = &[
    ("users", "UsersFunction", "users", "users", &["USERS_TABLE"]),
    (
        "users",
        "AuthorizerFunction",
        "users",
        "authorizer",
        &["USER_POOL_ID", "APP_CLIENT_ID", "ADMIN_GROUP_NAME"],
    ),
    (
        "orders",
        "CreateOrderFunction",
        "orders",
        "create-order",
        &[
            "ORDERS_TABLE",
            "IDEMPOTENCY_TABLE",
            "IDEMPOTENCY_TTL_SECONDS",
            "METRICS_NAMESPACE",
            "SERVICE_NAME",
        ],
    ),
    (
        "orders",
        "GetOrderFunction",
        "orders",
        "get-order",
        &["ORDERS_TABLE"],
    ),
    (
        "orders",
        "ListOrdersFunction",
        "orders",
        "list-orders",
        &["ORDERS_TABLE"],
    ),
    (
        "orders",
        "EditOrderFunction",
        "orders",
        "edit-order",
        &["ORDERS_TABLE"],
    ),
    (
        "orders",
        "CancelOrderFunction",
        "orders",
        "cancel-order",
        &["ORDERS_TABLE"],
    ),
    (
        "orderstatus",
        "UpdateOrderStatusFunction",
        "orderstatus",
        "update-order-status",
        &["ORDERS_TABLE"],
    ),
    (
        "userprofile",
        "AddAddressFunction",
        "userprofile",
        "add-address",
        &["ADDRESS_TABLE"],
    ),
    (
        "userprofile",
        "EditAddressFunction",
        "userprofile",
        "edit-address",
        &["ADDRESS_TABLE"],
    ),
    (
        "userprofile",
        "DeleteAddressFunction",
        "userprofile",
        "delete-address",
        &["ADDRESS_TABLE"],
    ),
    (
        "userprofile",
        "ListAddressesFunction",
        "userprofile",
        "list-addresses",
        &["ADDRESS_TABLE"],
    ),
    (
        "userprofile",
        "ListFavoritesFunction",
        "userprofile",
        "list-favorites",
        &["FAVORITES_TABLE"],
    ),
    (
        "userprofile",
        "FavoritesConsumerFunction",
        "userprofile",
        "favorites-consumer",
        &["FAVORITES_TABLE", "METRICS_NAMESPACE", "SERVICE_NAME"],
    ),
];

#[test]
fn every_function_matches_the_wiring() {
    let files = files();
    for (service, id, krate, handler, env) in FUNCTIONS {
        let text = resource(&files[&format!("{service}.yaml")], id);
        for want in [
            "Type: AWS::Serverless::Function".to_string(),
            "BuildMethod: rust-cargolambda".to_string(),
            // One bootstrap per crate, built once by SAM; the handler names the function.
            format!("Binary: \"{krate}\""),
            format!("CodeUri: \"../handlers/{krate}\""),
            format!("Handler: \"{handler}\""),
            "Runtime: \"provided.al2023\"".to_string(),
            "- \"x86_64\"".to_string(),
            "RUST_LOG: \"info\"".to_string(),
        ] {
            assert!(text.contains(&want), "{id}: missing `{want}` in\n{text}");
        }
        for var in *env {
            assert!(
                text.contains(&format!("          {var}: ")),
                "{id}: no env {var}\n{text}"
            );
        }
    }
}

#[test]
fn nothing_grants_every_resource_or_full_access() {
    for (name, text) in files() {
        for line in text.lines() {
            let l = line.trim();
            assert!(!l.contains("FullAccess"), "{name}: {l}");
            assert!(
                !(l.starts_with("Resource:") && l.contains("\"*\"")),
                "{name}: {l}"
            );
            assert!(l != "- \"*\"", "{name}: {l}");
        }
        assert!(!text.contains("AmazonDynamoDBFullAccess"));
    }
}

#[test]
fn each_service_publishes_its_outputs_in_one_ssm_parameter() {
    let files = files();
    let expect: &[(&str, &[&str])] = &[
        (
            "users",
            &[
                "APIEndpoint",
                "UsersTable",
                "UserPool",
                "UserPoolClient",
                "UserPoolAdminGroupName",
            ],
        ),
        (
            "orders",
            &["OrdersServiceEndpoint", "OrdersTable", "IdempotencyTable"],
        ),
        (
            "userprofile",
            &[
                "ProfileApiEndpoint",
                "AddressTable",
                "FavoritesTable",
                "AddressBusName",
                "FavoritesQueueUrl",
            ],
        ),
        ("orderstatus", &["RestaurantBusName"]),
    ];
    for (service, keys) in expect {
        let text = &files[&format!("{service}.yaml")];
        let ssm = resource(text, "ServiceOutputsParameter");
        assert!(
            ssm.contains(&format!(
                "Name: !Sub \"/foodapp/${{Environment}}/outputs/service/{service}\""
            )),
            "{ssm}"
        );
        let json_line = ssm
            .lines()
            .find(|l| l.trim_start().starts_with("- \"{"))
            .expect("JSON template");
        let found = json_line.matches("\\\":\\\"${").count();
        assert_eq!(found, keys.len(), "{service}: {json_line}");
        for key in *keys {
            assert!(
                json_line.contains(&format!("\\\"{key}\\\":\\\"${{{key}}}\\\"")),
                "{service} lacks {key}"
            );
            assert!(
                text.contains(&format!("\n  {key}:\n    Description:")),
                "{service}: no stack output {key}"
            );
        }
    }
}

#[test]
fn api_endpoints_include_the_stage() {
    let files = files();
    for (service, output, api) in [
        ("users", "APIEndpoint", "UsersApi"),
        ("orders", "OrdersServiceEndpoint", "OrdersApi"),
        ("userprofile", "ProfileApiEndpoint", "ProfileApi"),
    ] {
        let want = format!(
            "  {output}:\n    Description: \"{}\"\n    Value: !Sub \"https://${{{api}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/Prod\"",
            match service {
                "users" => "Users API endpoint, with the stage",
                "orders" => "Orders API endpoint, with the stage",
                _ => "User profile API endpoint, with the stage",
            }
        );
        assert!(
            files[&format!("{service}.yaml")].contains(&want),
            "{service}: {want}"
        );
    }
}

#[test]
fn the_root_template_wires_cross_service_parameters() {
    let root = &files()["template.yaml"];
    for app in [
        "UsersService",
        "OrdersService",
        "UserprofileService",
        "OrderstatusService",
    ] {
        assert!(
            root.contains(&format!("  {app}:\n    Type: AWS::Serverless::Application")),
            "{app}"
        );
    }
    assert!(root.contains("UserPoolArn: !GetAtt UsersService.Outputs.UserPoolArn"));
    assert!(root.contains("OrdersTable: !GetAtt OrdersService.Outputs.OrdersTable"));
    assert!(root.contains("Location: \"orderstatus.yaml\""));
}

#[test]
fn orderstatus_updates_the_orders_table_through_a_parameter() {
    let text = &files()["orderstatus.yaml"];
    let f = resource(text, "UpdateOrderStatusFunction");
    assert!(f.contains("ORDERS_TABLE: !Ref OrdersTable"), "{f}");
    // UpdateItem only, on the imported table's name: never a put that could create an order.
    assert!(
        f.contains("- Statement:\n            - Action:\n                - \"dynamodb:UpdateItem\"\n              Effect: \"Allow\"\n              Resource: !Sub \"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${OrdersTable}\""),
        "{f}"
    );
    assert!(
        text.contains("\n  OrdersTable:\n    Type: \"String\""),
        "{text}"
    );
    let rule = resource(text, "OrderUpdatedRule");
    assert!(rule.contains("detail-type:\n          - \"order.updated\"\n        source:\n          - \"restaurant\""), "{rule}");
    assert!(
        rule.contains("DeadLetterConfig:") && rule.contains("MaximumRetryAttempts: 3"),
        "{rule}"
    );
}

#[test]
fn the_favorites_consumer_reports_batch_item_failures() {
    let text = &files()["userprofile.yaml"];
    let m = resource(text, "FavoritesConsumerFunctionFavoritesQueueTrigger");
    assert!(
        m.contains("BatchSize: 10") && m.contains("- \"ReportBatchItemFailures\""),
        "{m}"
    );
    // A flood waits in the queue instead of taking the account's concurrency.
    assert!(
        m.contains("ScalingConfig:\n        MaximumConcurrency: 5"),
        "{m}"
    );
    let q = resource(text, "FavoritesQueue");
    assert!(
        q.contains("deadLetterTargetArn: !GetAtt FavoritesDLQ.Arn")
            && q.contains("maxReceiveCount: 3"),
        "{q}"
    );
}

#[test]
fn rendering_twice_gives_the_same_bytes() {
    assert_eq!(common::render_repo(), common::render_repo());
}

/// The parts of a rendered template the tests below read.
mod template {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::Value;
    use serde_saphyr::Tagged;

    #[derive(Deserialize)]
    pub struct Stack {
        #[serde(rename = "Resources")]
        pub resources: BTreeMap<String, Resource>,
    }

    #[derive(Deserialize)]
    pub struct Resource {
        #[serde(rename = "Type")]
        pub kind: String,
        #[serde(rename = "DeletionPolicy")]
        pub deletion_policy: Option<String>,
        #[serde(rename = "UpdateReplacePolicy")]
        pub update_replace_policy: Option<String>,
        #[serde(rename = "Properties", default)]
        pub properties: Option<Properties>,
    }

    #[derive(Deserialize)]
    pub struct Properties {
        #[serde(rename = "DefinitionBody", default)]
        pub definition_body: Option<Body>,
        #[serde(rename = "TableName")]
        pub table_name: Option<Value>,
    }

    #[derive(Deserialize)]
    pub struct Body {
        pub paths: BTreeMap<String, BTreeMap<String, Operation>>,
    }

    #[derive(Deserialize)]
    pub struct Operation {
        pub security: Option<Value>,
        #[serde(default)]
        pub responses: Value,
        #[serde(rename = "x-amazon-apigateway-integration")]
        pub integration: Integration,
    }

    #[derive(Deserialize)]
    pub struct Integration {
        #[serde(rename = "type")]
        pub kind: String,
        #[serde(rename = "requestTemplates", default)]
        pub request_templates: BTreeMap<String, Tagged<String>>,
        #[serde(default)]
        pub responses: Value,
    }
}

#[test]
fn every_api_path_answers_a_cors_preflight_without_auth() {
    let model = stackgen::model::load(&common::repo().join("model")).expect("model parses");
    let files = files();
    let mut apis = 0;
    for svc in &model.services {
        let text = &files[&format!("{}.yaml", svc.file.service)];
        let stack: template::Stack = serde_saphyr::from_str(text).expect("the template parses");
        for (name, api) in &svc.file.apis {
            apis += 1;
            let mut expected: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for route in &api.routes {
                let spec = &route.route.value;
                expected
                    .entry(spec.path.clone())
                    .or_default()
                    .push(spec.method.as_str());
            }
            let resource = &stack.resources[name.as_str()];
            assert_eq!(resource.kind, "AWS::Serverless::Api");
            let body = resource
                .properties
                .as_ref()
                .and_then(|p| p.definition_body.as_ref())
                .expect("an OpenAPI body");
            let paths: Vec<&String> = body.paths.keys().collect();
            assert_eq!(paths, expected.keys().collect::<Vec<_>>(), "{name}");
            for (path, mut methods) in expected {
                let ops = &body.paths[&path];
                let mut keys: Vec<String> = ops.keys().map(|m| m.to_ascii_uppercase()).collect();
                methods.push("OPTIONS");
                methods.sort_unstable();
                keys.sort_unstable();
                assert_eq!(keys, methods, "{name} {path}");
                let options = &ops["options"];
                let what = format!("{name} OPTIONS {path}");
                assert_eq!(options.security, Some(serde_json::json!([])), "{what}");
                assert_eq!(options.integration.kind, "mock", "{what}");
                assert_eq!(
                    options.integration.request_templates["application/json"].0,
                    r#"{"statusCode": 200}"#,
                    "{what}"
                );
                let want = serde_json::json!({
                    "method.response.header.Access-Control-Allow-Origin": "'*'",
                    "method.response.header.Access-Control-Allow-Headers": "'Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token'",
                    "method.response.header.Access-Control-Allow-Methods": format!("'{}'", methods.join(",")),
                    "method.response.header.Access-Control-Max-Age": "'600'",
                });
                let default = &options.integration.responses["default"];
                assert_eq!(default["statusCode"], "200", "{what}");
                assert_eq!(default["responseParameters"], want, "{what}");
                // API Gateway maps only headers the method response declares.
                let declared = options.responses["200"]["headers"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{what}: no method response headers"));
                for header in want.as_object().into_iter().flatten().map(|(k, _)| k) {
                    let header = header.trim_start_matches("method.response.header.");
                    assert!(declared.contains_key(header), "{what}: {header} undeclared");
                }
                // Every other operation keeps its authorizer.
                for (method, op) in ops.iter().filter(|(m, _)| *m != "options") {
                    let auth = rendered_auth(op);
                    let route = api
                        .routes
                        .iter()
                        .find(|r| {
                            r.route.value.path == path
                                && r.route.value.method.as_str().eq_ignore_ascii_case(method)
                        })
                        .expect("a route of the model");
                    assert_eq!(
                        auth.as_deref(),
                        route.authorizer(api).map(|n| n.as_str()),
                        "{name} {method} {path}"
                    );
                }
            }
        }
    }
    assert_eq!(apis, 3);
}

/// The authorizer an operation names in `security`, if any.
fn rendered_auth(op: &template::Operation) -> Option<String> {
    op.security
        .as_ref()?
        .as_array()?
        .first()?
        .as_object()?
        .keys()
        .next()
        .cloned()
}

/// The resource types that hold data, and the policy each gets when the model says nothing.
const STATEFUL: &[(&str, &str)] = &[
    ("AWS::DynamoDB::Table", "Retain"),
    ("AWS::Cognito::UserPool", "Retain"),
    ("AWS::Cognito::UserPoolGroup", "Retain"),
    ("AWS::SQS::Queue", "Delete"),
];

/// `(resource, DeletionPolicy)` of every stateful resource of a template, after checking
/// that its `UpdateReplacePolicy` is the same (cfn-lint W3011) and that a table's name is
/// left to CloudFormation, so a retained table never blocks a new stack of the same name.
fn policies(text: &str) -> BTreeMap<String, String> {
    let stack: template::Stack = serde_saphyr::from_str(text).expect("the template parses");
    let mut out = BTreeMap::new();
    for (name, r) in &stack.resources {
        if !STATEFUL.iter().any(|(kind, _)| *kind == r.kind) {
            continue;
        }
        let policy = r
            .deletion_policy
            .clone()
            .unwrap_or_else(|| panic!("{name}: no DeletionPolicy"));
        assert_eq!(r.update_replace_policy.as_ref(), Some(&policy), "{name}");
        assert!(
            r.properties
                .as_ref()
                .is_some_and(|p| p.table_name.is_none()),
            "{name}: a fixed TableName"
        );
        out.insert(name.clone(), policy);
    }
    out
}

#[test]
fn stateful_resources_are_retained_by_default_and_queues_deleted() {
    let files = files();
    let mut seen = BTreeMap::new();
    for text in files.values() {
        let stack: template::Stack = serde_saphyr::from_str(text).expect("the template parses");
        for (name, policy) in policies(text) {
            seen.insert(name.clone(), policy.clone());
            let kind = &stack.resources[&name].kind;
            let default = STATEFUL.iter().find(|(k, _)| k == kind).map(|(_, p)| *p);
            // The orders model deletes its idempotency table: its records live an hour.
            let want = if name == "IdempotencyTable" {
                Some("Delete")
            } else {
                default
            };
            assert_eq!(Some(policy.as_str()), want, "{name} ({kind})");
        }
    }
    for name in [
        "UsersTable",
        "UserPool",
        "UserPoolAdminGroup",
        "OrdersTable",
        "AddressTable",
        "FavoritesTable",
    ] {
        assert_eq!(seen.get(name).map(String::as_str), Some("Retain"), "{name}");
    }
    for name in [
        "IdempotencyTable",
        "FavoritesQueue",
        "FavoritesDLQ",
        "AddressEventsDLQ",
        "OrderStatusDLQ",
    ] {
        assert_eq!(seen.get(name).map(String::as_str), Some("Delete"), "{name}");
    }
}

#[test]
fn the_model_overrides_the_deletion_policy_per_resource() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let model = tmp.path().join("model");
    std::fs::create_dir_all(&model).expect("model dir");
    // The app's settings without its environments, whose parameters belong to the
    // app's services, not to this one.
    let app = std::fs::read_to_string(common::repo().join("model/app.yaml")).expect("app.yaml");
    let app = app
        .split("\nenvironments:")
        .next()
        .expect("the app settings");
    std::fs::write(model.join("app.yaml"), app).expect("app.yaml");
    std::fs::write(
        model.join("shop.yaml"),
        r#"
service: shop
description: a shop
tables:
  KeptTable: { partition_key: { name: id } }
  ScratchTable: { partition_key: { name: id }, deletion_policy: delete }
user_pools:
  ScratchPool:
    required_attributes: [email]
    client: ScratchClient
    groups: { ScratchGroup: { name: g, description: a group } }
    deletion_policy: delete
queues:
  WorkQueue: {}
  KeptQueue: { deletion_policy: retain }
"#,
    )
    .expect("shop.yaml");
    let files: BTreeMap<String, String> = common::render_model(&model).into_iter().collect();
    let got = policies(&files["shop.yaml"]);
    let want: BTreeMap<String, String> = [
        ("KeptTable", "Retain"),
        ("ScratchTable", "Delete"),
        ("ScratchPool", "Delete"),
        ("ScratchGroup", "Delete"),
        ("WorkQueue", "Delete"),
        ("KeptQueue", "Retain"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn every_dead_letter_queue_and_rule_of_a_service_with_alarms_has_an_alarm() {
    let files = files();
    let model = stackgen::model::load(&common::repo().join("model")).expect("model");
    let mut seen = 0;
    for svc in &model.services {
        let svc = &svc.file;
        if svc.alarms.is_none() {
            continue;
        }
        let template = &files[&format!("{}.yaml", svc.service.as_str())];
        let mut queues: Vec<&str> = svc
            .queues
            .values()
            .filter_map(|q| q.dead_letter.as_ref().map(|d| d.queue.as_str()))
            .collect();
        queues.extend(
            svc.functions
                .values()
                .filter_map(|f| f.dead_letter_queue.as_ref().map(|q| q.as_str())),
        );
        queues.extend(
            svc.rules
                .values()
                .filter_map(|r| r.dead_letter_queue.as_ref().map(|q| q.as_str())),
        );
        for q in queues {
            let alarm = resource(template, &format!("{q}DepthAlarm"));
            assert!(
                alarm.contains("ApproximateNumberOfMessagesVisible"),
                "{alarm}"
            );
            assert!(alarm.contains(&format!("!GetAtt {q}.QueueName")), "{alarm}");
            assert!(alarm.contains("- !Ref AlarmTopicArn"), "{alarm}");
            seen += 1;
        }
        for (rule, spec) in &svc.rules {
            let alarm = resource(template, &format!("{rule}FailedInvocationsAlarm"));
            assert!(
                alarm.contains("MetricName: \"FailedInvocations\""),
                "{alarm}"
            );
            assert!(alarm.contains(&format!("!GetAtt {rule}.Arn")), "{alarm}");
            assert!(
                alarm.contains(&format!("Value: !Ref {}", spec.bus.as_str())),
                "{alarm}"
            );
            seen += 1;
        }
    }
    // userprofile: FavoritesDLQ and AddressEventsDLQ (named many times), three rules;
    // orderstatus: OrderStatusDLQ and its rule.
    assert!(seen >= 6, "{seen}");
}

#[test]
fn the_favorites_consumers_refusals_have_an_alarm_on_the_metric_it_emits() {
    let files = files();
    let alarm = resource(&files["userprofile.yaml"], "RejectedFavoriteCommandAlarm");
    for expected in [
        "Namespace: \"foodapp\"",
        // The name and dimension `favorites::consume_batch_reporting` emits.
        &format!("MetricName: \"{}\"", "RejectedFavoriteCommand"),
        "- Name: \"service\"\n          Value: \"userprofile\"",
        "- !Ref AlarmTopicArn",
    ] {
        assert!(alarm.contains(expected), "{expected} not in\n{alarm}");
    }
}

#[test]
fn every_stage_is_throttled_and_direct_write_routes_more_tightly() {
    let files = files();
    for (file, api) in [
        ("users.yaml", "UsersApi"),
        ("orders.yaml", "OrdersApi"),
        ("userprofile.yaml", "ProfileApi"),
    ] {
        let text = resource(&files[file], api);
        assert!(
            text.contains("- HttpMethod: \"*\"\n          ResourcePath: \"/*\"\n          ThrottlingBurstLimit: 200\n          ThrottlingRateLimit: 100"),
            "{api}:\n{text}"
        );
    }
    let profile = resource(&files["userprofile.yaml"], "ProfileApi");
    for (method, path) in [
        ("POST", "/~1address"),
        ("PUT", "/~1address~1{addressId}"),
        ("DELETE", "/~1address~1{addressId}"),
        ("POST", "/~1favorite"),
        ("DELETE", "/~1favorite~1{restaurantId}"),
    ] {
        let setting = format!(
            "- HttpMethod: \"{method}\"\n          ResourcePath: \"{path}\"\n          ThrottlingBurstLimit: 40\n          ThrottlingRateLimit: 20"
        );
        assert!(profile.contains(&setting), "{method} {path}");
    }
    // Routes with a function in front (the GETs here) keep the stage's limit.
    assert!(!profile.contains("- HttpMethod: \"GET\""), "{profile}");
}

#[test]
fn every_api_with_alarms_alarms_on_a_slow_p99() {
    let files = files();
    for (file, api) in [
        ("users.yaml", "UsersApi"),
        ("orders.yaml", "OrdersApi"),
        ("userprofile.yaml", "ProfileApi"),
    ] {
        let alarm = resource(&files[file], &format!("{api}LatencyAlarm"));
        for expected in [
            "ExtendedStatistic: \"p99\"",
            "MetricName: \"Latency\"",
            "Threshold: 3000",
            "EvaluationPeriods: 3",
            "- !Ref AlarmTopicArn",
        ] {
            assert!(
                alarm.contains(expected),
                "{api}: {expected} not in\n{alarm}"
            );
        }
        assert!(
            alarm.contains(&format!("!Sub \"${{AWS::StackName}}-{api}\"")),
            "{alarm}"
        );
    }
}

#[test]
fn the_architecture_diagrams_show_every_service_and_the_paths_between_them() {
    let rendered: BTreeMap<String, String> = common::render_repo().into_iter().collect();
    let text = &rendered["architecture.md"];
    for section in [
        "## The app",
        "## users",
        "## orders",
        "## userprofile",
        "## orderstatus",
    ] {
        assert!(text.contains(section), "{section}");
    }
    assert_eq!(text.matches("```mermaid\nflowchart LR\n").count(), 5);
    for edge in [
        // A direct integration, a rule, a queue trigger, a redrive, a cross-service permission.
        "userprofile__ProfileApi -->|\"POST /favorite<br/>DELETE /favorite/{restaurantId}\"| userprofile__FavoritesQueue",
        "orderstatus__RestaurantBus -->|\"OrderUpdatedRule\"| orderstatus__UpdateOrderStatusFunction",
        "userprofile__FavoritesQueue -->|trigger| userprofile__FavoritesConsumerFunction",
        "userprofile__FavoritesQueue -.->|\"after 3 receives\"| userprofile__FavoritesDLQ",
        "orderstatus__UpdateOrderStatusFunction -->|\"update\"| orders__OrdersTable",
        "users__UserPool -.->|authorizes| orders__OrdersApi",
        "orders__CancelOrderFunction -->|\"get, update\"| orders__OrdersTable",
    ] {
        assert!(text.contains(edge), "missing: {edge}");
    }
    // In the orderstatus diagram, the orders table it writes is drawn as the orders service's.
    let orderstatus = &text[text.find("## orderstatus").unwrap()..];
    assert!(
        orderstatus.contains("  orders__OrdersTable[\"OrdersTable (orders)\"]"),
        "{orderstatus}"
    );
}

#[test]
fn every_function_has_exactly_the_table_actions_docs_wiring_lists() {
    // The documented table: function → table → actions.
    let docs = std::fs::read_to_string(common::repo().join("docs/wiring.md")).expect("docs");
    let section = docs
        .split("## Table permissions")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the permissions section");
    let documented: BTreeMap<(String, String), BTreeSet<String>> = section
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("Function |"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let actions = cells[2]
                .split(", ")
                .map(|a| format!("dynamodb:{a}"))
                .collect();
            ((cells[0].to_owned(), cells[1].to_owned()), actions)
        })
        .collect();

    // The rendered one: every table statement of every function.
    let mut rendered: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (file, text) in files() {
        if !file.ends_with(".yaml") || file == "template.yaml" {
            continue;
        }
        let template = stackgen::diff::read::template(&text).expect("the template reads back");
        for (name, resource) in template["Resources"].as_object().expect("resources") {
            let policies = resource["Properties"]["Policies"].as_array();
            for policy in policies.into_iter().flatten() {
                assert!(
                    !policy
                        .as_object()
                        .is_some_and(|p| p.keys().any(|k| k.starts_with("DynamoDB"))),
                    "{name}: a broad DynamoDB policy template: {policy}"
                );
                for statement in policy["Statement"].as_array().into_iter().flatten() {
                    let on = statement["Resource"]["Fn::Sub"]
                        .as_str()
                        .unwrap_or_default();
                    let Some(table) = on.split(":table/${").nth(1) else {
                        continue;
                    };
                    let table = table.trim_end_matches('}').to_owned();
                    let actions = statement["Action"].as_array().expect("actions");
                    rendered
                        .entry((name.clone(), table))
                        .or_default()
                        .extend(actions.iter().map(|a| a.as_str().unwrap().to_owned()));
                }
            }
        }
    }
    assert_eq!(rendered, documented);
}

#[test]
fn every_accepted_risk_is_a_skip_with_its_reason_on_the_resources_it_names() {
    let model = stackgen::model::load(&common::repo().join("model")).expect("model");
    let risks = &model.app.file.accepted_risks;
    assert!(!risks.is_empty());
    let mut seen = BTreeSet::new();
    for (file, text) in files() {
        let template = stackgen::diff::read::template(&text).expect("the template reads back");
        for (name, resource) in template["Resources"].as_object().expect("resources") {
            let skips = resource["Metadata"]["checkov"]["skip"].as_array();
            for skip in skips.into_iter().flatten() {
                let id = skip["id"].as_str().expect("an id");
                let risk = risks
                    .iter()
                    .find(|r| r.check.as_str() == id)
                    .unwrap_or_else(|| panic!("{file} {name}: {id} is not an accepted risk"));
                assert_eq!(skip["comment"], risk.reason.value.as_str(), "{name} {id}");
                seen.insert(id.to_owned());
            }
        }
        // The idempotency table alone is accepted without point-in-time recovery.
        if file == "orders.yaml" {
            let pitr = |table: &str| {
                template["Resources"][table]["Metadata"]["checkov"]["skip"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["id"] == "CKV_AWS_28"))
            };
            assert!(pitr("IdempotencyTable") && !pitr("OrdersTable"));
        }
    }
    let accepted: BTreeSet<String> = risks.iter().map(|r| r.check.as_str().to_owned()).collect();
    assert_eq!(seen, accepted, "every accepted risk lands on some resource");
}

/// A rendered template read back as JSON.
fn template_json(text: &str) -> serde_json::Value {
    stackgen::diff::read::template(text).expect("the template reads back")
}

#[test]
fn every_stage_writes_json_access_logs_into_its_own_log_group() {
    let files = files();
    for (file, api, caller) in [
        ("users.yaml", "UsersApi", "principal"),
        ("orders.yaml", "OrdersApi", "caller"),
        ("userprofile.yaml", "ProfileApi", "caller"),
    ] {
        let t = template_json(&files[file]);
        let setting = &t["Resources"][api]["Properties"]["AccessLogSetting"];
        let group = setting["DestinationArn"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{api} has no access log: {setting}"));
        let log_group = &t["Resources"][group];
        assert_eq!(log_group["Type"], "AWS::Logs::LogGroup", "{api}");
        assert_eq!(log_group["Properties"]["RetentionInDays"], 14, "{api}");
        // What API Gateway writes, with every variable given a value, is one JSON object
        // with the fields the docs promise.
        let format = setting["Format"].as_str().expect("a format");
        let line = format.replace("$context.error.messageString", "\"Unauthorized\"");
        let line = with_context_filled(&line);
        let entry: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{api}: `{line}` is not JSON: {e}"));
        for field in [
            "requestId",
            "sourceIp",
            caller,
            "httpMethod",
            "resourcePath",
            "status",
            "latencyMs",
            "integrationError",
            "error",
        ] {
            assert!(
                entry.get(field).is_some(),
                "{api}: no `{field}` in {format}"
            );
        }
    }
}

/// `format` with each `$context.…` variable replaced by `x`.
fn with_context_filled(format: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find("$context.") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + "$context.".len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(tail.len());
        out.push('x');
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_root_sets_the_accounts_logging_role_before_any_stage_logs() {
    let files = files();
    let root = template_json(&files["template.yaml"]);
    let resources = &root["Resources"];
    assert_eq!(
        resources["ApiGatewayAccount"]["Type"],
        "AWS::ApiGateway::Account"
    );
    let role = &resources["ApiGatewayLoggingRole"];
    // Every API of the account logs through it: deleting one stack must not stop the others.
    assert_eq!(role["DeletionPolicy"], "Retain");
    assert!(
        role.to_string()
            .contains("AmazonAPIGatewayPushToCloudWatchLogs"),
        "{role}"
    );
    for service in ["OrdersService", "UserprofileService", "UsersService"] {
        assert_eq!(
            resources[service]["DependsOn"], "ApiGatewayAccount",
            "{service}"
        );
    }
    // orderstatus has no API: nothing for it to wait for.
    assert!(resources["OrderstatusService"].get("DependsOn").is_none());
}

#[test]
fn an_account_with_its_own_logging_role_is_left_alone() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let model = tmp.path().join("model");
    common::copy_dir(&common::repo().join("model"), &model);
    let app = std::fs::read_to_string(model.join("app.yaml")).expect("app.yaml");
    std::fs::write(
        model.join("app.yaml"),
        format!("{app}api_logging_role: existing\n"),
    )
    .expect("app.yaml");
    let files: BTreeMap<String, String> = common::render_model(&model).into_iter().collect();
    let root = template_json(&files["template.yaml"]);
    assert!(root["Resources"].get("ApiGatewayAccount").is_none());
    assert!(root["Resources"].get("ApiGatewayLoggingRole").is_none());
    assert!(
        root["Resources"]["OrdersService"]
            .get("DependsOn")
            .is_none()
    );
    // The stages still log, through the account's role.
    let orders = template_json(&files["orders.yaml"]);
    assert!(orders["Resources"]["OrdersApi"]["Properties"]["AccessLogSetting"].is_object());
}

#[test]
fn each_api_has_an_openapi_document_with_every_route_and_the_answers_the_gateway_gives() {
    let rendered: BTreeMap<String, String> = common::render_repo().into_iter().collect();
    let app = stackgen::app::App::load(&common::repo().join("model")).expect("the app");
    let mut documents = 0;
    for service in &app.services {
        for name in service.file().apis.keys() {
            let file = format!("openapi/{}-{name}.json", service.name());
            let doc: serde_json::Value =
                serde_json::from_str(rendered.get(&file).unwrap_or_else(|| panic!("no {file}")))
                    .expect("JSON");
            documents += 1;
            assert_eq!(doc["openapi"], "3.1.0");
            let error = jsonschema::validator_for(&doc["components"]["schemas"]["Error"])
                .expect("the error schema compiles");
            for route in service.routes(name.as_str()) {
                let spec = &route.spec.route.value;
                let item = &doc["paths"][&spec.path];
                let op = &item[spec.method.as_str().to_ascii_lowercase()];
                assert!(op.is_object(), "{file}: no {spec}");
                // Authenticated routes name their scheme; public ones say so.
                let security = op["security"].to_string();
                match route.auth.authorizer() {
                    Some(a) => assert_eq!(security, format!("[{{\"{a}\":[]}}]"), "{spec}"),
                    None => assert_eq!(security, "[]", "{spec}"),
                }
                if route.auth.authorizer().is_some() {
                    assert!(op["responses"]["401"].is_object(), "{spec}");
                }
                if let Some(body) = &route.spec.body {
                    let schema_ref =
                        &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema_ref,
                        &format!("#/components/schemas/{body}"),
                        "{spec}"
                    );
                    assert!(doc["components"]["schemas"][body.as_str()].is_object());
                    assert!(op["responses"]["400"].is_object(), "{spec}");
                }
                // The patterns the gateway checks are the documented ones, and the 400 that
                // refuses an id is in the documented error shape.
                for check in &route.path_checks {
                    let param = item["parameters"]
                        .as_array()
                        .and_then(|ps| ps.iter().find(|p| p["name"] == check.param.as_str()))
                        .unwrap_or_else(|| panic!("{spec}: {} undocumented", check.param));
                    assert_eq!(param["schema"]["pattern"], check.pattern.as_str());
                    let service = match &route.spec.integration.value {
                        stackgen::model::Integration::SendMessage(_) => stackgen::vtl::Service::Sqs,
                        _ => stackgen::vtl::Service::EventBridge,
                    };
                    let answer: serde_json::Value = serde_json::from_str(
                        &stackgen::vtl::rejected_response(service, &route.path_checks),
                    )
                    .expect("JSON");
                    assert!(error.is_valid(&answer), "{answer}");
                }
                assert!(op["responses"]["500"].is_object(), "{spec}: no 500");
            }
            // Every documented operation is a route of the model.
            let operations: usize = doc["paths"]
                .as_object()
                .expect("paths")
                .values()
                .map(|item| {
                    item.as_object()
                        .expect("item")
                        .keys()
                        .filter(|k| *k != "parameters")
                        .count()
                })
                .sum();
            assert_eq!(operations, service.routes(name.as_str()).len(), "{file}");
        }
    }
    assert_eq!(documents, 3);
}
