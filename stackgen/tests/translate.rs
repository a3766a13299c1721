//! What SAM makes of the committed templates: the SAM translator (shipped with aws-sam-cli,
//! offline) expands each one to plain CloudFormation, which must hold exactly one stage per
//! API (no implicit `Stage` stage beside the model's) and pass cfn-lint with no findings.

mod common;

use std::process::Command;

/// Translates each template given after the output directory; writes `<name>.json` there
/// and prints, per template, the number of stages of each REST API.
const SCRIPT: &str = r#"
import json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {}

out_dir, report = sys.argv[1], {}
for path in sys.argv[2:]:
    with open(path) as f:
        template = yaml_parse(f.read())
    # Stand-ins for what `sam deploy` uploads first.
    for res in template.get("Resources", {}).values():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://bucket/code.zip"
        if res.get("Type") == "AWS::Serverless::Application":
            props["Location"] = "https://s3.amazonaws.com/bucket/template.yaml"
    translated = transform(template, {}, NoManagedPolicies())
    name = os.path.basename(path)
    with open(os.path.join(out_dir, name.replace(".yaml", ".json")), "w") as f:
        json.dump(translated, f, indent=1, default=str)
    stages = {k: 0 for k, r in translated["Resources"].items() if r["Type"] == "AWS::ApiGateway::RestApi"}
    for r in translated["Resources"].values():
        props = r.get("Properties", {})
        # A Deployment with a StageName creates a stage of its own.
        if r["Type"] == "AWS::ApiGateway::Stage" or (r["Type"] == "AWS::ApiGateway::Deployment" and "StageName" in props):
            api = props["RestApiId"]["Ref"]
            stages[api] = stages.get(api, 0) + 1
    report[name] = stages
print(json.dumps(report, sort_keys=True))
"#;

#[test]
fn each_api_has_one_stage_and_the_translated_templates_lint_clean() {
    let mut files: Vec<_> = std::fs::read_dir(common::repo().join("generated"))
        .expect("generated/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let out_dir = tempfile::tempdir().expect("a temporary directory");

    let out = Command::new(common::tool("python"))
        .args(["-c", SCRIPT])
        .arg(out_dir.path())
        .args(&files)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the SAM translator failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(
        report,
        serde_json::json!({
            "orders.yaml": {"OrdersApi": 1},
            "orderstatus.yaml": {},
            "template.yaml": {},
            "userprofile.yaml": {"ProfileApi": 1},
            "users.yaml": {"UsersApi": 1},
        })
    );

    let translated: Vec<_> = files
        .iter()
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            out_dir.path().join(format!("{name}.json"))
        })
        .collect();
    common::assert_cfn_lint_clean(&translated, "the translated templates");

    let orders: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.path().join("orders.json")).expect("orders.json"),
    )
    .expect("JSON");
    every_rollout_shifts_every_caller_through_the_alias(&orders);
}

/// In the translated orders template: each function of the model with a `rollout` has its
/// alias, moved by a CodeDeploy deployment group that rolls back on the function's errors
/// alarm and its API's 5XX alarm, and no route, authorizer, permission, rule or trigger
/// calls the unqualified function (which would bypass the shift).
fn every_rollout_shifts_every_caller_through_the_alias(t: &serde_json::Value) {
    let app = stackgen::app::App::load(&common::repo().join("model")).expect("the app");
    let service = app
        .services
        .iter()
        .find(|s| s.name() == "orders")
        .expect("orders");
    let rolled: Vec<&str> = service
        .functions
        .values()
        .filter(|f| f.rollout.is_some())
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        rolled.len(),
        5,
        "every orders function rolls out: {rolled:?}"
    );
    let resources = t["Resources"].as_object().expect("resources");
    let text = t.to_string();
    for f in rolled {
        let alias = &resources[&format!("{f}Aliaslive")];
        assert_eq!(alias["Type"], "AWS::Lambda::Alias", "{f}");
        let group =
            alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{f}'s alias is not shifted by CodeDeploy: {alias}"));
        let group = &resources[group]["Properties"];
        assert_eq!(
            group["DeploymentConfigName"],
            serde_json::json!({"Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": "Canary10Percent5Minutes"}]}),
            "{f}"
        );
        let alarms = &group["AlarmConfiguration"]["Alarms"];
        for alarm in [format!("{f}ErrorsAlarm"), "OrdersApi5xxAlarm".to_owned()] {
            assert!(
                alarms
                    .to_string()
                    .contains(&format!("{{\"Ref\":\"{alarm}\"}}")),
                "{f}: {alarm} not in {alarms}"
            );
        }
        for bypass in [format!("${{{f}.Arn}}"), format!("{{\"Ref\":\"{f}\"}}")] {
            let callers: Vec<&String> = resources
                .iter()
                .filter(|(id, r)| {
                    // What makes the alias, and the alarm that counts every version's errors.
                    r["Type"] != "AWS::Lambda::Version"
                        && r["Type"] != "AWS::Lambda::Alias"
                        && r["Type"] != "AWS::CloudWatch::Alarm"
                        && !id.ends_with("LogGroup")
                        && r.to_string().contains(&bypass)
                })
                .map(|(id, _)| id)
                .collect();
            assert!(callers.is_empty(), "{callers:?} call {f} past its alias");
        }
    }
    assert!(text.contains("CodeDeployLambdaAliasUpdate"));
}
