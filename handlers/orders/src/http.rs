//! The API Gateway (REST, v1 proxy) adapters: request → parsed input → use case →
//! response. Each is what one function's binary runs per invocation.
//!
//! The caller is the Cognito `sub` the authorizer put in the request context, never
//! anything from the body or headers.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use handler_common::paging::{self, PageQuery};
use handler_common::{error_response, json_response, json_text_response};

use crate::domain::{OrderEdit, OrderId, UserId, ValidationError};
use crate::error::OrderError;
use crate::metrics::Metrics;
use crate::service::{CreateOrder, Created, Orders};

/// POST /orders: places an order, idempotently; emits the order metrics when a new
/// order was written.
#[tracing::instrument(skip_all)]
pub async fn create_order(svc: &CreateOrder, metrics: &Metrics, req: Request) -> Response<Body> {
    let created = async {
        let user = user_of(&req)?;
        let body = body_of(&req)?;
        svc.create(&user, &body, deadline_of(&req)).await
    }
    .await;
    match created {
        Ok(created) => {
            if let Created::New { total, .. } = &created {
                metrics.emit_order_created(total.amount(), OffsetDateTime::now_utc());
            }
            let response = created.response();
            json_text_response(response.status, response.body.clone())
        }
        Err(e) => error_response(&e),
    }
}

/// GET /orders/{orderId}: the caller's order.
#[tracing::instrument(skip_all)]
pub async fn get_order(svc: &Orders, req: Request) -> Response<Body> {
    respond(
        async {
            let user = user_of(&req)?;
            svc.get(&user, &order_id_of(&req)?).await
        }
        .await,
    )
}

/// GET /orders: `{"orders": [...]}`, every order of the caller that fits one response;
/// `?limit=N` and `?nextToken=` page it, `x-next-token` continues it.
#[tracing::instrument(skip_all)]
pub async fn list_orders(svc: &Orders, req: Request) -> Response<Body> {
    let listed = async {
        let user = user_of(&req)?;
        let query = PageQuery::of(&req).map_err(OrderError::Paging)?;
        svc.list(&user, &query).await
    }
    .await;
    match listed {
        Ok((orders, next)) => {
            let mut resp = json_response(200, &json!({ "orders": orders }));
            paging::set_token(&mut resp, next.as_deref());
            resp
        }
        Err(e) => error_response(&e),
    }
}

/// PUT /orders/{orderId}: new restaurant, items and total for a `PLACED` order.
#[tracing::instrument(skip_all)]
pub async fn edit_order(svc: &Orders, req: Request) -> Response<Body> {
    respond(
        async {
            let user = user_of(&req)?;
            let id = order_id_of(&req)?;
            let edit = OrderEdit::try_from(&body_of(&req)?)?;
            svc.edit(&user, &id, &edit).await
        }
        .await,
    )
}

/// DELETE /orders/{orderId}: cancels a `PLACED` order within 10 minutes of placing it.
#[tracing::instrument(skip_all)]
pub async fn cancel_order(svc: &Orders, req: Request) -> Response<Body> {
    respond(
        async {
            let user = user_of(&req)?;
            svc.cancel(&user, &order_id_of(&req)?).await
        }
        .await,
    )
}

fn respond<T: Serialize>(result: Result<T, OrderError>) -> Response<Body> {
    match result {
        Ok(value) => json_response(200, &value),
        Err(e) => error_response(&e),
    }
}

fn user_of(req: &Request) -> Result<UserId, OrderError> {
    handler_common::caller(req)
        .and_then(|c| UserId::new(&c.sub))
        .ok_or(OrderError::Unauthenticated)
}

fn order_id_of(req: &Request) -> Result<OrderId, OrderError> {
    let params = req.path_parameters_ref();
    let raw = params
        .and_then(|p| p.first("orderId"))
        .ok_or(ValidationError::Missing("orderId"))?;
    Ok(OrderId::parse(raw)?)
}

fn body_of(req: &Request) -> Result<Value, OrderError> {
    handler_common::json_body(req).map_err(OrderError::Body)
}

/// When the runtime will stop this invocation, from the Lambda context.
fn deadline_of(req: &Request) -> Option<OffsetDateTime> {
    let deadline_ms = req.lambda_context_ref()?.deadline;
    let nanos = i128::from(deadline_ms).checked_mul(1_000_000)?;
    // A context built without a deadline (0) means "unknown", not 1970.
    (deadline_ms > 0).then(|| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())?
}
