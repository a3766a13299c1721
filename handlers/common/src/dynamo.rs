//! Exact conversion between JSON values and DynamoDB attribute values, and DynamoDB's
//! limits on numbers.
//!
//! Written by hand because `serde_dynamo` routes numbers through `i64`/`f64` when reading
//! and writes `serde_json`'s arbitrary-precision numbers as a map: stored values must keep
//! their JSON type and exact decimal text (19.97 in, `N "19.97"` stored, 19.97 out), also
//! when another writer stored them. Records that hold only strings and integers (the
//! idempotency record) do use `serde_dynamo`.

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

/// A JSON number DynamoDB cannot store as a number.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NumberError {
    /// More than 38 significant digits.
    #[error("number {0} has more than 38 significant digits")]
    TooPrecise(String),
    /// A magnitude outside 1e-130 to 9.99…e125.
    #[error("number {0} is out of range (magnitude 1e-130 to 1e126)")]
    OutOfRange(String),
}

/// Checks that DynamoDB stores `n` exactly: at most 38 significant digits and a magnitude
/// from 1e-130 up to (not including) 1e126, or zero.
///
/// A body that passes this is never refused by the table for its numbers, so a bad
/// number is the client's 400, not a failed write's 500.
pub fn check_number(n: &Number) -> Result<(), NumberError> {
    let text = n.to_string();
    let unsigned = text.strip_prefix('-').unwrap_or(&text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e),
        None => (unsigned, "0"),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return Ok(()); // zero
    };
    let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(first);
    if last - first + 1 > 38 {
        return Err(NumberError::TooPrecise(text));
    }
    let out_of_range = || NumberError::OutOfRange(text.clone());
    let exponent: i64 = exponent.parse().map_err(|_| out_of_range())?;
    // The power of ten of the first significant digit.
    let leading = i64::try_from(int.len()).map_err(|_| out_of_range())?
        - i64::try_from(first).map_err(|_| out_of_range())?
        - 1
        + exponent;
    if !(-130..=125).contains(&leading) {
        return Err(out_of_range());
    }
    Ok(())
}

/// Checks every number in `value` with [`check_number`]; the error names the first
/// offending number's path, e.g. `items[2].price`.
pub fn check_numbers(path: &str, value: &Value) -> Result<(), (String, NumberError)> {
    match value {
        Value::Number(n) => check_number(n).map_err(|e| (path.to_owned(), e)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_numbers(&format!("{path}[{i}]"), v)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            check_numbers(&child, v)
        }),
        _ => Ok(()),
    }
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

    fn number(text: &str) -> Number {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn numbers_dynamodb_stores_pass() {
        for ok in [
            "0",
            "-0.0",
            "19.97",
            "123456789012345678901234567890",
            "12345678901234567890123456789012345678",
            "1e-130",
            "-1E-130",
            "9.9999999999999999999999999999999999999e125",
            "0.000100",
            "1000000000000000000000000000000000000000000000000",
        ] {
            assert_eq!(check_number(&number(ok)), Ok(()), "{ok}");
        }
    }

    #[test]
    fn numbers_beyond_dynamodb_are_refused_by_kind() {
        for (bad, too_precise) in [
            ("1e126", false),
            ("1e300", false),
            ("-1e300", false),
            ("1e-131", false),
            ("1e-300", false),
            (
                "0.00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
                false,
            ),
            ("123456789012345678901234567890123456789", true),
            ("1.23456789012345678901234567890123456789", true),
        ] {
            let err = check_number(&number(bad)).unwrap_err();
            assert_eq!(
                matches!(err, NumberError::TooPrecise(_)),
                too_precise,
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_first_bad_number_is_named_by_its_path() {
        let v: Value = serde_json::from_str(r#"{"a": {"b": [1, 1e300]}}"#).unwrap();
        let (path, _) = check_numbers("", &v).unwrap_err();
        assert_eq!(path, "a.b[1]");
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
