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
//! - Constants (source, detail-type, attribute names and constant values) are checked by
//!   `check` to hold only characters that mean nothing to VTL, JSON or form encoding.
//! - The templates contain no `${`, so they can sit inside `Fn::Sub` (which fills in the bus
//!   name) unchanged.

use crate::model::{PutEvents, SendMessage, ValueSource};

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
    }
}

/// Escapes once for the inside of a JSON string.
fn json_escaped(expr: &str) -> String {
    format!("$util.escapeJavaScript({expr}).replaceAll(\"\\\\'\", \"'\")")
}

/// The request template of an EventBridge `PutEvents` integration. `bus` is written as the
/// `EventBusName` (render passes `${Bus}` for `Fn::Sub` to fill in).
pub fn put_events_request(p: &PutEvents, bus: &str, caller: Option<CallerSource>) -> String {
    let mut fields = Vec::new();
    for (name, source) in &p.detail {
        let value = match &source.value {
            ValueSource::Value(v) => v.clone(),
            other => json_escaped(&json_escaped(&raw(other, caller))),
        };
        fields.push(format!("\\\"{name}\\\":\\\"{value}\\\""));
    }
    let detail = format!("{{{}}}", fields.join(","));
    [
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
    .join("\n")
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
pub fn send_message_request(s: &SendMessage, caller: Option<CallerSource>) -> String {
    let encode = |source: &ValueSource| match source {
        ValueSource::Value(v) => form_encode(v),
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
    parts.join("&")
}

/// The template of a successful response of a service integration.
pub fn empty_response() -> String {
    "{}".into()
}

/// The template of a failed call to the integrated service: a generic 500 body.
pub fn error_response() -> String {
    "{\"message\": \"Internal server error\"}".into()
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
        let t = put_events_request(&p, "${AddressBus}", Some(CallerSource::CognitoClaims));
        assert!(t.contains(
            "\\\"userId\\\":\\\"$util.escapeJavaScript($util.escapeJavaScript($context.authorizer.claims.sub).replaceAll(\"\\\\'\", \"'\")).replaceAll(\"\\\\'\", \"'\")\\\""
        ), "{t}");
        assert!(!t.replace("${AddressBus}", "").contains("${"));
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
            send_message_request(&s, Some(CallerSource::CognitoClaims)),
            "Action=SendMessage&Version=2012-11-05&MessageBody=$util.urlEncode($input.path('$.restaurantId'))\
             &MessageAttribute.1.Name=CommandName&MessageAttribute.1.Value.DataType=String\
             &MessageAttribute.1.Value.StringValue=AddFavorite\
             &MessageAttribute.2.Name=UserId&MessageAttribute.2.Value.DataType=String\
             &MessageAttribute.2.Value.StringValue=$util.urlEncode($context.authorizer.claims.sub)"
        );
    }
}
