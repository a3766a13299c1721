//! The `sam local invoke` events under `events/orders/` parse, name the caller, and
//! drive the functions through a whole order life.

use lambda_http::{Request, RequestExt};

use crate::helpers::*;

const CREATE: &str = include_str!("../../../../events/orders/create-order.json");
const CREATE_WORKSHOP: &str = include_str!("../../../../events/orders/create-order-workshop.json");
const CREATE_INVALID: &str = include_str!("../../../../events/orders/create-order-invalid.json");
const GET: &str = include_str!("../../../../events/orders/get-order.json");
const LIST: &str = include_str!("../../../../events/orders/list-orders.json");
const EDIT: &str = include_str!("../../../../events/orders/edit-order.json");
const CANCEL: &str = include_str!("../../../../events/orders/cancel-order.json");

const SUB: &str = "6f1c7c4e-9a0b-4f7e-8d55-2f4b9c1a0e11";
const ORDER_ID: &str = "a1b2c3d4-0001-4000-8000-000000000001";

fn parse(event: &str) -> Request {
    lambda_http::request::from_str(event).expect("a REST API proxy event")
}

#[test]
fn every_event_is_a_rest_api_request_from_the_same_caller() {
    for (event, method, has_id) in [
        (CREATE, "POST", false),
        (CREATE_WORKSHOP, "POST", false),
        (CREATE_INVALID, "POST", false),
        (GET, "GET", true),
        (LIST, "GET", false),
        (EDIT, "PUT", true),
        (CANCEL, "DELETE", true),
    ] {
        let req = parse(event);
        assert_eq!(req.method().as_str(), method);
        assert_eq!(handler_common::caller(&req).unwrap().sub, SUB);
        let id = req
            .path_parameters_ref()
            .and_then(|p| p.first("orderId").map(str::to_owned));
        assert_eq!(id.as_deref(), has_id.then_some(ORDER_ID));
    }
}

#[tokio::test]
async fn the_events_drive_an_order_from_create_to_cancel() {
    let app = spawn_app().await;

    let (status, created, _) =
        parts(orders::http::create_order(&app.create, &app.metrics, parse(CREATE)).await);
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["orderId"], ORDER_ID);
    assert_eq!(created["userId"], SUB);

    let (status, _, _) =
        parts(orders::http::create_order(&app.create, &app.metrics, parse(CREATE_INVALID)).await);
    assert_eq!(status, 400);

    let (status, got, _) = parts(orders::http::get_order(&app.orders, parse(GET)).await);
    assert_eq!((status, &got), (200, &created));

    let (status, edited, _) = parts(orders::http::edit_order(&app.orders, parse(EDIT)).await);
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["totalAmount"].to_string(), "25.47");

    let (status, list, _) = parts(orders::http::list_orders(&app.orders, parse(LIST)).await);
    assert_eq!(status, 200);
    assert_eq!(list["orders"][0], edited);

    let (status, canceled, _) = parts(orders::http::cancel_order(&app.orders, parse(CANCEL)).await);
    assert_eq!(status, 200);
    assert_eq!(canceled["status"], "CANCELED");
}

#[tokio::test]
async fn the_workshops_create_event_is_answered_with_its_own_json_types() {
    let app = spawn_app().await;
    let req = parse(CREATE_WORKSHOP);
    let sent: serde_json::Value = match req.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };

    let (status, created, _) =
        parts(orders::http::create_order(&app.create, &app.metrics, req).await);

    assert_eq!(status, 200, "{created}");
    assert_eq!(created["restaurantId"], serde_json::json!(1));
    assert_eq!(created["orderItems"], sent["orderItems"]);
    assert_eq!(created["totalAmount"], serde_json::json!(19.97));
    assert_eq!(created["status"], "PLACED");
}
