//! The three consumers of the address bus: `address.added`, `address.updated` and
//! `address.deleted` events from source `customer-profile`, one rule and one function each.
//!
//! The event's `detail` is read in two steps. Serde reads its shape (the `*Detail`
//! structs: which fields, all strings); an event whose detail lacks a field or carries a
//! non-string is refused by the Lambda runtime's deserializer. Then `TryFrom` parses the
//! detail into a command of domain types, refusing blank or oversized ids with an
//! [`AddressEventError`]. Either way the invocation fails and nothing is written; since
//! EventBridge invokes the function asynchronously, Lambda retries the event and then
//! hands it to the function's dead-letter queue (the rule target's own dead-letter queue
//! only catches events EventBridge could not deliver at all).
//!
//! EventBridge delivers at least once, and late: Lambda retries an event for hours. The add
//! consumer derives the new address's id from the event's id, so a redelivered
//! `address.added` finds its address already there instead of creating a second one. An
//! update applies only when it is later (event time, then event id) than the last update
//! applied, so reversed updates end as the later one. A delete leaves a removed marker (with
//! a TTL), so that neither a late add nor a late update brings the address back.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

use crate::domain::{Address, AddressId, CommandStamp, IdError, StampError, UserId};
use crate::store::{
    InsertAddress, Inserted, RemoveAddress, Removed, StoreError, UpdateAddress, Updated,
};

/// The source of every address event.
pub const SOURCE: &str = "customer-profile";
/// Detail-type of a new address.
pub const ADDRESS_ADDED: &str = "address.added";
/// Detail-type of an edited address.
pub const ADDRESS_UPDATED: &str = "address.updated";
/// Detail-type of a deleted address.
pub const ADDRESS_DELETED: &str = "address.deleted";

/// Detail of `address.added`: the caller and the five fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressAddedDetail {
    /// The caller's `sub`.
    pub user_id: String,
    /// The new address.
    #[serde(flatten)]
    pub address: Address,
}

/// Detail of `address.updated`: the caller, the address id and the five new fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressUpdatedDetail {
    /// The caller's `sub`.
    pub user_id: String,
    /// The address to change, from the request path.
    pub address_id: String,
    /// Its new fields.
    #[serde(flatten)]
    pub address: Address,
}

/// Detail of `address.deleted`: the caller and the address id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressDeletedDetail {
    /// The caller's `sub`.
    pub user_id: String,
    /// The address to delete, from the request path.
    pub address_id: String,
}

/// Why an address event was refused or could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum AddressEventError {
    /// The event is not the one this function consumes (a rule or wiring mistake).
    #[error(
        "expected an event of source {SOURCE} and detail-type {expected}, got source {source_name} and detail-type {detail_type}"
    )]
    UnexpectedEvent {
        /// The detail-type this function consumes.
        expected: &'static str,
        /// The event's source.
        source_name: String,
        /// The event's detail-type.
        detail_type: String,
    },
    /// A field of the detail is not a valid id.
    #[error("invalid event detail")]
    InvalidDetail(#[from] IdError),
    /// The event's `id` or `time`, which order an address's updates, is missing or unusable.
    #[error("event id or time: {0}")]
    InvalidStamp(#[from] StampError),
    /// The Address table could not be written.
    #[error("could not apply the event to the address table")]
    Store(#[from] StoreError),
}

impl AddressEventError {
    /// The `errorType` the Lambda runtime reports for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            AddressEventError::UnexpectedEvent { .. } => "UserProfile.UnexpectedEvent",
            AddressEventError::InvalidDetail(_) => "UserProfile.InvalidEventDetail",
            AddressEventError::InvalidStamp(_) => "UserProfile.InvalidEvent",
            AddressEventError::Store(_) => "UserProfile.StoreFailed",
        }
    }
}

impl From<AddressEventError> for Diagnostic {
    fn from(err: AddressEventError) -> Diagnostic {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: crate::error_chain(&err),
        }
    }
}

/// A new address for a user, parsed from an `address.added` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddAddress {
    /// The owner.
    pub user_id: UserId,
    /// The id the address is stored under.
    pub address_id: AddressId,
    /// The fields.
    pub address: Address,
}

/// New fields for an existing address, parsed from an `address.updated` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditAddress {
    /// The owner.
    pub user_id: UserId,
    /// The address to change.
    pub address_id: AddressId,
    /// Its new fields.
    pub address: Address,
    /// When the event was sent, to apply the last of several updates.
    pub stamp: CommandStamp,
}

/// An address to delete, parsed from an `address.deleted` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteAddress {
    /// The owner.
    pub user_id: UserId,
    /// The address to delete.
    pub address_id: AddressId,
}

fn expect_event<T>(
    event: &EventBridgeEvent<T>,
    expected: &'static str,
) -> Result<(), AddressEventError>
where
    T: Serialize + serde::de::DeserializeOwned,
{
    if event.source == SOURCE && event.detail_type == expected {
        Ok(())
    } else {
        Err(AddressEventError::UnexpectedEvent {
            expected,
            source_name: event.source.clone(),
            detail_type: event.detail_type.clone(),
        })
    }
}

/// The id a new address gets: derived from the event id when there is one, so that a
/// redelivery of the same event names the same address; random otherwise (hand-made
/// test events may lack an id).
fn address_id_for(event_id: Option<&str>) -> AddressId {
    match event_id.filter(|id| !id.is_empty()) {
        Some(id) => {
            use sha2::Digest;
            // A name-based UUID (RFC 9562 version 8 with SHA-256, as its appendix shows);
            // the prefix keeps these ids apart from any other use of the event id.
            let digest = sha2::Sha256::digest(format!("userprofile/address.added/{id}"));
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            AddressId::from_uuid(uuid::Uuid::new_v8(bytes))
        }
        None => AddressId::new_random(),
    }
}

impl TryFrom<EventBridgeEvent<AddressAddedDetail>> for AddAddress {
    type Error = AddressEventError;

    fn try_from(event: EventBridgeEvent<AddressAddedDetail>) -> Result<Self, Self::Error> {
        expect_event(&event, ADDRESS_ADDED)?;
        Ok(AddAddress {
            user_id: UserId::parse(event.detail.user_id)?,
            address_id: address_id_for(event.id.as_deref()),
            address: event.detail.address,
        })
    }
}

impl TryFrom<EventBridgeEvent<AddressUpdatedDetail>> for EditAddress {
    type Error = AddressEventError;

    fn try_from(event: EventBridgeEvent<AddressUpdatedDetail>) -> Result<Self, Self::Error> {
        expect_event(&event, ADDRESS_UPDATED)?;
        let millis = event
            .time
            .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
            .ok_or(StampError::MissingTime)?;
        let stamp = CommandStamp::new(millis, event.id.as_deref().unwrap_or_default())?;
        Ok(EditAddress {
            user_id: UserId::parse(event.detail.user_id)?,
            address_id: AddressId::parse(event.detail.address_id)?,
            address: event.detail.address,
            stamp,
        })
    }
}

impl TryFrom<EventBridgeEvent<AddressDeletedDetail>> for DeleteAddress {
    type Error = AddressEventError;

    fn try_from(event: EventBridgeEvent<AddressDeletedDetail>) -> Result<Self, Self::Error> {
        expect_event(&event, ADDRESS_DELETED)?;
        Ok(DeleteAddress {
            user_id: UserId::parse(event.detail.user_id)?,
            address_id: AddressId::parse(event.detail.address_id)?,
        })
    }
}

fn log_refusal(err: AddressEventError) -> AddressEventError {
    tracing::error!(
        error.cause_chain = ?err,
        error.message = %crate::error_chain(&err),
        error.type = err.error_type(),
        "address event failed"
    );
    err
}

/// Consumes an `address.added` event: stores the new address and returns its id.
///
/// ```no_run
/// # async fn f(table: userprofile::store::AddressTable, event: aws_lambda_events::eventbridge::EventBridgeEvent<userprofile::address::AddressAddedDetail>) {
/// let id = userprofile::address::on_address_added(&table, event).await;
/// # }
/// ```
#[tracing::instrument(skip_all, fields(event_id = event.id.as_deref().unwrap_or("")))]
pub async fn on_address_added(
    store: &impl InsertAddress,
    event: EventBridgeEvent<AddressAddedDetail>,
) -> Result<AddressId, AddressEventError> {
    let add = AddAddress::try_from(event).map_err(log_refusal)?;
    let inserted = store
        .insert_address(&add.user_id, &add.address_id, &add.address)
        .await
        .map_err(|e| log_refusal(e.into()))?;
    match inserted {
        Inserted::Created => tracing::info!(address_id = %add.address_id, "address added"),
        Inserted::AlreadyThere => {
            tracing::info!(address_id = %add.address_id, "address already added by an earlier delivery of this event")
        }
    }
    Ok(add.address_id)
}

/// Consumes an `address.updated` event: changes the address if it exists. An address
/// that does not exist is not created; that outcome is [`Updated::Missing`], not an
/// error, since retrying could never make it succeed.
#[tracing::instrument(skip_all, fields(event_id = event.id.as_deref().unwrap_or("")))]
pub async fn on_address_updated(
    store: &impl UpdateAddress,
    event: EventBridgeEvent<AddressUpdatedDetail>,
) -> Result<Updated, AddressEventError> {
    let edit = EditAddress::try_from(event).map_err(log_refusal)?;
    let updated = store
        .update_address(&edit.user_id, &edit.address_id, &edit.address, &edit.stamp)
        .await
        .map_err(|e| log_refusal(e.into()))?;
    match updated {
        Updated::Updated => tracing::info!(address_id = %edit.address_id, "address updated"),
        Updated::Missing => {
            tracing::warn!(address_id = %edit.address_id, "no such address; nothing updated")
        }
        Updated::Superseded => tracing::info!(
            address_id = %edit.address_id,
            "a later update was applied already; this one is ignored"
        ),
    }
    Ok(updated)
}

/// Consumes an `address.deleted` event: deletes the address; a missing one is a no-op.
#[tracing::instrument(skip_all, fields(event_id = event.id.as_deref().unwrap_or("")))]
pub async fn on_address_deleted(
    store: &impl RemoveAddress,
    event: EventBridgeEvent<AddressDeletedDetail>,
) -> Result<Removed, AddressEventError> {
    let delete = DeleteAddress::try_from(event).map_err(log_refusal)?;
    let removed = store
        .remove_address(&delete.user_id, &delete.address_id)
        .await
        .map_err(|e| log_refusal(e.into()))?;
    match removed {
        Removed::Removed => tracing::info!(address_id = %delete.address_id, "address deleted"),
        Removed::Missing => {
            tracing::info!(address_id = %delete.address_id, "no such address; nothing to delete")
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event<T: Serialize + serde::de::DeserializeOwned>(
        detail_type: &str,
        detail: serde_json::Value,
    ) -> EventBridgeEvent<T> {
        serde_json::from_value(json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type, "source": SOURCE, "account": "123456789012",
            "time": "2024-05-01T12:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail
        }))
        .unwrap()
    }

    fn fields() -> serde_json::Value {
        json!({"line1": "1 Main St", "line2": "Apt 2", "city": "Springfield",
               "stateProvince": "IL", "postal": "62701"})
    }

    fn with(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    #[test]
    fn an_added_event_parses_into_a_command_with_a_uuid() {
        let e = event(ADDRESS_ADDED, with(fields(), json!({"userId": "u-1"})));
        let add = AddAddress::try_from(e).unwrap();
        assert_eq!(add.user_id.as_str(), "u-1");
        assert_eq!(add.address.state_province(), "IL");
        assert!(uuid::Uuid::parse_str(add.address_id.as_str()).is_ok());
    }

    #[test]
    fn the_same_added_event_always_names_the_same_address() {
        let detail = with(fields(), json!({"userId": "u-1"}));
        let a = AddAddress::try_from(event(ADDRESS_ADDED, detail.clone())).unwrap();
        let b = AddAddress::try_from(event(ADDRESS_ADDED, detail)).unwrap();
        assert_eq!(a.address_id, b.address_id);
        assert_ne!(address_id_for(Some("other")), a.address_id);
    }

    #[test]
    fn an_added_event_without_id_gets_a_random_address_id() {
        assert_ne!(address_id_for(None), address_id_for(None));
        assert_ne!(address_id_for(Some("")), address_id_for(Some("")));
    }

    #[test]
    fn a_blank_user_is_an_invalid_detail() {
        let e = event(ADDRESS_ADDED, with(fields(), json!({"userId": " "})));
        let err = AddAddress::try_from(e).unwrap_err();
        assert!(matches!(err, AddressEventError::InvalidDetail(_)), "{err}");
        let diagnostic = Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "UserProfile.InvalidEventDetail");
        assert_eq!(
            diagnostic.error_message,
            "invalid event detail: userId is empty"
        );
    }

    #[test]
    fn an_event_of_another_detail_type_is_refused() {
        let e = event(ADDRESS_UPDATED, with(fields(), json!({"userId": "u-1"})));
        let err = AddAddress::try_from(e).unwrap_err();
        assert_eq!(err.error_type(), "UserProfile.UnexpectedEvent");
        assert_eq!(
            err.to_string(),
            "expected an event of source customer-profile and detail-type address.added, \
             got source customer-profile and detail-type address.updated"
        );
    }

    #[test]
    fn an_update_needs_a_non_blank_address_id() {
        let e = event(
            ADDRESS_UPDATED,
            with(fields(), json!({"userId": "u-1", "addressId": ""})),
        );
        let err = EditAddress::try_from(e).unwrap_err();
        assert_eq!(
            crate::error_chain(&err),
            "invalid event detail: addressId is empty"
        );
    }

    #[test]
    fn a_detail_missing_a_field_or_with_a_number_does_not_deserialize() {
        let no_postal = json!({"userId": "u-1", "line1": "a", "line2": "b", "city": "c",
                               "stateProvince": "d"});
        let number = with(fields(), json!({"userId": "u-1", "postal": 62701}));
        for detail in [no_postal, number] {
            let raw = json!({"detail-type": ADDRESS_ADDED, "source": SOURCE, "detail": detail});
            assert!(serde_json::from_value::<EventBridgeEvent<AddressAddedDetail>>(raw).is_err());
        }
    }

    #[test]
    fn a_deleted_event_needs_only_user_and_address() {
        let e = event(
            ADDRESS_DELETED,
            json!({"userId": "u-1", "addressId": "a-1"}),
        );
        let delete = DeleteAddress::try_from(e).unwrap();
        assert_eq!(delete.address_id.as_str(), "a-1");
    }
}
