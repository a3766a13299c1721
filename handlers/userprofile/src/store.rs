//! Narrow stores over the Address and Favorites tables.
//!
//! Each trait is one function's whole need (and so its IAM policy): the add consumer can
//! only insert, the edit consumer only update, the list routes only query. The DynamoDB
//! tables implement them with `serde_dynamo` item mapping; unit tests use in-memory ones.
//!
//! Conventions: items are written and read through the serde structs of this module, whose
//! field names are the table's attribute names (`user_id`, `address_id`, `restaurant_id`,
//! `line1`, `line2`, `city`, `stateProvince`, `postal`). Every query follows
//! `LastEvaluatedKey` to the last page, so a user with more than 1 MB of items still gets
//! all of them. Attribute names always go through expression attribute names, so no
//! attribute can collide with a DynamoDB reserved word.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1 as dynamo;

use crate::domain::{Address, AddressId, CommandStamp, Favorite, RestaurantId, UserId};

/// Environment variable naming the Address table.
pub const ADDRESS_TABLE_ENV: &str = "ADDRESS_TABLE";
/// Environment variable naming the Favorites table.
pub const FAVORITES_TABLE_ENV: &str = "FAVORITES_TABLE";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A table request failed, or an item did not have the shape this service writes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB refused or could not answer the request.
    #[error("dynamodb {operation} on table {table} failed")]
    Request {
        /// The API operation, e.g. `PutItem`.
        operation: &'static str,
        /// The table's name.
        table: String,
        /// The SDK's error.
        #[source]
        source: BoxError,
    },
    /// An item could not be mapped to or from its DynamoDB form.
    #[error("an item of table {table} does not map to the service's item type")]
    Mapping {
        /// The table's name.
        table: String,
        /// The mapping error.
        #[source]
        source: serde_dynamo::Error,
    },
}

/// What inserting an address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The address is new.
    Created,
    /// An address with this id already existed and was left as it was.
    AlreadyThere,
}

/// What an update of an existing address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    /// The address existed and now has the new fields.
    Updated,
    /// No such address (or it was deleted); nothing was written.
    Missing,
    /// A later update was applied already; this one changed nothing.
    Superseded,
}

/// What deleting an address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// The address existed and is gone.
    Removed,
    /// There was no such address (or it was deleted before); it stays deleted.
    Missing,
}

/// One address as the list route returns it: the id and the five fields, no `user_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedAddress {
    /// The address's id.
    pub address_id: AddressId,
    /// Its fields.
    #[serde(flatten)]
    pub address: Address,
}

/// Creates addresses.
pub trait InsertAddress {
    /// Stores `address` as `id` of `user` unless that id already exists (a redelivered
    /// event must not overwrite an edit made since).
    fn insert_address(
        &self,
        user: &UserId,
        id: &AddressId,
        address: &Address,
    ) -> impl Future<Output = Result<Inserted, StoreError>> + Send;
}

/// Changes existing addresses, never creating one.
pub trait UpdateAddress {
    /// Replaces the five fields of `user`'s address `id` if it exists (and was not
    /// deleted), unless an update stamped later than `stamp` was applied already.
    fn update_address(
        &self,
        user: &UserId,
        id: &AddressId,
        address: &Address,
        stamp: &CommandStamp,
    ) -> impl Future<Output = Result<Updated, StoreError>> + Send;
}

/// Deletes addresses.
pub trait RemoveAddress {
    /// Deletes `user`'s address `id` for good: a removed marker stays in its place (until
    /// the table's TTL), so that neither a late add nor a late update brings it back.
    fn remove_address(
        &self,
        user: &UserId,
        id: &AddressId,
    ) -> impl Future<Output = Result<Removed, StoreError>> + Send;
}

/// One Query page: the items, and the sort key to go on after when there are more.
pub type QueryPage<T> = (Vec<T>, Option<String>);

/// Reads a user's addresses.
pub trait ListAddresses {
    /// One page of `user`'s addresses in address id order: after the address id `after`
    /// (exclusive), at most `limit` of them.
    fn list_addresses(
        &self,
        user: &UserId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> impl Future<Output = Result<QueryPage<ListedAddress>, StoreError>> + Send;
}

/// Whether a favorites command changed the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It was the latest command for this favorite, and is now its state.
    Applied,
    /// A later command (or this one, redelivered) was applied already; nothing changed.
    Superseded,
}

/// Adds and removes favorites, each only when it is later than the last command applied
/// to the same favorite, so they converge whatever order they arrive in.
pub trait ApplyFavorite {
    /// Marks the restaurant as a favorite of the user (again, if it already is).
    fn add_favorite(
        &self,
        favorite: &Favorite,
        stamp: &CommandStamp,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
    /// Unmarks it (nothing to unmark if it was not a favorite; the removal is kept).
    fn remove_favorite(
        &self,
        favorite: &Favorite,
        stamp: &CommandStamp,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

/// Reads a user's favorites.
pub trait ListFavorites {
    /// One page of `user`'s favorite restaurants in restaurant id order: after the
    /// restaurant id `after` (exclusive), at most `limit` of them.
    fn list_favorites(
        &self,
        user: &UserId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> impl Future<Output = Result<QueryPage<RestaurantId>, StoreError>> + Send;
}

/// The Address table (`user_id`, `address_id`).
#[derive(Debug, Clone)]
pub struct AddressTable {
    client: Client,
    name: String,
}

/// The Favorites table (`user_id`, `restaurant_id`).
#[derive(Debug, Clone)]
pub struct FavoritesTable {
    client: Client,
    name: String,
}

#[derive(Serialize)]
struct AddressItem<'a> {
    user_id: &'a UserId,
    address_id: &'a AddressId,
    #[serde(flatten)]
    address: &'a Address,
}

#[derive(Serialize, Deserialize)]
struct FavoriteItem {
    user_id: UserId,
    restaurant_id: RestaurantId,
}

/// The attribute with the stamp of the last command applied to an item.
const STAMP: &str = "command_stamp";
/// Marks a removed favorite or address; such items are not listed.
const REMOVED: &str = "removed";
/// The tables' TTL attribute (epoch seconds), set on removed items only.
const EXPIRES_AT: &str = "expires_at";
/// How long a removal is kept: longer than the favorites queue, Lambda's retries of an
/// event and the dead-letter queues keep a message (14 days at most), so no command older
/// than it can still arrive.
const REMOVAL_KEPT_SECONDS: u64 = 15 * 24 * 3600;

/// Whether a stored item (as a write returned it) is one a read shows: there, not removed.
fn is_shown(item: Option<&HashMap<String, AttributeValue>>) -> bool {
    item.is_some_and(|i| !i.is_empty() && !i.contains_key(REMOVED))
}

/// When a removal made now expires, for the TTL attribute.
fn removal_expiry() -> AttributeValue {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    AttributeValue::N((now + REMOVAL_KEPT_SECONDS).to_string())
}

/// What a conditional `PutItem` did: `written`, or `refused` when its condition failed.
fn put_outcome<T>(
    result: Result<PutItemOutput, SdkError<PutItemError, HttpResponse>>,
    written: T,
    refused: T,
) -> Result<T, BoxError> {
    match result {
        Ok(_) => Ok(written),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(refused)
        }
        Err(e) => Err(e.into()),
    }
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

impl AddressTable {
    /// The table called `name`, reached through `client`.
    pub fn new(client: Client, name: impl Into<String>) -> AddressTable {
        AddressTable {
            client,
            name: name.into(),
        }
    }

    fn request_error(&self, operation: &'static str, source: impl Into<BoxError>) -> StoreError {
        StoreError::Request {
            operation,
            table: self.name.clone(),
            source: source.into(),
        }
    }

    fn key(user: &UserId, id: &AddressId) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("user_id".to_owned(), s(user.as_str())),
            ("address_id".to_owned(), s(id.as_str())),
        ])
    }
}

impl InsertAddress for AddressTable {
    async fn insert_address(
        &self,
        user: &UserId,
        id: &AddressId,
        address: &Address,
    ) -> Result<Inserted, StoreError> {
        let item = dynamo::to_item(AddressItem {
            user_id: user,
            address_id: id,
            address,
        })
        .map_err(|source| StoreError::Mapping {
            table: self.name.clone(),
            source,
        })?;
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#address_id)")
            .expression_attribute_names("#address_id", "address_id")
            .send()
            .await;
        put_outcome(result, Inserted::Created, Inserted::AlreadyThere)
            .map_err(|e| self.request_error("PutItem", e))
    }
}

impl UpdateAddress for AddressTable {
    fn update_address(
        &self,
        user: &UserId,
        id: &AddressId,
        address: &Address,
        stamp: &CommandStamp,
    ) -> impl Future<Output = Result<Updated, StoreError>> + Send {
        self.update_if_later(user, id, address, stamp)
    }
}

impl AddressTable {
    async fn update_if_later(
        &self,
        user: &UserId,
        id: &AddressId,
        address: &Address,
        stamp: &CommandStamp,
    ) -> Result<Updated, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(user, id)))
            .update_expression(
                "SET #line1 = :line1, #line2 = :line2, #city = :city, \
                 #stateProvince = :stateProvince, #postal = :postal, #stamp = :stamp",
            )
            // The key attribute exists exactly when the item does: this is what keeps an
            // edit of a never created address from creating it; a deleted one is a marker.
            .condition_expression(
                "attribute_exists(#address_id) AND attribute_not_exists(#removed) \
                 AND (attribute_not_exists(#stamp) OR #stamp < :stamp)",
            )
            .expression_attribute_names("#address_id", "address_id")
            .expression_attribute_names("#removed", REMOVED)
            .expression_attribute_names("#stamp", STAMP)
            .expression_attribute_names("#line1", "line1")
            .expression_attribute_names("#line2", "line2")
            .expression_attribute_names("#city", "city")
            .expression_attribute_names("#stateProvince", "stateProvince")
            .expression_attribute_names("#postal", "postal")
            .expression_attribute_values(":line1", s(address.line1()))
            .expression_attribute_values(":line2", s(address.line2()))
            .expression_attribute_values(":city", s(address.city()))
            .expression_attribute_values(":stateProvince", s(address.state_province()))
            .expression_attribute_values(":postal", s(address.postal()))
            .expression_attribute_values(":stamp", s(stamp.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Updated::Updated),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(if is_shown(refused.item()) {
                        Updated::Superseded
                    } else {
                        Updated::Missing
                    })
                }
                _ => Err(self.request_error("UpdateItem", e)),
            },
        }
    }
}

impl RemoveAddress for AddressTable {
    async fn remove_address(&self, user: &UserId, id: &AddressId) -> Result<Removed, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(user, id)))
            .update_expression(
                "SET #removed = :removed, #expires = :expires \
                 REMOVE #line1, #line2, #city, #stateProvince, #postal",
            )
            .expression_attribute_names("#removed", REMOVED)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_names("#line1", "line1")
            .expression_attribute_names("#line2", "line2")
            .expression_attribute_names("#city", "city")
            .expression_attribute_names("#stateProvince", "stateProvince")
            .expression_attribute_names("#postal", "postal")
            .expression_attribute_values(":removed", AttributeValue::Bool(true))
            .expression_attribute_values(":expires", removal_expiry())
            // Only to tell the log whether there was something to delete.
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| self.request_error("UpdateItem", e))?;
        Ok(if is_shown(output.attributes()) {
            Removed::Removed
        } else {
            Removed::Missing
        })
    }
}

impl ListAddresses for AddressTable {
    async fn list_addresses(
        &self,
        user: &UserId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<QueryPage<ListedAddress>, StoreError> {
        let page = SortKeyPage {
            name: "address_id",
            after,
            limit,
        };
        let (items, last) = query_page(&self.client, &self.name, user, page)
            .await
            .map_err(|e| self.request_error("Query", e))?;
        let addresses = dynamo::from_items(items).map_err(|source| StoreError::Mapping {
            table: self.name.clone(),
            source,
        })?;
        Ok((addresses, last))
    }
}

impl FavoritesTable {
    /// The table called `name`, reached through `client`.
    pub fn new(client: Client, name: impl Into<String>) -> FavoritesTable {
        FavoritesTable {
            client,
            name: name.into(),
        }
    }

    fn request_error(&self, operation: &'static str, source: impl Into<BoxError>) -> StoreError {
        StoreError::Request {
            operation,
            table: self.name.clone(),
            source: source.into(),
        }
    }
}

impl FavoritesTable {
    /// Writes `favorite`'s state if `stamp` is later than the stamp stored with it.
    async fn put_if_later(
        &self,
        favorite: &Favorite,
        stamp: &CommandStamp,
        removed: bool,
    ) -> Result<Applied, StoreError> {
        let mut item = HashMap::from([
            ("user_id".to_owned(), s(favorite.user_id.as_str())),
            (
                "restaurant_id".to_owned(),
                s(favorite.restaurant_id.as_str()),
            ),
            (STAMP.to_owned(), s(stamp.as_str())),
        ]);
        if removed {
            item.insert(REMOVED.to_owned(), AttributeValue::Bool(true));
            item.insert(EXPIRES_AT.to_owned(), removal_expiry());
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#stamp) OR #stamp < :stamp")
            .expression_attribute_names("#stamp", STAMP)
            .expression_attribute_values(":stamp", s(stamp.as_str()))
            .send()
            .await;
        put_outcome(result, Applied::Applied, Applied::Superseded)
            .map_err(|e| self.request_error("PutItem", e))
    }
}

impl ApplyFavorite for FavoritesTable {
    fn add_favorite(
        &self,
        favorite: &Favorite,
        stamp: &CommandStamp,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send {
        self.put_if_later(favorite, stamp, false)
    }

    fn remove_favorite(
        &self,
        favorite: &Favorite,
        stamp: &CommandStamp,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send {
        self.put_if_later(favorite, stamp, true)
    }
}

impl ListFavorites for FavoritesTable {
    async fn list_favorites(
        &self,
        user: &UserId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<QueryPage<RestaurantId>, StoreError> {
        let page = SortKeyPage {
            name: "restaurant_id",
            after,
            limit,
        };
        let (items, last) = query_page(&self.client, &self.name, user, page)
            .await
            .map_err(|e| self.request_error("Query", e))?;
        let favorites: Vec<FavoriteItem> =
            dynamo::from_items(items).map_err(|source| StoreError::Mapping {
                table: self.name.clone(),
                source,
            })?;
        Ok((
            favorites.into_iter().map(|f| f.restaurant_id).collect(),
            last,
        ))
    }
}

/// Where a Query page of one user's items starts and how long it may be.
struct SortKeyPage<'a> {
    /// The table's sort key attribute.
    name: &'static str,
    /// The sort key (a string) to start after.
    after: Option<&'a str>,
    /// The most items read (before removed ones are left out).
    limit: Option<usize>,
}

/// One Query page of the items whose partition key `user_id` is `user`, and the sort key
/// to go on after when there are more.
async fn query_page(
    client: &Client,
    table: &str,
    user: &UserId,
    page: SortKeyPage<'_>,
) -> Result<QueryPage<HashMap<String, AttributeValue>>, BoxError> {
    let start = page.after.map(|after| {
        HashMap::from([
            ("user_id".to_owned(), s(user.as_str())),
            (page.name.to_owned(), s(after)),
        ])
    });
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("#user_id = :user_id")
        .expression_attribute_names("#user_id", "user_id")
        .expression_attribute_values(":user_id", s(user.as_str()))
        .set_exclusive_start_key(start)
        .set_limit(page.limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
        // Removed favorites and addresses stay as markers; a read never shows them.
        .filter_expression("attribute_not_exists(#removed)")
        .expression_attribute_names("#removed", REMOVED)
        .send()
        .await?;
    let last = match out.last_evaluated_key().and_then(|k| k.get(page.name)) {
        Some(AttributeValue::S(key)) => Some(key.clone()),
        _ => None,
    };
    Ok((out.items.unwrap_or_default(), last))
}
