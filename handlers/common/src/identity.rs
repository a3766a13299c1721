//! The caller, as API Gateway's authorizer saw it.
//!
//! A Cognito user pool authorizer puts the ID token's claims under
//! `requestContext.authorizer.claims`; the app's Lambda TOKEN authorizer puts `principalId`
//! and its context (`sub`, `email`, `isAdmin`) directly under `requestContext.authorizer`.
//! Both are read here, so a handler does not care which authorizer protects its route.
//! The identity is never taken from the body or headers: only the gateway can set it.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The Cognito user's `sub`.
    pub sub: String,
    /// The user's email, when the authorizer passed it on.
    pub email: Option<String>,
    /// Whether the authorizer said the caller is in the admin group.
    pub is_admin: bool,
}

/// The caller of `req`, or `None` when the request carries no authorizer identity.
pub fn caller(req: &Request) -> Option<Caller> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => from_authorizer_fields(&ctx.authorizer.fields),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Reads the caller from the `requestContext.authorizer` object of a REST API event.
pub fn from_authorizer_fields(fields: &HashMap<String, Value>) -> Option<Caller> {
    if let Some(claims) = fields.get("claims").and_then(Value::as_object) {
        let sub = non_empty(claims.get("sub"))?;
        return Some(Caller {
            sub,
            email: non_empty(claims.get("email")),
            // Admin rights are decided by the users service's own authorizer (which knows
            // the admin group's name); routes behind a Cognito authorizer have none.
            is_admin: false,
        });
    }
    let sub = non_empty(fields.get("sub")).or_else(|| non_empty(fields.get("principalId")))?;
    Some(Caller {
        sub,
        email: non_empty(fields.get("email")),
        is_admin: matches!(fields.get("isAdmin"), Some(Value::Bool(true)))
            || fields.get("isAdmin").and_then(Value::as_str) == Some("true"),
    })
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> HashMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_cognito_authorizer_claims_name_the_caller() {
        let f = fields(json!({"claims": {"sub": "abc", "email": "a@example.com"}}));
        let c = from_authorizer_fields(&f).unwrap();
        assert_eq!(c.sub, "abc");
        assert_eq!(c.email.as_deref(), Some("a@example.com"));
        assert!(!c.is_admin);
    }

    #[test]
    fn the_lambda_authorizer_context_names_the_caller_and_admin_flag() {
        let f = fields(json!({"principalId": "abc", "sub": "abc", "isAdmin": "true"}));
        let c = from_authorizer_fields(&f).unwrap();
        assert_eq!(c.sub, "abc");
        assert!(c.is_admin);
    }

    #[test]
    fn no_authorizer_means_no_caller() {
        assert_eq!(from_authorizer_fields(&HashMap::new()), None);
        let f = fields(json!({"claims": {"sub": ""}}));
        assert_eq!(from_authorizer_fields(&f), None);
    }

    #[test]
    fn a_rest_api_event_carries_the_caller() {
        let event = json!({
            "resource": "/orders", "path": "/orders", "httpMethod": "GET",
            "headers": {}, "multiValueHeaders": {}, "queryStringParameters": null,
            "multiValueQueryStringParameters": null, "pathParameters": null,
            "stageVariables": null, "body": null, "isBase64Encoded": false,
            "requestContext": {
                "accountId": "123456789012", "resourceId": "r", "stage": "Prod",
                "requestId": "id", "identity": {"sourceIp": "127.0.0.1"},
                "resourcePath": "/orders", "httpMethod": "GET", "apiId": "api",
                "authorizer": {"claims": {"sub": "user-1"}}
            }
        });
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(caller(&req).unwrap().sub, "user-1");
    }
}
