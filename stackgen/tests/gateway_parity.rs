//! Parity of `stackgen local`'s service integrations with the mapping templates deployed to
//! API Gateway.
//!
//! What this proves: for the same request (body, path parameters, caller), the `PutEvents`
//! entry and the `SendMessage` request that the gateway emulation builds natively
//! (`stackgen::local::gateway::integration`) are exactly what the rendered VTL makes AWS
//! receive: the same bus, source and detail-type, a `Detail` equal as text and as parsed
//! JSON, and the same message body and string attributes.
//!
//! Why this way: both sides start from the same typed integration of the model. The
//! templates are rendered by `stackgen::vtl` as `render` does, then run by a real Velocity
//! engine with API Gateway's `$input`, `$util` and `$context` stand-ins
//! (`tests/vtl/evaluate.py`, the evaluator the VTL tests use). The inputs are hostile: quotes,
//! backslashes, control characters, unicode beyond the BMP, template syntax, form syntax,
//! bodies with extra fields and a `userId` of their own, missing and null fields. Routes of
//! the app's model are covered, plus integrations that use every kind of value under both
//! kinds of authorizer.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use stackgen::local::gateway::integration::{
    PutEventsEntry, RequestValues, SendMessageRequest, put_events_entry, send_message_request,
};
use stackgen::model::{
    Api, Authorizer, Integration, Loc, Name, PutEvents, SendMessage, Sp, ValueSource,
};
use stackgen::vtl::{self, CallerSource};

const BUS: &str = "local-AddressBus";
const QUEUE_URL: &str = "http://127.0.0.1:5000/000000000000/local-FavoritesQueue";

/// Strings that break naive JSON, form or VTL templating.
const HOSTILE: &[&str] = &[
    "plain",
    "double \" quote",
    "single ' quote",
    "back\\slash",
    "escaped quotes \\' \\\" \\\\' \\\\\\'",
    "trailing backslash \\",
    "\\",
    "'",
    "\"",
    "line\nfeed\r\nreturn\ttab",
    "nul \u{0} controls \u{1}\u{7}\u{8}\u{b}\u{c}\u{e}\u{1b}\u{1f} del \u{7f} c1 \u{80}\u{9f}",
    "</script><script>alert(1)</script>",
    "unicode é ß 中文 😀 👩‍👩‍👧 \u{2028}\u{2029} \u{feff} \u{fffd} \u{10ffff}",
    "$util.escapeJavaScript('x') $input.path('$') $context.authorizer.claims.sub",
    "${AddressBus} ${!Literal} $!{quiet} \\$escaped",
    "#set($x = 1)#if(true)yes#end ## line comment\n#* block *# #{else}",
    "\", \"userId\": \"evil",
    "\\\", \\\"userId\\\": \\\"evil",
    "\"},{\"Source\":\"evil\",\"DetailType\":\"address.deleted\",\"Detail\":\"{}",
    "a&b=c+d%20e%2Bf;g h#frag?q=1",
    "&Action=DeleteQueue&MessageAttribute.1.Name=UserId&MessageAttribute.1.Value.StringValue=evil",
    "{\"json\": [1, 2]}",
    "null",
    " leading and trailing spaces ",
    "",
];

const SUBS: &[&str] = &[
    "6f1c2b1e-0d4a-4c1e-9a57-3f0c1f2e8b7d",
    "sub'with\"quotes\\and\nnewline&x=1",
    "é中😀",
];

fn hostile(i: usize) -> &'static str {
    HOSTILE[i % HOSTILE.len()]
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
        json!({"authorizer": authorizer, "requestId": "r-1", "stage": "Prod"})
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
}

impl Case {
    fn template(&self) -> String {
        match &self.spec {
            Spec::PutEvents(p) => vtl::put_events_request(p, BUS, Some(self.request.caller)),
            Spec::SendMessage(s) => vtl::send_message_request(s, Some(self.request.caller)),
        }
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
    error: Option<String>,
}

/// Runs every case's template in one Python process.
fn evaluate(cases: &[Case]) -> Vec<Outcome> {
    let script = common::repo().join("stackgen/tests/vtl/evaluate.py");
    let mut child = Command::new(common::tool("python"))
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the virtualenv Python");
    let input: Vec<Value> = cases.iter().map(Case::evaluator_input).collect();
    let request = serde_json::to_vec(&json!({ "cases": input })).expect("cases serialize");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&request)
        .expect("write the cases");
    let out = child.wait_with_output().expect("wait for Python");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    #[derive(Deserialize)]
    struct Response {
        results: Vec<Outcome>,
    }
    let response: Response =
        serde_json::from_slice(&out.stdout).expect("the evaluator answers JSON");
    assert_eq!(response.results.len(), cases.len());
    response.results
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
    let body = case.request.parsed_body();
    let values = RequestValues {
        body: body.as_ref(),
        path: &case.request.path,
        caller: Some(&case.request.sub),
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

/// The API's routes with service integrations, and the kind of caller each sees.
fn service_routes(api: &Api) -> Vec<(String, Spec, CallerSource, Vec<String>)> {
    api.routes
        .iter()
        .filter_map(|route| {
            let auth = stackgen::render::effective_auth(api, route)?;
            let caller = match api.authorizers.iter().find(|(n, _)| n.as_str() == auth)?.1 {
                Authorizer::Token { .. } => CallerSource::LambdaPrincipal,
                Authorizer::Cognito { .. } => CallerSource::CognitoClaims,
            };
            let spec = match &route.integration.value {
                Integration::Function(_) => return None,
                Integration::PutEvents(p) => Spec::PutEvents(p.clone()),
                Integration::SendMessage(s) => Spec::SendMessage(s.clone()),
            };
            let params = route.route.params().iter().map(|p| p.to_string()).collect();
            Some((route.route.to_string(), spec, caller, params))
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
    (0..HOSTILE.len() * 2)
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
                sub: SUBS[i % SUBS.len()].to_string(),
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
    let checked = stackgen::check::Checked::new(model).expect("the model passes the checks");
    let mut cases = Vec::new();
    for service in &checked.model.services {
        for (name, api) in &service.file.apis {
            for (route, spec, caller, params) in service_routes(api) {
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
                    });
                }
            }
        }
    }
    // The userprofile API has five write routes; each got every input.
    assert!(
        cases.len() >= 5 * HOSTILE.len() * 2,
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
                });
                for body in [
                    ValueSource::Body("field".into()),
                    ValueSource::Path("id".into()),
                    ValueSource::Caller,
                ] {
                    cases.push(Case {
                        what: what.clone(),
                        spec: Spec::SendMessage(send(body)),
                        request: request.clone(),
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
            sub: SUBS[1].into(),
            caller: CallerSource::CognitoClaims,
        };
        cases.push(Case {
            what: format!("body {body:?}"),
            spec: Spec::PutEvents(put.clone()),
            request: request.clone(),
        });
        cases.push(Case {
            what: format!("body {body:?}"),
            spec: Spec::SendMessage(send(ValueSource::Body("field".into()))),
            request,
        });
    }
    run_and_compare(&cases);
}
