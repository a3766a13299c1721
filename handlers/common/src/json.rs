//! Canonical JSON: one spelling for every value that is "equal as JSON", and ids as
//! clients send them.
//!
//! Two bodies that differ only in key order, white space or the spelling of a number
//! (`19.970` and `19.97`, `1e2` and `100`) are the same request; the orders idempotency layer
//! hashes this canonical form. Stored data is canonicalized the same way before it is
//! written, so the first response, a replay and a later read spell every value identically,
//! whether or not some crate of the build turns on `serde_json/preserve_order` (object keys
//! are sorted here explicitly rather than relying on `serde_json::Map` being a `BTreeMap`).
//!
//! Canonical numbers are the shortest exact spelling, as DynamoDB itself normalizes them:
//! a value's JSON type never changes, only `19.970` becomes `19.97`.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Number, Value};

/// A JSON number that cannot be represented exactly (beyond 28 significant digits).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("number {0} cannot be represented exactly (at most 28 significant digits)")]
pub struct InexactNumber(pub String);

/// Parses a JSON number's exact text as a decimal, scientific notation included.
pub fn decimal_of(n: &Number) -> Result<Decimal, InexactNumber> {
    // With `arbitrary_precision`, a Number's text is exactly what the client sent.
    let text = n.to_string();
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text)
    } else {
        Decimal::from_str_exact(&text)
    };
    parsed.map_err(|_| InexactNumber(text))
}

/// A decimal as a JSON number with its shortest exact spelling (`19.970` → `19.97`).
pub fn number_of(d: Decimal) -> Number {
    let text = d.normalize().to_string();
    // A Decimal's text is always a valid JSON number; the fallback only keeps this total.
    Number::from_str(&text).unwrap_or_else(|_| Number::from(0))
}

/// `value` with object keys sorted and every number in its shortest exact spelling.
pub fn canonical(value: &Value) -> Result<Value, InexactNumber> {
    Ok(match value {
        Value::Number(n) => Value::Number(number_of(decimal_of(n)?)),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), canonical(v)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// A stored value for a message: a string as it is, another value as JSON, `missing`
/// when there is none.
pub fn shown(value: Option<&Value>, missing: &str) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => missing.to_owned(),
    }
}

/// The canonical text of `value`: sorted keys, no white space, shortest exact numbers.
///
/// Numbers that do not fit a decimal keep their text, so every JSON value has a form.
pub fn canonical_text(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Number(n) => match decimal_of(n) {
            Ok(d) => out.push_str(&number_of(d).to_string()),
            Err(_) => out.push_str(&n.to_string()),
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Longest id accepted, in bytes: far below DynamoDB's key limits (2048 bytes for a
/// partition key, 1024 for a sort key), and more than any honest client needs.
pub const MAX_ID_LEN: usize = 256;

/// Why a JSON value is not an id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// Neither a string nor a number (or `null`, an array, an object, a boolean).
    #[error("must be a non-empty string or a number")]
    WrongType,
    /// An empty or blank string.
    #[error("must not be empty")]
    Empty,
    /// A string longer than [`MAX_ID_LEN`] bytes.
    #[error("must be at most {MAX_ID_LEN} bytes")]
    TooLong,
    /// A string with a control character (DynamoDB keys allow them; logs, SQS and HTTP
    /// paths do not).
    #[error("must not contain control characters")]
    ControlCharacter,
    /// A number that cannot be kept exactly.
    #[error("{0}")]
    Inexact(#[from] InexactNumber),
}

/// An id as a client sent it: a non-empty string or a number, kept with its JSON type.
///
/// The workshop's clients send `"restaurantId": 1`, others `"restaurantId": "r-1"`; both
/// are stored and returned as sent. [`JsonId::key`] is the id's text, for a table key or a
/// path (`1` and `"1"` share it).
///
/// ```
/// use handler_common::json::JsonId;
/// let id = JsonId::parse(&serde_json::json!(1)).unwrap();
/// assert_eq!((id.value(), id.key()), (&serde_json::json!(1), "1"));
/// assert!(JsonId::parse(&serde_json::json!("")).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonId {
    value: Value,
    key: String,
}

impl JsonId {
    /// Parses a body field: a string (non-empty, at most [`MAX_ID_LEN`] bytes, no control
    /// characters) or a number (exact; spelled canonically, `1.0` as `1`).
    pub fn parse(value: &Value) -> Result<JsonId, IdError> {
        match value {
            Value::String(s) => JsonId::from_text(s),
            Value::Number(n) => {
                let number = number_of(decimal_of(n)?);
                Ok(JsonId {
                    key: number.to_string(),
                    value: Value::Number(number),
                })
            }
            _ => Err(IdError::WrongType),
        }
    }

    /// Parses an id that arrives as text (a path parameter); it is a string.
    pub fn from_text(text: &str) -> Result<JsonId, IdError> {
        if text.trim().is_empty() {
            return Err(IdError::Empty);
        }
        if text.len() > MAX_ID_LEN {
            return Err(IdError::TooLong);
        }
        if text.chars().any(char::is_control) {
            return Err(IdError::ControlCharacter);
        }
        Ok(JsonId {
            value: Value::String(text.to_owned()),
            key: text.to_owned(),
        })
    }

    /// The id as the client sent it, with its JSON type.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The id's text: the string itself, or the number's canonical spelling.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl std::fmt::Display for JsonId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn key_order_white_space_and_number_spelling_do_not_matter() {
        let a = parse(r#"{"b": [1, {"y": 2.50, "x": "s"}], "a": 19.970, "c": 1e2}"#);
        let b = parse(r#"{"a":19.97,"c":100,"b":[1.0,{"x":"s","y":2.5}]}"#);
        assert_eq!(canonical_text(&a), canonical_text(&b));
        assert_eq!(
            canonical_text(&a),
            r#"{"a":19.97,"b":[1,{"x":"s","y":2.5}],"c":100}"#
        );
    }

    #[test]
    fn different_values_have_different_texts() {
        assert_ne!(
            canonical_text(&parse(r#"{"a": 19.97}"#)),
            canonical_text(&parse(r#"{"a": "19.97"}"#))
        );
        assert_ne!(
            canonical_text(&parse(r#"[1, 2]"#)),
            canonical_text(&parse(r#"[2, 1]"#))
        );
    }

    #[test]
    fn numbers_keep_their_exact_value() {
        let v = canonical(&parse("[19.97, 0.1, 12345678901234567890.12]")).unwrap();
        assert_eq!(v.to_string(), "[19.97,0.1,12345678901234567890.12]");
    }

    #[test]
    fn a_number_beyond_decimal_precision_is_refused_not_rounded() {
        let err = canonical(&parse("[1.00000000000000000000000000000001]")).unwrap_err();
        assert_eq!(err.0, "1.00000000000000000000000000000001");
    }

    #[test]
    fn ids_keep_their_json_type_and_share_a_key() {
        let number = JsonId::parse(&parse("1.0")).unwrap();
        assert_eq!(number.value(), &parse("1"));
        assert_eq!(number.key(), "1");
        let text = JsonId::parse(&parse(r#""1""#)).unwrap();
        assert_eq!(text.value(), &parse(r#""1""#));
        assert_eq!(text.key(), number.key());
    }

    #[test]
    fn what_is_not_an_id_is_refused_with_the_reason() {
        for (raw, err) in [
            ("null", IdError::WrongType),
            ("true", IdError::WrongType),
            ("[1]", IdError::WrongType),
            (r#""""#, IdError::Empty),
            (r#""  ""#, IdError::Empty),
            (r#""a\nb""#, IdError::ControlCharacter),
        ] {
            assert_eq!(JsonId::parse(&parse(raw)).unwrap_err(), err, "{raw}");
        }
        let long = Value::String("x".repeat(MAX_ID_LEN + 1));
        assert_eq!(JsonId::parse(&long).unwrap_err(), IdError::TooLong);
        assert!(matches!(
            JsonId::parse(&parse("1.00000000000000000000000000000001")),
            Err(IdError::Inexact(_))
        ));
    }

    #[test]
    fn canonical_values_have_sorted_keys() {
        let v = canonical(&parse(r#"{"b": 1, "a": {"d": 1, "c": 2}}"#)).unwrap();
        assert_eq!(v.to_string(), r#"{"a":{"c":2,"d":1},"b":1}"#);
    }
}
