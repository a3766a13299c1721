//! API Gateway mapping templates (VTL) for the typed service integrations.
//!
//! This is the only place that writes VTL. A route's integration in the model says *what*
//! to send ([`PutEvents`], [`SendMessage`]); this module turns that into the request and
//! response templates of an `aws` integration. `stackgen local` implements the same meaning
//! natively, so the rules below are the contract both follow:
//!
//! - The caller is the authorizer's identity, never the request: `$context.authorizer.claims.sub`
//!   behind a Cognito authorizer, `$context.authorizer.principalId` behind a Lambda one.
//! - Only the declared body fields are read (`$input.path('$.field')`), never the whole body.
//! - Every request value is escaped for where it lands. `$util.escapeJavaScript` makes a
//!   string safe inside a JSON string except that it writes `'` as `\'`, which JSON does not
//!   allow, so each use is followed by `.replaceAll("\\'", "'")`. The EventBridge `Detail`
//!   is a JSON document inside a JSON string, so its values are escaped twice. SQS values are
//!   form-encoded with `$util.urlEncode`.
//! - The request time (`$context.requestTimeEpoch`) is a number of digits, written as is.
//! - Constants (source, detail-type, attribute names and constant values) are checked by
//!   `check` to hold only characters that mean nothing to VTL, JSON or form encoding.
//! - The templates contain no `${`, so they can sit inside `Fn::Sub` (which fills in the bus
//!   name) unchanged.
//! - The answer depends on the service's HTTP status ([`integration_responses`]): 2xx is
//!   200 `{}`, 4xx is 400 with a JSON message, 5xx is 500. Every value the service gets comes
//!   from the request, so its 4xx means it refused what the client sent.
//! - A path parameter the model gives a pattern ([`PathCheck`]) is checked first
//!   (`String.matches`): when it does not match, the template sends a request the service
//!   refuses with a 4xx whatever it holds (no `Entries`, no `MessageBody`), so nothing is put
//!   or sent and the client gets the 400, whose message names the parameter. A mapping
//!   template cannot answer by itself, so this is how a guard stops a service integration.

use crate::model::{PutEvents, SendMessage, ValueSource};

/// The AWS service a service integration calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// EventBridge, for `PutEvents`.
    EventBridge,
    /// SQS, for `SendMessage`.
    Sqs,
}

/// One integration response of a service integration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrationResponse {
    /// The regular expression the service's whole HTTP status must match; `None` for the
    /// default response, taken when no other matches.
    pub selection_pattern: Option<&'static str>,
    /// The status API Gateway answers with, unless the template overrides it.
    pub status: u16,
    /// The `application/json` response template.
    pub template: String,
}

/// The integration responses of a service integration, by the service's HTTP status:
///
/// - 2xx (the default): 200 `{}`; for `PutEvents` [`put_events_response`], which turns an
///   entry EventBridge failed into a 500.
/// - 4xx: 400 with [`rejected_response`]. The service refused a value taken from the request
///   (SQS refuses most control characters, both services over-long messages), so it is the
///   client's mistake. API Gateway selects on the status alone, so a 4xx of a broken
///   deployment (a deleted queue, a missing permission) is a 400 too.
/// - 5xx: 500 with [`error_response`].
pub fn integration_responses(service: Service, checks: &[PathCheck]) -> Vec<IntegrationResponse> {
    let success = match service {
        Service::EventBridge => put_events_response(),
        Service::Sqs => empty_response(),
    };
    vec![
        IntegrationResponse {
            selection_pattern: None,
            status: 200,
            template: success,
        },
        IntegrationResponse {
            selection_pattern: Some("4\\d{2}"),
            status: 400,
            template: rejected_response(service, checks),
        },
        IntegrationResponse {
            selection_pattern: Some("5\\d{2}"),
            status: 500,
            template: error_response(),
        },
    ]
}

/// A path parameter the gateway checks: a value that does not match `pattern` (from `^`
/// to `$`) is refused with 400, saying `description`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathCheck {
    /// The parameter.
    pub param: String,
    /// The ECMA 262 / Java regular expression its whole value must match.
    pub pattern: String,
    /// What the value must be, in words.
    pub description: String,
}

impl PathCheck {
    /// A JSON Schema (draft 4) a value matching `pattern` passes: how `stackgen local` runs
    /// the pattern, and how the checks make sure it compiles.
    pub fn schema(pattern: &str) -> serde_json::Value {
        serde_json::json!({"type": "string", "pattern": pattern})
    }
}

/// Where the caller's identity comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerSource {
    /// A Cognito user pool authorizer: the ID token's `sub` claim.
    CognitoClaims,
    /// A Lambda authorizer: the policy's principal id (the `sub`).
    LambdaPrincipal,
}

impl CallerSource {
    /// The VTL expression holding the caller's `sub`.
    pub fn expr(self) -> &'static str {
        match self {
            CallerSource::CognitoClaims => "$context.authorizer.claims.sub",
            CallerSource::LambdaPrincipal => "$context.authorizer.principalId",
        }
    }
}

/// Characters allowed in constants that end up inside templates.
pub fn is_safe_constant(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, ' ' | '.' | '_' | '-' | ':' | '/' | '@' | '+' | '=')
        })
}

/// Text that can sit inside a JSON string of a response template as is: no `"`, `\`,
/// VTL's `$` and `#`, or control characters.
pub fn is_safe_message(s: &str) -> bool {
    !s.trim().is_empty() && !s.chars().any(|c| c.is_control() || "\"\\$#".contains(c))
}

/// Characters allowed in body field, path parameter, detail field and attribute names.
pub fn is_safe_field(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The VTL expression for a value's raw string.
fn raw(source: &ValueSource, caller: Option<CallerSource>) -> String {
    match source {
        ValueSource::Caller => caller.map_or("''", CallerSource::expr).to_string(),
        ValueSource::Body(field) => format!("$input.path('$.{field}')"),
        ValueSource::Path(param) => format!("$input.params().path.get('{param}')"),
        ValueSource::Value(v) => format!("'{v}'"),
        ValueSource::RequestTime => "$context.requestTimeEpoch".to_string(),
        ValueSource::RequestId => "$context.requestId".to_string(),
    }
}

/// Escapes once for the inside of a JSON string.
fn json_escaped(expr: &str) -> String {
    format!("$util.escapeJavaScript({expr}).replaceAll(\"\\\\'\", \"'\")")
}

/// The request template of an EventBridge `PutEvents` integration. `bus` is written as the
/// `EventBusName` (render passes `${Bus}` for `Fn::Sub` to fill in).
pub fn put_events_request(
    p: &PutEvents,
    bus: &str,
    caller: Option<CallerSource>,
    checks: &[PathCheck],
) -> String {
    let mut fields = Vec::new();
    for (name, source) in &p.detail {
        let value = match &source.value {
            ValueSource::Value(v) => v.clone(),
            // Digits only, and a number: `$util` functions take strings.
            ValueSource::RequestTime => raw(&ValueSource::RequestTime, caller),
            other => json_escaped(&json_escaped(&raw(other, caller))),
        };
        fields.push(format!("\\\"{name}\\\":\\\"{value}\\\""));
    }
    let detail = format!("{{{}}}", fields.join(","));
    let request = [
        "{".to_string(),
        "  \"Entries\": [".to_string(),
        "    {".to_string(),
        format!("      \"EventBusName\": \"{bus}\","),
        format!("      \"Source\": \"{}\",", p.source),
        format!("      \"DetailType\": \"{}\",", p.detail_type),
        format!("      \"Detail\": \"{detail}\""),
        "    }".to_string(),
        "  ]".to_string(),
        "}".to_string(),
    ]
    .join("\n");
    guarded(checks, request, "{\"Entries\": []}")
}

/// `request` when every checked path parameter matches, else `refused`: a request the
/// service answers with a 4xx. On one line around the request, so a form body gains no
/// line break.
fn guarded(checks: &[PathCheck], request: String, refused: &str) -> String {
    if checks.is_empty() {
        return request;
    }
    let condition: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "$input.params().path.get('{}').matches('{}')",
                c.param, c.pattern
            )
        })
        .collect();
    format!(
        "#if({}){request}#{{else}}{refused}#end",
        condition.join(" && ")
    )
}

/// The template of a successful `PutEvents` response: `{}`, or a 500 when EventBridge
/// accepted the call but failed the entry.
pub fn put_events_response() -> String {
    [
        "#set($failed = $input.path('$.FailedEntryCount'))",
        "#if($failed > 0)",
        "#set($context.responseOverride.status = 500)",
        "{\"message\": \"Internal server error\"}",
        "#else",
        "{}",
        "#end",
    ]
    .join("\n")
}

/// The request template of an SQS `SendMessage` integration (query protocol, form-encoded).
pub fn send_message_request(
    s: &SendMessage,
    caller: Option<CallerSource>,
    checks: &[PathCheck],
) -> String {
    let encode = |source: &ValueSource| match source {
        ValueSource::Value(v) => form_encode(v),
        // Digits only, and a number: `$util.urlEncode` takes a string.
        ValueSource::RequestTime => raw(source, caller),
        other => format!("$util.urlEncode({})", raw(other, caller)),
    };
    let mut parts = vec![
        "Action=SendMessage".to_string(),
        "Version=2012-11-05".to_string(),
        format!("MessageBody={}", encode(&s.body.value)),
    ];
    for (i, (name, source)) in s.attributes.iter().enumerate() {
        let n = i + 1;
        parts.push(format!("MessageAttribute.{n}.Name={}", form_encode(name)));
        parts.push(format!("MessageAttribute.{n}.Value.DataType=String"));
        parts.push(format!(
            "MessageAttribute.{n}.Value.StringValue={}",
            encode(&source.value)
        ));
    }
    guarded(
        checks,
        parts.join("&"),
        "Action=SendMessage&Version=2012-11-05",
    )
}

/// The template of a successful response of a service integration.
pub fn empty_response() -> String {
    "{}".into()
}

/// The template of a failed call to the integrated service: a generic 500 body.
pub fn error_response() -> String {
    "{\"message\": \"Internal server error\"}".into()
}

/// The template answering a 4xx of the integrated service: a checked path parameter did
/// not match, or the service refused a value of the request.
pub fn rejected_response(service: Service, checks: &[PathCheck]) -> String {
    let (refused, such) = match service {
        Service::Sqs => (
            "the queue refused a value taken from it",
            "a control character or an over-long value",
        ),
        Service::EventBridge => (
            "the event bus refused a value taken from it",
            "an over-long value",
        ),
    };
    let message = if checks.is_empty() {
        format!("{refused} (such as {such})")
    } else {
        let rules: Vec<String> = checks
            .iter()
            .map(|c| format!("path parameter {} must be {}", c.param, c.description))
            .collect();
        format!("{} (or {refused}, such as {such})", rules.join("; "))
    };
    format!("{{\"message\": \"Invalid request: {message}\"}}")
}

/// Form-encodes a constant (already restricted by [`is_safe_constant`]).
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Loc, Name, Sp};
    use std::collections::BTreeMap;

    fn sp<T>(v: T) -> Sp<T> {
        Sp::new(v, Loc::default())
    }

    #[test]
    fn put_events_reads_the_caller_from_the_claims_and_escapes_twice() {
        let mut detail = BTreeMap::new();
        detail.insert("userId".to_string(), sp(ValueSource::Caller));
        detail.insert("line1".to_string(), sp(ValueSource::Body("line1".into())));
        let p = PutEvents {
            bus: sp(Name::new("AddressBus").unwrap()),
            source: "customer-profile".into(),
            detail_type: "address.added".into(),
            detail,
        };
        let t = put_events_request(&p, "${AddressBus}", Some(CallerSource::CognitoClaims), &[]);
        assert!(t.contains(
            "\\\"userId\\\":\\\"$util.escapeJavaScript($util.escapeJavaScript($context.authorizer.claims.sub).replaceAll(\"\\\\'\", \"'\")).replaceAll(\"\\\\'\", \"'\")\\\""
        ), "{t}");
        assert!(!t.replace("${AddressBus}", "").contains("${"));
    }

    #[test]
    fn a_4xx_of_the_service_is_400_with_a_json_message_and_a_5xx_is_500() {
        for service in [Service::Sqs, Service::EventBridge] {
            let responses = integration_responses(service, &[]);
            let by_pattern = |p: Option<&str>| {
                responses
                    .iter()
                    .find(|r| r.selection_pattern == p)
                    .map(|r| (r.status, r.template.clone()))
            };
            assert_eq!(by_pattern(Some("4\\d{2}")).map(|r| r.0), Some(400));
            assert_eq!(by_pattern(Some("5\\d{2}")), Some((500, error_response())));
            assert_eq!(by_pattern(None).map(|r| r.0), Some(200));
            assert_eq!(responses.len(), 3);
            let body: serde_json::Value =
                serde_json::from_str(&rejected_response(service, &[])).unwrap();
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Invalid request: ")
            );
            assert!(!rejected_response(service, &[]).contains('$'));
        }
    }

    #[test]
    fn send_message_is_form_encoded() {
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "CommandName".to_string(),
            sp(ValueSource::Value("AddFavorite".into())),
        );
        attributes.insert("UserId".to_string(), sp(ValueSource::Caller));
        let s = SendMessage {
            queue: sp(Name::new("FavoritesQueue").unwrap()),
            body: sp(ValueSource::Body("restaurantId".into())),
            attributes,
        };
        assert_eq!(
            send_message_request(&s, Some(CallerSource::CognitoClaims), &[]),
            "Action=SendMessage&Version=2012-11-05&MessageBody=$util.urlEncode($input.path('$.restaurantId'))\
             &MessageAttribute.1.Name=CommandName&MessageAttribute.1.Value.DataType=String\
             &MessageAttribute.1.Value.StringValue=AddFavorite\
             &MessageAttribute.2.Name=UserId&MessageAttribute.2.Value.DataType=String\
             &MessageAttribute.2.Value.StringValue=$util.urlEncode($context.authorizer.claims.sub)"
        );
    }
}
