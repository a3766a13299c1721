//! The orders domain: parsed inputs and the stored order.
//!
//! Request bodies are parsed into these types once, at the edge ("parse, don't
//! validate"); the service functions accept nothing else. Money is a `Decimal`, never a
//! float, and every number keeps its exact value from request to table to response.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::json::{self, InexactNumber};

/// Status of a newly created order.
pub const PLACED: &str = "PLACED";
/// Status of an order its owner canceled.
pub const CANCELED: &str = "CANCELED";

/// How long after `orderTime` an order may still be canceled.
pub const CANCEL_WINDOW: time::Duration = time::Duration::minutes(10);

/// Longest accepted `orderId` or `restaurantId`, in bytes (a DynamoDB sort key allows 1024).
const MAX_ID_LEN: usize = 256;

/// Why a request's body or path did not parse into an order input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    /// The body is not a JSON object.
    #[error("request body must be a JSON object")]
    NotAnObject,
    /// A required field is absent or `null`.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A field has the wrong JSON type or an empty value.
    #[error("{field} must be {expected}")]
    Invalid {
        /// The field's name.
        field: &'static str,
        /// What it must be, e.g. "a non-empty string".
        expected: &'static str,
    },
    /// A number in the body cannot be kept exactly.
    #[error("{0}")]
    Inexact(#[from] InexactNumber),
}

/// A client-chosen order id: a non-empty string of at most 256 bytes without control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderId(String);

impl OrderId {
    /// Parses an order id from a body field or path parameter.
    pub fn parse(raw: &str) -> Result<OrderId, ValidationError> {
        parse_id(raw, "orderId").map(OrderId)
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The owner of an order: the Cognito `sub` of the authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// The caller's id; `None` when it is empty (the request carried no identity).
    pub fn new(sub: &str) -> Option<UserId> {
        (!sub.is_empty()).then(|| UserId(sub.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A non-negative amount of money, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(Decimal);

impl Money {
    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.0
    }
}

/// What a client may set on an order: the restaurant, the items and the total.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderContent {
    restaurant_id: String,
    order_items: Vec<Value>,
    total_amount: Money,
}

impl OrderContent {
    /// The restaurant the order is for.
    pub fn restaurant_id(&self) -> &str {
        &self.restaurant_id
    }

    /// The ordered items, as the client sent them (keys sorted, numbers exact).
    pub fn order_items(&self) -> &[Value] {
        &self.order_items
    }

    /// The order's total.
    pub fn total_amount(&self) -> Money {
        self.total_amount
    }

    /// Whether a stored order carries exactly this content.
    pub fn matches(&self, order: &Order) -> bool {
        self.restaurant_id == order.restaurant_id
            && self.order_items == order.order_items
            && self.total_amount.0 == order.total_amount
    }

    /// Reads the content fields of a POST or PUT body; other fields are ignored.
    fn from_object(body: &Map<String, Value>) -> Result<OrderContent, ValidationError> {
        let restaurant_id = match body.get("restaurantId") {
            None | Some(Value::Null) => return Err(ValidationError::Missing("restaurantId")),
            Some(Value::String(s)) => parse_id(s, "restaurantId")?,
            Some(_) => return Err(invalid("restaurantId", "a non-empty string")),
        };
        let order_items = match body.get("orderItems") {
            None | Some(Value::Null) => return Err(ValidationError::Missing("orderItems")),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(json::canonical)
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(invalid("orderItems", "a non-empty array")),
        };
        let total_amount = match body.get("totalAmount") {
            None | Some(Value::Null) => return Err(ValidationError::Missing("totalAmount")),
            Some(Value::Number(n)) => {
                let amount = json::decimal_of(n)?;
                if amount.is_sign_negative() && !amount.is_zero() {
                    return Err(invalid("totalAmount", "a number ≥ 0"));
                }
                // `-0` and `19.970` are stored as `0` and `19.97`, as DynamoDB would.
                Money(amount.abs().normalize())
            }
            Some(_) => return Err(invalid("totalAmount", "a number ≥ 0")),
        };
        Ok(OrderContent {
            restaurant_id,
            order_items,
            total_amount,
        })
    }
}

/// A parsed POST /orders body.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    order_id: OrderId,
    content: OrderContent,
}

impl NewOrder {
    /// The client-chosen id, also the idempotency key.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// What the order contains.
    pub fn content(&self) -> &OrderContent {
        &self.content
    }

    /// The order as placed by `user` at `now`, with status `PLACED`.
    pub fn place(&self, user: &UserId, now: OffsetDateTime) -> Order {
        Order {
            order_id: self.order_id.0.clone(),
            user_id: user.0.clone(),
            restaurant_id: self.content.restaurant_id.clone(),
            order_items: self.content.order_items.clone(),
            total_amount: self.content.total_amount.0,
            status: PLACED.to_owned(),
            order_time: order_time(now),
        }
    }
}

impl TryFrom<&Value> for NewOrder {
    type Error = ValidationError;

    /// Parses a POST /orders body: `orderId`, `restaurantId`, `orderItems`, `totalAmount`.
    fn try_from(body: &Value) -> Result<NewOrder, ValidationError> {
        let body = body.as_object().ok_or(ValidationError::NotAnObject)?;
        let order_id = match body.get("orderId") {
            None | Some(Value::Null) => return Err(ValidationError::Missing("orderId")),
            Some(Value::String(s)) => OrderId::parse(s)?,
            Some(_) => return Err(invalid("orderId", "a non-empty string")),
        };
        Ok(NewOrder {
            order_id,
            content: OrderContent::from_object(body)?,
        })
    }
}

/// A parsed PUT /orders/{orderId} body: the new content of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEdit(OrderContent);

impl OrderEdit {
    /// The new content.
    pub fn content(&self) -> &OrderContent {
        &self.0
    }
}

impl TryFrom<&Value> for OrderEdit {
    type Error = ValidationError;

    /// Parses a PUT body: `restaurantId`, `orderItems`, `totalAmount`; others are ignored.
    fn try_from(body: &Value) -> Result<OrderEdit, ValidationError> {
        let body = body.as_object().ok_or(ValidationError::NotAnObject)?;
        OrderContent::from_object(body).map(OrderEdit)
    }
}

/// An order as stored under `data` and as returned to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The client-chosen id.
    pub order_id: String,
    /// The owner's Cognito `sub`.
    pub user_id: String,
    /// The restaurant.
    pub restaurant_id: String,
    /// The items, as sent by the client.
    pub order_items: Vec<Value>,
    /// The total, exact.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub total_amount: Decimal,
    /// `PLACED`, `CANCELED`, or a status set by the restaurant (e.g. `ACKNOWLEDGED`).
    pub status: String,
    /// When the order was placed, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub order_time: String,
}

/// `at` as an `orderTime`: UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`.
///
/// Every `orderTime` has this fixed-width form, so two of them compare as strings exactly
/// as the instants they name do; DynamoDB conditions rely on that.
pub fn order_time(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        // Years 0..=9999 always format; the fallback keeps this total without a panic.
        .unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_owned())
}

/// The earliest `orderTime` an order may have to still be canceled at `now`.
///
/// `orderTime` has whole seconds, so the cutoff is rounded up: at 12:10:00.5 an order
/// placed at 12:00:00 is 10 minutes and half a second old, and too late.
pub fn cancel_cutoff(now: OffsetDateTime) -> String {
    let cutoff = now - CANCEL_WINDOW;
    let whole = cutoff.replace_nanosecond(0).unwrap_or(cutoff);
    let rounded_up = if whole == cutoff {
        whole
    } else {
        whole + time::Duration::SECOND
    };
    order_time(rounded_up)
}

fn parse_id(raw: &str, field: &'static str) -> Result<String, ValidationError> {
    if raw.is_empty() || raw.len() > MAX_ID_LEN || raw.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "a non-empty string of at most 256 bytes without control characters",
        ));
    }
    Ok(raw.to_owned())
}

fn invalid(field: &'static str, expected: &'static str) -> ValidationError {
    ValidationError::Invalid { field, expected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn body(extra: Value) -> Value {
        let mut b = json!({
            "orderId": "o-1",
            "restaurantId": "r-1",
            "orderItems": [{"name": "Pasta", "price": 9.99, "quantity": 2}],
            "totalAmount": 19.97
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    }

    #[test]
    fn a_complete_body_parses_and_ignores_other_fields() {
        let new = NewOrder::try_from(&body(json!({"status": "DELIVERED", "x": 1}))).unwrap();
        assert_eq!(new.order_id().as_str(), "o-1");
        assert_eq!(new.content().restaurant_id(), "r-1");
        assert_eq!(new.content().total_amount().amount().to_string(), "19.97");
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in ["orderId", "restaurantId", "orderItems", "totalAmount"] {
            let mut b = body(json!({}));
            b.as_object_mut().unwrap().remove(field);
            assert_eq!(
                NewOrder::try_from(&b).unwrap_err(),
                ValidationError::Missing(field)
            );
        }
    }

    #[test]
    fn wrong_types_and_values_are_refused() {
        for bad in [
            json!({"orderId": 5}),
            json!({"orderId": ""}),
            json!({"restaurantId": ["r"]}),
            json!({"restaurantId": ""}),
            json!({"orderItems": []}),
            json!({"orderItems": {"a": 1}}),
            json!({"totalAmount": "19.97"}),
            json!({"totalAmount": -0.01}),
            json!({"orderId": "a\nb"}),
        ] {
            assert!(
                matches!(
                    NewOrder::try_from(&body(bad.clone())),
                    Err(ValidationError::Invalid { .. })
                ),
                "{bad} was accepted"
            );
        }
        assert_eq!(
            NewOrder::try_from(&json!([1])).unwrap_err(),
            ValidationError::NotAnObject
        );
    }

    #[test]
    fn money_is_exact_and_never_a_float() {
        let b: Value = serde_json::from_str(
            r#"{"orderId":"o","restaurantId":"r","orderItems":[1],"totalAmount":0.30000000000000000001}"#,
        )
        .unwrap();
        let new = NewOrder::try_from(&b).unwrap();
        assert_eq!(
            new.content().total_amount().amount().to_string(),
            "0.30000000000000000001"
        );
    }

    #[test]
    fn negative_zero_is_zero() {
        let b = body(json!({}));
        let mut b2 = b.clone();
        b2["totalAmount"] = serde_json::from_str("-0.0").unwrap();
        let new = NewOrder::try_from(&b2).unwrap();
        assert_eq!(new.content().total_amount().amount().to_string(), "0");
    }

    #[test]
    fn a_placed_order_serializes_with_exact_numbers_in_contract_order() {
        let new = NewOrder::try_from(&body(json!({}))).unwrap();
        let user = UserId::new("u-1").unwrap();
        let order = new.place(&user, datetime!(2025-01-02 03:04:05.678 UTC));
        assert_eq!(
            serde_json::to_string(&order).unwrap(),
            r#"{"orderId":"o-1","userId":"u-1","restaurantId":"r-1","orderItems":[{"name":"Pasta","price":9.99,"quantity":2}],"totalAmount":19.97,"status":"PLACED","orderTime":"2025-01-02T03:04:05Z"}"#
        );
    }

    #[test]
    fn an_edit_needs_the_content_fields_but_no_order_id() {
        let mut b = body(json!({}));
        b.as_object_mut().unwrap().remove("orderId");
        assert!(OrderEdit::try_from(&b).is_ok());
        b.as_object_mut().unwrap().remove("orderItems");
        assert_eq!(
            OrderEdit::try_from(&b).unwrap_err(),
            ValidationError::Missing("orderItems")
        );
    }

    #[test]
    fn the_cancel_cutoff_is_ten_minutes_back_rounded_up_to_the_second() {
        assert_eq!(
            cancel_cutoff(datetime!(2025-01-01 12:10:00 UTC)),
            "2025-01-01T12:00:00Z"
        );
        assert_eq!(
            cancel_cutoff(datetime!(2025-01-01 12:10:00.001 UTC)),
            "2025-01-01T12:00:01Z"
        );
        // Across midnight and a year end, string order is still time order.
        assert_eq!(
            cancel_cutoff(datetime!(2025-01-01 00:05:00 UTC)),
            "2024-12-31T23:55:00Z"
        );
    }

    #[test]
    fn order_times_are_utc_whatever_the_offset() {
        assert_eq!(
            order_time(datetime!(2025-06-01 02:00:00 +02:00)),
            "2025-06-01T00:00:00Z"
        );
    }
}
