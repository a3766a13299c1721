//! Structural assertions on the rendered templates of the app's model: the names the
//! handler crates are coded against (docs/wiring.md), least privilege, outputs, determinism.

mod common;

use std::collections::BTreeMap;

fn files() -> BTreeMap<String, String> {
    common::render_repo().into_iter().collect()
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
        &["FAVORITES_TABLE"],
    ),
];

#[test]
fn every_function_matches_the_wiring() {
    let files = files();
    for (service, id, krate, bin, env) in FUNCTIONS {
        let text = resource(&files[&format!("{service}.yaml")], id);
        for want in [
            "Type: AWS::Serverless::Function".to_string(),
            "BuildMethod: rust-cargolambda".to_string(),
            format!("Binary: \"{bin}\""),
            format!("CodeUri: \"../handlers/{krate}\""),
            "Handler: \"bootstrap\"".to_string(),
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
            ssm.contains(&format!("Name: \"/foodapp/outputs/service/{service}\"")),
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
fn orderstatus_writes_the_orders_table_through_a_parameter() {
    let text = &files()["orderstatus.yaml"];
    let f = resource(text, "UpdateOrderStatusFunction");
    assert!(f.contains("ORDERS_TABLE: !Ref OrdersTable"), "{f}");
    assert!(
        f.contains("- DynamoDBWritePolicy:\n            TableName: !Ref OrdersTable"),
        "{f}"
    );
    assert!(text.contains("Parameters:\n  OrdersTable:\n    Type: \"String\""));
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
