//! Writes JSON values as CloudFormation YAML, for the template filters `cfn` and `yaml`.
//!
//! Values that the view-model builds (environment maps, policies, OpenAPI bodies, event
//! patterns) are plain `serde_json::Value`s holding CloudFormation's JSON form of intrinsic
//! functions (`{"Ref": "X"}`, `{"Fn::GetAtt": ["X", "Arn"]}`, `{"Fn::Sub": ...}`). This module
//! prints them in the short form people read (`!Ref X`, `!GetAtt X.Arn`, `!Sub ...`).
//!
//! Conventions: map keys are always printed sorted (the output must not depend on how a
//! `serde_json::Map` orders keys in a given build); strings are JSON-quoted, which is valid
//! YAML, except multi-line strings, which become literal blocks (`|-`) when that is exact.

use serde_json::Value;

/// One value in flow style on a single line: `!Ref UsersTable`, `"text"`, `[1, 2]`.
pub fn inline(value: &Value) -> String {
    if let Some(tagged) = intrinsic_inline(value) {
        return tagged;
    }
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            if map.is_empty() {
                return "{}".into();
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}: {}", key(k), inline(&map[k])))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// A value as it follows `Key:` in block style: either ` scalar` on the same line, or a
/// newline and the entries indented by `indent` spaces.
pub fn block(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    if let Some((tag, arg)) = intrinsic(value) {
        if let Some(short) = intrinsic_inline(value)
            && (!is_multiline(arg) && !arg.is_array() || tag == "!GetAtt")
        {
            return format!(" {short}");
        }
        return format!(" {tag}{}", block(arg, indent));
    }
    match value {
        Value::String(s) if is_multiline(value) => {
            literal(s, &pad).unwrap_or_else(|| format!(" {}", quote(s)))
        }
        Value::Array(items) if !items.is_empty() => {
            let mut out = String::new();
            for item in items {
                out.push('\n');
                out.push_str(&pad);
                out.push('-');
                out.push_str(&seq_item(item, indent + 2));
            }
            out
        }
        Value::Object(map) if !map.is_empty() && intrinsic(value).is_none() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = String::new();
            for k in keys {
                out.push('\n');
                out.push_str(&pad);
                out.push_str(&key(k));
                out.push(':');
                out.push_str(&block(&map[k], indent + 2));
            }
            out
        }
        other => format!(" {}", inline(other)),
    }
}

/// A sequence item after `-`: a map's first entry goes on the dash's line.
fn seq_item(item: &Value, indent: usize) -> String {
    let body = block(item, indent);
    let pad = format!("\n{}", " ".repeat(indent));
    match item {
        Value::Object(map) if !map.is_empty() && intrinsic(item).is_none() => {
            format!(" {}", body.strip_prefix(&pad).unwrap_or(&body))
        }
        _ => body,
    }
}

fn intrinsic(value: &Value) -> Option<(&'static str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (k, v) = map.iter().next()?;
    let tag = match k.as_str() {
        "Ref" => "!Ref",
        "Fn::GetAtt" => "!GetAtt",
        "Fn::Sub" => "!Sub",
        "Fn::Join" => "!Join",
        "Fn::Select" => "!Select",
        "Fn::Split" => "!Split",
        "Fn::If" => "!If",
        "Fn::Equals" => "!Equals",
        "Fn::Not" => "!Not",
        "Fn::ImportValue" => "!ImportValue",
        "Fn::GetAZs" => "!GetAZs",
        "Fn::Base64" => "!Base64",
        _ => return None,
    };
    Some((tag, v))
}

fn intrinsic_inline(value: &Value) -> Option<String> {
    let (tag, arg) = intrinsic(value)?;
    match (tag, arg) {
        ("!Ref", Value::String(name)) if is_plain(name) => Some(format!("!Ref {name}")),
        ("!GetAtt", Value::Array(parts)) if parts.len() == 2 => {
            let (a, b) = (parts[0].as_str()?, parts[1].as_str()?);
            let joined = format!("{a}.{b}");
            Some(if is_plain(&joined) {
                format!("!GetAtt {joined}")
            } else {
                format!("!GetAtt {}", quote(&joined))
            })
        }
        (tag, arg) => Some(format!("{tag} {}", inline(arg))),
    }
}

fn is_multiline(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\n'),
        Value::Array(items) => items.iter().any(is_multiline),
        Value::Object(map) => map.values().any(is_multiline),
        _ => false,
    }
}

/// A literal block scalar (`|-` or `|`), when it reproduces `s` exactly.
fn literal(s: &str, pad: &str) -> Option<String> {
    let body = s.strip_suffix('\n').unwrap_or(s);
    let chomp = if body.len() == s.len() { "|-" } else { "|" };
    let printable = s
        .chars()
        .all(|c| c == '\n' || (!c.is_control() && c != '\u{feff}'));
    let clean_lines = body
        .lines()
        .all(|l| !l.ends_with(' ') && !l.ends_with('\t'));
    let starts_ok = !body.starts_with(' ') && !body.starts_with('\t') && !body.starts_with('\n');
    if body.ends_with('\n') || !printable || !clean_lines || !starts_ok {
        return None;
    }
    let mut out = format!(" {chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(pad);
            out.push_str(line);
        }
    }
    Some(out)
}

/// A double-quoted scalar (JSON's escapes are valid YAML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

const RESERVED: [&str; 13] = [
    "true", "false", "yes", "no", "on", "off", "null", "y", "n", "True", "False", "Yes", "No",
];

/// Whether a string can be written as a plain scalar without changing its meaning.
fn is_plain(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/' || c == '$');
    first_ok
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '$' | ':'))
        && !s.ends_with(':')
        && !s.contains(": ")
        && !RESERVED.contains(&s)
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

/// A mapping key: plain when safe, else quoted.
pub fn key(s: &str) -> String {
    if is_plain(s) { s.to_string() } else { quote(s) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_use_the_short_form() {
        assert_eq!(inline(&json!({"Ref": "UsersTable"})), "!Ref UsersTable");
        assert_eq!(
            inline(&json!({"Fn::GetAtt": ["Q", "Arn"]})),
            "!GetAtt Q.Arn"
        );
        assert_eq!(inline(&json!({"Fn::Sub": "${A}-b"})), "!Sub \"${A}-b\"");
    }

    #[test]
    fn maps_are_sorted_and_sequences_of_maps_are_compact() {
        let v = json!({"b": [{"w": 1, "v": 2}, "s"], "a": {"Ref": "X"}});
        assert_eq!(
            block(&v, 2),
            "\n  a: !Ref X\n  b:\n    - v: 2\n      w: 1\n    - \"s\""
        );
    }

    #[test]
    fn multi_line_strings_become_literal_blocks() {
        let v = json!({"t": {"Fn::Sub": "a\n  b"}});
        assert_eq!(block(&v, 0), "\nt: !Sub |-\n  a\n    b");
    }

    #[test]
    fn keys_that_would_change_meaning_are_quoted() {
        assert_eq!(key("200"), "\"200\"");
        assert_eq!(key("on"), "\"on\"");
        assert_eq!(key("/users/{userid}"), "\"/users/{userid}\"");
        assert_eq!(
            key("x-amazon-apigateway-integration"),
            "x-amazon-apigateway-integration"
        );
    }
}
