//! Handshake authentication (D2): a JWT in the auth payload `{ "token": … }` or in an
//! `Authorization: Bearer` header, checked by the server's one [`Verifier`] (HS256 with
//! `JWT_SECRET`, or RS256 / ES256 with `--jwt-public-key`). A refusal becomes `connect_error`
//! with `data: { "code": "UNAUTHORIZED", "message": … }`.

use axum::http::HeaderMap;
use lcr_protocol::ErrorCode;
use lcr_protocol::server::ConnectErrorData;
use lcr_protocol::token::{Identity, TokenError, Verifier};
use serde_json::Value;

/// A refused handshake. Its `Display` is the JSON of [`ConnectErrorData`], which the patched
/// Socket.IO parser sends as the `connect_error` data (see `vendor/README.md`).
#[derive(Debug)]
pub struct AuthError(pub TokenError);

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = ConnectErrorData {
            code: ErrorCode::Unauthorized,
            message: self.0.to_string(),
        };
        let json = serde_json::to_string(&data).map_err(|_| std::fmt::Error)?;
        f.write_str(&json)
    }
}

impl std::error::Error for AuthError {}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        AuthError(e)
    }
}

/// Finds the token (auth payload first, then the header) and verifies it with `verifier`.
///
/// ```
/// use axum::http::HeaderMap;
/// use lcr_protocol::token::Verifier;
/// let verifier = Verifier::hs256("s");
/// let jwt = lcr_protocol::token::mint("s", "alex", 60).unwrap();
/// let auth = serde_json::json!({ "token": jwt });
/// let who = reference_server::auth::identify(&verifier, Some(&auth), &HeaderMap::new()).unwrap();
/// assert_eq!(who.user_id, "alex");
/// let refused = reference_server::auth::identify(&verifier, None, &HeaderMap::new()).unwrap_err();
/// assert!(refused.to_string().contains("\"code\":\"UNAUTHORIZED\""));
/// ```
pub fn identify(
    verifier: &Verifier,
    auth: Option<&Value>,
    headers: &HeaderMap,
) -> Result<Identity, AuthError> {
    let from_payload = auth
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let from_header = || {
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned())
    };
    let token = from_payload
        .or_else(from_header)
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::Missing)?;
    Ok(verifier.verify(&token)?)
}
