//! `local --demo-users`: a signed-in admin and a signed-in user in every local user pool,
//! so a newcomer can call an API with `curl` a minute after the app is up.
//!
//! The users are made the way an administrator would (`AdminCreateUser`, a permanent
//! password, the pool's groups for the admin) and sign in with `USER_PASSWORD_AUTH`, the
//! flow the app client allows; the ID tokens are what clients send as `Authorization`.

use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, MessageActionType};

use crate::endpoint::Clients;
use crate::resources::{Physical, Resolved};

/// The demo users' password (it meets the pool's password policy).
pub const PASSWORD: &str = "Demo-passw0rd";

/// One signed-in demo user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// The pool's service.
    pub service: String,
    /// `admin` or `user`.
    pub role: &'static str,
    /// The username (an email).
    pub email: String,
    /// The user's `sub`.
    pub sub: String,
    /// The ID token, for the `Authorization` header.
    pub id_token: String,
}

/// Why the demo users could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the demo {role} in the {service} user pool: {message}")]
pub struct DemoError {
    service: String,
    role: &'static str,
    message: String,
}

/// Creates (or reuses) `admin@demo.local` in every group of each pool's service and
/// `user@demo.local` in none, and signs both in.
pub async fn create(resolved: &Resolved, clients: &Clients) -> Result<Vec<DemoUser>, DemoError> {
    let mut users = Vec::new();
    for (service, _, physical) in resolved.all() {
        let Physical::UserPool { id, client_id, .. } = physical else {
            continue;
        };
        let groups: Vec<&str> = resolved
            .all()
            .filter(|(s, _, _)| *s == service)
            .filter_map(|(_, _, p)| match p {
                Physical::UserPoolGroup { name } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        for (role, in_groups) in [("admin", groups.as_slice()), ("user", &[][..])] {
            let fail = |message: String| DemoError {
                service: service.to_owned(),
                role,
                message,
            };
            let email = format!("{role}@demo.local");
            let user = sign_in(clients, id, client_id, &email, in_groups)
                .await
                .map_err(fail)?;
            users.push(DemoUser {
                service: service.to_owned(),
                role,
                email,
                sub: user.0,
                id_token: user.1,
            });
        }
    }
    Ok(users)
}

/// `(sub, ID token)` of `email`, created first when the pool has no such user.
async fn sign_in(
    clients: &Clients,
    pool: &str,
    client_id: &str,
    email: &str,
    groups: &[&str],
) -> Result<(String, String), String> {
    let cognito = &clients.cognito;
    let attribute = |name: &str, value: &str| {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .map_err(|e| e.to_string())
    };
    let exists = cognito
        .admin_get_user()
        .user_pool_id(pool)
        .username(email)
        .send()
        .await
        .is_ok();
    if !exists {
        cognito
            .admin_create_user()
            .user_pool_id(pool)
            .username(email)
            .user_attributes(attribute("email", email)?)
            .user_attributes(attribute("email_verified", "true")?)
            .user_attributes(attribute("name", "Demo")?)
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .map_err(|e| format!("AdminCreateUser: {e}"))?;
        cognito
            .admin_set_user_password()
            .user_pool_id(pool)
            .username(email)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await
            .map_err(|e| format!("AdminSetUserPassword: {e}"))?;
    }
    for group in groups {
        cognito
            .admin_add_user_to_group()
            .user_pool_id(pool)
            .username(email)
            .group_name(*group)
            .send()
            .await
            .map_err(|e| format!("AdminAddUserToGroup: {e}"))?;
    }
    let user = cognito
        .admin_get_user()
        .user_pool_id(pool)
        .username(email)
        .send()
        .await
        .map_err(|e| format!("AdminGetUser: {e}"))?;
    let sub = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .ok_or("the user has no sub")?
        .to_owned();
    let auth = cognito
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", email)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .map_err(|e| format!("InitiateAuth: {e}"))?;
    let token = auth
        .authentication_result()
        .and_then(|r| r.id_token())
        .ok_or("no ID token in the answer")?
        .to_owned();
    Ok((sub, token))
}
