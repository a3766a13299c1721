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

/// DynamoDB's largest item, in bytes (400 KB).
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// How many levels of maps and lists DynamoDB nests: a top-level attribute's own map or
/// list is level 1.
pub const MAX_DEPTH: usize = 32;

/// Why DynamoDB would refuse a value; the path names the offending place, e.g.
/// `orderItems[2].price`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ItemError {
    /// A number DynamoDB cannot store exactly.
    #[error("{path}: {source}")]
    Number {
        /// Where the number is.
        path: String,
        /// What is wrong with it.
        source: NumberError,
    },
    /// Maps and lists nested deeper than [`MAX_DEPTH`].
    #[error("{path}: nested more than {MAX_DEPTH} levels deep")]
    TooDeep {
        /// The first place too deep.
        path: String,
    },
    /// An empty key in an object (DynamoDB attribute names have at least one character).
    #[error("{path}: an empty string cannot be an attribute name")]
    EmptyName {
        /// The object holding the empty key.
        path: String,
    },
    /// The item would be larger than [`MAX_ITEM_SIZE`].
    #[error("the item would be {size} bytes; DynamoDB stores at most {MAX_ITEM_SIZE}")]
    TooLarge {
        /// The item's size as DynamoDB counts it.
        size: usize,
    },
}

/// Checks what DynamoDB checks of a value stored at `level` (the level its map or list
/// would have; 1 for a top-level attribute) and returns its size as DynamoDB counts it.
///
/// Checked here, not left to the table, because a local endpoint accepts what DynamoDB
/// refuses: a refused write would be a 500 in AWS for what is the client's mistake.
pub fn check_value(path: &str, value: &Value, level: usize) -> Result<usize, ItemError> {
    if matches!(value, Value::Array(_) | Value::Object(_)) && level > MAX_DEPTH {
        return Err(ItemError::TooDeep {
            path: path.to_owned(),
        });
    }
    match value {
        Value::Null | Value::Bool(_) => Ok(1),
        Value::String(s) => Ok(s.len()),
        Value::Number(n) => {
            check_number(n).map_err(|source| ItemError::Number {
                path: path.to_owned(),
                source,
            })?;
            Ok(number_size(n))
        }
        Value::Array(items) => items.iter().enumerate().try_fold(3, |size, (i, v)| {
            Ok(size + 1 + check_value(&format!("{path}[{i}]"), v, level + 1)?)
        }),
        Value::Object(map) => map.iter().try_fold(3, |size, (k, v)| {
            if k.is_empty() {
                return Err(ItemError::EmptyName {
                    path: path.to_owned(),
                });
            }
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            Ok(size + 1 + k.len() + check_value(&child, v, level + 1)?)
        }),
    }
}

/// Checks a whole item (its top-level attributes are `attributes`) and that it fits in
/// [`MAX_ITEM_SIZE`] with `reserve` bytes to spare for attributes added before the write.
pub fn check_item(attributes: &Map<String, Value>, reserve: usize) -> Result<(), ItemError> {
    let mut size = reserve;
    for (name, value) in attributes {
        if name.is_empty() {
            return Err(ItemError::EmptyName {
                path: "(item)".to_owned(),
            });
        }
        size += name.len() + check_value(name, value, 1)?;
    }
    if size > MAX_ITEM_SIZE {
        return Err(ItemError::TooLarge { size });
    }
    Ok(())
}

/// A number's size as DynamoDB counts it: one byte per two significant digits, plus one.
fn number_size(n: &Number) -> usize {
    let text = n.to_string();
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits = mantissa.trim_start_matches(['-', '0', '.']);
    let significant = digits.bytes().filter(u8::is_ascii_digit).count().max(1);
    significant.div_ceil(2) + 1
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

    fn object(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_first_bad_number_is_named_by_its_path() {
        let err = check_item(&object(r#"{"a": {"b": [1, 1e300]}}"#), 0).unwrap_err();
        assert!(
            matches!(&err, ItemError::Number { path, .. } if path == "a.b[1]"),
            "{err}"
        );
    }

    #[test]
    fn thirty_two_levels_are_stored_and_thirty_three_are_refused() {
        let nested = |levels: usize| {
            let text = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
            let mut item = Map::new();
            item.insert("a".to_owned(), serde_json::from_str(&text).unwrap());
            item
        };
        assert_eq!(check_item(&nested(32), 0), Ok(()));
        let err = check_item(&nested(33), 0).unwrap_err();
        assert!(matches!(err, ItemError::TooDeep { .. }), "{err}");
    }

    #[test]
    fn an_empty_attribute_name_is_refused_at_any_depth() {
        for text in [r#"{"": 1}"#, r#"{"a": {"b": [{"": 1}]}}"#] {
            let err = check_item(&object(text), 0).unwrap_err();
            assert!(matches!(err, ItemError::EmptyName { .. }), "{text}: {err}");
        }
        let err = check_item(&object(r#"{"a": {"b": [{"": 1}]}}"#), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.b[0]: an empty string cannot be an attribute name"
        );
    }

    #[test]
    fn an_item_over_400_kb_is_refused_and_one_just_under_is_not() {
        let mut item = Map::new();
        item.insert("s".to_owned(), Value::String("x".repeat(MAX_ITEM_SIZE - 1)));
        assert_eq!(check_item(&item, 0), Ok(()));
        assert_eq!(
            check_item(&item, 1),
            Err(ItemError::TooLarge {
                size: MAX_ITEM_SIZE + 1
            })
        );
    }

    #[test]
    fn sizes_are_counted_as_dynamodb_counts_them() {
        assert_eq!(check_value("", &serde_json::json!("héllo"), 1), Ok(6));
        assert_eq!(check_value("", &serde_json::json!(true), 1), Ok(1));
        assert_eq!(check_value("", &number("123.45").into(), 1), Ok(4));
        // A map: 3 bytes, then per entry 1 byte, its name and its value.
        assert_eq!(check_value("", &serde_json::json!({"ab": "xyz"}), 1), Ok(9));
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
