//! Handshake tokens (D2): HS256 JWTs with `userId` (or `sub`), optional `type`, required `exp`.
//!
//! ```
//! use lcr_protocol::token::{mint, verify};
//! let jwt = mint("s3cret", "alex", 3600).unwrap();
//! assert_eq!(verify("s3cret", &jwt).unwrap().user_id, "alex");
//! assert!(verify("other", &jwt).is_err());
//! ```

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims the protocol reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The user (D2); `sub` is the fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Fallback user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Account type (informational).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// A verified identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user id, valid per D4.
    pub user_id: String,
    /// The account type claim, if any.
    pub account_type: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token in the handshake.
    #[error(
        "missing token: send auth {{ \"token\": \"<jwt>\" }} or an Authorization: Bearer header"
    )]
    Missing,
    /// Bad signature, bad algorithm, expired, malformed.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Neither `userId` nor `sub`, or not a valid identifier.
    #[error("invalid token: userId must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")]
    BadUserId,
}

/// Mints a token for `user_id`, valid for `ttl_secs` from now.
pub fn mint(secret: &str, user_id: &str, ttl_secs: u64) -> Result<String, TokenError> {
    let now = crate::now_millis() as u64 / 1000;
    encode(
        secret,
        &Claims {
            user_id: Some(user_id.to_owned()),
            sub: None,
            account_type: Some("user".into()),
            exp: now + ttl_secs,
        },
    )
}

/// Signs arbitrary claims with HS256 (tests use it for odd tokens: expired, `sub` only, …).
pub fn encode(secret: &str, claims: &Claims) -> Result<String, TokenError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| TokenError::Invalid(e.to_string()))
}

/// An unsigned token (`alg: none`) carrying `claims`: what a forger would send. Test suites use
/// it to check that a server refuses it (D2).
///
/// ```
/// use lcr_protocol::token::{unsigned, verify, Claims};
/// let forged = unsigned(&Claims { user_id: Some("eve".into()), sub: None, account_type: None, exp: u64::MAX / 2 });
/// assert!(forged.ends_with('.'));
/// assert!(verify("any-secret", &forged).is_err());
/// ```
pub fn unsigned(claims: &Claims) -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64url(serde_json::to_string(claims).unwrap_or_default().as_bytes());
    format!("{header}.{body}.")
}

fn b64url(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Verifies a token: HS256 only, signature, `exp` required and in the future, a valid user id.
pub fn verify(secret: &str, token: &str) -> Result<Identity, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp"]);
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| TokenError::Invalid(e.to_string()))?;
    let claims = data.claims;
    let user_id = claims
        .user_id
        .or(claims.sub)
        .filter(|u| crate::ids::is_valid_id(u))
        .ok_or(TokenError::BadUserId)?;
    Ok(Identity {
        user_id,
        account_type: claims.account_type,
    })
}
