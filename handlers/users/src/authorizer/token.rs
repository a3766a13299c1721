//! Verifying a Cognito ID token: RS256 only, signed by a key of the pool's JWKS, not
//! expired, issued by the pool, for the app client, and an ID token (not an access token).
//!
//! `jsonwebtoken` checks the signature, `exp`, `iss` and `aud`; this module adds what is
//! Cognito-specific (`token_use`, `cognito:groups`) and turns the claims into an
//! [`Identity`] whose `sub` is safe to put into an IAM resource ARN.

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::jwks::{JwksCache, JwksError};

/// Why a token was refused. Every variant means "401" to the client; the variants exist
/// for the log.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No token, or an empty one.
    #[error("no token")]
    Missing,
    /// The token's header is not a JWT header, or names an algorithm other than RS256.
    #[error("token header rejected")]
    Header(#[source] jsonwebtoken::errors::Error),
    /// The header's algorithm is not RS256.
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(Algorithm),
    /// The header has no key id.
    #[error("token has no kid")]
    NoKeyId,
    /// The signing key could not be found.
    #[error(transparent)]
    Key(#[from] JwksError),
    /// Signature, expiry, issuer, audience or claim shape failed.
    #[error("token rejected")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    /// The token is not an ID token.
    #[error("token_use is {0:?}, not \"id\"")]
    NotAnIdToken(String),
    /// The `sub` claim is not a Cognito subject.
    #[error("sub claim is not a valid subject")]
    BadSubject,
}

/// A Cognito subject (`sub`): letters, digits and `-` only, so it can never widen an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sub(String);

impl Sub {
    /// Parses a subject; Cognito's are UUIDs.
    pub fn parse(raw: &str) -> Option<Sub> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        ok.then(|| Sub(raw.to_owned()))
    }

    /// The subject as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who a verified ID token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's subject.
    pub sub: Sub,
    /// The user's email, when the token carries one.
    pub email: Option<String>,
    /// Whether the user is in the admin group.
    pub is_admin: bool,
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    token_use: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

/// Verifies ID tokens of one user pool and app client.
pub struct TokenVerifier {
    keys: JwksCache,
    validation: Validation,
    admin_group: String,
}

impl TokenVerifier {
    /// A verifier accepting tokens with issuer `issuer` and audience `client_id`, signed by
    /// a key of `keys`; members of `admin_group` are admins.
    pub fn new(keys: JwksCache, issuer: &str, client_id: &str, admin_group: &str) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        TokenVerifier {
            keys,
            validation,
            admin_group: admin_group.to_owned(),
        }
    }

    /// Checks `token` (raw, or as `Bearer <token>`) and says whose it is.
    pub async fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let token = strip_bearer(token.trim()).trim();
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        // The header is read unverified only to pick the key; `decode` checks it again.
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::Header)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let key = self.keys.key(&kid).await?;
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &self.validation)
            .map_err(TokenError::Invalid)?
            .claims;
        if claims.token_use != "id" {
            return Err(TokenError::NotAnIdToken(claims.token_use));
        }
        let sub = Sub::parse(&claims.sub).ok_or(TokenError::BadSubject)?;
        Ok(Identity {
            sub,
            email: claims.email,
            is_admin: claims.groups.iter().any(|g| g == &self.admin_group),
        })
    }
}

/// The token of an `Authorization` value: clients send it raw, some as `Bearer <token>`.
fn strip_bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_prefix_is_optional() {
        assert_eq!(strip_bearer("abc.def.ghi"), "abc.def.ghi");
        assert_eq!(strip_bearer("Bearer abc.def.ghi"), "abc.def.ghi");
        assert_eq!(strip_bearer("bearer abc"), "abc");
        assert_eq!(strip_bearer("Basic abc"), "Basic abc");
    }

    #[test]
    fn a_subject_cannot_carry_wildcards_or_path_separators() {
        assert!(Sub::parse("0b8e2f7c-1d2a-4c0e-9b1f-3f8a6e2d9c41").is_some());
        for bad in ["", "*", "a/b", "a*", "x y", "ä"] {
            assert!(Sub::parse(bad).is_none(), "{bad}");
        }
    }
}
