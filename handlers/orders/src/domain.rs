//! The orders domain: parsed inputs and the stored order.
//!
//! Request bodies are parsed into these types once, at the edge ("parse, don't
//! validate"); the service functions accept nothing else. Money is a `Decimal`, never a
//! float, and every number keeps its exact value from request to table to response.
//!
//! Liberal in what it accepts, exact in what it keeps: ids are JSON strings or numbers and
//! keep their type, items are stored as sent, and a stored [`Order`] is a JSON object read
//! back exactly as stored, also when another writer (the restaurant side) stored it with
//! other types than this service writes (`"totalAmount": "32.97"`). Only the fields a rule
//! needs (`status`, `orderTime`) are ever interpreted, and only when the rule applies.

use handler_common::dynamo::{self, ItemError, MAX_ITEM_SIZE};
use handler_common::json::{self, IdError, InexactNumber, JsonId};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Status of a newly created order.
pub const PLACED: &str = "PLACED";
/// Status of an order its owner canceled.
pub const CANCELED: &str = "CANCELED";

/// How long after `orderTime` an order may still be canceled.
pub const CANCEL_WINDOW: time::Duration = time::Duration::minutes(10);

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
        /// What it must be, e.g. "a non-empty array".
        expected: &'static str,
    },
    /// An id field is not a usable id.
    #[error("{field} {reason}")]
    BadId {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: IdError,
    },
    /// A number in the body cannot be kept exactly.
    #[error("{0}")]
    Inexact(#[from] InexactNumber),
    /// DynamoDB could not store the items (nesting, empty names, size).
    #[error("{0}")]
    NotStorable(#[from] ItemError),
}

impl ValidationError {
    /// Whether the body is refused for its size alone (413), not its content (400).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            ValidationError::NotStorable(ItemError::TooLarge { .. })
        )
    }
}

/// Room kept in an order item for what is not the items: keys, ids, total, status, time.
const ORDER_FIELDS_SIZE: usize = 2048;

/// An order's id: the client's choice, a string or a number, kept with its JSON type.
/// Its text ([`OrderId::key`]) is the table's sort key and the `{orderId}` of the paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderId(JsonId);

impl OrderId {
    /// Parses an order id from a path parameter.
    pub fn parse(raw: &str) -> Result<OrderId, ValidationError> {
        JsonId::from_text(raw)
            .map(OrderId)
            .map_err(|reason| ValidationError::BadId {
                field: "orderId",
                reason,
            })
    }

    /// The id's text: the table key.
    pub fn as_str(&self) -> &str {
        self.0.key()
    }

    /// The id as the client sent it.
    pub fn value(&self) -> &Value {
        self.0.value()
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.key())
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
    restaurant_id: JsonId,
    order_items: Vec<Value>,
    total_amount: Money,
}

impl OrderContent {
    /// The restaurant the order is for, as the client sent it (a string or a number).
    pub fn restaurant_id(&self) -> &Value {
        self.restaurant_id.value()
    }

    /// The ordered items, as the client sent them (keys sorted, numbers exact).
    pub fn order_items(&self) -> &[Value] {
        &self.order_items
    }

    /// The order's total.
    pub fn total_amount(&self) -> Money {
        self.total_amount
    }

    /// Whether a stored order carries exactly this content, compared as JSON values.
    pub fn matches(&self, order: &Order) -> bool {
        let same = |field: &str, value: &Value| {
            order
                .0
                .get(field)
                .is_some_and(|stored| json::canonical_text(stored) == json::canonical_text(value))
        };
        same("restaurantId", self.restaurant_id.value())
            && same("orderItems", &Value::Array(self.order_items.clone()))
            && same(
                "totalAmount",
                &Value::Number(json::number_of(self.total_amount.0)),
            )
    }

    /// Reads the content fields of a POST or PUT body; other fields are ignored.
    fn from_object(body: &Map<String, Value>) -> Result<OrderContent, ValidationError> {
        let restaurant_id = id_field(body, "restaurantId")?;
        let order_items = match body.get("orderItems") {
            None | Some(Value::Null) => return Err(ValidationError::Missing("orderItems")),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(json::canonical)
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(invalid("orderItems", "a non-empty array")),
        };
        // `data` is level 1 of the item, so `orderItems` is level 2.
        let size = dynamo::check_value("orderItems", &Value::Array(order_items.clone()), 2)?;
        if size + ORDER_FIELDS_SIZE > MAX_ITEM_SIZE {
            return Err(ItemError::TooLarge {
                size: size + ORDER_FIELDS_SIZE,
            }
            .into());
        }
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
            // A numeric string is refused too: the workshop's clients send numbers, and a
            // total that is sometimes text would make `OrderTotal` unreliable.
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
        let content = &self.content;
        let data = Map::from_iter([
            ("orderId".to_owned(), self.order_id.value().clone()),
            ("userId".to_owned(), Value::String(user.0.clone())),
            (
                "restaurantId".to_owned(),
                content.restaurant_id.value().clone(),
            ),
            (
                "orderItems".to_owned(),
                Value::Array(content.order_items.clone()),
            ),
            (
                "totalAmount".to_owned(),
                Value::Number(json::number_of(content.total_amount.0)),
            ),
            ("status".to_owned(), Value::String(PLACED.to_owned())),
            ("orderTime".to_owned(), Value::String(order_time(now))),
        ]);
        Order(data)
    }
}

impl TryFrom<&Value> for NewOrder {
    type Error = ValidationError;

    /// Parses a POST /orders body: `orderId`, `restaurantId`, `orderItems`, `totalAmount`.
    fn try_from(body: &Value) -> Result<NewOrder, ValidationError> {
        let body = body.as_object().ok_or(ValidationError::NotAnObject)?;
        Ok(NewOrder {
            order_id: OrderId(id_field(body, "orderId")?),
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

/// An order as stored under `data` and as returned to clients: a JSON object, exactly as
/// stored. This service writes `orderId`, `userId`, `restaurantId`, `orderItems`,
/// `totalAmount`, `status` and `orderTime`; other writers may store other types and more
/// fields, which are kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Order(Map<String, Value>);

/// Why a stored order's `orderTime` cannot be read as an instant.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("orderTime {0} is not a date and time")]
pub struct UnreadableOrderTime(pub String);

impl Order {
    /// The stored `data` object.
    pub fn from_data(data: Map<String, Value>) -> Order {
        Order(data)
    }

    /// The stored `data` object.
    pub fn data(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Whether the status is `PLACED` (a string; any other type is not).
    pub fn is_placed(&self) -> bool {
        self.0.get("status").and_then(Value::as_str) == Some(PLACED)
    }

    /// The status for a message: the string itself, or the stored JSON when it is not a
    /// string.
    pub fn status_text(&self) -> String {
        self.shown("status", "without a status")
    }

    /// The stored `orderTime` as an instant.
    ///
    /// This service writes `YYYY-MM-DDTHH:MM:SSZ`; any RFC 3339 time is read, and so is a
    /// time without a zone (`2023-04-05T21:11:21.300436`, as the restaurant side writes
    /// it), taken as UTC like every time of the app.
    pub fn order_time(&self) -> Result<OffsetDateTime, UnreadableOrderTime> {
        let stored = self.0.get("orderTime");
        stored
            .and_then(Value::as_str)
            .and_then(parse_time)
            .ok_or_else(|| {
                UnreadableOrderTime(stored.map_or_else(|| "(missing)".to_owned(), Value::to_string))
            })
    }

    /// The stored `orderTime` exactly as stored, for messages.
    pub fn order_time_text(&self) -> String {
        self.shown("orderTime", "(missing)")
    }

    /// A stored field for a message (see [`handler_common::json::shown`]).
    fn shown(&self, field: &str, missing: &str) -> String {
        handler_common::json::shown(self.0.get(field), missing)
    }
}

/// `at` as an `orderTime`: UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn order_time(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        // Years 0..=9999 always format; the fallback keeps this total without a panic.
        .unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_owned())
}

/// Whether an order placed at `placed` may still be canceled at `now`: no more than
/// [`CANCEL_WINDOW`] has passed.
pub fn within_cancel_window(placed: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - placed <= CANCEL_WINDOW
}

/// An RFC 3339 time, or an ISO 8601 date and time without a zone (`T` or a space between
/// them, optional fractional seconds), taken as UTC.
fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(t);
    }
    let naive = format_description!(
        version = 2,
        "[year]-[month]-[day][first [T] [ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(raw, naive)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// A required id field of a body: a string or a number.
fn id_field(body: &Map<String, Value>, field: &'static str) -> Result<JsonId, ValidationError> {
    match body.get(field) {
        None | Some(Value::Null) => Err(ValidationError::Missing(field)),
        Some(value) => JsonId::parse(value).map_err(|reason| match reason {
            IdError::Inexact(e) => ValidationError::Inexact(e),
            reason => ValidationError::BadId { field, reason },
        }),
    }
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
        assert_eq!(new.content().restaurant_id(), &json!("r-1"));
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
            json!({"orderId": true}),
            json!({"orderId": ""}),
            json!({"orderId": {"id": 1}}),
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
                    Err(ValidationError::Invalid { .. } | ValidationError::BadId { .. })
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
    fn a_placed_order_has_every_contract_field_with_exact_numbers() {
        let new = NewOrder::try_from(&body(json!({}))).unwrap();
        let user = UserId::new("u-1").unwrap();
        let order = new.place(&user, datetime!(2025-01-02 03:04:05.678 UTC));
        assert_eq!(
            serde_json::to_value(&order).unwrap(),
            serde_json::from_str::<Value>(
                r#"{"orderId":"o-1","userId":"u-1","restaurantId":"r-1","orderItems":[{"name":"Pasta","price":9.99,"quantity":2}],"totalAmount":19.97,"status":"PLACED","orderTime":"2025-01-02T03:04:05Z"}"#
            )
            .unwrap()
        );
        assert!(
            serde_json::to_string(&order)
                .unwrap()
                .contains(r#""totalAmount":19.97"#)
        );
    }

    #[test]
    fn the_workshops_numeric_ids_keep_their_type() {
        let b = json!({
            "restaurantId": 1,
            "orderId": 42,
            "orderItems": [{"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1}],
            "totalAmount": 9.99,
            "status": "PLACED"
        });
        let new = NewOrder::try_from(&b).unwrap();
        assert_eq!(new.order_id().as_str(), "42");
        let order = new.place(&UserId::new("u").unwrap(), datetime!(2025-01-01 0:00 UTC));
        let data = serde_json::to_value(&order).unwrap();
        assert_eq!(data["restaurantId"], json!(1));
        assert_eq!(data["orderId"], json!(42));
        assert_eq!(data["orderItems"], b["orderItems"]);
        assert_eq!(data["totalAmount"], json!(9.99));
    }

    #[test]
    fn items_dynamodb_cannot_store_are_refused_by_kind() {
        let deep: Value =
            serde_json::from_str(&format!("[{}1{}]", "[".repeat(31), "]".repeat(31))).unwrap();
        let err = NewOrder::try_from(&body(json!({ "orderItems": deep }))).unwrap_err();
        assert!(err.to_string().contains("more than 32 levels"), "{err}");
        let err = NewOrder::try_from(&body(json!({"orderItems": [{"": 1}]}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "orderItems[0]: an empty string cannot be an attribute name"
        );
        assert!(!err.is_too_large());
        let huge = json!({"orderItems": ["x".repeat(MAX_ITEM_SIZE)]});
        assert!(NewOrder::try_from(&body(huge)).unwrap_err().is_too_large());
    }

    #[test]
    fn a_bad_id_is_named_with_its_reason() {
        let err = NewOrder::try_from(&body(json!({"restaurantId": ""}))).unwrap_err();
        assert_eq!(err.to_string(), "restaurantId must not be empty");
        let err = NewOrder::try_from(&body(json!({"restaurantId": [1]}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "restaurantId must be a non-empty string or a number"
        );
    }

    fn stored(data: Value) -> Order {
        Order::from_data(data.as_object().unwrap().clone())
    }

    #[test]
    fn content_matches_a_stored_order_as_json_whatever_the_spelling() {
        let new = NewOrder::try_from(&body(json!({"restaurantId": 7}))).unwrap();
        let same = stored(json!({"restaurantId": 7.0, "totalAmount": 19.970,
            "orderItems": [{"quantity": 2, "price": 9.99, "name": "Pasta"}]}));
        assert!(new.content().matches(&same));
        let text_id = stored(json!({"restaurantId": "7", "totalAmount": 19.97,
            "orderItems": [{"quantity": 2, "price": 9.99, "name": "Pasta"}]}));
        assert!(!new.content().matches(&text_id), "7 and \"7\" differ");
    }

    #[test]
    fn another_writers_order_is_read_without_retyping() {
        let order = stored(json!({
            "status": "ACKNOWLEDGED", "totalAmount": "32.97",
            "orderTime": "2023-04-05T21:11:21.300436"
        }));
        assert!(!order.is_placed());
        assert_eq!(order.status_text(), "ACKNOWLEDGED");
        assert_eq!(
            order.order_time().unwrap(),
            datetime!(2023-04-05 21:11:21.300436 UTC)
        );
        assert_eq!(order.data()["totalAmount"], json!("32.97"));
    }

    #[test]
    fn order_times_of_every_writer_are_read_and_junk_is_named() {
        for (raw, at) in [
            ("2025-01-01T12:00:00Z", datetime!(2025-01-01 12:00 UTC)),
            ("2025-01-01T14:00:00+02:00", datetime!(2025-01-01 12:00 UTC)),
            (
                "2025-01-01T12:00:00.5Z",
                datetime!(2025-01-01 12:00:00.5 UTC),
            ),
            ("2025-01-01 12:00:00", datetime!(2025-01-01 12:00 UTC)),
            ("2025-01-01T12:00:00", datetime!(2025-01-01 12:00 UTC)),
        ] {
            let order = stored(json!({"orderTime": raw}));
            assert_eq!(order.order_time(), Ok(at), "{raw}");
        }
        for junk in [json!("yesterday"), json!(1712345678), json!(null)] {
            let order = stored(json!({"orderTime": junk}));
            assert!(order.order_time().is_err(), "{junk}");
        }
        assert!(stored(json!({})).order_time().is_err());
        assert_eq!(stored(json!({"status": 3})).status_text(), "3");
        assert!(!stored(json!({"status": 3})).is_placed());
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
    fn the_cancel_window_is_ten_minutes_to_the_instant() {
        let placed = datetime!(2025-01-01 12:00:00 UTC);
        assert!(within_cancel_window(
            placed,
            datetime!(2025-01-01 12:10:00 UTC)
        ));
        assert!(!within_cancel_window(
            placed,
            datetime!(2025-01-01 12:10:00.001 UTC)
        ));
        // Across midnight and a year end.
        assert!(within_cancel_window(
            datetime!(2024-12-31 23:55:00 UTC),
            datetime!(2025-01-01 00:05:00 UTC)
        ));
    }

    #[test]
    fn order_times_are_utc_whatever_the_offset() {
        assert_eq!(
            order_time(datetime!(2025-06-01 02:00:00 +02:00)),
            "2025-06-01T00:00:00Z"
        );
    }
}
