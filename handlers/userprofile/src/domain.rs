//! The service's domain types, each one a guarantee: a value of the type has passed its
//! checks, so the code that receives one never checks again ("parse, don't validate").
//!
//! Identifiers are the keys of the Address and Favorites tables. DynamoDB rejects an
//! empty key and a sort key over 1,024 bytes with a `ValidationException`; catching both
//! here turns a doomed write into a clear, typed rejection of the event or message that
//! carried it.

use serde::{Deserialize, Serialize};

/// DynamoDB's limit for a sort key value, in bytes (partition keys may be 2,048).
const MAX_KEY_BYTES: usize = 1024;

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text is empty or only white space.
    #[error("{what} is empty")]
    Empty {
        /// Which identifier, e.g. `userId`.
        what: &'static str,
    },
    /// The text is longer than a DynamoDB key may be.
    #[error("{what} is {len} bytes long, more than the {MAX_KEY_BYTES} a key may have")]
    TooLong {
        /// Which identifier, e.g. `userId`.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
}

fn parse_key(what: &'static str, text: String) -> Result<String, IdError> {
    if text.trim().is_empty() {
        Err(IdError::Empty { what })
    } else if text.len() > MAX_KEY_BYTES {
        Err(IdError::TooLong {
            what,
            len: text.len(),
        })
    } else {
        Ok(text)
    }
}

macro_rules! key_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses `text`: it must not be blank and must fit in a DynamoDB key.
            pub fn parse(text: impl Into<String>) -> Result<Self, IdError> {
                parse_key($what, text.into()).map(Self)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(text: String) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

key_newtype!(
    /// A user, as the Cognito `sub` of the caller who sent the command.
    UserId,
    "userId"
);
key_newtype!(
    /// One address of a user. New addresses get a random UUID; an id that arrives with
    /// an edit or delete is taken as given, since it came from the caller's URL.
    AddressId,
    "addressId"
);
key_newtype!(
    /// A restaurant a user marked as favorite.
    RestaurantId,
    "restaurantId"
);

impl AddressId {
    /// A fresh, random id for a new address.
    pub fn new_random() -> AddressId {
        AddressId::from_uuid(uuid::Uuid::new_v4())
    }

    /// The id spelled as `uuid` (a UUID's text is never blank nor too long).
    pub fn from_uuid(uuid: uuid::Uuid) -> AddressId {
        AddressId(uuid.to_string())
    }
}

/// The five fields of a postal address, all strings.
///
/// The API's request model already insists on five strings; an empty `line2` is a real
/// address, so no field is required to be non-empty. The serde names are the wire names
/// of the event detail and the stored item (`stateProvince` in camel case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    line1: String,
    line2: String,
    city: String,
    state_province: String,
    postal: String,
}

impl Address {
    /// An address from its five fields.
    pub fn new(
        line1: impl Into<String>,
        line2: impl Into<String>,
        city: impl Into<String>,
        state_province: impl Into<String>,
        postal: impl Into<String>,
    ) -> Address {
        Address {
            line1: line1.into(),
            line2: line2.into(),
            city: city.into(),
            state_province: state_province.into(),
            postal: postal.into(),
        }
    }

    /// First address line.
    pub fn line1(&self) -> &str {
        &self.line1
    }

    /// Second address line (may be empty).
    pub fn line2(&self) -> &str {
        &self.line2
    }

    /// City.
    pub fn city(&self) -> &str {
        &self.city
    }

    /// State or province.
    pub fn state_province(&self) -> &str {
        &self.state_province
    }

    /// Postal code.
    pub fn postal(&self) -> &str {
        &self.postal
    }
}

/// A user's favorite restaurant: one item of the Favorites table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Favorite {
    /// The user.
    pub user_id: UserId,
    /// The restaurant.
    pub restaurant_id: RestaurantId,
}

/// Where a favorites command stands among a user's commands for one restaurant: when the
/// gateway received it (ms since the epoch), then its request id as the tie-break.
///
/// Its text, `<ms, 15 digits>#<id>`, sorts as the stamps do (the time has a fixed width),
/// so one DynamoDB condition compares two of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CommandStamp(String);

/// Why a command's time or id cannot make a stamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    /// The time is not a whole number of milliseconds of at most 15 digits.
    #[error("time {0:?} is not milliseconds since the epoch")]
    Time(String),
    /// There is no time (or one before 1970).
    #[error("time is missing")]
    MissingTime,
    /// The id is empty or longer than 256 characters.
    #[error("request id {0:?} must have 1 to 256 characters")]
    Id(String),
}

impl CommandStamp {
    /// The stamp of a command received at `millis` (decimal text) with request id `id`.
    pub fn parse(millis: &str, id: &str) -> Result<CommandStamp, StampError> {
        let valid_time =
            (1..=15).contains(&millis.len()) && millis.bytes().all(|b| b.is_ascii_digit());
        if !valid_time {
            return Err(StampError::Time(millis.to_owned()));
        }
        if id.is_empty() || id.chars().count() > 256 {
            return Err(StampError::Id(id.to_owned()));
        }
        let millis: u64 = millis
            .parse()
            .map_err(|_| StampError::Time(millis.to_owned()))?;
        Ok(CommandStamp(format!("{millis:015}#{id}")))
    }

    /// The stamp of an event sent at `millis` ms since the epoch with id `id`.
    pub fn new(millis: u64, id: &str) -> Result<CommandStamp, StampError> {
        CommandStamp::parse(&millis.to_string(), id)
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_id_is_rejected_with_its_name() {
        assert_eq!(
            UserId::parse("  ").unwrap_err().to_string(),
            "userId is empty"
        );
        assert!(AddressId::parse("").is_err());
        assert!(RestaurantId::parse("\n").is_err());
    }

    #[test]
    fn an_id_longer_than_a_dynamodb_key_is_rejected() {
        let err = RestaurantId::parse("r".repeat(1025)).unwrap_err();
        assert_eq!(
            err,
            IdError::TooLong {
                what: "restaurantId",
                len: 1025
            }
        );
        assert!(RestaurantId::parse("r".repeat(1024)).is_ok());
    }

    #[test]
    fn ids_keep_their_text_exactly() {
        let id = AddressId::parse(" a b \u{e9} ").unwrap();
        assert_eq!(id.as_str(), " a b \u{e9} ");
    }

    #[test]
    fn new_address_ids_are_distinct_uuids() {
        let (a, b) = (AddressId::new_random(), AddressId::new_random());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(a.as_str()).is_ok());
    }

    #[test]
    fn an_id_deserializes_through_its_checks() {
        assert!(serde_json::from_str::<UserId>(r#""""#).is_err());
        let id: UserId = serde_json::from_str(r#""u-1""#).unwrap();
        assert_eq!(id.as_str(), "u-1");
    }

    #[test]
    fn an_address_uses_the_wire_names() {
        let a = Address::new("1 Main St", "", "Springfield", "IL", "62701");
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({
                "line1": "1 Main St", "line2": "", "city": "Springfield",
                "stateProvince": "IL", "postal": "62701"
            })
        );
    }

    #[test]
    fn an_address_missing_a_field_or_with_a_number_does_not_parse() {
        let missing = r#"{"line1":"a","line2":"b","city":"c","stateProvince":"d"}"#;
        assert!(serde_json::from_str::<Address>(missing).is_err());
        let number = r#"{"line1":"a","line2":"b","city":"c","stateProvince":"d","postal":12345}"#;
        assert!(serde_json::from_str::<Address>(number).is_err());
    }

    #[test]
    fn stamps_sort_by_time_then_by_id() {
        let stamp = |t: &str, id: &str| CommandStamp::parse(t, id).unwrap();
        assert_eq!(stamp("42", "r").as_str(), "000000000000042#r");
        assert!(stamp("999", "z") < stamp("1000", "a"));
        assert!(stamp("1000", "a") < stamp("1000", "b"));
        for (t, id) in [
            ("", "r"),
            ("-1", "r"),
            ("1.5", "r"),
            ("1234567890123456", "r"),
            ("1", ""),
        ] {
            assert!(CommandStamp::parse(t, id).is_err(), "{t:?} {id:?}");
        }
    }
}
