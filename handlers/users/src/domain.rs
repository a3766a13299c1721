//! The users service's domain types: what a user id is, what a valid request body is, and
//! what a stored user looks like.
//!
//! Parse, don't validate: request bodies and path parameters become these types once, at
//! the edge, and everything behind that (routes, store) accepts only the parsed types.
//! A user is a free-form JSON object (the API stores whatever fields the client sends)
//! with three guaranteed fields: `userid`, `name` and `timestamp`.

use handler_common::json::{IdError, JsonId};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a request body or path parameter is not acceptable; the message is shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    message: String,
    too_large: bool,
}

impl ValidationError {
    /// A 400 with `message`.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ValidationError {
            message: message.into(),
            too_large: false,
        }
    }

    /// Whether the body is refused for its size alone (413), not its content (400).
    pub fn is_too_large(&self) -> bool {
        self.too_large
    }
}

/// Room kept in an item for the `userid` and `timestamp` the service adds.
const ADDED_FIELDS_SIZE: usize = 512;

/// A user's id (the table's partition key `userid`): non-empty, at most 256 bytes, no
/// control characters (the app's one rule for ids, [`JsonId::from_text`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Parses a user id from a path parameter or body field.
    ///
    /// ```
    /// assert!(users::domain::UserId::parse("abc-123").is_ok());
    /// assert!(users::domain::UserId::parse("").is_err());
    /// ```
    pub fn parse(raw: impl Into<String>) -> Result<UserId, ValidationError> {
        let raw = raw.into();
        match JsonId::from_text(&raw) {
            Ok(_) => Ok(UserId(raw)),
            Err(IdError::Empty) => Err(ValidationError::new("userid must be a non-empty string")),
            Err(reason) => Err(ValidationError::new(format!("userid {reason}"))),
        }
    }

    /// A fresh random id (UUID v4), for users created without one.
    pub fn generate() -> UserId {
        UserId(uuid::Uuid::new_v4().to_string())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid POST/PUT body: a JSON object with a non-blank string `name`, an optional string
/// `userid`, and any other fields, whose numbers all fit a DynamoDB number.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    fields: Map<String, Value>,
    userid: Option<UserId>,
}

impl UserInput {
    /// The `userid` the client chose, if any.
    pub fn userid(&self) -> Option<&UserId> {
        self.userid.as_ref()
    }
}

impl TryFrom<Value> for UserInput {
    type Error = ValidationError;

    fn try_from(body: Value) -> Result<Self, Self::Error> {
        let Value::Object(fields) = body else {
            return Err(ValidationError::new("request body must be a JSON object"));
        };
        match fields.get("name") {
            None => return Err(ValidationError::new("name is required")),
            Some(Value::String(name)) if name.trim().is_empty() => {
                return Err(ValidationError::new("name must not be empty"));
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err(ValidationError::new("name must be a string")),
        }
        let userid = match fields.get("userid") {
            None => None,
            Some(Value::String(id)) => Some(UserId::parse(id.clone())?),
            Some(_) => return Err(ValidationError::new("userid must be a string")),
        };
        check_storable(&fields)?;
        Ok(UserInput { fields, userid })
    }
}

/// Rejects what a DynamoDB item cannot hold (numbers beyond its range or precision,
/// nesting deeper than 32 levels, empty attribute names, more than 400 KB), so a bad body
/// is a 4xx and never a failed write. Every other number is stored with its exact text.
fn check_storable(fields: &Map<String, Value>) -> Result<(), ValidationError> {
    handler_common::dynamo::check_item(fields, ADDED_FIELDS_SIZE).map_err(|e| ValidationError {
        too_large: matches!(e, handler_common::dynamo::ItemError::TooLarge { .. }),
        message: e.to_string(),
    })
}

/// A user as stored and returned: the client's fields plus `userid` and `timestamp`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct User {
    fields: Map<String, Value>,
    #[serde(skip)]
    id: UserId,
}

impl User {
    /// Builds the item to store from a parsed body: `userid` is `id`, `timestamp` is `at`.
    pub fn new(input: UserInput, id: UserId, at: OffsetDateTime) -> User {
        let mut fields = input.fields;
        fields.insert("userid".to_owned(), Value::String(id.0.clone()));
        fields.insert("timestamp".to_owned(), Value::String(timestamp(at)));
        User { fields, id }
    }

    /// Reads back an item of the table, which must carry a valid string `userid`.
    pub fn from_stored(fields: Map<String, Value>) -> Result<User, ValidationError> {
        let id = match fields.get("userid") {
            Some(Value::String(id)) => UserId::parse(id.clone())?,
            _ => return Err(ValidationError::new("stored item has no string userid")),
        };
        Ok(User { fields, id })
    }

    /// The user's id.
    pub fn id(&self) -> &UserId {
        &self.id
    }

    /// The user's fields, `userid` and `timestamp` included.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

/// `at` in UTC, RFC 3339, to the second (e.g. `2025-01-31T12:00:00Z`).
fn timestamp(at: OffsetDateTime) -> String {
    let at = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at);
    // Formatting a UTC date-time between years 0 and 9999 as RFC 3339 cannot fail.
    at.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn parse(v: Value) -> Result<UserInput, String> {
        UserInput::try_from(v).map_err(|e| e.to_string())
    }

    #[test]
    fn a_body_with_a_string_name_is_accepted_with_its_other_fields() {
        let input = parse(json!({"name": "Ann", "age": 30, "tags": ["a"]})).unwrap();
        assert_eq!(input.userid(), None);
        let user = User::new(
            input,
            UserId::parse("u1").unwrap(),
            datetime!(2025-01-31 12:00:00.5 UTC),
        );
        assert_eq!(
            serde_json::to_value(&user).unwrap(),
            json!({"name": "Ann", "age": 30, "tags": ["a"], "userid": "u1",
                   "timestamp": "2025-01-31T12:00:00Z"})
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_rejected() {
        for body in [json!([]), json!("Ann"), json!(1), json!(null)] {
            assert_eq!(
                parse(body).unwrap_err(),
                "request body must be a JSON object"
            );
        }
    }

    #[test]
    fn a_body_without_a_string_name_is_rejected_naming_the_problem() {
        assert_eq!(parse(json!({})).unwrap_err(), "name is required");
        assert_eq!(
            parse(json!({"name": 1})).unwrap_err(),
            "name must be a string"
        );
        assert_eq!(
            parse(json!({"name": null})).unwrap_err(),
            "name must be a string"
        );
        assert_eq!(
            parse(json!({"name": " "})).unwrap_err(),
            "name must not be empty"
        );
    }

    #[test]
    fn a_given_userid_is_kept_and_must_be_a_non_empty_string() {
        let input = parse(json!({"name": "Ann", "userid": "u-7"})).unwrap();
        assert_eq!(input.userid().map(UserId::as_str), Some("u-7"));
        assert_eq!(
            parse(json!({"name": "Ann", "userid": 7})).unwrap_err(),
            "userid must be a string"
        );
        assert_eq!(
            parse(json!({"name": "Ann", "userid": ""})).unwrap_err(),
            "userid must be a non-empty string"
        );
    }

    #[test]
    fn numbers_a_table_cannot_hold_are_rejected() {
        for (raw, message) in [
            (
                r#"{"name":"Ann","x":{"y":[1e400]}}"#,
                "x.y[0]: number 1e+400 is out of range (magnitude 1e-130 to 1e126)",
            ),
            (
                r#"{"name":"Ann","x":1e-300}"#,
                "x: number 1e-300 is out of range (magnitude 1e-130 to 1e126)",
            ),
            (
                r#"{"name":"Ann","x":1.0000000000000000000000000000000000000001}"#,
                "x: number 1.0000000000000000000000000000000000000001 has more than 38 significant digits",
            ),
        ] {
            let body: Value = serde_json::from_str(raw).unwrap();
            assert_eq!(parse(body).unwrap_err(), message, "{raw}");
        }
    }

    #[test]
    fn shapes_a_table_cannot_hold_are_rejected_and_size_is_told_apart() {
        let deep = format!("{}1{}", "[".repeat(33), "]".repeat(33));
        let body: Value = serde_json::from_str(&format!(r#"{{"name":"Ann","x":{deep}}}"#)).unwrap();
        let err = UserInput::try_from(body).unwrap_err();
        assert!(err.to_string().contains("more than 32 levels"), "{err}");
        assert!(!err.is_too_large());
        let err = UserInput::try_from(json!({"name": "Ann", "x": {"": 1}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x: an empty string cannot be an attribute name"
        );
        let err =
            UserInput::try_from(json!({"name": "Ann", "x": "y".repeat(400 * 1024)})).unwrap_err();
        assert!(err.is_too_large(), "{err}");
    }

    #[test]
    fn user_ids_are_bounded() {
        assert!(UserId::parse("x".repeat(256)).is_ok());
        assert!(UserId::parse("x".repeat(257)).is_err());
        assert!(UserId::parse("a\nb").is_err());
        assert!(UserId::parse("   ").is_err());
    }

    #[test]
    fn the_timestamp_is_utc_rfc3339_whatever_the_offset() {
        let at = datetime!(2025-01-31 14:00:00 +02:00);
        assert_eq!(timestamp(at), "2025-01-31T12:00:00Z");
    }
}
