//! The service-integration mapping templates of the generated userprofile API, executed
//! with a Velocity engine (the Python package airspeed-ext from the project's virtualenv)
//! on hostile input: the events and messages they build must carry the input unchanged,
//! as valid JSON / form data, with the caller taken from the authorizer only.

mod common;

use std::process::Command;

const SCRIPT: &str = r#"
import json, sys, urllib.parse
import airspeed

templates = json.load(sys.stdin)
hostile = "a\"b\\c'd\n</x>${x}#set($y = 1) $util é \u2028 &x=1"
body = {"line1": hostile, "line2": "l2", "city": "c", "stateProvince": "s", "postal": "p",
        "restaurantId": hostile, "userId": "attacker"}

class Util:
    # As API Gateway documents it: Java's StringEscapeUtils.escapeJavaScript.
    def escapeJavaScript(self, s):
        out = ""
        for ch in str(s):
            if ch == '"': out += '\\"'
            elif ch == "'": out += "\\'"
            elif ch == "\\": out += "\\\\"
            elif ch == "/": out += "\\/"
            elif ch == "\n": out += "\\n"
            elif ord(ch) < 32 or ord(ch) > 126: out += "\\u%04X" % ord(ch)
            else: out += ch
        return out
    def urlEncode(self, s):
        return urllib.parse.quote_plus(str(s))

class Input:
    def path(self, p):
        return body.get(p[2:], "")
    def params(self, name=None):
        d = {"path": {"addressId": hostile, "restaurantId": hostile}, "querystring": {}, "header": {}}
        return d if name is None else d["path"].get(name, "")

ctx = {"input": Input(), "util": Util(),
       "context": {"authorizer": {"claims": {"sub": "sub-'\"-1"}},
                   "requestId": "req-1", "requestTimeEpoch": 1764118923456}}
results = {}
for key, t in templates.items():
    out = airspeed.Template(t.replace("${AddressBus}", "bus")).merge(ctx)
    if key.startswith("events"):
        entry = json.loads(out)["Entries"][0]
        results[key] = {"entry": {k: v for k, v in entry.items() if k != "Detail"},
                        "detail": json.loads(entry["Detail"])}
    else:
        results[key] = {k: v[0] for k, v in urllib.parse.parse_qs(out, keep_blank_values=True).items()}
print(json.dumps(results, sort_keys=True))
"#;

#[test]
fn integrations_carry_hostile_input_unchanged() {
    let model = stackgen::model::load(&common::repo().join("model")).expect("model");
    let svc = model
        .services
        .iter()
        .find(|s| s.file.service.as_str() == "userprofile")
        .expect("userprofile");
    let api = svc.file.apis.values().next().expect("api");
    let mut templates = serde_json::Map::new();
    for route in &api.routes {
        let key = route.route.value.to_string();
        let caller = Some(stackgen::vtl::CallerSource::CognitoClaims);
        // The escaping alone, without the path checks (which stop most hostile ids first:
        // `gateway_parity` covers them).
        match &route.integration.value {
            stackgen::model::Integration::PutEvents(p) => {
                templates.insert(
                    format!("events {key}"),
                    stackgen::vtl::put_events_request(p, "${AddressBus}", caller, &[]).into(),
                );
            }
            stackgen::model::Integration::SendMessage(s) => {
                templates.insert(
                    format!("sqs {key}"),
                    stackgen::vtl::send_message_request(s, caller, &[]).into(),
                );
            }
            stackgen::model::Integration::Function(_) => {}
        }
    }
    assert_eq!(templates.len(), 5);

    let mut child = Command::new(common::tool("python"))
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&templates).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");

    let hostile = "a\"b\\c'd\n</x>${x}#set($y = 1) $util é \u{2028} &x=1";
    let added = &r["events POST /address"];
    assert_eq!(added["entry"]["Source"], "customer-profile");
    assert_eq!(added["entry"]["DetailType"], "address.added");
    assert_eq!(added["entry"]["EventBusName"], "bus");
    assert_eq!(
        added["detail"],
        serde_json::json!({"userId": "sub-'\"-1", "line1": hostile, "line2": "l2", "city": "c", "stateProvince": "s", "postal": "p"})
    );
    let updated = &r["events PUT /address/{addressId}"];
    assert_eq!(updated["detail"]["addressId"], hostile);
    assert_eq!(updated["detail"]["userId"], "sub-'\"-1");
    assert_eq!(
        r["events DELETE /address/{addressId}"]["detail"],
        serde_json::json!({"userId": "sub-'\"-1", "addressId": hostile})
    );
    let fav = &r["sqs POST /favorite"];
    assert_eq!(fav["Action"], "SendMessage");
    assert_eq!(fav["MessageBody"], hostile);
    assert_eq!(fav["MessageAttribute.1.Name"], "CommandName");
    assert_eq!(fav["MessageAttribute.1.Value.StringValue"], "AddFavorite");
    assert_eq!(fav["MessageAttribute.2.Name"], "RequestId");
    assert_eq!(fav["MessageAttribute.2.Value.StringValue"], "req-1");
    assert_eq!(fav["MessageAttribute.3.Name"], "RequestTime");
    assert_eq!(fav["MessageAttribute.3.Value.StringValue"], "1764118923456");
    assert_eq!(fav["MessageAttribute.4.Name"], "UserId");
    assert_eq!(fav["MessageAttribute.4.Value.StringValue"], "sub-'\"-1");
    let unfav = &r["sqs DELETE /favorite/{restaurantId}"];
    assert_eq!(unfav["MessageBody"], hostile);
    assert_eq!(
        unfav["MessageAttribute.1.Value.StringValue"],
        "DeleteFavorite"
    );
}
