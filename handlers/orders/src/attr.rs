//! Exact conversion between JSON values and DynamoDB attribute values.
//!
//! Written by hand because `serde_dynamo` routes numbers through `i64`/`f64` when reading
//! and writes `serde_json`'s arbitrary-precision numbers as a map: order amounts must keep
//! their exact decimal text (19.97 in, `N "19.97"` stored, 19.97 out). The idempotency
//! record, which holds only strings and integers, does use `serde_dynamo`.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

/// A stored attribute that has no JSON counterpart.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttrError {
    /// A binary or other non-JSON attribute type.
    #[error("attribute type {0} has no JSON counterpart")]
    Unsupported(String),
    /// An `N` attribute whose text is not a JSON number.
    #[error("stored number {0:?} is not a valid number")]
    BadNumber(String),
}

/// The attribute value for `value`: objects become `M`, arrays `L`, numbers `N` with their
/// exact text.
pub fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attr).collect()),
        Value::Object(map) => AttributeValue::M(to_attr_map(map)),
    }
}

/// The attribute map for a JSON object.
pub fn to_attr_map(map: &Map<String, Value>) -> HashMap<String, AttributeValue> {
    map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

/// The JSON value of a stored attribute; map keys come out sorted.
pub fn from_attr(attr: &AttributeValue) -> Result<Value, AttrError> {
    Ok(match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => Value::Number(number(n)?),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(items) => {
            Value::Array(items.iter().map(from_attr).collect::<Result<_, _>>()?)
        }
        AttributeValue::M(map) => Value::Object(from_attr_map(map)?),
        AttributeValue::Ss(items) => {
            Value::Array(items.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(items) => Value::Array(
            items
                .iter()
                .map(|n| number(n).map(Value::Number))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(AttrError::Unsupported(
                format!("{other:?}").chars().take(16).collect(),
            ));
        }
    })
}

/// The JSON object of a stored attribute map, keys sorted.
pub fn from_attr_map(
    map: &HashMap<String, AttributeValue>,
) -> Result<Map<String, Value>, AttrError> {
    // The SDK hands maps over as a HashMap; sorting keeps every read spelled the same.
    let mut entries: Vec<(&String, &AttributeValue)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Map::new();
    for (k, v) in entries {
        out.insert(k.clone(), from_attr(v)?);
    }
    Ok(out)
}

fn number(text: &str) -> Result<Number, AttrError> {
    Number::from_str(text).map_err(|_| AttrError::BadNumber(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_stored_with_their_exact_text() {
        let v: Value = serde_json::from_str("19.97").unwrap();
        assert_eq!(to_attr(&v), AttributeValue::N("19.97".into()));
        let v: Value = serde_json::from_str("12345678901234567890.123456789").unwrap();
        assert_eq!(
            to_attr(&v),
            AttributeValue::N("12345678901234567890.123456789".into())
        );
    }

    #[test]
    fn a_json_document_round_trips_exactly() {
        let text = r#"{"a":[1,2.50,{"b":null,"c":true}],"d":"x","e":0.1}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let back = from_attr(&to_attr(&v)).unwrap();
        assert_eq!(back.to_string(), text);
    }

    #[test]
    fn binary_attributes_are_refused() {
        let b = AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![1]));
        assert!(matches!(from_attr(&b), Err(AttrError::Unsupported(_))));
    }

    #[test]
    fn a_malformed_stored_number_is_an_error() {
        assert_eq!(
            from_attr(&AttributeValue::N("abc".into())),
            Err(AttrError::BadNumber("abc".into()))
        );
    }
}
