//! The orders use cases, over parsed inputs: create (idempotent), get, list, edit, cancel.

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use handler_common::paging::{self, PageQuery};

use crate::clock::Clock;
use crate::domain::{Money, NewOrder, Order, OrderEdit, OrderId, UserId, within_cancel_window};
use crate::error::OrderError;
use crate::idempotency::{
    Begin, Idempotency, IdempotencyError, IdempotencyKey, Lock, PayloadHash, StoredResponse,
};
use crate::store::{ChangeError, CreateError, ListedOrder, OrderStore};

/// The idempotency scope of order creation (the `<scope>` of record ids).
pub const CREATE_SCOPE: &str = "create-order";

/// How often a cancel reads the order and applies its rules when the order keeps changing
/// between the read and the write.
const CANCEL_ATTEMPTS: usize = 3;

/// Reading and changing existing orders.
#[derive(Clone)]
pub struct Orders {
    store: OrderStore,
    clock: Arc<dyn Clock>,
}

impl Orders {
    /// The use cases over `store`, with `clock` for the cancel window.
    pub fn new(store: OrderStore, clock: Arc<dyn Clock>) -> Orders {
        Orders { store, clock }
    }

    /// The caller's order `id`.
    pub async fn get(&self, user: &UserId, id: &OrderId) -> Result<Order, OrderError> {
        self.store
            .get(user, id)
            .await?
            .ok_or_else(|| OrderError::NotFound(id.to_string()))
    }

    /// The page of the caller's orders `query` asks for (every order when they fit one
    /// response), and the token for the next page.
    pub async fn list(
        &self,
        user: &UserId,
        query: &PageQuery,
    ) -> Result<paging::Page<Order>, OrderError> {
        let key_of = |listed: &ListedOrder| listed.order_id.clone();
        let overhead = r#"{"orders":[]}"#.len();
        let (listed, next) = paging::collect(query, overhead, key_of, |after, wanted| async move {
            self.store.page(user, after.as_deref(), wanted).await
        })
        .await?;
        Ok((listed.into_iter().map(|l| l.order).collect(), next))
    }

    /// Replaces restaurant, items and total of a `PLACED` order.
    pub async fn edit(
        &self,
        user: &UserId,
        id: &OrderId,
        edit: &OrderEdit,
    ) -> Result<Order, OrderError> {
        self.store
            .edit(user, id, edit.content())
            .await
            .map_err(|e| change_error(e, id, "edited"))
    }

    /// Cancels a `PLACED` order no older than 10 minutes.
    ///
    /// The rules read the stored order (its `orderTime` may be in any format another
    /// writer used); the write then requires the status and `orderTime` that were read, so
    /// a concurrent change is never overwritten: the rules are applied again to what changed.
    pub async fn cancel(&self, user: &UserId, id: &OrderId) -> Result<Order, OrderError> {
        for _ in 0..CANCEL_ATTEMPTS {
            let order = self.get(user, id).await?;
            if !order.is_placed() {
                return Err(wrong_status(id, &order, "canceled"));
            }
            let placed = order
                .order_time()
                .map_err(|e| OrderError::UnreadableOrderTime {
                    order_id: id.to_string(),
                    order_time: e.0,
                })?;
            if !within_cancel_window(placed, self.clock.now()) {
                return Err(OrderError::TooLate {
                    order_id: id.to_string(),
                    order_time: order.order_time_text(),
                });
            }
            match self.store.cancel(user, id, &order).await {
                Ok(canceled) => return Ok(canceled),
                Err(ChangeError::Changed(_)) => continue,
                Err(e) => return Err(change_error(e, id, "canceled")),
            }
        }
        Err(OrderError::Changing(id.to_string()))
    }
}

fn wrong_status(id: &OrderId, order: &Order, action: &'static str) -> OrderError {
    OrderError::WrongStatus {
        order_id: id.to_string(),
        status: order.status_text(),
        action,
    }
}

fn change_error(err: ChangeError, id: &OrderId, action: &'static str) -> OrderError {
    match err {
        ChangeError::NotFound => OrderError::NotFound(id.to_string()),
        ChangeError::WrongStatus(order) => wrong_status(id, &order, action),
        ChangeError::Changed(_) => OrderError::Changing(id.to_string()),
        ChangeError::Store(e) => OrderError::Store(e),
    }
}

/// Placing orders, idempotently by `orderId` per caller.
#[derive(Clone)]
pub struct CreateOrder {
    store: OrderStore,
    idempotency: Idempotency,
    clock: Arc<dyn Clock>,
}

/// How a create request was answered.
#[derive(Debug)]
pub enum Created {
    /// A new order was written (the only case that counts as a successful order).
    New {
        /// The order's total, for the metrics.
        total: Money,
        /// The response, as stored for replay.
        response: StoredResponse,
    },
    /// The first response to the same request, replayed.
    Replayed(StoredResponse),
    /// The order already existed with the same content (its idempotency record had
    /// expired); the stored order is answered.
    Existing(StoredResponse),
}

impl Created {
    /// The response to send.
    pub fn response(&self) -> &StoredResponse {
        match self {
            Created::New { response, .. }
            | Created::Replayed(response)
            | Created::Existing(response) => response,
        }
    }
}

impl CreateOrder {
    /// Creation over `store`, made idempotent with `idempotency`.
    pub fn new(store: OrderStore, idempotency: Idempotency, clock: Arc<dyn Clock>) -> CreateOrder {
        CreateOrder {
            store,
            idempotency,
            clock,
        }
    }

    /// Places the order in `body` for `user`, or answers as the first identical request
    /// was answered.
    ///
    /// `deadline` is when the invocation will be stopped; it bounds the idempotency lock
    /// and the wait for a concurrent duplicate.
    pub async fn create(
        &self,
        user: &UserId,
        body: &Value,
        deadline: Option<OffsetDateTime>,
    ) -> Result<Created, OrderError> {
        let new = NewOrder::try_from(body)?;
        let id = new.order_id().to_string();
        let key = IdempotencyKey::new(CREATE_SCOPE, user.as_str(), &id);
        let lock = match self
            .idempotency
            .begin(key, PayloadHash::of(body), deadline)
            .await
            .map_err(|e| idempotency_error(e, &id))?
        {
            Begin::Replay(response) => {
                tracing::info!(order_id = %id, "first response replayed");
                return Ok(Created::Replayed(response));
            }
            Begin::Run(lock) => lock,
        };
        let order = new.place(user, self.clock.now());
        let response = match serde_json::to_string(&order) {
            Ok(body) => StoredResponse { status: 200, body },
            Err(e) => {
                self.release(lock).await;
                return Err(OrderError::Store(crate::store::StoreError::Malformed(
                    e.to_string(),
                )));
            }
        };
        let completion = match self.idempotency.completion(&lock, &response) {
            Ok(c) => c,
            Err(e) => {
                self.release(lock).await;
                return Err(OrderError::Idempotency(e));
            }
        };
        match self
            .store
            .create_with(user, new.order_id(), &order, completion)
            .await
        {
            Ok(()) => {
                tracing::info!(order_id = %id, "order placed");
                Ok(Created::New {
                    total: new.content().total_amount(),
                    response,
                })
            }
            Err(CreateError::OrderExists) => self.existing(user, &new, lock).await,
            // Our lock expired and another request with a different body took the key.
            Err(CreateError::CompanionRefused) => Err(OrderError::InProgress(id)),
            Err(CreateError::Store(e)) => {
                self.release(lock).await;
                Err(OrderError::Store(e))
            }
        }
    }

    /// The key was free but the order exists: its idempotency record expired (or a
    /// concurrent duplicate won). The same content is answered with the stored order;
    /// different content is refused, and nothing is overwritten either way.
    async fn existing(
        &self,
        user: &UserId,
        new: &NewOrder,
        lock: Lock,
    ) -> Result<Created, OrderError> {
        let stored = match self.store.get(user, new.order_id()).await {
            Ok(stored) => stored,
            Err(e) => {
                self.release(lock).await;
                return Err(OrderError::Store(e));
            }
        };
        match stored {
            Some(order) if new.content().matches(&order) => {
                let body = serde_json::to_string(&order).map_err(|e| {
                    OrderError::Store(crate::store::StoreError::Malformed(e.to_string()))
                })?;
                let response = StoredResponse { status: 200, body };
                if let Err(e) = self.idempotency.complete(lock, &response).await {
                    tracing::warn!(error.cause_chain = ?e, "idempotency record not completed");
                }
                Ok(Created::Existing(response))
            }
            _ => {
                self.release(lock).await;
                Err(OrderError::AlreadyExists(new.order_id().to_string()))
            }
        }
    }

    async fn release(&self, lock: Lock) {
        // Best effort: a record left behind expires with its lock.
        if let Err(e) = self.idempotency.release(lock).await {
            tracing::warn!(error.cause_chain = ?e, "idempotency lock not released");
        }
    }
}

fn idempotency_error(err: IdempotencyError, id: &str) -> OrderError {
    match err {
        IdempotencyError::PayloadMismatch => OrderError::PayloadMismatch(id.to_owned()),
        IdempotencyError::InProgress => OrderError::InProgress(id.to_owned()),
        other => OrderError::Idempotency(other),
    }
}
