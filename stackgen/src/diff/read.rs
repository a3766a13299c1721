//! Reads a rendered template back into JSON, CloudFormation's short-form tags (`!Ref X`,
//! `!GetAtt X.Arn`, `!Sub ...`) turned into their long form (`{"Ref": "X"}`), so two
//! templates compare as values, not as text.

use granit_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Value};

/// Why a template could not be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ReadError {
    line: usize,
    message: String,
}

/// A collection being read, with the intrinsic tag it carries, if any.
enum Open {
    Seq(Vec<Value>, Option<String>),
    Map(Map<String, Value>, Option<String>, Option<String>),
}

/// The template in `text` as JSON.
pub fn template(text: &str) -> Result<Value, ReadError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| ReadError {
            line: e.marker().line(),
            message: e.info().to_string(),
        })?;
        let line = span.start.line();
        let done = match event {
            Event::Scalar(text, style, _, tag) => {
                Some(intrinsic(tag.as_deref(), scalar(&text, style)))
            }
            Event::SequenceStart(_, _, tag) => {
                stack.push(Open::Seq(Vec::new(), intrinsic_name(tag.as_deref())));
                None
            }
            Event::MappingStart(_, _, tag) => {
                stack.push(Open::Map(Map::new(), None, intrinsic_name(tag.as_deref())));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq(items, tag)) => Some(wrap(tag, Value::Array(items))),
                Some(Open::Map(map, _, tag)) => Some(wrap(tag, Value::Object(map))),
                None => None,
            },
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                return Err(ReadError {
                    line,
                    message: "aliases are not used in templates".into(),
                });
            }
            _ => None,
        };
        let Some(value) = done else { continue };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Open::Seq(items, _)) => items.push(value),
            Some(Open::Map(_, key @ None, _)) => match value {
                Value::String(k) => *key = Some(k),
                other => *key = Some(other.to_string()),
            },
            Some(Open::Map(map, key, _)) => {
                if let Some(k) = key.take() {
                    map.insert(k, value);
                }
            }
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

/// A scalar as JSON: quoted and block scalars are strings; a plain one is a boolean,
/// a number or null when it reads as one.
fn scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" | "~" | "" => Value::Null,
        _ => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(text.to_owned())),
    }
}

/// The intrinsic function a local tag names (`!Ref` → `Ref`, `!Sub` → `Fn::Sub`).
fn intrinsic_name(tag: Option<&Tag>) -> Option<String> {
    let tag = tag.filter(|t| t.handle() == "!")?;
    Some(match tag.suffix() {
        "Ref" | "Condition" => tag.suffix().to_owned(),
        other => format!("Fn::{other}"),
    })
}

/// A tagged scalar in long form; `!GetAtt X.Y` becomes `{"Fn::GetAtt": ["X", "Y"]}`.
fn intrinsic(tag: Option<&Tag>, value: Value) -> Value {
    let name = intrinsic_name(tag);
    if name.as_deref() == Some("Fn::GetAtt")
        && let Value::String(s) = &value
        && let Some((resource, attribute)) = s.split_once('.')
    {
        return serde_json::json!({"Fn::GetAtt": [resource, attribute]});
    }
    wrap(name, value)
}

fn wrap(name: Option<String>, value: Value) -> Value {
    match name {
        Some(name) => Value::Object(Map::from_iter([(name, value)])),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_form_tags_read_as_their_long_form() {
        let text = r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 128
      Tracing: "Active"
      Environment:
        Variables:
          TABLE: !Ref Table
          URL: !If
            - "UsesLocalEndpoint"
            - !Ref LocalEndpoint
            - !Ref AWS::NoValue
      DeadLetterQueue: { Type: SQS, TargetArn: !GetAtt Queue.Arn }
      Name: !Sub "${AWS::StackName}-fn"
      Flags: [true, null]
Conditions:
  Set: !Not [!Equals [!Ref P, ""]]
"#;
        let value = template(text).unwrap();
        let props = &value["Resources"]["Fn"]["Properties"];
        assert_eq!(props["MemorySize"], json!(128));
        assert_eq!(
            props["Environment"]["Variables"]["TABLE"],
            json!({"Ref": "Table"})
        );
        assert_eq!(
            props["Environment"]["Variables"]["URL"],
            json!({"Fn::If": ["UsesLocalEndpoint", {"Ref": "LocalEndpoint"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            props["DeadLetterQueue"]["TargetArn"],
            json!({"Fn::GetAtt": ["Queue", "Arn"]})
        );
        assert_eq!(props["Name"], json!({"Fn::Sub": "${AWS::StackName}-fn"}));
        assert_eq!(props["Flags"], json!([true, null]));
        assert_eq!(
            value["Conditions"]["Set"],
            json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]})
        );
    }

    #[test]
    fn every_rendered_template_reads_back() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let value = template(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(value["Resources"].is_object(), "{}", path.display());
            }
        }
    }
}
