//! Tokens for the server's users, made the way the profile's `[auth]` says, and where they go
//! at the handshake (D2).

use std::collections::HashMap;
use std::sync::Mutex;

use lcr_protocol::token::{Signer, SigningAlgorithm};
use serde_json::{Value, json};

use crate::profile::{Auth, Carrier, TokenSource};

/// A token could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The signer failed.
    #[error("signing a token: {0}")]
    Sign(String),
    /// The token command failed or printed nothing.
    #[error("auth command `{command}`: {reason}")]
    Command {
        /// The command, `{user}` filled.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// This way of making tokens cannot make that kind of token.
    #[error("{0}")]
    Unable(String),
}

/// What a client presents at the handshake: an auth payload, a query parameter, a header, or a
/// combination.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Presentation {
    /// The Socket.IO auth payload.
    pub auth: Option<Value>,
    /// A query parameter of the handshake URL.
    pub query: Option<(String, String)>,
    /// An HTTP header of the handshake.
    pub header: Option<(String, String)>,
}

/// Makes tokens for user ids; caches the ones a command printed.
pub struct Tokens {
    auth: Auth,
    signer: Option<Signer>,
    minted: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("signer", &self.signer.as_ref().map(Signer::algorithm))
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// The token maker of `auth`.
    ///
    /// # Errors
    ///
    /// When a key file cannot be read or used.
    pub fn new(auth: &Auth) -> Result<Tokens, TokenError> {
        let from_file = |alg, path: &std::path::Path| {
            let pem = std::fs::read(path)
                .map_err(|e| TokenError::Sign(format!("{}: {e}", path.display())))?;
            Signer::from_private_key_pem(alg, &pem)
                .map_err(|e| TokenError::Sign(format!("{}: {e}", path.display())))
        };
        let signer = match &auth.source {
            TokenSource::Hs256 { secret } => Some(Signer::hs256(secret)),
            TokenSource::Rs256 { private_key } => {
                Some(from_file(SigningAlgorithm::Rs256, private_key)?)
            }
            TokenSource::Es256 { private_key } => {
                Some(from_file(SigningAlgorithm::Es256, private_key)?)
            }
            TokenSource::Command { .. } => None,
        };
        Ok(Tokens {
            auth: auth.clone(),
            signer,
            minted: Mutex::new(HashMap::new()),
        })
    }

    /// The profile's auth section.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Whether tokens with chosen claims can be made (a key or a secret, not a command):
    /// expired ones, ones without a user, with the user in another claim.
    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
    }

    /// A valid token for `user`.
    ///
    /// # Errors
    ///
    /// When signing fails, or the command fails or prints nothing.
    pub async fn token(&self, user: &str) -> Result<String, TokenError> {
        match &self.auth.source {
            TokenSource::Command { command, dir } => self.printed_by(command, dir, user).await,
            _ => self.sign(&self.claims(user, &self.auth.user_claims[0], 0)),
        }
    }

    async fn printed_by(
        &self,
        command: &str,
        dir: &std::path::Path,
        user: &str,
    ) -> Result<String, TokenError> {
        if let Some(t) = self
            .minted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
        {
            return Ok(t.clone());
        }
        let command = command.replace("{user}", user);
        let fail = |reason: String| TokenError::Command {
            command: command.clone(),
            reason,
        };
        let out = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(dir)
            .env("LCR_USER_ID", user)
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(format!(
                "exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(fail(format!("printed {token:?}, not one token")));
        }
        self.minted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.to_owned(), token.clone());
        Ok(token)
    }

    /// The claims of a token for `user` in `user_claim`, expiring `exp_offset_secs` after the
    /// profile's lifetime (negative: before it).
    pub fn claims(&self, user: &str, user_claim: &str, exp_offset_secs: i64) -> Value {
        let now = lcr_protocol::now_millis() / 1000;
        let exp = now + self.auth.lifetime.as_secs() as i64 + exp_offset_secs;
        let mut claims = self.auth.claims.clone();
        claims.insert(user_claim.to_owned(), Value::from(user));
        claims.insert("exp".into(), json!(exp));
        Value::Object(claims)
    }

    /// The claims of a token for `user` that expired `ago_secs` ago.
    pub fn expired_claims(&self, user: &str, ago_secs: i64) -> Value {
        let lifetime = self.auth.lifetime.as_secs() as i64;
        self.claims(user, &self.auth.user_claims[0], -lifetime - ago_secs)
    }

    /// Signs `claims` with the profile's key or secret.
    ///
    /// # Errors
    ///
    /// With a command as the token source, or when signing fails.
    pub fn sign(&self, claims: &Value) -> Result<String, TokenError> {
        self.signer
            .as_ref()
            .ok_or_else(|| {
                TokenError::Unable(
                    "the profile's tokens come from a command: no token with chosen claims".into(),
                )
            })?
            .sign(claims)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }

    /// A token for `user` whose signature does not match: with HS256, signed with another
    /// secret; otherwise a valid token's header and claims with the signature of another
    /// valid token.
    ///
    /// # Errors
    ///
    /// When the valid tokens cannot be made.
    pub async fn badly_signed(&self, user: &str) -> Result<String, TokenError> {
        if matches!(self.auth.source, TokenSource::Hs256 { .. }) {
            let other = Signer::hs256("not-the-secret-of-this-server");
            return other
                .sign(&self.claims(user, &self.auth.user_claims[0], 0))
                .map_err(|e| TokenError::Sign(e.to_string()));
        }
        let mine = self.token(user).await?;
        let theirs = self.token(&format!("{user}-other")).await?;
        let (head, _) = mine.rsplit_once('.').unwrap_or((&mine, ""));
        let (_, signature) = theirs.rsplit_once('.').unwrap_or(("", &theirs));
        Ok(format!("{head}.{signature}"))
    }

    /// How `token` is presented with `carrier`.
    pub fn present(&self, carrier: Carrier, token: Value) -> Presentation {
        match carrier {
            Carrier::Auth => Presentation {
                auth: Some(json!({ self.auth.auth_field.clone(): token })),
                ..Presentation::default()
            },
            Carrier::Query => Presentation {
                query: Some((self.auth.query_param.clone(), text(&token))),
                ..Presentation::default()
            },
            Carrier::Header => Presentation {
                header: Some(("Authorization".into(), format!("Bearer {}", text(&token)))),
                ..Presentation::default()
            },
        }
    }

    /// How clients present their tokens: the profile's first carrier.
    pub fn carrier(&self) -> Carrier {
        self.auth.carriers[0]
    }

    /// Whether the server also accepts tokens that travel by `carrier`.
    pub fn accepts(&self, carrier: Carrier) -> bool {
        self.auth.carriers.contains(&carrier)
    }

    /// A valid token for `user`, presented as clients do.
    ///
    /// # Errors
    ///
    /// As [`Tokens::token`].
    pub async fn presentation(&self, user: &str) -> Result<Presentation, TokenError> {
        let token = self.token(user).await?;
        Ok(self.present(self.carrier(), Value::String(token)))
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Auth;
    use lcr_protocol::token::Verifier;

    fn key(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../profiles/keys/{name}"))
    }

    #[tokio::test]
    async fn hs256_tokens_verify_and_a_badly_signed_one_does_not() {
        let tokens = Tokens::new(&Auth::hs256("s")).unwrap();
        let v = Verifier::hs256("s");
        assert_eq!(
            v.verify(&tokens.token("alex").await.unwrap())
                .unwrap()
                .user_id,
            "alex"
        );
        assert!(
            v.verify(&tokens.badly_signed("alex").await.unwrap())
                .is_err()
        );
        assert!(
            v.verify(&tokens.sign(&tokens.expired_claims("alex", 60)).unwrap())
                .is_err()
        );
        let sub = tokens.sign(&tokens.claims("sam", "sub", 0)).unwrap();
        assert_eq!(v.verify(&sub).unwrap().user_id, "sam");
    }

    #[tokio::test]
    async fn es256_tokens_from_a_key_file_and_their_presentation() {
        let mut auth = Auth::hs256("unused");
        auth.source = TokenSource::Es256 {
            private_key: key("es256-private.pem"),
        };
        auth.carriers = vec![Carrier::Query];
        auth.query_param = "access_token".into();
        let tokens = Tokens::new(&auth).unwrap();
        let v = Verifier::from_public_key_pem(&std::fs::read(key("es256-public.pem")).unwrap())
            .unwrap();
        let p = tokens.presentation("alex").await.unwrap();
        let (param, token) = p.query.clone().unwrap();
        assert_eq!(param, "access_token");
        assert_eq!(v.verify(&token).unwrap().user_id, "alex");
        assert!(p.auth.is_none() && p.header.is_none());
        assert!(
            v.verify(&tokens.badly_signed("alex").await.unwrap())
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_command_prints_tokens_and_cannot_sign_chosen_claims() {
        let mut auth = Auth::hs256("unused");
        auth.source = TokenSource::Command {
            command: "printf 'tok-%s' {user}".into(),
            dir: std::env::temp_dir(),
        };
        let tokens = Tokens::new(&auth).unwrap();
        assert_eq!(tokens.token("alex").await.unwrap(), "tok-alex");
        assert!(!tokens.can_sign());
        assert!(matches!(
            tokens.sign(&json!({})),
            Err(TokenError::Unable(_))
        ));
        let mut failing = auth.clone();
        failing.source = TokenSource::Command {
            command: "echo nope >&2; exit 3".into(),
            dir: std::env::temp_dir(),
        };
        let err = Tokens::new(&failing).unwrap().token("x").await.unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
