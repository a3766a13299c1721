//! Environments: the rendered `samconfig.toml` deploys each one with no other flag, the
//! root stack takes every parameter it passes, and two environments in one account and
//! region name nothing alike.

mod common;

use std::collections::{BTreeMap, BTreeSet};

fn rendered() -> BTreeMap<String, String> {
    common::render_repo().into_iter().collect()
}

/// `Key="value" Key2="value2"` as `sam` reads `parameter_overrides` and `tags`.
fn pairs(text: &str) -> BTreeMap<String, String> {
    text.split("\" ")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p
                .split_once("=\"")
                .unwrap_or_else(|| panic!("not Key=\"value\": {p}"));
            (k.to_owned(), v.trim_end_matches('"').to_owned())
        })
        .collect()
}

/// The `parameter_overrides` of `env` in a parsed `samconfig.toml`, by name.
fn overrides(config: &toml::Table, env: &str) -> BTreeMap<String, String> {
    pairs(
        config[env]["deploy"]["parameters"]["parameter_overrides"]
            .as_str()
            .expect("parameter_overrides"),
    )
}

/// The names under `Parameters:` of a template, with whether each has a default.
fn parameters(template: &str) -> BTreeMap<String, bool> {
    let section = template
        .split("\nParameters:\n")
        .nth(1)
        .expect("a Parameters section")
        .split("\n\n")
        .next()
        .unwrap();
    let mut out = BTreeMap::new();
    let mut current = None;
    for line in section.lines() {
        if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            let name = name.trim_end_matches(':').to_owned();
            out.insert(name.clone(), false);
            current = Some(name);
        } else if line.trim_start().starts_with("Default:") {
            out.insert(current.clone().expect("a parameter"), true);
        }
    }
    out
}

#[test]
fn samconfig_deploys_every_environment_of_the_model_without_prompts() {
    let files = rendered();
    let config: toml::Table = files["samconfig.toml"]
        .parse()
        .expect("samconfig.toml is TOML");
    let root = parameters(&files["template.yaml"]);
    let model = stackgen::model::load(&common::repo().join("model")).expect("model parses");
    let environments = &model.app.file.environments;
    assert!(environments.len() >= 2, "the app has dev and prod");

    assert_eq!(config["version"].as_float(), Some(0.1));
    let named: BTreeSet<&str> = config
        .keys()
        .filter(|k| *k != "version")
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = environments.keys().map(|e| e.as_str()).collect();
    assert_eq!(named, expected);

    for (env, e) in environments {
        let env = env.as_str();
        let global = &config[env]["global"]["parameters"];
        assert_eq!(
            global["stack_name"].as_str(),
            Some(format!("foodapp-{env}").as_str())
        );
        assert_eq!(global["region"].as_str(), Some(e.region.as_str()));

        let deploy = &config[env]["deploy"]["parameters"];
        let capabilities: BTreeSet<&str> = deploy["capabilities"]
            .as_str()
            .expect("capabilities")
            .split(' ')
            .collect();
        assert_eq!(
            capabilities,
            BTreeSet::from(["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        );
        assert_eq!(deploy["resolve_s3"].as_bool(), Some(true));
        assert_eq!(
            deploy["confirm_changeset"].as_bool(),
            Some(e.confirm_changeset)
        );
        assert_eq!(deploy["fail_on_empty_changeset"].as_bool(), Some(false));

        // Every root parameter without a default gets a value (so nothing is prompted or
        // left unset), every service parameter is given explicitly, and no value names a
        // parameter the root does not have (CloudFormation refuses it).
        let overrides = overrides(&config, env);
        for (name, has_default) in &root {
            let optional = name == "AlarmEmail";
            assert!(
                overrides.contains_key(name) || optional,
                "{env}: no value for {name} (default: {has_default})"
            );
        }
        for name in overrides.keys() {
            assert!(
                root.contains_key(name),
                "{env}: {name} is not a root parameter"
            );
        }
        assert_eq!(overrides["Environment"], env);
        for (name, value) in &e.parameters {
            assert_eq!(
                overrides[name.as_str()],
                value.value.to_string(),
                "{env}: {name}"
            );
        }

        let tags = pairs(deploy["tags"].as_str().expect("tags"));
        let want: BTreeMap<String, String> = e
            .tags
            .iter()
            .map(|(k, v)| (k.value.clone(), v.clone()))
            .collect();
        assert_eq!(tags, want, "{env}");
    }
    // prod overrides a service parameter; dev keeps its default.
    assert_eq!(overrides(&config, "prod")["IdempotencyTtlSeconds"], "86400");
    assert_eq!(overrides(&config, "dev")["IdempotencyTtlSeconds"], "3600");
}

#[test]
fn every_service_parameter_is_a_root_parameter_passed_to_its_service() {
    let files = rendered();
    let root = &files["template.yaml"];
    let root_parameters = parameters(root);
    assert_eq!(
        root_parameters.get("Environment"),
        Some(&false),
        "the environment has no default"
    );
    for (name, text) in &files {
        let Some(service) = name.strip_suffix(".yaml").filter(|n| *n != "template") else {
            continue;
        };
        let application = format!("{}{}Service:", service[..1].to_uppercase(), &service[1..]);
        // The application's lines: up to the next resource (two spaces of indent).
        let props: String = root
            .split(&format!("\n  {application}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no {application}"))
            .lines()
            .take_while(|l| l.starts_with("   "))
            .collect::<Vec<_>>()
            .join("\n");
        for (parameter, has_default) in parameters(text) {
            // A local invoke's endpoint is never a deploy-time value.
            if parameter == stackgen::render::LOCAL_ENDPOINT_PARAMETER {
                assert!(
                    !root_parameters.contains_key(&parameter),
                    "{service}: {parameter}"
                );
                assert!(
                    !props.contains(&parameter),
                    "{service}: {parameter} in\n{props}"
                );
                continue;
            }
            // Imports have no default and come from another service's outputs; the alarm
            // topic is the root's own.
            let passed = if has_default || parameter == "Environment" {
                assert!(
                    root_parameters.contains_key(&parameter),
                    "{service}: {parameter}"
                );
                format!("{parameter}: !Ref {parameter}")
            } else if parameter == "AlarmTopicArn" {
                "AlarmTopicArn: !Ref AlarmTopic".to_owned()
            } else {
                format!("{parameter}: !GetAtt ")
            };
            assert!(props.contains(&passed), "{service}: `{passed}` in\n{props}");
        }
    }
}

/// The explicit physical names of a rendered service (resource properties, six spaces of
/// indent), with the environment substituted.
fn explicit_names(template: &str, environment: &str) -> Vec<String> {
    const NAME_KEYS: [&str; 9] = [
        "Name",
        "TopicName",
        "QueueName",
        "TableName",
        "LogGroupName",
        "FunctionName",
        "RoleName",
        "UserPoolName",
        "Domain",
    ];
    template
        .lines()
        .filter_map(|l| l.strip_prefix("      ").filter(|l| !l.starts_with(' ')))
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, v)| {
            NAME_KEYS.contains(k) && !v.starts_with("!Ref") && !v.starts_with("!GetAtt")
        })
        .map(|(_, v)| v.replace("${Environment}", environment))
        .collect()
}

#[test]
fn two_environments_in_one_account_name_nothing_alike() {
    let files = rendered();
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".yaml")) {
        let dev = explicit_names(text, "dev");
        let prod: BTreeSet<String> = explicit_names(text, "prod").into_iter().collect();
        assert!(
            !dev.is_empty() || name == "template.yaml",
            "{name} names nothing explicitly?"
        );
        for n in dev {
            // A name built from the stack's own name or a resource of it differs per
            // stack; anything else must carry the environment.
            let per_stack = n.contains("${AWS::StackName}") || n.contains("${");
            assert!(
                per_stack || !prod.contains(&n),
                "{name}: `{n}` is the same in dev and prod"
            );
        }
    }
}

#[test]
fn alarms_go_to_one_topic_per_environment_and_its_email() {
    let files = rendered();
    let root = &files["template.yaml"];
    for want in [
        "  AlarmTopic:\n    Type: AWS::SNS::Topic\n",
        "    Condition: HasAlarmEmail\n    Properties:\n      TopicArn: !Ref AlarmTopic\n      Protocol: email\n      Endpoint: !Ref AlarmEmail\n",
        "HasAlarmEmail: !Not [!Equals [!Ref AlarmEmail, \"\"]]",
        "  AlarmTopicArn:\n    Description: \"The environment's alarm topic: every service's alarms notify it\"\n    Value: !Ref AlarmTopic",
    ] {
        assert!(root.contains(want), "root template lacks\n{want}");
    }
    for service in ["users", "orders", "userprofile", "orderstatus"] {
        let text = &files[&format!("{service}.yaml")];
        assert!(
            !text.contains("AWS::SNS::Topic"),
            "{service} creates its own topic"
        );
        let actions = text
            .matches("AlarmActions:\n        - !Ref AlarmTopicArn")
            .count();
        assert!(
            actions > 0 && actions == text.matches("AlarmActions:").count(),
            "{service}"
        );
        assert!(root.contains("AlarmTopicArn: !Ref AlarmTopic"), "{service}");
    }

    // An environment with an alarm e-mail passes it to the root stack.
    let tmp = tempfile::tempdir().expect("temp dir");
    common::copy_dir(&common::repo().join("model"), &tmp.path().join("model"));
    let app = tmp.path().join("model/app.yaml");
    let text = std::fs::read_to_string(&app).expect("app.yaml");
    let text = text.replace(
        "  dev:\n    region: us-east-1\n",
        "  dev:\n    region: us-east-1\n    alarm_email: oncall@example.com\n",
    );
    std::fs::write(&app, text).expect("app.yaml");
    let files: BTreeMap<String, String> = common::render_model(&tmp.path().join("model"))
        .into_iter()
        .collect();
    let config: toml::Table = files["samconfig.toml"].parse().expect("TOML");
    assert_eq!(
        overrides(&config, "dev")
            .get("AlarmEmail")
            .map(String::as_str),
        Some("oncall@example.com")
    );
    assert_eq!(overrides(&config, "prod").get("AlarmEmail"), None);
}
