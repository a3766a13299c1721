//! Parity of `stackgen local`'s service integrations with the mapping templates deployed to
//! API Gateway.
//!
//! What this proves: for the same request (body, path parameters, caller), the `PutEvents`
//! entry and the `SendMessage` request that the gateway emulation builds natively
//! (`stackgen_cloud::gateway::integration`) are exactly what the rendered VTL makes AWS
//! receive: the same bus, source and detail-type, a `Detail` equal as text and as parsed
//! JSON, and the same message body and string attributes.
//!
//! Why this way: both sides start from the same typed integration of the model. The
//! templates are rendered by `stackgen::vtl` as `render` does, then run by a real Velocity
//! engine with API Gateway's `$input`, `$util` and `$context` stand-ins
//! (`stackgen/tests/vtl/evaluate.py`, the evaluator the VTL tests use). The inputs are hostile: quotes,
//! backslashes, control characters, unicode beyond the BMP, template syntax, form syntax,
//! bodies with extra fields and a `userId` of their own, missing and null fields. Routes of
//! the app's model are covered, plus integrations that use every kind of value under both
//! kinds of authorizer.
//!
//! The answers are compared too: the integration responses `render` writes (selected by the
//! service's HTTP status, run by the same evaluator) give the status and body the native
//! gateway gives for the same outcome, among them the favorites routes' restaurant ids with
//! control characters, which the body model refuses (POST) and SQS refuses (DELETE, whose
//! path parameter API Gateway cannot validate).

#[path = "../../stackgen/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use stackgen::model::{Api, Integration, Loc, Name, PutEvents, SendMessage, Sp, ValueSource};
use stackgen::vtl::{self, CallerSource, PathCheck, Service};
use stackgen_cloud::gateway::integration::{
    IntegrationError, PathGuards, PutEventsEntry, RequestValues, SendMessageRequest, answer,
    check_sqs_message, put_events_entry, send_message_request,
};

const BUS: &str = "local-AddressBus";
const QUEUE_URL: &str = "http://127.0.0.1:5000/000000000000/local-FavoritesQueue";

/// The shared hostile strings, and the empty string (a body field may be empty).
const HOSTILE_COUNT: usize = common::vtl::HOSTILE.len() + 1;

fn hostile(i: usize) -> &'static str {
    common::vtl::HOSTILE
        .get(i % HOSTILE_COUNT)
        .copied()
        .unwrap_or("")
}

/// Extra body fields a client may send; none may reach the event or message.
fn extras(i: usize) -> Map<String, Value> {
    let all = [
        json!({}),
        json!({"userId": "evil-user"}),
        json!({"userId": {"S": "evil"}, "addressId": "evil-address", "restaurantId2": "evil"}),
        json!({"Source": "evil", "DetailType": "address.deleted", "EventBusName": "default"}),
        json!({"nested": {"a": [1, null, true, 1.5e300]}, "sub": "evil", "claims": {"sub": "evil"}}),
    ];
    all[i % all.len()].as_object().cloned().unwrap_or_default()
}

// --- One case: the request, run through both sides ------------------------------------------

#[derive(Clone)]
struct Request {
    body: Option<String>,
    path: BTreeMap<String, String>,
    sub: String,
    caller: CallerSource,
}

/// The gateway's id and time of every request (`$context.requestId`, `requestTimeEpoch`).
const REQUEST_ID: &str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef";
const REQUEST_TIME: i64 = 1_764_118_923_456;

impl Request {
    /// `$context` as API Gateway gives it behind this kind of authorizer.
    fn context(&self) -> Value {
        let authorizer = match self.caller {
            CallerSource::CognitoClaims => json!({
                "claims": {"sub": self.sub, "email": "evil@example.com"},
                "principalId": "not-the-caller",
            }),
            CallerSource::LambdaPrincipal => json!({
                "principalId": self.sub,
                "sub": "not-the-caller",
                "claims": {"sub": "not-the-caller"},
            }),
        };
        json!({
            "authorizer": authorizer,
            "requestId": REQUEST_ID,
            "requestTimeEpoch": REQUEST_TIME,
            "stage": "Prod",
        })
    }

    fn params(&self) -> Value {
        json!({
            "path": self.path,
            "querystring": {"userId": "evil-query"},
            "header": {"userId": "evil-header", "Content-Type": "application/json"},
        })
    }

    fn parsed_body(&self) -> Option<Value> {
        self.body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
    }
}

enum Spec {
    PutEvents(PutEvents),
    SendMessage(SendMessage),
}

struct Case {
    what: String,
    spec: Spec,
    request: Request,
    /// The route's checked path parameters.
    checks: Vec<PathCheck>,
}

impl Case {
    fn template(&self) -> String {
        let caller = Some(self.request.caller);
        match &self.spec {
            Spec::PutEvents(p) => vtl::put_events_request(p, BUS, caller, &self.checks),
            Spec::SendMessage(s) => vtl::send_message_request(s, caller, &self.checks),
        }
    }

    fn service(&self) -> Service {
        match self.spec {
            Spec::PutEvents(_) => Service::EventBridge,
            Spec::SendMessage(_) => Service::Sqs,
        }
    }

    /// What the native gateway makes of the path checks: `Err` when one refuses the request.
    fn guarded(&self) -> Result<(), IntegrationError> {
        PathGuards::new(self.checks.clone())
            .expect("the patterns compile")
            .check(self.service(), &self.request.path)
    }

    fn evaluator_input(&self) -> Value {
        json!({
            "template": self.template(),
            "body": self.request.body,
            "params": self.request.params(),
            "context": self.request.context(),
            "form": matches!(self.spec, Spec::SendMessage(_)),
        })
    }
}

#[derive(Deserialize)]
struct Outcome {
    output: Option<String>,
    form: Option<Vec<(String, String)>>,
    /// The status an integration response answers with.
    status: Option<u16>,
    error: Option<String>,
}

/// Runs every case's template in one Python process.
fn evaluate(cases: &[Case]) -> Vec<Outcome> {
    run_evaluator(cases.iter().map(Case::evaluator_input).collect())
}

/// Runs the evaluator's cases (see `tests/vtl/evaluate.py`).
fn run_evaluator(input: Vec<Value>) -> Vec<Outcome> {
    common::vtl::evaluate(&input)
}

/// The entry the rendered `PutEvents` request carries.
fn vtl_entry(output: &str) -> Result<PutEventsEntry, String> {
    let request: Value =
        serde_json::from_str(output).map_err(|e| format!("the request is not JSON: {e}"))?;
    let entries = request["Entries"].as_array().ok_or("no Entries list")?;
    let [entry] = entries.as_slice() else {
        return Err(format!("{} entries", entries.len()));
    };
    let field = |k: &str| {
        entry[k]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("{k} is not a string"))
    };
    Ok(PutEventsEntry {
        bus: field("EventBusName")?,
        source: field("Source")?,
        detail_type: field("DetailType")?,
        detail: field("Detail")?,
    })
}

/// The message the rendered `SendMessage` form body stands for.
fn vtl_message(form: &[(String, String)]) -> Result<SendMessageRequest, String> {
    let fields: BTreeMap<&str, &str> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if fields.len() != form.len() {
        return Err("a form field appears twice".into());
    }
    if fields.get("Action") != Some(&"SendMessage") || fields.get("Version") != Some(&"2012-11-05")
    {
        return Err("Action or Version is wrong".into());
    }
    let body = fields.get("MessageBody").ok_or("no MessageBody")?;
    let mut attributes = BTreeMap::new();
    for n in 1.. {
        let Some(name) = fields.get(format!("MessageAttribute.{n}.Name").as_str()) else {
            break;
        };
        let kind = fields.get(format!("MessageAttribute.{n}.Value.DataType").as_str());
        if kind != Some(&"String") {
            return Err(format!("attribute {n} is not a String"));
        }
        let value = fields
            .get(format!("MessageAttribute.{n}.Value.StringValue").as_str())
            .ok_or(format!("attribute {n} has no value"))?;
        attributes.insert(name.to_string(), value.to_string());
    }
    let expected_fields = 3 + 3 * attributes.len();
    if fields.len() != expected_fields {
        return Err(format!(
            "{} form fields, expected {expected_fields}",
            fields.len()
        ));
    }
    Ok(SendMessageRequest {
        queue_url: QUEUE_URL.into(),
        body: body.to_string(),
        attributes,
    })
}

/// Compares one case; `Err` says how the two sides differ.
fn compare(case: &Case, outcome: &Outcome) -> Result<(), String> {
    if let Some(error) = &outcome.error {
        return Err(format!("the template did not run:\n{error}"));
    }
    let output = outcome.output.as_deref().unwrap_or_default();
    if case.guarded().is_err() {
        return refused_request(&case.spec, output, outcome.form.as_deref());
    }
    let body = case.request.parsed_body();
    let values = RequestValues {
        body: body.as_ref(),
        path: &case.request.path,
        caller: Some(&case.request.sub),
        request_id: REQUEST_ID,
        request_time_epoch: REQUEST_TIME,
    };
    match &case.spec {
        Spec::PutEvents(p) => {
            let want = vtl_entry(output)?;
            let got = put_events_entry(p, BUS, &values).map_err(|e| format!("native: {e}"))?;
            let parse = |d: &str| {
                serde_json::from_str::<Value>(d)
                    .map_err(|e| format!("Detail {d:?} is not JSON: {e}"))
            };
            if parse(&got.detail)? != parse(&want.detail)? {
                return Err(format!(
                    "Detail differs as JSON:\n  native {}\n  vtl    {}",
                    got.detail, want.detail
                ));
            }
            if got != want {
                return Err(format!(
                    "entries differ:\n  native {got:?}\n  vtl    {want:?}"
                ));
            }
        }
        Spec::SendMessage(s) => {
            let want = vtl_message(outcome.form.as_deref().ok_or("the form was not decoded")?)?;
            let got =
                send_message_request(s, QUEUE_URL, &values).map_err(|e| format!("native: {e}"))?;
            if got != want {
                return Err(format!(
                    "messages differ:\n  native {got:?}\n  vtl    {want:?}"
                ));
            }
        }
    }
    Ok(())
}

/// A path check refused the request natively: the template must make the request the
/// service refuses whatever it holds (no entries; no message body), so nothing is put or
/// sent and the 4xx answer follows.
fn refused_request(
    spec: &Spec,
    output: &str,
    form: Option<&[(String, String)]>,
) -> Result<(), String> {
    let refused = match spec {
        Spec::PutEvents(_) => {
            serde_json::from_str::<Value>(output).ok() == Some(json!({"Entries": []}))
        }
        Spec::SendMessage(_) => {
            form == Some(
                &[
                    ("Action".into(), "SendMessage".into()),
                    ("Version".into(), "2012-11-05".into()),
                ][..],
            )
        }
    };
    if refused {
        Ok(())
    } else {
        Err(format!(
            "a path check refuses the request natively, but the template sends {output:?}"
        ))
    }
}

fn run_and_compare(cases: &[Case]) {
    assert!(!cases.is_empty());
    let outcomes = evaluate(cases);
    let failures: Vec<String> = cases
        .iter()
        .zip(&outcomes)
        .enumerate()
        .filter_map(|(i, (case, outcome))| {
            compare(case, outcome).err().map(|why| {
                format!(
                    "case {i} ({}): body {:?}, path {:?}, sub {:?}:\n  {why}",
                    case.what, case.request.body, case.request.path, case.request.sub
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

// --- Inputs -----------------------------------------------------------------------------------

/// A route with a service integration.
struct ServiceRoute {
    route: String,
    spec: Spec,
    /// The kind of caller it sees.
    caller: CallerSource,
    params: Vec<String>,
    checks: Vec<PathCheck>,
}

/// The API's routes with service integrations.
fn service_routes(api: &Api) -> Vec<ServiceRoute> {
    stackgen::app::routes(api)
        .into_iter()
        .filter_map(|route| {
            let caller = route.auth.caller()?;
            let checks = route.path_checks;
            let route = route.spec;
            let spec = match &route.integration.value {
                Integration::Function(_) => return None,
                Integration::PutEvents(p) => Spec::PutEvents(p.clone()),
                Integration::SendMessage(s) => Spec::SendMessage(s.clone()),
            };
            let params = route.route.params().iter().map(|p| p.to_string()).collect();
            Some(ServiceRoute {
                route: route.route.to_string(),
                spec,
                caller,
                params,
                checks,
            })
        })
        .collect()
}

/// The body fields a spec reads.
fn body_fields(spec: &Spec) -> Vec<String> {
    let sources: Vec<&ValueSource> = match spec {
        Spec::PutEvents(p) => p.detail.values().map(|v| &v.value).collect(),
        Spec::SendMessage(s) => std::iter::once(&s.body.value)
            .chain(s.attributes.values().map(|v| &v.value))
            .collect(),
    };
    sources
        .into_iter()
        .filter_map(|s| match s {
            ValueSource::Body(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// Requests for a route: every body field and path parameter hostile, extra fields, every
/// caller. `complete` bodies carry every field as a string (what the body models let
/// through); otherwise some are missing or null.
fn requests(
    fields: &[String],
    params: &[String],
    caller: CallerSource,
    complete: bool,
) -> Vec<Request> {
    (0..HOSTILE_COUNT * 2)
        .map(|i| {
            let mut body = extras(i);
            for (k, field) in fields.iter().enumerate() {
                let value = match (complete, (i + k) % 4) {
                    (false, 0) => continue,
                    (false, 1) => Value::Null,
                    _ => json!(hostile(i + k * 5)),
                };
                // A dotted field is a path into nested objects, as `$input.path` reads it.
                let mut keys: Vec<&str> = field.split('.').collect();
                let last = keys.pop().unwrap_or_default();
                let mut at = &mut body;
                for key in keys {
                    let entry = at.entry(key.to_string()).or_insert_with(|| json!({}));
                    if !entry.is_object() {
                        *entry = json!({});
                    }
                    at = entry.as_object_mut().expect("an object");
                }
                at.insert(last.to_string(), value);
            }
            let path = params
                .iter()
                .enumerate()
                .map(|(k, p)| (p.clone(), hostile(i * 7 + k + 3).to_string()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            Request {
                body: Some(serde_json::to_string(&body).expect("serializes")),
                path,
                sub: common::vtl::SUBS[i % common::vtl::SUBS.len()].to_string(),
                caller,
            }
        })
        .collect()
}

fn sp<T>(v: T) -> Sp<T> {
    Sp::new(v, Loc::default())
}

// --- Tests ------------------------------------------------------------------------------------

#[test]
fn the_apps_service_integrations_build_what_their_templates_build() {
    let model = stackgen::model::load(&common::repo().join("model")).expect("the model parses");
    let app = stackgen::app::App::check(model).expect("the model passes the checks");
    let mut cases = Vec::new();
    for service in &app.services {
        for (name, api) in &service.source.file.apis {
            for ServiceRoute {
                route,
                spec,
                caller,
                params,
                checks,
            } in service_routes(api)
            {
                let fields = body_fields(&spec);
                for request in requests(&fields, &params, caller, true) {
                    let spec = match &spec {
                        Spec::PutEvents(p) => Spec::PutEvents(p.clone()),
                        Spec::SendMessage(s) => Spec::SendMessage(s.clone()),
                    };
                    cases.push(Case {
                        what: format!("{name} {route}"),
                        spec,
                        request,
                        checks: checks.clone(),
                    });
                }
            }
        }
    }
    // The userprofile API has five write routes; each got every input.
    assert!(
        cases.len() >= 5 * HOSTILE_COUNT * 2,
        "{} cases",
        cases.len()
    );
    run_and_compare(&cases);
}

#[test]
fn every_kind_of_value_builds_what_the_templates_build_behind_both_authorizers() {
    let detail = BTreeMap::from([
        ("caller".to_string(), sp(ValueSource::Caller)),
        (
            "constant".to_string(),
            sp(ValueSource::Value("a-b.c:d/e@f+g=h i".into())),
        ),
        ("field".to_string(), sp(ValueSource::Body("field".into()))),
        (
            "nested".to_string(),
            sp(ValueSource::Body("outer.inner".into())),
        ),
        (
            "dashed-name".to_string(),
            sp(ValueSource::Body("dashed-name".into())),
        ),
        ("param".to_string(), sp(ValueSource::Path("id".into()))),
        (
            "unbound".to_string(),
            sp(ValueSource::Path("absent".into())),
        ),
    ]);
    let put = PutEvents {
        bus: sp(Name::new("Bus").expect("a name")),
        source: "src.a-b".into(),
        detail_type: "thing.happened".into(),
        detail,
    };
    let send = |body: ValueSource| SendMessage {
        queue: sp(Name::new("Queue").expect("a name")),
        body: sp(body),
        attributes: BTreeMap::from([
            (
                "Constant".to_string(),
                sp(ValueSource::Value("Add Favorite+1".into())),
            ),
            ("Caller".to_string(), sp(ValueSource::Caller)),
            ("Field".to_string(), sp(ValueSource::Body("field".into()))),
            ("Param".to_string(), sp(ValueSource::Path("id".into()))),
        ]),
    };
    let fields = [
        "field".to_string(),
        "outer.inner".to_string(),
        "dashed-name".to_string(),
    ];
    let params = ["id".to_string()];
    let mut cases = Vec::new();
    for caller in [CallerSource::CognitoClaims, CallerSource::LambdaPrincipal] {
        for complete in [true, false] {
            for request in requests(&fields, &params, caller, complete) {
                let what = format!("{caller:?}, complete {complete}");
                cases.push(Case {
                    what: what.clone(),
                    spec: Spec::PutEvents(put.clone()),
                    request: request.clone(),
                    checks: Vec::new(),
                });
                // The same with the path parameter checked: refused on both sides, or built alike.
                cases.push(Case {
                    what: format!("{what}, id checked"),
                    spec: Spec::PutEvents(put.clone()),
                    request: request.clone(),
                    checks: vec![id_check()],
                });
                for body in [
                    ValueSource::Body("field".into()),
                    ValueSource::Path("id".into()),
                    ValueSource::Caller,
                ] {
                    cases.push(Case {
                        what: what.clone(),
                        spec: Spec::SendMessage(send(body.clone())),
                        request: request.clone(),
                        checks: Vec::new(),
                    });
                    cases.push(Case {
                        what: format!("{what}, id checked"),
                        spec: Spec::SendMessage(send(body)),
                        request: request.clone(),
                        checks: vec![id_check()],
                    });
                }
            }
        }
    }
    // Bodies that are not JSON objects: every body field reads as missing on both sides.
    for body in [
        None,
        Some(""),
        Some("not json {"),
        Some("[1, 2]"),
        Some("\"text\""),
        Some("null"),
    ] {
        let request = Request {
            body: body.map(str::to_owned),
            path: BTreeMap::from([("id".to_string(), "i-1".to_string())]),
            sub: common::vtl::SUBS[1].into(),
            caller: CallerSource::CognitoClaims,
        };
        cases.push(Case {
            what: format!("body {body:?}"),
            spec: Spec::PutEvents(put.clone()),
            request: request.clone(),
            checks: Vec::new(),
        });
        cases.push(Case {
            what: format!("body {body:?}"),
            spec: Spec::SendMessage(send(ValueSource::Body("field".into()))),
            request,
            checks: Vec::new(),
        });
    }
    let checked = cases.iter().filter(|c| !c.checks.is_empty());
    let (refused, passed): (Vec<&Case>, Vec<&Case>) = checked.partition(|c| c.guarded().is_err());
    assert!(
        refused.len() >= 20 && passed.len() >= 20,
        "the checked id refuses {} and passes {}",
        refused.len(),
        passed.len()
    );
    run_and_compare(&cases);
}

/// A check of the path parameter `id`: what a hostile value rarely is.
fn id_check() -> PathCheck {
    PathCheck {
        param: "id".into(),
        pattern: "^(?=[\\s\\S]{1,40}$)[A-Za-z0-9 \\u00E9-]*[A-Za-z0-9]$".into(),
        description: "1 to 40 letters, digits, spaces or dashes".into(),
    }
}

// --- Answers ----------------------------------------------------------------------------------

/// The integration's `responses` as `render` writes them for this service.
fn rendered_responses(service: Service, checks: &[PathCheck]) -> Value {
    vtl::integration_responses(service, checks)
        .into_iter()
        .map(|r| {
            (
                r.selection_pattern.unwrap_or("default").to_string(),
                json!({
                    "statusCode": r.status.to_string(),
                    "responseTemplates": {"application/json": r.template},
                }),
            )
        })
        .collect::<Map<_, _>>()
        .into()
}

/// An evaluator case: API Gateway answering the service's `status` and `body`.
fn service_answer(service: Service, checks: &[PathCheck], status: u16, body: &str) -> Value {
    json!({
        "responses": rendered_responses(service, checks),
        "status": status,
        "body": body,
        "context": {"requestId": "r-1"},
    })
}

/// The status and body an evaluated integration response gives.
fn answered(outcome: &Outcome) -> Result<(u16, String), String> {
    if let Some(error) = &outcome.error {
        return Err(format!("the response template did not run:\n{error}"));
    }
    let status = outcome.status.ok_or("no status")?;
    Ok((
        status,
        outcome
            .output
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    ))
}

/// What SQS documents it takes in a message body and a string attribute value: a non-empty
/// string of `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`.
fn sqs_takes(value: &str) -> bool {
    !value.is_empty()
        && value.chars().all(|c| {
            let c = u32::from(c);
            matches!(c, 0x9 | 0xa | 0xd | 0x20..=0xd7ff | 0xe000..=0xfffd | 0x10000..)
        })
}

#[test]
fn every_answer_of_the_service_gets_the_same_status_and_body_natively_and_from_the_templates() {
    // Arrange: what the service answers, and the outcome the native integration makes of it.
    let sent = r#"{"SendMessageResponse":{"SendMessageResult":{"MessageId":"m-1"}}}"#;
    let put = r#"{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}"#;
    let failed =
        r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"x"}]}"#;
    let error = r#"{"Error":{"Code":"Some.Error","Message":"it went wrong","Type":"Sender"}}"#;
    let mut scenarios: Vec<(Service, u16, &str, Result<(), IntegrationError>)> = vec![
        (Service::Sqs, 200, sent, Ok(())),
        (Service::EventBridge, 200, put, Ok(())),
        (
            Service::EventBridge,
            200,
            failed,
            Err(IntegrationError::FailedEntry {
                code: "InternalFailure".into(),
                message: "x".into(),
            }),
        ),
    ];
    for service in [Service::Sqs, Service::EventBridge] {
        let (name, operation) = match service {
            Service::Sqs => ("SQS", "SendMessage"),
            Service::EventBridge => ("EventBridge", "PutEvents"),
        };
        for status in [400, 403, 404, 413, 429, 500, 502, 503, 504] {
            let outcome = Err(IntegrationError::from_status(
                name,
                operation,
                Some(status),
                error.into(),
            ));
            scenarios.push((service, status, error, outcome));
        }
    }

    // Act
    let outcomes = run_evaluator(
        scenarios
            .iter()
            .map(|(service, status, body, _)| service_answer(*service, &[], *status, body))
            .collect(),
    );

    // Assert
    let mut failures = Vec::new();
    for ((service, status, _, outcome), evaluated) in scenarios.iter().zip(&outcomes) {
        let native = answer(*service, &[], outcome);
        let want = match status {
            400..=499 => 400,
            500..=599 => 500,
            _ if outcome.is_err() => 500,
            _ => 200,
        };
        match answered(evaluated) {
            Ok(vtl) if vtl == native && vtl.0 == want => {}
            other => failures.push(format!(
                "{service:?} answering {status}: native {native:?}, templates {other:?}, expected status {want}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for service in [Service::Sqs, Service::EventBridge] {
        let body: Value =
            serde_json::from_str(&vtl::rejected_response(service, &[])).expect("JSON");
        assert!(body["message"].is_string(), "{body}");
    }
}

#[test]
fn control_character_restaurant_ids_get_the_same_answer_natively_and_from_the_templates() {
    // Arrange: the app's favorites routes, as the model declares them and as rendered.
    let model = stackgen::model::load(&common::repo().join("model")).expect("the model parses");
    let app = stackgen::app::App::check(model).expect("the model passes the checks");
    let api = app
        .services
        .iter()
        .find_map(|s| {
            s.source
                .file
                .apis
                .iter()
                .find(|(n, _)| n.as_str() == "ProfileApi")
        })
        .map(|(_, api)| api.clone())
        .expect("the userprofile API");
    let send = |route: &str| {
        api.routes
            .iter()
            .find(|r| r.route.to_string() == route)
            .and_then(|r| match &r.integration.value {
                Integration::SendMessage(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no SendMessage route {route}"))
    };
    let (post, delete) = (
        send("POST /favorite"),
        send("DELETE /favorite/{restaurantId}"),
    );
    let delete_checks = stackgen::app::routes(&api)
        .into_iter()
        .find(|r| r.spec.route.to_string() == "DELETE /favorite/{restaurantId}")
        .map(|r| r.path_checks)
        .expect("the route");
    assert_eq!(delete_checks.len(), 1, "the model checks the restaurant id");
    let model = &api
        .models
        .iter()
        .find(|(n, _)| n.as_str() == "FavoriteBody")
        .expect("the favorite model")
        .1
        .value;
    // `stackgen local` compiles the model as it stands; API Gateway gets the rendered one.
    let native_model = jsonschema::draft4::new(model).expect("the model compiles");
    let deployed_model = jsonschema::draft4::new(&rendered_definition("FavoriteBody"))
        .expect("the rendered model compiles");
    let mut ids: Vec<String> = (0..=0x1f_u32)
        .chain(0x7f..=0x9f)
        .chain([0xfffe, 0xffff])
        .filter_map(char::from_u32)
        .flat_map(|c| [c.to_string(), format!("r-{c}-1")])
        .collect();
    ids.extend(
        [
            "r-1",
            "é 😀 \u{2028}",
            "trailing\n",
            "tab\tinside",
            "\u{d7ff}\u{e000}",
            " ",
            "\u{3000}\u{a0}",
            " padded ",
        ]
        .map(String::from),
    );

    // A request of each route for each id: body ids for POST, path ids for DELETE.
    let mut cases = Vec::new();
    let mut refused_by_model = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let sub = common::vtl::SUBS[i % common::vtl::SUBS.len()].to_string();
        let body = json!({"restaurantId": id, "userId": "evil"});
        let native = native_model.is_valid(&body);
        let deployed = deployed_model.is_valid(&body);
        assert_eq!(native, deployed, "the models disagree on {body}");
        if native {
            cases.push(Case {
                what: format!("POST /favorite {id:?}"),
                spec: Spec::SendMessage(post.clone()),
                request: Request {
                    body: Some(body.to_string()),
                    path: BTreeMap::new(),
                    sub: sub.clone(),
                    caller: CallerSource::CognitoClaims,
                },
                checks: Vec::new(),
            });
        } else {
            refused_by_model.push(id.clone());
        }
        cases.push(Case {
            what: format!("DELETE /favorite/{{restaurantId}} {id:?}"),
            spec: Spec::SendMessage(delete.clone()),
            request: Request {
                body: None,
                path: BTreeMap::from([("restaurantId".to_string(), id.clone())]),
                sub,
                caller: CallerSource::CognitoClaims,
            },
            checks: delete_checks.clone(),
        });
    }
    // The model refuses exactly the ids with a control character.
    let with_control: Vec<&String> = ids
        .iter()
        .filter(|id| {
            id.chars()
                .any(|c| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}'))
        })
        .collect();
    assert_eq!(refused_by_model.iter().collect::<Vec<_>>(), with_control);

    // Act: the request templates, then API Gateway's answer to what SQS makes of the message
    // (a request a path check stopped has no message body: SQS refuses it).
    let built = evaluate(&cases);
    let messages: Vec<Option<SendMessageRequest>> = cases
        .iter()
        .zip(&built)
        .map(|(case, outcome)| {
            compare(case, outcome).unwrap_or_else(|why| panic!("{}: {why}", case.what));
            let form = outcome.form.as_deref().expect("a form");
            case.guarded()
                .is_ok()
                .then(|| vtl_message(form).expect("a message"))
        })
        .collect();
    let statuses: Vec<u16> = messages
        .iter()
        .map(|m| match m {
            Some(m) if sqs_takes(&m.body) && m.attributes.values().all(|v| sqs_takes(v)) => 200,
            _ => 400,
        })
        .collect();
    let sent = r#"{"SendMessageResponse":{"SendMessageResult":{"MessageId":"m-1"}}}"#;
    let error = r#"{"Error":{"Code":"InvalidMessageContents","Message":"Invalid binary character","Type":"Sender"}}"#;
    let answers = run_evaluator(
        cases
            .iter()
            .zip(&statuses)
            .map(|(c, s)| {
                service_answer(
                    Service::Sqs,
                    &c.checks,
                    *s,
                    if *s == 200 { sent } else { error },
                )
            })
            .collect(),
    );

    // Assert: natively, the same message, the same refusal and the same answer.
    let mut failures = Vec::new();
    for (((case, message), status), evaluated) in
        cases.iter().zip(&messages).zip(&statuses).zip(&answers)
    {
        let Spec::SendMessage(spec) = &case.spec else {
            unreachable!("favorites routes send messages")
        };
        let body = case.request.parsed_body();
        let values = RequestValues {
            body: body.as_ref(),
            path: &case.request.path,
            caller: Some(&case.request.sub),
            request_id: REQUEST_ID,
            request_time_epoch: REQUEST_TIME,
        };
        let outcome = case.guarded().and_then(|()| {
            let request = send_message_request(spec, QUEUE_URL, &values)?;
            assert_eq!(Some(&request), message.as_ref());
            check_sqs_message(&request)
        });
        let native = answer(Service::Sqs, &case.checks, &outcome);
        let vtl = answered(evaluated);
        if vtl.as_ref() != Ok(&native) || native.0 != *status {
            failures.push(format!(
                "{}: native {native:?}, templates {vtl:?} (SQS answers {status})",
                case.what
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let refused_paths = cases
        .iter()
        .zip(&statuses)
        .filter(|(c, s)| c.what.starts_with("DELETE") && **s == 400)
        .count();
    assert!(refused_paths >= 60, "only {refused_paths} path ids refused");
    // White space alone, or a tab SQS would take, is stopped by the path check: the consumer
    // would refuse the first, and the body model refuses both.
    for (id, stopped) in [
        (" ", true),
        ("\u{3000}\u{a0}", true),
        ("tab\tinside", true),
        (" padded ", false),
        ("r-1", false),
    ] {
        let case = cases
            .iter()
            .find(|c| c.what == format!("DELETE /favorite/{{restaurantId}} {id:?}"))
            .expect("the case");
        assert_eq!(case.guarded().is_err(), stopped, "{id:?}");
    }

    // A body the model refuses never reaches a template: API Gateway's own 400.
    let gateway_400 = run_evaluator(vec![json!({
        "template": rendered_gateway_response_template(),
        "body": null,
        "context": {"error": {"messageString": "\"Invalid request body\""}},
    })]);
    assert_eq!(
        gateway_400[0].output.as_deref(),
        Some(r#"{"message":"Invalid request body"}"#)
    );
}

/// The userprofile template as `render` writes it.
fn rendered_userprofile() -> Value {
    let (_, text) = common::render_repo()
        .into_iter()
        .find(|(name, _)| name.ends_with("userprofile.yaml"))
        .expect("a rendered userprofile.yaml");
    #[derive(Deserialize)]
    struct Stack {
        #[serde(rename = "Resources")]
        resources: Resources,
    }
    #[derive(Deserialize)]
    struct Resources {
        #[serde(rename = "ProfileApi")]
        profile_api: Resource,
    }
    #[derive(Deserialize)]
    struct Resource {
        #[serde(rename = "Properties")]
        properties: Properties,
    }
    #[derive(Deserialize)]
    struct Properties {
        #[serde(rename = "DefinitionBody")]
        definition_body: Body,
    }
    #[derive(Deserialize)]
    struct Body {
        definitions: Value,
        #[serde(rename = "x-amazon-apigateway-gateway-responses")]
        gateway_responses: Value,
    }
    let stack: Stack = serde_saphyr::from_str(&text).expect("the rendered template parses");
    let body = stack.resources.profile_api.properties.definition_body;
    json!({"definitions": body.definitions, "gateway_responses": body.gateway_responses})
}

/// A body model of the userprofile API as rendered.
fn rendered_definition(name: &str) -> Value {
    rendered_userprofile()["definitions"][name].clone()
}

/// The rendered template of API Gateway's own 4xx answers (such as a body failing its model).
fn rendered_gateway_response_template() -> String {
    rendered_userprofile()["gateway_responses"]["DEFAULT_4XX"]["responseTemplates"]
        ["application/json"]
        .as_str()
        .expect("a DEFAULT_4XX template")
        .to_owned()
}
