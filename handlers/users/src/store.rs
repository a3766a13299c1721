//! Where users live: the narrow store the routes need, and its DynamoDB implementation.
//!
//! Items are mapped with [`handler_common::dynamo`]: every value keeps its JSON type and
//! every number its exact text, both ways, also for items another writer stored (no
//! `f64` on the way, which would round `123456789012345678901234567890`).

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use handler_common::dynamo::{AttrError, from_attr_map, to_attr_map};

use crate::domain::{User, UserId};

/// A storage operation failed; never the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB answered with an error (or could not be reached).
    #[error("dynamodb {operation} on table {table} failed")]
    Dynamo {
        /// The API call, e.g. `Scan`.
        operation: &'static str,
        /// The table's name.
        table: String,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored item holds an attribute with no JSON counterpart (binary).
    #[error("item mapping failed")]
    Mapping(#[from] AttrError),
    /// An item of the table is not a user (no string `userid`).
    #[error("stored item is not a user")]
    NotAUser(#[from] crate::domain::ValidationError),
}

/// What the users function needs from storage, and nothing more.
pub trait UserStore: Sync {
    /// One Scan page after `after` (exclusive), of at most `limit` users: the users, and
    /// the key to continue after when the table has more.
    fn scan(
        &self,
        after: Option<&UserId>,
        limit: Option<usize>,
    ) -> impl Future<Output = Result<(Vec<User>, Option<UserId>), StoreError>> + Send;
    /// The user with `id`, if there is one.
    fn get(&self, id: &UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    /// Stores `user` under its `userid`, replacing any item with that key.
    fn put(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes the user with `id`; removing an absent user is not an error.
    fn delete(&self, id: &UserId) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The users table in DynamoDB (partition key `userid`).
#[derive(Debug, Clone)]
pub struct DynamoUserStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoUserStore {
    /// A store over `table`, using a client built once at init.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoUserStore {
            client,
            table: table.into(),
        }
    }

    fn failed<E>(&self, operation: &'static str) -> impl FnOnce(E) -> StoreError + '_
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |e| StoreError::Dynamo {
            operation,
            table: self.table.clone(),
            source: Box::new(e),
        }
    }

    fn key(id: &UserId) -> HashMap<String, AttributeValue> {
        HashMap::from([(
            "userid".to_owned(),
            AttributeValue::S(id.as_str().to_owned()),
        )])
    }
}

fn to_user(item: HashMap<String, AttributeValue>) -> Result<User, StoreError> {
    Ok(User::from_stored(from_attr_map(&item)?)?)
}

impl UserStore for DynamoUserStore {
    async fn scan(
        &self,
        after: Option<&UserId>,
        limit: Option<usize>,
    ) -> Result<(Vec<User>, Option<UserId>), StoreError> {
        // A Scan page also stops at 1 MB; the caller follows the returned key.
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .set_exclusive_start_key(after.map(Self::key))
            .set_limit(limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
            .send()
            .await
            .map_err(self.failed("Scan"))?;
        let last = match out.last_evaluated_key().and_then(|k| k.get("userid")) {
            Some(AttributeValue::S(id)) => Some(UserId::parse(id.clone())?),
            _ => None,
        };
        let users = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(to_user)
            .collect::<Result<_, _>>()?;
        Ok((users, last))
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            // A GET right after a PUT must see it.
            .consistent_read(true)
            .send()
            .await
            .map_err(self.failed("GetItem"))?;
        out.item.map(to_user).transpose()
    }

    async fn put(&self, user: &User) -> Result<(), StoreError> {
        let item = to_attr_map(user.fields());
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(self.failed("PutItem"))?;
        Ok(())
    }

    async fn delete(&self, id: &UserId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .send()
            .await
            .map_err(self.failed("DeleteItem"))?;
        Ok(())
    }
}

/// An in-memory store for tests of the routes.
#[cfg(test)]
pub(crate) mod memory {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;

    /// Users in a map; `fail` makes every call fail, to test the 500 path.
    #[derive(Default)]
    pub struct MemoryStore {
        pub users: Mutex<BTreeMap<UserId, User>>,
        pub fail: bool,
    }

    impl MemoryStore {
        fn check(&self) -> Result<(), StoreError> {
            if self.fail {
                return Err(StoreError::Dynamo {
                    operation: "Test",
                    table: "users".into(),
                    source: "injected failure".into(),
                });
            }
            Ok(())
        }
    }

    impl UserStore for MemoryStore {
        async fn scan(
            &self,
            after: Option<&UserId>,
            limit: Option<usize>,
        ) -> Result<(Vec<User>, Option<UserId>), StoreError> {
            use std::ops::Bound;
            self.check()?;
            let users = self.users.lock().unwrap();
            let start = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.clone()));
            let rest: Vec<User> = users
                .range((start, Bound::Unbounded))
                .map(|(_, u)| u.clone())
                .collect();
            let take = limit.unwrap_or(rest.len()).min(rest.len());
            let last = match take.checked_sub(1) {
                Some(i) if take < rest.len() => Some(rest[i].id().clone()),
                _ => None,
            };
            Ok((rest.into_iter().take(take).collect(), last))
        }
        async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
            self.check()?;
            Ok(self.users.lock().unwrap().get(id).cloned())
        }
        async fn put(&self, user: &User) -> Result<(), StoreError> {
            self.check()?;
            self.users
                .lock()
                .unwrap()
                .insert(user.id().clone(), user.clone());
            Ok(())
        }
        async fn delete(&self, id: &UserId) -> Result<(), StoreError> {
            self.check()?;
            self.users.lock().unwrap().remove(id);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn numbers_are_stored_as_dynamodb_numbers_and_read_back_exactly() {
        let body: Value = serde_json::from_str(
            r#"{"a":19.97,"b":-3,"c":123456789012345678901234567890,"d":[0.1,{"e":2}],"f":"7"}"#,
        )
        .unwrap();
        let item = to_attr_map(body.as_object().unwrap());
        assert_eq!(item["a"], AttributeValue::N("19.97".into()));
        assert_eq!(item["b"], AttributeValue::N("-3".into()));
        assert_eq!(
            item["c"],
            AttributeValue::N("123456789012345678901234567890".into())
        );
        assert_eq!(item["f"], AttributeValue::S("7".into()));
        let AttributeValue::L(list) = &item["d"] else {
            panic!("expected a list: {:?}", item["d"]);
        };
        assert_eq!(list[0], AttributeValue::N("0.1".into()));
        let back = Value::Object(from_attr_map(&item).unwrap());
        assert_eq!(back, body);
    }
}
