//! The mapping templates (VTL) that the committed `generated/userprofile.yaml` gives API
//! Gateway for the userprofile API's five write routes, executed on hostile input, and the
//! request models that guard them.
//!
//! What this proves: for every body the route's request model lets through and every path
//! parameter, the `PutEvents` request a template renders is valid JSON with exactly one entry
//! for the address bus, whose `Detail` is a JSON object with exactly the intended fields, each
//! equal to the input string; the `SendMessage` form body decodes to exactly the intended
//! message; the caller is always the authorizer's `sub`, never a value from the body. A path
//! id the model's pattern refuses makes the template send what the service refuses (no
//! entries, no message body), so nothing is put or sent. And the
//! request models reject the bodies the templates are not meant to carry, and the integration
//! responses answer a 4xx of the service (it refused a value of the request) with 400 and a
//! JSON message, never a 5xx.
//!
//! Why this way: the committed file is what gets deployed, so it is read as it is (with the
//! `Fn::Sub` variables filled in by test values) instead of being rendered again. The
//! templates are run, not pattern-matched, by a real Velocity engine, the Python package
//! airspeed-ext from the project's virtualenv, with stand-ins for `$input`, `$util` and
//! `$context` that follow API Gateway's documented behaviour (`tests/vtl/evaluate.py`); a
//! test pins the stand-ins to known outputs of the Java originals. Each test starts one
//! Python process for all its cases, and reports every failing case, not just the first.

mod common;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use serde_saphyr::Tagged;

/// The value of `${AddressBus}` (a bus's `Ref` is its name).
const BUS: &str = "test-AddressBus-1Q2W3E4R5T6Y";

/// Test values for the `Fn::Sub` variables the request templates may use.
const SUB_VARIABLES: &[(&str, &str)] = &[("AddressBus", BUS)];

// --- The committed template --------------------------------------------------------------

#[derive(Deserialize)]
struct Stack {
    #[serde(rename = "Resources")]
    resources: Resources,
}

#[derive(Deserialize)]
struct Resources {
    #[serde(rename = "ProfileApi")]
    profile_api: ApiResource,
}

#[derive(Deserialize)]
struct ApiResource {
    #[serde(rename = "Properties")]
    properties: ApiProperties,
}

#[derive(Deserialize)]
struct ApiProperties {
    #[serde(rename = "DefinitionBody")]
    definition_body: OpenApi,
}

#[derive(Deserialize)]
struct OpenApi {
    definitions: BTreeMap<String, Value>,
    paths: BTreeMap<String, BTreeMap<String, Operation>>,
    #[serde(rename = "x-amazon-apigateway-request-validators", default)]
    validators: BTreeMap<String, RequestValidator>,
}

#[derive(Deserialize)]
struct RequestValidator {
    #[serde(rename = "validateRequestBody", default)]
    validate_request_body: bool,
}

#[derive(Deserialize)]
struct Operation {
    #[serde(default)]
    parameters: Vec<Parameter>,
    /// Method responses by status.
    #[serde(default)]
    responses: BTreeMap<String, Value>,
    #[serde(rename = "x-amazon-apigateway-request-validator")]
    validator: Option<String>,
    #[serde(rename = "x-amazon-apigateway-integration")]
    integration: Integration,
}

#[derive(Deserialize)]
struct Parameter {
    #[serde(rename = "in")]
    location: String,
    name: String,
    schema: Option<Value>,
}

#[derive(Deserialize)]
struct Integration {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "passthroughBehavior")]
    passthrough_behavior: Option<String>,
    #[serde(rename = "requestParameters", default)]
    request_parameters: BTreeMap<String, String>,
    #[serde(rename = "requestTemplates", default)]
    request_templates: BTreeMap<String, Tagged<String>>,
    /// Integration responses by selection pattern (`default` for the default one).
    #[serde(default)]
    responses: BTreeMap<String, Value>,
}

/// The userprofile API's OpenAPI body, from the committed template.
fn api() -> OpenApi {
    let path = common::repo().join("generated/userprofile.yaml");
    let text = std::fs::read_to_string(&path).expect("generated/userprofile.yaml is readable");
    let stack: Stack = serde_saphyr::from_str(&text).expect("generated/userprofile.yaml parses");
    stack.resources.profile_api.properties.definition_body
}

fn operation<'a>(api: &'a OpenApi, path: &str, method: &str) -> &'a Operation {
    api.paths
        .get(path)
        .and_then(|methods| methods.get(method))
        .unwrap_or_else(|| panic!("no `{method} {path}` in generated/userprofile.yaml"))
}

/// CloudFormation's `Fn::Sub` on a string: `${Name}` becomes the variable's test value and
/// `${!Text}` the literal `${Text}`.
fn fn_sub(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("`${{` without `}}` in a !Sub string:\n{text}"));
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str(&format!("${{{literal}}}"));
        } else {
            let (_, value) = SUB_VARIABLES
                .iter()
                .find(|(variable, _)| *variable == name)
                .unwrap_or_else(|| panic!("no test value for `${{{name}}}` in:\n{text}"));
            out.push_str(value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `application/json` request template of a route as API Gateway receives it.
fn request_template(api: &OpenApi, path: &str, method: &str) -> String {
    let integration = &operation(api, path, method).integration;
    let Tagged(text, tag) = integration
        .request_templates
        .get("application/json")
        .unwrap_or_else(|| panic!("`{method} {path}` has no application/json request template"));
    match tag.as_deref() {
        Some("!Sub") => fn_sub(text),
        None => text.clone(),
        Some(other) => panic!("`{method} {path}`: unexpected tag {other} on the request template"),
    }
}

/// The draft 4 JSON Schema of a route's body (`#/definitions/...`), as API Gateway applies it.
fn body_model(api: &OpenApi, path: &str, method: &str) -> Value {
    let op = operation(api, path, method);
    let body = op
        .parameters
        .iter()
        .find(|p| p.location == "body")
        .unwrap_or_else(|| panic!("`{method} {path}` has no body parameter"));
    let reference = body
        .schema
        .as_ref()
        .and_then(|s| s.get("$ref"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("`{method} {path}`: the body schema is not a $ref"));
    let name = reference
        .strip_prefix("#/definitions/")
        .unwrap_or_else(|| panic!("`{method} {path}`: $ref {reference} is not a definition"));
    api.definitions
        .get(name)
        .unwrap_or_else(|| panic!("no definition {name}"))
        .clone()
}

fn validator(model: &Value) -> jsonschema::Validator {
    jsonschema::draft4::new(model).expect("the model is a valid draft 4 schema")
}

// --- Running templates --------------------------------------------------------------------

/// One execution of a request template.
#[derive(Serialize, Clone)]
struct Case {
    template: String,
    /// The raw request body.
    body: Option<String>,
    params: Value,
    context: Value,
    /// Also decode the output as `application/x-www-form-urlencoded`.
    form: bool,
}

#[derive(Deserialize)]
struct Outcome {
    output: Option<String>,
    form: Option<Vec<(String, String)>>,
    /// The status an integration response answers with.
    status: Option<u16>,
    error: Option<String>,
}

/// `$context` for a caller behind the Cognito authorizer. Everything but `claims.sub` is
/// something a template must not use as the caller.
fn context(sub: &str) -> Value {
    json!({
        "authorizer": {
            "claims": {"sub": sub, "email": "evil@example.com", "cognito:username": "evil"},
            "principalId": "not-the-caller",
        },
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "requestTimeEpoch": 1_764_118_923_456_i64,
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "\"evil\"", "cognitoIdentityId": "evil"},
        "stage": "Prod",
    })
}

fn params(path: &[(&str, &str)]) -> Value {
    json!({
        "path": path.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "querystring": {"userId": "evil-query", "addressId": "evil-query"},
        "header": {"userId": "evil-header", "Content-Type": "application/json"},
    })
}

/// The model's pattern of a path parameter of the profile API, compiled as `stackgen local`
/// runs it (the templates run it as Java's `String.matches`; the two must agree).
fn path_pattern(param: &str) -> jsonschema::Validator {
    let model = stackgen::model::load(&common::repo().join("model")).expect("model");
    let pattern = model
        .services
        .iter()
        .flat_map(|s| s.file.apis.values())
        .flat_map(|a| &a.path_parameters)
        .find(|(name, _)| name.as_str() == param)
        .map(|(_, p)| p.pattern.value.clone())
        .unwrap_or_else(|| panic!("the model checks no path parameter `{param}`"));
    jsonschema::draft4::new(&stackgen::vtl::PathCheck::schema(&pattern)).expect("compiles")
}

/// Whether `id` passes `pattern`, and that both outcomes occur among `ids`.
fn passing(pattern: &jsonschema::Validator, ids: &[&str]) -> Vec<bool> {
    let passes: Vec<bool> = ids.iter().map(|id| pattern.is_valid(&json!(id))).collect();
    let taken = passes.iter().filter(|p| **p).count();
    assert!(
        taken >= 3 && passes.len() - taken >= 3,
        "{taken} of {} ids pass: both cases need testing",
        passes.len()
    );
    passes
}

/// The request a template sends when its path check fails: `PutEvents` with no entries,
/// which EventBridge refuses (400) whatever else holds.
fn check_refused_put_events(output: &str) -> Result<(), String> {
    let request: Value = serde_json::from_str(output).map_err(|e| format!("not JSON: {e}"))?;
    if request == json!({"Entries": []}) {
        Ok(())
    } else {
        Err("the path check should have refused the id".into())
    }
}

/// The form a template sends when its path check fails: `SendMessage` with no message
/// body, which SQS refuses (400), and nothing of the request.
fn check_refused_send_message(outcome: &Outcome) -> Result<(), String> {
    let form = outcome.form.as_deref().unwrap_or_default();
    let want = [("Action", "SendMessage"), ("Version", "2012-11-05")];
    let got: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if got == want {
        Ok(())
    } else {
        Err("the path check should have refused the id".into())
    }
}

/// Runs the cases and checks each outcome, then fails listing every case that went wrong.
fn run_and_check(cases: &[Case], check: impl Fn(usize, &Outcome) -> Result<(), String>) {
    let outcomes: Vec<Outcome> = common::vtl::evaluate(cases);
    let failures: Vec<String> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, outcome)| {
            let result = match &outcome.error {
                Some(error) => Err(format!("the template did not run:\n{error}")),
                None => check(i, outcome),
            };
            result.err().map(|why| {
                format!(
                    "case {i}: body {:?}, params {}, sub {}:\n  {why}\n  output: {:?}",
                    cases[i].body,
                    cases[i].params["path"],
                    cases[i].context["authorizer"]["claims"]["sub"],
                    outcome.output.as_deref().unwrap_or("")
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

// --- What a correct request is -------------------------------------------------------------

/// A rendered `PutEvents` request: valid JSON, one entry for the address bus with this
/// detail-type, and a `Detail` that is exactly `detail`.
fn check_put_events(
    output: &str,
    detail_type: &str,
    detail: &Map<String, Value>,
) -> Result<(), String> {
    let request: Value =
        serde_json::from_str(output).map_err(|e| format!("the request is not valid JSON: {e}"))?;
    let request = request
        .as_object()
        .ok_or("the request is not a JSON object")?;
    if request.keys().collect::<Vec<_>>() != ["Entries"] {
        return Err(format!(
            "the request has keys {:?}, not just Entries",
            request.keys()
        ));
    }
    let entries = request["Entries"]
        .as_array()
        .ok_or("Entries is not an array")?;
    let [entry] = entries.as_slice() else {
        return Err(format!("{} entries instead of one", entries.len()));
    };
    let entry = entry.as_object().ok_or("the entry is not an object")?;
    let mut keys: Vec<&str> = entry.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["Detail", "DetailType", "EventBusName", "Source"] {
        return Err(format!("the entry has keys {keys:?}"));
    }
    for (key, want) in [
        ("EventBusName", BUS),
        ("Source", "customer-profile"),
        ("DetailType", detail_type),
    ] {
        if entry[key] != want {
            return Err(format!("{key} is {}, not {want:?}", entry[key]));
        }
    }
    let text = entry["Detail"].as_str().ok_or("Detail is not a string")?;
    let got: Value = serde_json::from_str(text)
        .map_err(|e| format!("Detail is not valid JSON ({e}): {text:?}"))?;
    let want = Value::Object(detail.clone());
    if got != want {
        return Err(format!("Detail is\n    {got}\n  instead of\n    {want}"));
    }
    Ok(())
}

/// A rendered `SendMessage` form body: only characters a form body may hold unencoded, and
/// exactly `Action`, `Version`, `MessageBody` and the string attributes `CommandName`,
/// `UserId`, `RequestTime` and `RequestId` (the gateway's, from `$context`), numbered 1 to 4.
fn check_send_message(
    outcome: &Outcome,
    body: &str,
    command: &str,
    sub: &str,
) -> Result<(), String> {
    let output = outcome.output.as_deref().unwrap_or_default();
    if let Some(c) = output
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "&=%+.*_-".contains(*c)))
    {
        return Err(format!("unencoded {c:?} in the form body"));
    }
    let pairs = outcome
        .form
        .as_ref()
        .ok_or("the form body was not decoded")?;
    let mut fields = BTreeMap::new();
    for (name, value) in pairs {
        if fields.insert(name.as_str(), value.as_str()).is_some() {
            return Err(format!("{name} appears twice"));
        }
    }
    let index_of = |attribute: &str| {
        fields
            .iter()
            .find(|(name, value)| {
                name.starts_with("MessageAttribute.")
                    && name.ends_with(".Name")
                    && **value == attribute
            })
            .map(|(name, _)| {
                name["MessageAttribute.".len()..name.len() - ".Name".len()].to_string()
            })
            .ok_or(format!("no {attribute} attribute"))
    };
    let attributes = [
        ("CommandName", command),
        ("UserId", sub),
        ("RequestTime", "1764118923456"),
        ("RequestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
    ];
    let mut want: BTreeMap<String, &str> = [
        ("Action".to_string(), "SendMessage"),
        ("Version".to_string(), "2012-11-05"),
        ("MessageBody".to_string(), body),
    ]
    .into_iter()
    .collect();
    let mut indexes = Vec::new();
    for (name, value) in attributes {
        let i = index_of(name)?;
        want.insert(format!("MessageAttribute.{i}.Name"), name);
        want.insert(format!("MessageAttribute.{i}.Value.DataType"), "String");
        want.insert(format!("MessageAttribute.{i}.Value.StringValue"), value);
        indexes.push(i);
    }
    indexes.sort_unstable();
    if indexes != ["1", "2", "3", "4"] {
        return Err(format!("attributes are numbered {indexes:?}, not 1 to 4"));
    }
    let got: BTreeMap<String, &str> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if got != want {
        return Err(format!(
            "the message is\n    {got:?}\n  instead of\n    {want:?}"
        ));
    }
    Ok(())
}

// --- Inputs ---------------------------------------------------------------------------------

const ADDRESS_FIELDS: [&str; 5] = ["line1", "line2", "city", "stateProvince", "postal"];

/// Fields a client may add to a body: none of them may reach the event or message.
fn extra_fields(i: usize) -> Map<String, Value> {
    let extras = [
        json!({}),
        json!({"userId": "evil-user"}),
        json!({"userId": {"S": "evil"}, "addressId": "evil-address", "restaurantId": "evil"}),
        json!({"userId": 42, "addressId": 7, "Source": "evil", "DetailType": "address.deleted", "EventBusName": "default"}),
        json!({"detail": {"userId": "evil"}, "Entries": [{"Source": "evil"}], "nested": {"a": [1, null, true, 1.5e300]}}),
        json!({"user_id": "evil", "sub": "evil", "claims": {"sub": "evil"}, "Action": "DeleteQueue"}),
        json!({"userId": null, "addressId": ["evil"], "MessageBody": "evil", "UserId": "evil"}),
    ];
    extras[i % extras.len()]
        .as_object()
        .expect("an object")
        .clone()
}

/// Address bodies as raw text, each with a different hostile value in each field, extra
/// fields, and a few written with JSON escapes and white space rather than by serde_json.
fn address_bodies() -> Vec<String> {
    let mut bodies: Vec<String> = (0..common::vtl::HOSTILE.len())
        .map(|i| {
            let mut body = extra_fields(i);
            for (k, field) in ADDRESS_FIELDS.iter().enumerate() {
                body.insert(
                    field.to_string(),
                    json!(common::vtl::HOSTILE[(i + k * 5) % common::vtl::HOSTILE.len()]),
                );
            }
            serde_json::to_string(&body).expect("serializes")
        })
        .collect();
    bodies.push(r#"{"line1":"","line2":"","city":"","stateProvince":"","postal":""}"#.into());
    bodies.push(
        "{\n  \"postal\" : \"\\u00e9\\ud83d\\ude00\\u0000\\/\\b\\f\",\n\t\"city\":\"\\u2028\\\"\\\\\",\
         \"line1\":\"\\u0027\", \"line2\":\"a\\nb\", \"stateProvince\":\"\\uFFFF\",\
         \"userId\":\"evil\"}\n"
            .into(),
    );
    bodies.push(
        serde_json::to_string(&json!({
            "line1": "x".repeat(4096), "line2": "\"".repeat(512), "city": "\\".repeat(512),
            "stateProvince": "'".repeat(512), "postal": "😀".repeat(256),
        }))
        .expect("serializes"),
    );
    bodies
}

/// Bodies sent to routes that have no body model: the template must not read them.
fn ignored_bodies() -> Vec<Option<String>> {
    let mut bodies = vec![
        None,
        Some(String::new()),
        Some("not json {".into()),
        Some("[1, 2, 3]".into()),
        Some("\"a string\"".into()),
        Some("null".into()),
    ];
    bodies.extend((0..7).map(|i| {
        let mut body = extra_fields(i);
        body.insert("line1".into(), json!(common::vtl::HOSTILE[i]));
        Some(serde_json::to_string(&body).expect("serializes"))
    }));
    bodies
}

fn parse_object(body: &str) -> Map<String, Value> {
    serde_json::from_str(body).expect("the test body is a JSON object")
}

/// Address cases for one route: each accepted by the address model.
fn address_cases(template: &str, model: &Value, path_param: bool) -> Vec<Case> {
    let validator = validator(model);
    address_bodies()
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            assert!(
                validator.is_valid(&serde_json::from_str(&body).expect("JSON")),
                "the address model rejects the test body {body}"
            );
            let address_id = common::vtl::HOSTILE[(i * 7 + 3) % common::vtl::HOSTILE.len()];
            let path: &[(&str, &str)] = if path_param {
                &[("addressId", address_id)]
            } else {
                &[]
            };
            Case {
                template: template.to_string(),
                body: Some(body),
                params: params(path),
                context: context(common::vtl::SUBS[i % common::vtl::SUBS.len()]),
                form: false,
            }
        })
        .collect()
}

/// The detail an address event must carry: the five fields from the body, the caller, and
/// the path's address id when there is one.
fn address_detail(case: &Case) -> Map<String, Value> {
    let body = parse_object(case.body.as_deref().expect("a body"));
    let mut detail: Map<String, Value> = ADDRESS_FIELDS
        .iter()
        .map(|f| (f.to_string(), body[*f].clone()))
        .collect();
    detail.insert(
        "userId".into(),
        case.context["authorizer"]["claims"]["sub"].clone(),
    );
    if let Some(id) = case.params["path"].get("addressId") {
        detail.insert("addressId".into(), id.clone());
    }
    detail
}

// --- Tests: the stand-ins ------------------------------------------------------------------

#[test]
fn the_stand_ins_give_the_outputs_of_api_gateway_and_its_java_originals() {
    // Arrange: each template with its body and the output API Gateway gives.
    let body = json!({
        "s": "a\"b'c\\d/e\n\t\r\u{8}\u{c}\u{0}\u{1f}\u{7f}é中😀",
        "u": "a b*-._~+&=é😀/",
        "n": 5,
        "o": {"k": [1, true, null]},
        "q": "a\"b",
        "vtl": "$context.requestId #set($a = 1)$a",
    })
    .to_string();
    let expectations: &[(&str, &str)] = &[
        (
            "$util.escapeJavaScript($input.path('$.s'))",
            "a\\\"b\\'c\\\\d\\/e\\n\\t\\r\\b\\f\\u0000\\u001F\u{7f}\\u00E9\\u4E2D\\uD83D\\uDE00",
        ),
        (
            "$util.escapeJavaScript(\"it's\").replaceAll(\"\\\\'\", \"'\")",
            "it's",
        ),
        (
            "$util.urlEncode($input.path('$.u'))",
            "a+b*-._%7E%2B%26%3D%C3%A9%F0%9F%98%80%2F",
        ),
        ("#set($m = $input.path('$.n') + 1)$m", "6"),
        ("$input.json('$.q')", "\"a\\\"b\""),
        ("$input.json('$.o')", "{\"k\":[1,true,null]}"),
        ("$input.path('$.vtl')", "$context.requestId #set($a = 1)$a"),
        (
            "$input.params('addressId')|$input.params().path.get('addressId')",
            "id-1|id-1",
        ),
        (
            "$input.params().querystring.get('userId')|$input.params().header.get('userId')",
            "evil-query|evil-header",
        ),
        ("$context.authorizer.claims.sub", common::vtl::SUBS[0]),
        ("$util.base64Encode($input.path('$.q'))", "YSJi"),
    ];
    let cases: Vec<Case> = expectations
        .iter()
        .map(|(template, _)| Case {
            template: template.to_string(),
            body: Some(body.clone()),
            params: params(&[("addressId", "id-1")]),
            context: context(common::vtl::SUBS[0]),
            form: false,
        })
        .collect();

    // Act and assert
    run_and_check(&cases, |i, outcome| {
        let want = expectations[i].1;
        match outcome.output.as_deref() {
            Some(got) if got == want => Ok(()),
            got => Err(format!(
                "{:?} gave {got:?}, not {want:?}",
                expectations[i].0
            )),
        }
    });
}

// --- Tests: the request models -------------------------------------------------------------

/// The validators of the two routes that take an address body.
fn address_models() -> Vec<(&'static str, jsonschema::Validator)> {
    let api = api();
    vec![
        (
            "POST /address",
            validator(&body_model(&api, "/address", "post")),
        ),
        (
            "PUT /address/{addressId}",
            validator(&body_model(&api, "/address/{addressId}", "put")),
        ),
    ]
}

fn five_strings() -> Map<String, Value> {
    ADDRESS_FIELDS
        .iter()
        .map(|f| (f.to_string(), json!(format!("{f} value"))))
        .collect()
}

#[test]
fn the_address_routes_validate_their_body_against_the_address_model() {
    // Arrange
    let api = api();

    for (path, method) in [("/address", "post"), ("/address/{addressId}", "put")] {
        // Act
        let op = operation(&api, path, method);
        let model = body_model(&api, path, method);

        // Assert
        let name = op.validator.as_deref().expect("a request validator");
        assert!(
            api.validators[name].validate_request_body,
            "{method} {path}: validator {name} skips the body"
        );
        let mut required: Vec<&str> = model["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        required.sort_unstable();
        let mut fields = ADDRESS_FIELDS.to_vec();
        fields.sort_unstable();
        assert_eq!(required, fields, "{method} {path}");
    }
    let op = operation(&api, "/favorite", "post");
    assert!(
        api.validators[op.validator.as_deref().expect("a request validator")].validate_request_body
    );
}

#[test]
fn the_address_models_reject_a_body_missing_any_of_the_five_fields() {
    for (route, model) in address_models() {
        // Arrange
        assert!(
            model.is_valid(&Value::Object(five_strings())),
            "{route} rejects a complete body"
        );

        for field in ADDRESS_FIELDS {
            let mut body = five_strings();
            body.remove(field);

            // Act
            let accepted = model.is_valid(&Value::Object(body));

            // Assert
            assert!(!accepted, "{route} accepts a body without {field}");
        }
    }
}

#[test]
fn the_address_models_reject_a_non_string_value_in_any_of_the_five_fields() {
    // Arrange
    let non_strings = [
        json!(null),
        json!(0),
        json!(1.5),
        json!(true),
        json!([]),
        json!(["a"]),
        json!({}),
        json!({"a": "b"}),
    ];

    for (route, model) in address_models() {
        for field in ADDRESS_FIELDS {
            for value in &non_strings {
                let mut body = five_strings();
                body.insert(field.to_string(), value.clone());

                // Act
                let accepted = model.is_valid(&Value::Object(body));

                // Assert
                assert!(!accepted, "{route} accepts {field} = {value}");
            }
        }
    }
}

#[test]
fn the_address_models_accept_any_strings_and_extra_fields_of_any_type() {
    // Arrange
    let bodies = address_bodies();

    for (route, model) in address_models() {
        for body in &bodies {
            // Act
            let accepted = model.is_valid(&serde_json::from_str(body).expect("JSON"));

            // Assert
            assert!(accepted, "{route} rejects {body}");
        }
    }
}

#[test]
fn the_address_models_reject_a_body_that_is_not_an_object() {
    // Arrange
    let not_objects = [
        json!(null),
        json!("line1"),
        json!(1),
        json!([five_strings()]),
        json!(true),
    ];

    for (route, model) in address_models() {
        for body in &not_objects {
            // Act
            let accepted = model.is_valid(body);

            // Assert
            assert!(!accepted, "{route} accepts {body}");
        }
    }
}

/// The characters the favorite model keeps out of a restaurant id: C0 and C1 controls, DEL
/// and the non-characters U+FFFE and U+FFFF (SQS refuses all but tab, line feed and carriage
/// return of these in a message body; the model refuses those three too).
fn is_refused_in_a_restaurant_id(c: char) -> bool {
    c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c) || matches!(c, '\u{fffe}' | '\u{ffff}')
}

#[test]
fn the_favorite_model_requires_a_restaurant_id_of_1_to_256_characters_without_controls() {
    // Arrange
    let model = validator(&body_model(&api(), "/favorite", "post"));
    let with_id = |i: usize, id: &str| {
        let mut body = extra_fields(i);
        body.insert("restaurantId".into(), json!(id));
        Value::Object(body)
    };

    // Act and assert
    for rejected in [
        json!({}),
        json!({"restaurantId": ""}),
        json!({"restaurantId": null}),
        json!({"restaurantId": 7}),
        json!({"restaurantId": ["r"]}),
        json!({"restaurantId": {"S": "r"}}),
        json!({"restaurant_id": "r"}),
        json!({"restaurantId": "r".repeat(257)}),
        json!({"restaurantId": "😀".repeat(257)}),
        json!("r"),
        json!(["r"]),
    ] {
        assert!(!model.is_valid(&rejected), "{rejected} is accepted");
    }
    let controls = (0..=0x1f_u32)
        .chain(0x7f..=0x9f)
        .chain([0xfffe, 0xffff])
        .filter_map(char::from_u32);
    for (i, c) in controls.enumerate() {
        for id in [
            c.to_string(),
            format!("r{c}"),
            format!("{c}r"),
            format!("r-{c}-1"),
        ] {
            let body = with_id(i, &id);
            assert!(!model.is_valid(&body), "{body} is accepted");
        }
    }
    let mut accepted = 0;
    for (i, id) in common::vtl::HOSTILE.iter().enumerate() {
        let body = with_id(i, id);
        let refused = id.chars().any(is_refused_in_a_restaurant_id);
        assert_eq!(model.is_valid(&body), !refused, "{body}");
        accepted += usize::from(!refused);
    }
    assert!(
        accepted >= common::vtl::HOSTILE.len() - 5,
        "only {accepted} accepted"
    );
    for id in [
        "r".repeat(256),
        "😀".repeat(256),
        "\u{a0}\u{d7ff}\u{e000}\u{fffd}\u{10ffff}".into(),
    ] {
        let body = with_id(0, &id);
        assert!(model.is_valid(&body), "{body} is rejected");
    }
}

// --- Tests: the integrations ---------------------------------------------------------------

const WRITE_ROUTES: [(&str, &str); 5] = [
    ("/address", "post"),
    ("/address/{addressId}", "put"),
    ("/address/{addressId}", "delete"),
    ("/favorite", "post"),
    ("/favorite/{restaurantId}", "delete"),
];

#[test]
fn every_write_route_is_a_service_integration_that_only_takes_json_through_its_template() {
    // Arrange
    let api = api();

    for (path, method) in WRITE_ROUTES {
        // Act
        let op = operation(&api, path, method);
        let integration = &op.integration;

        // Assert: with `never`, a body of another content type is refused (415) rather than
        // passed through to the service untouched.
        assert_eq!(integration.kind, "aws", "{method} {path}");
        assert_eq!(
            integration.passthrough_behavior.as_deref(),
            Some("never"),
            "{method} {path}"
        );
        assert_eq!(
            integration.request_templates.keys().collect::<Vec<_>>(),
            ["application/json"],
            "{method} {path}"
        );
        if let Some((_, rest)) = path.split_once('{') {
            let name = rest.trim_end_matches('}');
            assert!(
                op.parameters
                    .iter()
                    .any(|p| p.location == "path" && p.name == name),
                "{method} {path} does not declare the path parameter {name}"
            );
        }
        let headers = &integration.request_parameters;
        if path.starts_with("/address") {
            assert_eq!(
                headers["integration.request.header.Content-Type"],
                "'application/x-amz-json-1.1'"
            );
            assert_eq!(
                headers["integration.request.header.X-Amz-Target"],
                "'AWSEvents.PutEvents'"
            );
        } else {
            assert_eq!(
                headers["integration.request.header.Content-Type"],
                "'application/x-www-form-urlencoded'"
            );
        }
    }
}

#[test]
fn the_added_event_carries_the_five_fields_exactly_and_the_caller_from_the_authorizer() {
    // Arrange
    let api = api();
    let template = request_template(&api, "/address", "post");
    let cases = address_cases(&template, &body_model(&api, "/address", "post"), false);

    // Act and assert
    run_and_check(&cases, |i, outcome| {
        let output = outcome.output.as_deref().unwrap_or_default();
        check_put_events(output, "address.added", &address_detail(&cases[i]))
    });
}

#[test]
fn the_updated_event_carries_the_path_address_id_and_never_an_id_from_the_body() {
    // Arrange
    let api = api();
    let template = request_template(&api, "/address/{addressId}", "put");
    let cases = address_cases(
        &template,
        &body_model(&api, "/address/{addressId}", "put"),
        true,
    );

    let ids: Vec<&str> = cases
        .iter()
        .map(|c| c.params["path"]["addressId"].as_str().expect("an id"))
        .collect();
    let passes = passing(&path_pattern("addressId"), &ids);

    // Act and assert
    run_and_check(&cases, |i, outcome| {
        let output = outcome.output.as_deref().unwrap_or_default();
        if !passes[i] {
            return check_refused_put_events(output);
        }
        check_put_events(output, "address.updated", &address_detail(&cases[i]))
    });
}

#[test]
fn the_deleted_event_carries_only_the_caller_and_the_path_address_id_whatever_the_body() {
    // Arrange
    let api = api();
    let template = request_template(&api, "/address/{addressId}", "delete");
    let bodies = ignored_bodies();
    let cases: Vec<Case> = common::vtl::HOSTILE
        .iter()
        .enumerate()
        .map(|(i, address_id)| Case {
            template: template.clone(),
            body: bodies[i % bodies.len()].clone(),
            params: params(&[("addressId", address_id)]),
            context: context(common::vtl::SUBS[i % common::vtl::SUBS.len()]),
            form: false,
        })
        .collect();

    let passes = passing(&path_pattern("addressId"), common::vtl::HOSTILE);

    // Act and assert
    run_and_check(&cases, |i, outcome| {
        let output = outcome.output.as_deref().unwrap_or_default();
        if !passes[i] {
            return check_refused_put_events(output);
        }
        let detail = json!({
            "userId": cases[i].context["authorizer"]["claims"]["sub"],
            "addressId": common::vtl::HOSTILE[i],
        });
        check_put_events(
            output,
            "address.deleted",
            detail.as_object().expect("object"),
        )
    });
}

#[test]
fn the_add_favorite_message_is_the_exact_restaurant_id_with_the_command_and_the_caller() {
    // Arrange
    let api = api();
    let template = request_template(&api, "/favorite", "post");
    let model = validator(&body_model(&api, "/favorite", "post"));
    let ids: Vec<&str> = common::vtl::HOSTILE
        .iter()
        .copied()
        .filter(|id| !id.chars().any(is_refused_in_a_restaurant_id))
        .collect();
    let cases: Vec<Case> = ids
        .iter()
        .enumerate()
        .map(|(i, restaurant_id)| {
            let mut body = extra_fields(i);
            body.insert("restaurantId".into(), json!(restaurant_id));
            assert!(
                model.is_valid(&Value::Object(body.clone())),
                "the model rejects {body:?}"
            );
            Case {
                template: template.clone(),
                body: Some(serde_json::to_string(&body).expect("serializes")),
                params: params(&[]),
                context: context(common::vtl::SUBS[i % common::vtl::SUBS.len()]),
                form: true,
            }
        })
        .collect();

    // Act and assert
    run_and_check(&cases, |i, outcome| {
        check_send_message(
            outcome,
            ids[i],
            "AddFavorite",
            common::vtl::SUBS[i % common::vtl::SUBS.len()],
        )
    });
}

#[test]
fn the_delete_favorite_message_is_the_exact_path_restaurant_id_with_the_command_and_the_caller() {
    // Arrange
    let api = api();
    let template = request_template(&api, "/favorite/{restaurantId}", "delete");
    let bodies = ignored_bodies();
    let cases: Vec<Case> = common::vtl::HOSTILE
        .iter()
        .enumerate()
        .map(|(i, restaurant_id)| Case {
            template: template.clone(),
            body: bodies[i % bodies.len()].clone(),
            params: params(&[("restaurantId", restaurant_id)]),
            context: context(common::vtl::SUBS[i % common::vtl::SUBS.len()]),
            form: true,
        })
        .collect();

    let passes = passing(&path_pattern("restaurantId"), common::vtl::HOSTILE);

    // Act and assert
    run_and_check(&cases, |i, outcome| {
        if !passes[i] {
            return check_refused_send_message(outcome);
        }
        check_send_message(
            outcome,
            common::vtl::HOSTILE[i],
            "DeleteFavorite",
            common::vtl::SUBS[i % common::vtl::SUBS.len()],
        )
    });
}

#[test]
fn every_write_route_answers_a_4xx_of_its_service_with_400_and_a_json_message_and_a_5xx_with_500() {
    // Arrange: each route's integration responses against answers of its service.
    let api = api();
    let error = r#"{"Error":{"Code":"InvalidMessageContents","Message":"Invalid binary character","Type":"Sender"}}"#;
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (path, method) in WRITE_ROUTES {
        let op = operation(&api, path, method);
        let mut statuses: Vec<&str> = op.responses.keys().map(String::as_str).collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            ["200", "400", "500"],
            "{method} {path}: method responses"
        );
        let events = path.starts_with("/address");
        let ok = if events {
            r#"{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}"#
        } else {
            r#"{"SendMessageResponse":{"SendMessageResult":{"MessageId":"m-1"}}}"#
        };
        let mut answers = vec![(200, ok, 200)];
        if events {
            answers.push((
                200,
                r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure"}]}"#,
                500,
            ));
        }
        answers.extend([400, 403, 404, 413, 429].map(|s| (s, error, 400)));
        answers.extend([500, 502, 503].map(|s| (s, error, 500)));
        for (status, body, want) in answers {
            cases.push(json!({
                "responses": op.integration.responses,
                "status": status,
                "body": body,
                "context": context(common::vtl::SUBS[0]),
            }));
            expected.push((format!("{method} {path} answered {status}"), want));
        }
    }

    // Act
    let outcomes: Vec<Outcome> = common::vtl::evaluate(&cases);

    // Assert
    let mut failures = Vec::new();
    for ((what, want), outcome) in expected.iter().zip(&outcomes) {
        let output = outcome.output.as_deref().unwrap_or_default();
        let body: Result<Value, _> = serde_json::from_str(output);
        let message = body.as_ref().ok().and_then(|b| b["message"].as_str());
        let fine = match want {
            200 => output.trim() == "{}",
            400 => message.is_some_and(|m| m.starts_with("Invalid request: ")),
            _ => message == Some("Internal server error"),
        };
        if outcome.error.is_some() || outcome.status != Some(*want) || !fine {
            failures.push(format!(
                "{what}: {:?} {output:?} {:?}, expected {want}",
                outcome.status, outcome.error
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
