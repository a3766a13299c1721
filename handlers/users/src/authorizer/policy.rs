//! The IAM policy the TOKEN authorizer returns.
//!
//! API Gateway caches an authorizer's answer per token (for every route of the API), so the
//! policy lists everything the caller may do, not just the method being called:
//! - every user: GET, PUT, DELETE on `/users/{own sub}` and below;
//! - admins also: GET, POST on `/users`, and GET, PUT, DELETE on `/users/*`.
//!
//! Resources are scoped to the API and stage of the `methodArn`
//! (`arn:aws:execute-api:{region}:{account}:{api id}/{stage}/{METHOD}/{path}`).

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};

use super::token::Identity;

/// The `methodArn` is not an execute-api method ARN.
#[derive(Debug, thiserror::Error)]
#[error("methodArn {0:?} is not an execute-api method ARN")]
pub struct MethodArnError(String);

/// The ARN prefix of one API stage: `arn:aws:execute-api:{region}:{account}:{api}/{stage}/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStageArn(String);

impl ApiStageArn {
    /// Takes the API and stage out of a `methodArn`.
    ///
    /// ```
    /// use users::authorizer::ApiStageArn;
    /// let arn = ApiStageArn::from_method_arn(
    ///     "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/users/42",
    /// )
    /// .unwrap();
    /// assert_eq!(arn.as_str(), "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/");
    /// ```
    pub fn from_method_arn(method_arn: &str) -> Result<ApiStageArn, MethodArnError> {
        let bad = || MethodArnError(method_arn.to_owned());
        let parts: Vec<&str> = method_arn.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err(bad());
        };
        let mut path = resource.splitn(3, '/');
        let (Some(api), Some(stage)) = (path.next(), path.next()) else {
            return Err(bad());
        };
        let fields = [partition, region, account, api, stage];
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if arn != "arn" || service != "execute-api" || !fields.into_iter().all(plain) {
            return Err(bad());
        }
        Ok(ApiStageArn(format!(
            "arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/"
        )))
    }

    /// The prefix, ending in `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn resource(&self, method: &str, path: &str) -> String {
        format!("{}{method}{path}", self.0)
    }
}

/// The policy for `identity` on the API stage `api`.
pub fn policy_for(api: &ApiStageArn, identity: &Identity) -> ApiGatewayCustomAuthorizerPolicy {
    let own = format!("/users/{}", identity.sub.as_str());
    let mut resources = Vec::new();
    for method in ["GET", "PUT", "DELETE"] {
        resources.push(api.resource(method, &own));
        resources.push(api.resource(method, &format!("{own}/*")));
    }
    if identity.is_admin {
        resources.push(api.resource("GET", "/users"));
        resources.push(api.resource("POST", "/users"));
        for method in ["GET", "PUT", "DELETE"] {
            resources.push(api.resource(method, "/users/*"));
        }
    }
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = IamPolicyEffect::Allow;
    statement.resource = resources;
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
    policy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorizer::token::Sub;

    const METHOD_ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:api42/Prod/GET/users/u-1";
    const P: &str = "arn:aws:execute-api:eu-west-1:123456789012:api42/Prod/";

    fn identity(is_admin: bool) -> Identity {
        Identity {
            sub: Sub::parse("u-1").unwrap(),
            email: Some("u1@example.com".into()),
            is_admin,
        }
    }

    fn resources(is_admin: bool) -> Vec<String> {
        let api = ApiStageArn::from_method_arn(METHOD_ARN).unwrap();
        let policy = policy_for(&api, &identity(is_admin));
        assert_eq!(policy.version.as_deref(), Some("2012-10-17"));
        assert_eq!(policy.statement.len(), 1);
        let statement = &policy.statement[0];
        assert_eq!(statement.action, ["execute-api:Invoke"]);
        assert_eq!(statement.effect, IamPolicyEffect::Allow);
        statement.resource.clone()
    }

    #[test]
    fn a_user_may_read_replace_and_delete_only_their_own_record() {
        let expected: Vec<String> = [
            "GET/users/u-1",
            "GET/users/u-1/*",
            "PUT/users/u-1",
            "PUT/users/u-1/*",
            "DELETE/users/u-1",
            "DELETE/users/u-1/*",
        ]
        .iter()
        .map(|r| format!("{P}{r}"))
        .collect();
        assert_eq!(resources(false), expected);
    }

    #[test]
    fn an_admin_may_also_list_create_and_touch_every_user() {
        let all = resources(true);
        let mut extra: Vec<&str> = all[6..]
            .iter()
            .map(|r| r.strip_prefix(P).unwrap())
            .collect();
        extra.sort();
        assert_eq!(
            extra,
            [
                "DELETE/users/*",
                "GET/users",
                "GET/users/*",
                "POST/users",
                "PUT/users/*"
            ]
        );
        assert_eq!(all[..6], resources(false)[..]);
    }

    #[test]
    fn the_policy_is_scoped_to_the_api_and_stage_of_the_method_arn() {
        assert!(resources(true).iter().all(|r| r.starts_with(P)));
        let policy = serde_json::to_value(policy_for(
            &ApiStageArn::from_method_arn(METHOD_ARN).unwrap(),
            &identity(false),
        ))
        .unwrap();
        assert_eq!(policy["Statement"][0]["Effect"], "Allow");
        assert_eq!(policy["Statement"][0]["Action"][0], "execute-api:Invoke");
    }

    #[test]
    fn malformed_method_arns_are_refused() {
        for bad in [
            "",
            "arn:aws:execute-api:eu-west-1:123456789012:api42",
            "arn:aws:lambda:eu-west-1:123456789012:api42/Prod/GET/",
            "arn:aws:execute-api:eu-west-1:123456789012:*/Prod/GET/",
            "arn:aws:execute-api:eu-west-1:123456789012:api42//GET/",
            "arn:aws:execute-api:eu-west-1::api42/Prod/GET/",
        ] {
            assert!(ApiStageArn::from_method_arn(bad).is_err(), "{bad}");
        }
        let arn =
            ApiStageArn::from_method_arn("arn:aws-cn:execute-api:cn-north-1:1:a/dev/*/*").unwrap();
        assert_eq!(arn.as_str(), "arn:aws-cn:execute-api:cn-north-1:1:a/dev/");
    }
}
