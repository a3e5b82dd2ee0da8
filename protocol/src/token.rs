//! Handshake tokens (D2): JWTs carrying `userId` (or `sub`), an optional `type` and a required
//! `exp`, signed with an HS256 shared secret or an RS256 / ES256 key pair.
//!
//! A server checks them with a [`Verifier`]; a test client makes them with a [`Signer`] (or,
//! for the common HS256 case, [`mint`]).
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

/// A signing algorithm the protocol's tokens may use (D2).
///
/// ```
/// use lcr_protocol::token::SigningAlgorithm;
/// assert_eq!(SigningAlgorithm::parse("es256"), Some(SigningAlgorithm::Es256));
/// assert_eq!(SigningAlgorithm::Rs256.as_str(), "RS256");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC with SHA-256 and a shared secret.
    Hs256,
    /// RSA PKCS#1 v1.5 with SHA-256: the server holds the public key.
    Rs256,
    /// ECDSA on P-256 with SHA-256: the server holds the public key.
    Es256,
}

impl SigningAlgorithm {
    /// The JWT header's `alg`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Hs256 => "HS256",
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Es256 => "ES256",
        }
    }

    /// Parses `HS256`, `RS256` or `ES256`, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "HS256" => Some(SigningAlgorithm::Hs256),
            "RS256" => Some(SigningAlgorithm::Rs256),
            "ES256" => Some(SigningAlgorithm::Es256),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            SigningAlgorithm::Hs256 => Algorithm::HS256,
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The PEM text holds no key of a supported kind.
    #[error(
        "not a PEM {expected} key: {reason} (RS256 wants an RSA key, ES256 a P-256 EC key in PKCS#8)"
    )]
    Unreadable {
        /// What was expected.
        expected: &'static str,
        /// What the parser said.
        reason: String,
    },
}

/// Checks tokens on the server side: one algorithm and its key, `exp` required and in the future
/// (no leeway), and a valid user id in `userId` or, failing that, `sub`.
///
/// ```
/// use lcr_protocol::token::{Signer, SigningAlgorithm, Verifier};
/// let v = Verifier::hs256("s");
/// assert_eq!(v.algorithm(), SigningAlgorithm::Hs256);
/// let jwt = Signer::hs256("s").sign(&serde_json::json!({"sub": "sam", "exp": u64::MAX / 2})).unwrap();
/// assert_eq!(v.verify(&jwt).unwrap().user_id, "sam");
/// ```
#[derive(Clone)]
pub struct Verifier {
    algorithm: SigningAlgorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &str) -> Verifier {
        Verifier {
            algorithm: SigningAlgorithm::Hs256,
            key: DecodingKey::from_secret(secret.as_bytes()),
        }
    }

    /// RS256 or ES256 with a public key in PEM: an RSA key means RS256, an EC key ES256.
    ///
    /// # Errors
    ///
    /// When the text holds neither.
    pub fn from_public_key_pem(pem: &[u8]) -> Result<Verifier, KeyError> {
        match DecodingKey::from_rsa_pem(pem) {
            Ok(key) => Ok(Verifier {
                algorithm: SigningAlgorithm::Rs256,
                key,
            }),
            Err(rsa) => DecodingKey::from_ec_pem(pem)
                .map(|key| Verifier {
                    algorithm: SigningAlgorithm::Es256,
                    key,
                })
                .map_err(|ec| KeyError::Unreadable {
                    expected: "public",
                    reason: format!("as RSA: {rsa}; as EC: {ec}"),
                }),
        }
    }

    /// The one algorithm this verifier accepts.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// Verifies a token: this verifier's algorithm only (`alg: none` and any other are refused),
    /// its signature, `exp` required and in the future, a valid user id.
    ///
    /// # Errors
    ///
    /// A [`TokenError`] that says what is wrong.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let mut validation = Validation::new(self.algorithm.jwt());
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &validation)
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
}

/// Makes tokens on the client side (tests, the suite, the load generator).
///
/// ```
/// use lcr_protocol::token::Signer;
/// let jwt = Signer::hs256("s").sign(&serde_json::json!({"userId": "alex", "exp": 1})).unwrap();
/// assert_eq!(jwt.split('.').count(), 3);
/// ```
#[derive(Clone)]
pub struct Signer {
    algorithm: SigningAlgorithm,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &str) -> Signer {
        Signer {
            algorithm: SigningAlgorithm::Hs256,
            key: EncodingKey::from_secret(secret.as_bytes()),
        }
    }

    /// RS256 or ES256 with a private key in PEM (PKCS#8, or PKCS#1 for RSA).
    ///
    /// # Errors
    ///
    /// When the key does not suit the algorithm, or `algorithm` is HS256 (which takes a secret).
    pub fn from_private_key_pem(
        algorithm: SigningAlgorithm,
        pem: &[u8],
    ) -> Result<Signer, KeyError> {
        let (expected, key) = match algorithm {
            SigningAlgorithm::Rs256 => ("RSA private", EncodingKey::from_rsa_pem(pem)),
            SigningAlgorithm::Es256 => ("EC private", EncodingKey::from_ec_pem(pem)),
            SigningAlgorithm::Hs256 => {
                return Err(KeyError::Unreadable {
                    expected: "private",
                    reason: "HS256 signs with a shared secret, not a key file".into(),
                });
            }
        };
        key.map(|key| Signer { algorithm, key })
            .map_err(|e| KeyError::Unreadable {
                expected,
                reason: e.to_string(),
            })
    }

    /// The algorithm this signer uses.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// Signs `claims` (any JSON object: the protocol's claims, or a deployment's own).
    ///
    /// # Errors
    ///
    /// When the claims do not serialize or the key cannot sign.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(self.algorithm.jwt()), claims, &self.key)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }
}

/// Mints an HS256 token for `user_id` (claims `userId`, `type: "user"`), valid for `ttl_secs`.
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
    Signer::hs256(secret).sign(claims)
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
pub fn unsigned<T: Serialize>(claims: &T) -> String {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64(serde_json::to_string(claims).unwrap_or_default().as_bytes());
    format!("{header}.{body}.")
}

/// Verifies an HS256 token with `secret` (see [`Verifier::verify`]).
pub fn verify(secret: &str, token: &str) -> Result<Identity, TokenError> {
    Verifier::hs256(secret).verify(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example key pairs of `profiles/keys/` (public: for examples and tests only).
    fn key(name: &str) -> Vec<u8> {
        let path = format!("{}/../profiles/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn claims(user: &str) -> serde_json::Value {
        serde_json::json!({ "userId": user, "type": "user", "exp": crate::now_millis() / 1000 + 60 })
    }

    #[test]
    fn rs256_and_es256_tokens_verify_with_their_public_keys_only() {
        for (alg, name) in [
            (SigningAlgorithm::Rs256, "rs256"),
            (SigningAlgorithm::Es256, "es256"),
        ] {
            let signer =
                Signer::from_private_key_pem(alg, &key(&format!("{name}-private.pem"))).unwrap();
            let verifier =
                Verifier::from_public_key_pem(&key(&format!("{name}-public.pem"))).unwrap();
            assert_eq!(verifier.algorithm(), alg);
            let jwt = signer.sign(&claims("alex")).unwrap();
            assert_eq!(verifier.verify(&jwt).unwrap().user_id, "alex");
            // An HS256 token whose secret is the public key's text: the classic algorithm
            // confusion, refused because the verifier accepts its own algorithm only.
            let public = String::from_utf8(key(&format!("{name}-public.pem"))).unwrap();
            let confused = Signer::hs256(&public).sign(&claims("eve")).unwrap();
            assert!(
                verifier.verify(&confused).is_err(),
                "{name}: HS256 token accepted"
            );
            assert!(verifier.verify(&unsigned(&claims("eve"))).is_err());
        }
    }

    #[test]
    fn a_token_signed_with_the_other_key_pair_is_refused() {
        let rs = Signer::from_private_key_pem(SigningAlgorithm::Rs256, &key("rs256-private.pem"))
            .unwrap()
            .sign(&claims("alex"))
            .unwrap();
        let es_verifier = Verifier::from_public_key_pem(&key("es256-public.pem")).unwrap();
        assert!(matches!(
            es_verifier.verify(&rs),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn keys_of_the_wrong_kind_are_refused_with_a_reason() {
        let err = Signer::from_private_key_pem(SigningAlgorithm::Es256, &key("rs256-private.pem"))
            .unwrap_err();
        assert!(err.to_string().contains("EC private"), "{err}");
        assert!(Verifier::from_public_key_pem(b"not a key").is_err());
        assert!(Signer::from_private_key_pem(SigningAlgorithm::Hs256, b"").is_err());
    }
}
