//! The service integrations (EventBridge `PutEvents`, SQS `SendMessage`), natively.
//!
//! On AWS these routes run the mapping templates [`stackgen::vtl`] renders from the model's
//! typed integration. Here the same typed integration is turned into the same request
//! without a template engine, in two steps so the first can be checked against the templates
//! (`stackgen/tests/gateway_parity.rs` runs both on hostile input):
//!
//! 1. [`put_events_entry`] / [`send_message_request`] build a plain value, exactly what the
//!    rendered template would make AWS receive: the `Detail` text is what
//!    `$util.escapeJavaScript(..).replaceAll("\\'", "'")` writes (see [`escape_javascript`]),
//!    so it is equal as text, not just as parsed JSON.
//! 2. [`send_put_events`] / [`send_send_message`] send that value with the SDK client, and
//!    [`answer`] turns the outcome into the status and body the rendered integration
//!    responses give ([`vtl::integration_responses`]): 200 `{}`, 400 with a JSON message when
//!    the service refused the request (a 4xx), 500 when it failed.
//!
//! moto is laxer than SQS: it takes any character in a message. [`send_send_message`]
//! therefore applies SQS's own rule first ([`sqs_refuses`]), so a value SQS would answer 400
//! for (a NUL in a restaurant id taken from the path, say) is a 400 here too.
//!
//! A value comes from where [`ValueSource`] says, with the templates' reading of a missing
//! value (an empty string, as Velocity prints a null): a body field is
//! `$input.path('$.field')` (a `.` in the name walks into nested objects), a path parameter
//! `$input.params().path.get(..)`, the caller the authorizer's `sub`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use stackgen::model::{PutEvents, SendMessage, ValueSource};
use stackgen::vtl::{self, PathCheck, Service};

/// What a request offers to an integration's values.
#[derive(Debug, Clone, Copy)]
pub struct RequestValues<'a> {
    /// The body parsed as JSON; `None` when there is none or it is not JSON.
    pub body: Option<&'a Value>,
    /// Path parameters, decoded.
    pub path: &'a BTreeMap<String, String>,
    /// The caller's `sub` as the route's authorizer gives it (`claims.sub` of a Cognito
    /// authorizer, `principalId` of a Lambda one).
    pub caller: Option<&'a str>,
    /// The gateway's id of the request (`$context.requestId`).
    pub request_id: &'a str,
    /// When the gateway received the request, in ms since the epoch
    /// (`$context.requestTimeEpoch`).
    pub request_time_epoch: i64,
}

/// One `PutEvents` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEventsEntry {
    /// `EventBusName`: the bus's physical name.
    pub bus: String,
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: String,
    /// `Detail`: a JSON object as text.
    pub detail: String,
}

/// One `SendMessage` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessageRequest {
    /// The queue's URL.
    pub queue_url: String,
    /// `MessageBody`.
    pub body: String,
    /// String message attributes by name.
    pub attributes: BTreeMap<String, String>,
}

/// Why an integration's request could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// A body field holds something other than a string or null; the body model of every
    /// route that reads one requires a string, so the request never gets here.
    #[error("body field `{0}` is not a string")]
    NotAString(String),
    /// The service refused the call as sent, with a 4xx: a value of the request it does not
    /// accept (or, as on AWS, a deployment it cannot serve, such as a deleted queue).
    #[error("{service} {operation} refused the request ({status}): {message}")]
    Rejected {
        /// `EventBridge` or `SQS`.
        service: &'static str,
        /// The operation.
        operation: &'static str,
        /// The HTTP status the service answered (or would answer) with.
        status: u16,
        /// The service's error, with its causes.
        message: String,
    },
    /// The service failed (a 5xx) or could not be reached.
    #[error("{service} {operation} failed: {message}")]
    Service {
        /// `EventBridge` or `SQS`.
        service: &'static str,
        /// The operation.
        operation: &'static str,
        /// The SDK's error, with its causes.
        message: String,
    },
    /// EventBridge accepted the call but failed the entry.
    #[error("EventBridge failed the entry: {code}: {message}")]
    FailedEntry {
        /// `ErrorCode` of the entry.
        code: String,
        /// `ErrorMessage` of the entry.
        message: String,
    },
}

/// The raw string of a value, or `None` for the templates' null (printed as empty).
fn raw<'a>(
    source: &'a ValueSource,
    values: &RequestValues<'a>,
) -> Result<Option<Cow<'a, str>>, IntegrationError> {
    let borrowed = |s: Option<&'a str>| s.map(Cow::Borrowed);
    Ok(match source {
        ValueSource::Caller => borrowed(values.caller),
        ValueSource::Value(v) => Some(Cow::Borrowed(v)),
        ValueSource::Path(p) => borrowed(values.path.get(p).map(String::as_str)),
        ValueSource::RequestId => Some(Cow::Borrowed(values.request_id)),
        ValueSource::RequestTime => Some(Cow::Owned(values.request_time_epoch.to_string())),
        ValueSource::Body(field) => {
            let mut at = values.body;
            for key in field.split('.') {
                at = at.and_then(|v| v.as_object()).and_then(|o| o.get(key));
            }
            match at {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
                Some(_) => return Err(IntegrationError::NotAString(field.clone())),
            }
        }
    })
}

/// The `PutEvents` entry the rendered request template makes for this request.
pub fn put_events_entry(
    p: &PutEvents,
    bus: &str,
    values: &RequestValues<'_>,
) -> Result<PutEventsEntry, IntegrationError> {
    let mut detail = String::from("{");
    for (i, (name, source)) in p.detail.iter().enumerate() {
        if i > 0 {
            detail.push(',');
        }
        detail.push('"');
        detail.push_str(name);
        detail.push_str("\":\"");
        match &source.value {
            // Constants are checked to need no escaping, and the template writes them as is.
            ValueSource::Value(v) => detail.push_str(v),
            other => {
                if let Some(s) = raw(other, values)? {
                    escape_javascript_into(&s, &mut detail);
                }
            }
        }
        detail.push('"');
    }
    detail.push('}');
    Ok(PutEventsEntry {
        bus: bus.to_owned(),
        source: p.source.clone(),
        detail_type: p.detail_type.clone(),
        detail,
    })
}

/// The `SendMessage` request the rendered request template makes for this request.
pub fn send_message_request(
    s: &SendMessage,
    queue_url: &str,
    values: &RequestValues<'_>,
) -> Result<SendMessageRequest, IntegrationError> {
    let text =
        |source: &ValueSource| raw(source, values).map(|v| v.unwrap_or_default().into_owned());
    let mut attributes = BTreeMap::new();
    for (name, source) in &s.attributes {
        attributes.insert(name.clone(), text(&source.value)?);
    }
    Ok(SendMessageRequest {
        queue_url: queue_url.to_owned(),
        body: text(&s.body.value)?,
        attributes,
    })
}

/// The status and body API Gateway answers a service integration's outcome with, as the
/// integration responses of [`vtl::integration_responses`] make them for a route with
/// `checks`: 200 `{}` on success, 400 [`vtl::rejected_response`] when the service refused
/// the request, else 500 [`vtl::error_response`].
pub fn answer(
    service: Service,
    checks: &[PathCheck],
    outcome: &Result<(), IntegrationError>,
) -> (u16, String) {
    match outcome {
        Ok(()) => (200, vtl::empty_response()),
        Err(IntegrationError::Rejected { .. }) => (400, vtl::rejected_response(service, checks)),
        Err(_) => (500, vtl::error_response()),
    }
}

/// A route's checked path parameters, with their patterns compiled.
pub struct PathGuards {
    checks: Vec<PathCheck>,
    patterns: Vec<jsonschema::Validator>,
}

impl PathGuards {
    /// Compiles each check's pattern (ECMA 262, anchored: the checks made sure).
    pub fn new(checks: Vec<PathCheck>) -> Result<Self, String> {
        let patterns = checks
            .iter()
            .map(|c| {
                jsonschema::draft4::new(&PathCheck::schema(&c.pattern)).map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        Ok(PathGuards { checks, patterns })
    }

    /// The checks, for the route's 400 ([`answer`]).
    pub fn checks(&self) -> &[PathCheck] {
        &self.checks
    }

    /// Refuses the request as the guarded mapping template makes the service refuse it (a
    /// 4xx, nothing put or sent) when a checked path parameter does not match its pattern.
    pub fn check(
        &self,
        service: Service,
        path: &BTreeMap<String, String>,
    ) -> Result<(), IntegrationError> {
        for (c, pattern) in self.checks.iter().zip(&self.patterns) {
            let value = path.get(&c.param).map_or("", String::as_str);
            if !pattern.is_valid(&Value::String(value.to_owned())) {
                let (service, operation) = match service {
                    Service::EventBridge => ("EventBridge", "PutEvents"),
                    Service::Sqs => ("SQS", "SendMessage"),
                };
                return Err(IntegrationError::Rejected {
                    service,
                    operation,
                    status: 400,
                    message: format!(
                        "path parameter `{}` does not match `{}`",
                        c.param, c.pattern
                    ),
                });
            }
        }
        Ok(())
    }
}

impl IntegrationError {
    /// The error of a call the service answered with `status`, or did not answer (`None`):
    /// [`Rejected`](Self::Rejected) for a 4xx, else [`Service`](Self::Service).
    pub fn from_status(
        service: &'static str,
        operation: &'static str,
        status: Option<u16>,
        message: String,
    ) -> Self {
        match status {
            Some(status @ 400..=499) => Self::Rejected {
                service,
                operation,
                status,
                message,
            },
            _ => Self::Service {
                service,
                operation,
                message,
            },
        }
    }
}

/// Why SQS refuses `value` as a message body or string attribute value (it answers 400),
/// or `None` when it takes it: it must not be empty, and may only hold the characters
/// `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`.
pub fn sqs_refuses(value: &str) -> Option<String> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    if value.is_empty() {
        return Some("it is empty".into());
    }
    value.chars().find(|c| !allowed(*c)).map(|c| {
        format!(
            "invalid character #x{:X}; allowed are #x9 | #xA | #xD | #x20 to #xD7FF | \
             #xE000 to #xFFFD | #x10000 to #x10FFFF",
            u32::from(c)
        )
    })
}

/// Refuses the message as SQS would (400) when its body or an attribute value breaks SQS's
/// rule ([`sqs_refuses`]); moto does not check it.
pub fn check_sqs_message(request: &SendMessageRequest) -> Result<(), IntegrationError> {
    let values = std::iter::once(("the message body", &request.body)).chain(
        request
            .attributes
            .iter()
            .map(|(name, v)| (name.as_str(), v)),
    );
    for (what, value) in values {
        if let Some(why) = sqs_refuses(value) {
            return Err(IntegrationError::Rejected {
                service: "SQS",
                operation: "SendMessage",
                status: 400,
                message: format!("{what}: {why}"),
            });
        }
    }
    Ok(())
}

/// `$util.escapeJavaScript(s).replaceAll("\\'", "'")`: Apache Commons Lang 2's
/// `escapeJavaScript` on UTF-16 code units, without the `\'` JSON does not allow.
pub fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_javascript_into(s, &mut out);
    out
}

fn escape_javascript_into(s: &str, out: &mut String) {
    use std::fmt::Write;
    for c in s.chars() {
        match c {
            '"' | '\\' | '/' => {
                out.push('\\');
                out.push(c);
            }
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c if (c as u32) <= 0x7f => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
        }
    }
}

/// Puts the entry on its bus; `Ok` only when EventBridge accepted it (`FailedEntryCount` 0),
/// as the rendered response template answers 200 only then.
pub async fn send_put_events(
    client: &aws_sdk_eventbridge::Client,
    entry: &PutEventsEntry,
) -> Result<(), IntegrationError> {
    let request = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(&entry.bus)
        .source(&entry.source)
        .detail_type(&entry.detail_type)
        .detail(&entry.detail)
        .build();
    let output = client
        .put_events()
        .entries(request)
        .send()
        .await
        .map_err(|e| {
            let status = e.raw_response().map(|r| r.status().as_u16());
            IntegrationError::from_status("EventBridge", "PutEvents", status, chain(&e))
        })?;
    if output.failed_entry_count() > 0 {
        let first = output.entries().iter().find(|e| e.error_code().is_some());
        return Err(IntegrationError::FailedEntry {
            code: first
                .and_then(|e| e.error_code())
                .unwrap_or_default()
                .to_owned(),
            message: first
                .and_then(|e| e.error_message())
                .unwrap_or_default()
                .to_owned(),
        });
    }
    Ok(())
}

/// Sends the message with its string attributes; a body or attribute value SQS would refuse
/// ([`sqs_refuses`]) is refused here without a call, as SQS would with a 400.
pub async fn send_send_message(
    client: &aws_sdk_sqs::Client,
    request: &SendMessageRequest,
) -> Result<(), IntegrationError> {
    let failed = |message: String| IntegrationError::Service {
        service: "SQS",
        operation: "SendMessage",
        message,
    };
    check_sqs_message(request)?;
    let mut call = client
        .send_message()
        .queue_url(&request.queue_url)
        .message_body(&request.body);
    for (name, value) in &request.attributes {
        let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| failed(e.to_string()))?;
        call = call.message_attributes(name, attribute);
    }
    call.send().await.map_err(|e| {
        let status = e.raw_response().map(|r| r.status().as_u16());
        IntegrationError::from_status("SQS", "SendMessage", status, chain(&e))
    })?;
    Ok(())
}

/// A route's service integration, with the resolved bus or queue and the client to call.
pub enum ServiceTarget {
    /// EventBridge `PutEvents` on `bus`.
    PutEvents {
        /// What the model says to put.
        spec: PutEvents,
        /// The bus's name in the endpoint.
        bus: String,
        /// The client for the endpoint.
        client: aws_sdk_eventbridge::Client,
        /// Its checked path parameters.
        guards: PathGuards,
    },
    /// SQS `SendMessage` to `queue_url`.
    SendMessage {
        /// What the model says to send.
        spec: SendMessage,
        /// The queue's URL in the endpoint.
        queue_url: String,
        /// The client for the endpoint.
        client: aws_sdk_sqs::Client,
        /// Its checked path parameters.
        guards: PathGuards,
    },
}

impl ServiceTarget {
    /// The AWS service it calls, which picks the rendered integration responses.
    pub fn service(&self) -> Service {
        match self {
            ServiceTarget::PutEvents { .. } => Service::EventBridge,
            ServiceTarget::SendMessage { .. } => Service::Sqs,
        }
    }

    /// The route's checked path parameters.
    pub fn guards(&self) -> &PathGuards {
        match self {
            ServiceTarget::PutEvents { guards, .. } | ServiceTarget::SendMessage { guards, .. } => {
                guards
            }
        }
    }

    /// Builds the request the rendered request template makes for `values` and sends it.
    pub async fn send(&self, values: &RequestValues<'_>) -> Result<(), IntegrationError> {
        self.guards().check(self.service(), values.path)?;
        match self {
            ServiceTarget::PutEvents {
                spec, bus, client, ..
            } => send_put_events(client, &put_events_entry(spec, bus, values)?).await,
            ServiceTarget::SendMessage {
                spec,
                queue_url,
                client,
                ..
            } => send_send_message(client, &send_message_request(spec, queue_url, values)?).await,
        }
    }
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stackgen::model::{Loc, Name, Sp};

    fn sp<T>(v: T) -> Sp<T> {
        Sp::new(v, Loc::default())
    }

    fn put_events() -> PutEvents {
        let mut detail = BTreeMap::new();
        detail.insert("userId".to_string(), sp(ValueSource::Caller));
        detail.insert("line1".to_string(), sp(ValueSource::Body("line1".into())));
        detail.insert(
            "addressId".to_string(),
            sp(ValueSource::Path("addressId".into())),
        );
        detail.insert("kind".to_string(), sp(ValueSource::Value("home".into())));
        PutEvents {
            bus: sp(Name::new("AddressBus").unwrap()),
            source: "customer-profile".into(),
            detail_type: "address.added".into(),
            detail,
        }
    }

    #[test]
    fn escaping_follows_commons_lang_without_the_single_quote() {
        assert_eq!(escape_javascript("a'b\"c\\d/e"), "a'b\\\"c\\\\d\\/e");
        assert_eq!(
            escape_javascript("\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}"),
            "\\n\\r\\t\\b\\f\\u0000\\u001F\u{7f}"
        );
        assert_eq!(escape_javascript("é😀"), "\\u00E9\\uD83D\\uDE00");
    }

    #[test]
    fn the_detail_takes_the_caller_from_the_authorizer_and_fields_in_name_order() {
        let body = json!({"line1": "1 \"Main\" St", "userId": "evil"});
        let path = BTreeMap::from([("addressId".to_string(), "a/1".to_string())]);
        let values = RequestValues {
            body: Some(&body),
            path: &path,
            caller: Some("sub-1"),
            request_id: "req-1",
            request_time_epoch: 1_764_118_923_456,
        };
        let entry = put_events_entry(&put_events(), "bus-1", &values).unwrap();
        assert_eq!(entry.bus, "bus-1");
        assert_eq!(
            entry.detail,
            r#"{"addressId":"a\/1","kind":"home","line1":"1 \"Main\" St","userId":"sub-1"}"#
        );
        let parsed: Value = serde_json::from_str(&entry.detail).unwrap();
        assert_eq!(parsed["userId"], "sub-1");
    }

    #[test]
    fn a_missing_value_is_empty_and_a_non_string_field_is_an_error() {
        let path = BTreeMap::new();
        let values = RequestValues {
            body: None,
            path: &path,
            caller: None,
            request_id: "req-1",
            request_time_epoch: 1_764_118_923_456,
        };
        let entry = put_events_entry(&put_events(), "b", &values).unwrap();
        assert_eq!(
            entry.detail,
            r#"{"addressId":"","kind":"home","line1":"","userId":""}"#
        );
        let body = json!({"line1": 5});
        let values = RequestValues {
            body: Some(&body),
            path: &path,
            caller: None,
            request_id: "req-1",
            request_time_epoch: 1_764_118_923_456,
        };
        assert!(matches!(
            put_events_entry(&put_events(), "b", &values),
            Err(IntegrationError::NotAString(f)) if f == "line1"
        ));
    }

    #[test]
    fn a_dotted_body_field_walks_into_objects() {
        let mut detail = BTreeMap::new();
        detail.insert(
            "city".to_string(),
            sp(ValueSource::Body("address.city".into())),
        );
        let p = PutEvents {
            detail,
            ..put_events()
        };
        let body = json!({"address": {"city": "Paris"}, "address.city": "evil"});
        let path = BTreeMap::new();
        let values = RequestValues {
            body: Some(&body),
            path: &path,
            caller: None,
            request_id: "req-1",
            request_time_epoch: 1_764_118_923_456,
        };
        assert_eq!(
            put_events_entry(&p, "b", &values).unwrap().detail,
            r#"{"city":"Paris"}"#
        );
    }

    #[test]
    fn sqs_refuses_empty_values_and_the_characters_it_does_not_allow() {
        assert_eq!(
            sqs_refuses("r-1 é 😀 \t\n\r \u{7f}\u{85}\u{fffd}\u{10ffff}"),
            None
        );
        assert_eq!(sqs_refuses("").as_deref(), Some("it is empty"));
        for c in [
            '\u{0}', '\u{8}', '\u{b}', '\u{c}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ] {
            let why = sqs_refuses(&format!("a{c}b")).unwrap_or_default();
            assert!(
                why.starts_with(&format!("invalid character #x{:X};", u32::from(c))),
                "{c:?}: {why}"
            );
        }
    }

    #[test]
    fn a_refusal_is_400_with_a_json_message_and_a_failure_500() {
        let refused = || {
            Err(IntegrationError::Rejected {
                service: "SQS",
                operation: "SendMessage",
                status: 400,
                message: "x".into(),
            })
        };
        assert_eq!(answer(Service::Sqs, &[], &Ok(())), (200, "{}".to_string()));
        assert_eq!(
            answer(Service::Sqs, &[], &refused()),
            (400, vtl::rejected_response(Service::Sqs, &[]))
        );
        assert_eq!(
            answer(Service::EventBridge, &[], &refused()),
            (400, vtl::rejected_response(Service::EventBridge, &[]))
        );
        for failed in [
            IntegrationError::from_status("SQS", "SendMessage", Some(500), "x".into()),
            IntegrationError::from_status("SQS", "SendMessage", None, "x".into()),
            IntegrationError::FailedEntry {
                code: "c".into(),
                message: "m".into(),
            },
            IntegrationError::NotAString("f".into()),
        ] {
            assert_eq!(
                answer(Service::EventBridge, &[], &Err(failed)),
                (500, vtl::error_response())
            );
        }
        assert!(matches!(
            IntegrationError::from_status("SQS", "SendMessage", Some(403), "x".into()),
            IntegrationError::Rejected { status: 403, .. }
        ));
    }

    #[test]
    fn a_message_carries_the_raw_strings() {
        let s = SendMessage {
            queue: sp(Name::new("FavoritesQueue").unwrap()),
            body: sp(ValueSource::Body("restaurantId".into())),
            attributes: BTreeMap::from([
                (
                    "CommandName".to_string(),
                    sp(ValueSource::Value("AddFavorite".into())),
                ),
                ("UserId".to_string(), sp(ValueSource::Caller)),
                ("RequestTime".to_string(), sp(ValueSource::RequestTime)),
                ("RequestId".to_string(), sp(ValueSource::RequestId)),
            ]),
        };
        let body = json!({"restaurantId": "r&1 é"});
        let path = BTreeMap::new();
        let values = RequestValues {
            body: Some(&body),
            path: &path,
            caller: Some("u-1"),
            request_id: "req-1",
            request_time_epoch: 1_764_118_923_456,
        };
        let request = send_message_request(&s, "http://q", &values).unwrap();
        assert_eq!(request.body, "r&1 é");
        assert_eq!(request.attributes["CommandName"], "AddFavorite");
        assert_eq!(request.attributes["UserId"], "u-1");
        assert_eq!(request.attributes["RequestTime"], "1764118923456");
        assert_eq!(request.attributes["RequestId"], "req-1");
        assert_eq!(request.queue_url, "http://q");
    }
}
