//! Getting, checking, renewing and giving back a Vault token.
//!
//! Data flow: a login (`auth/<mount>/login` for kubernetes or AppRole), or a directly given
//! token and its lease from `lookup-self` (required by `login_token`; by `use_token` only when
//! the token may call it) → [`Token`] (the secret in a zeroizing string, the lease,
//! and the instant the request was *sent*, so expiry is never later than Vault's) →
//! [`Token::needs_renewal`] tells the agent when to call `renew-self` instead of logging in
//! again on every reconcile → `revoke-self` when the token is no longer wanted (ESO added
//! that after unrevoked login leases took a Vault down).

use std::fmt;
use std::time::{Duration, Instant};

use http::Method;
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use super::buffer::{self, WipedJson};
use super::client::{Answer, VaultClient};
use super::path;
use super::{Call, VaultError};

/// A Vault token and its lease. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Token {
    secret: Zeroizing<String>,
    lease_duration: Duration,
    renewable: bool,
    /// Whether Vault told us the lease (a login, a renewal, a lookup).
    lease_known: bool,
    obtained_at: Instant,
}

impl Token {
    /// A token used as given, without asking Vault about it: lease unknown, so it is treated
    /// as never expiring and never renewed. [`VaultClient::login_token`] learns its lease
    /// instead, when the token may look itself up.
    pub fn from_secret(secret: Zeroizing<String>) -> Self {
        Token {
            secret,
            lease_duration: Duration::ZERO,
            renewable: false,
            lease_known: false,
            obtained_at: Instant::now(),
        }
    }

    /// Whether the lease is Vault's word (false for a token used as given, and for one whose
    /// `lookup-self` was denied): an unknown lease is never renewed, and a read that is
    /// refused is what tells the token no longer works.
    pub fn lease_known(&self) -> bool {
        self.lease_known
    }

    /// The secret, for the `X-Vault-Token` header.
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }

    /// The lease Vault granted (zero: the token does not expire, like a root token).
    pub fn lease_duration(&self) -> Duration {
        self.lease_duration
    }

    /// Whether `renew-self` can extend it.
    pub fn renewable(&self) -> bool {
        self.renewable
    }

    /// When the request that produced this lease was sent.
    pub fn obtained_at(&self) -> Instant {
        self.obtained_at
    }

    /// When the lease ends (`None` for a token that does not expire).
    pub fn expires_at(&self) -> Option<Instant> {
        if self.lease_duration.is_zero() {
            return None;
        }
        self.obtained_at.checked_add(self.lease_duration)
    }

    /// True once two thirds of the lease have passed: time to renew (or, if not renewable,
    /// to log in again) while the token still works, with a third of the lease as margin for
    /// retries. Never true for a token that does not expire.
    pub fn needs_renewal(&self, now: Instant) -> bool {
        if self.lease_duration.is_zero() {
            return false;
        }
        now.saturating_duration_since(self.obtained_at) >= self.lease_duration * 2 / 3
    }

    /// True once the lease has run out.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at().is_some_and(|end| now >= end)
    }

    /// The same secret with a new lease.
    fn with_lease(&self, lease: Lease, obtained_at: Instant) -> Token {
        Token {
            secret: self.secret.clone(),
            lease_duration: lease.duration,
            renewable: lease.renewable,
            lease_known: true,
            obtained_at,
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"<redacted>")
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .finish_non_exhaustive()
    }
}

/// What `lookup-self` says about a token (its secret and accessor are not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// Time left on the lease (zero: does not expire).
    pub ttl: Duration,
    /// Whether `renew-self` can extend it.
    pub renewable: bool,
    /// Its policies.
    pub policies: Vec<String>,
    /// `service` or `batch`.
    pub token_type: String,
}

/// A lease as a login or renewal answer states it.
#[derive(Debug, Clone, Copy)]
struct Lease {
    duration: Duration,
    renewable: bool,
}

#[derive(Serialize)]
struct KubernetesLogin<'a> {
    role: &'a str,
    jwt: &'a str,
}

#[derive(Serialize)]
struct AppRoleLogin<'a> {
    role_id: &'a str,
    secret_id: &'a str,
}

#[derive(Serialize)]
struct Renewal {
    #[serde(skip_serializing_if = "Option::is_none")]
    increment: Option<String>,
}

impl VaultClient {
    /// Log in with the kubernetes auth method mounted at `mount` (usually `kubernetes`) as
    /// `role`, with a service-account token (`jwt`) from a TokenRequest. Vault checks the JWT
    /// with the Kubernetes TokenReview API and the role's bound service accounts.
    pub async fn login_kubernetes(
        &self,
        mount: &str,
        role: &str,
        jwt: &str,
    ) -> Result<Token, VaultError> {
        let path = path::auth_path(mount, "login")?;
        self.login(&path, buffer::to_json(&KubernetesLogin { role, jwt }))
            .await
    }

    /// Log in with the AppRole auth method mounted at `mount` (usually `approle`).
    pub async fn login_approle(
        &self,
        mount: &str,
        role_id: &str,
        secret_id: &str,
    ) -> Result<Token, VaultError> {
        let path = path::auth_path(mount, "login")?;
        self.login(&path, buffer::to_json(&AppRoleLogin { role_id, secret_id }))
            .await
    }

    /// Use a token given directly, checked with `lookup-self` (which also tells its lease, so
    /// it can be renewed like a login's): a token Vault refuses is an error here.
    pub async fn login_token(&self, secret: Zeroizing<String>) -> Result<Token, VaultError> {
        let token = Token::from_secret(secret);
        let sent = Instant::now();
        let info = self.lookup_self(&token).await?;
        Ok(token.with_lease(info_lease(&info), sent))
    }

    /// Use a token given directly (a store's `tokenSecretRef`), learning its lease with
    /// `lookup-self` where the token may call it.
    ///
    /// `lookup-self` is needed only for the lease. A token whose policies do not grant it (no
    /// `default` policy) is refused with 403, which Vault also answers for an invalid token;
    /// either way the token is returned with its lease unknown ([`Token::lease_known`] is
    /// false: never renewed), and the calls made with it decide whether it works. Any other
    /// failure (unreachable, sealed, …) is returned.
    pub async fn use_token(&self, secret: Zeroizing<String>) -> Result<Token, VaultError> {
        let token = Token::from_secret(secret);
        let sent = Instant::now();
        match self.lookup_self(&token).await {
            Ok(info) => Ok(token.with_lease(info_lease(&info), sent)),
            Err(VaultError::PermissionDenied { .. }) => Ok(token),
            Err(err) => Err(err),
        }
    }

    /// `auth/token/lookup-self`: the token's remaining TTL, renewability and policies.
    pub async fn lookup_self(&self, token: &Token) -> Result<TokenInfo, VaultError> {
        const PATH: &str = "auth/token/lookup-self";
        self.observed(Call::Lookup, async {
            let answer = self
                .send(Method::GET, PATH, None, Some(token), None)
                .await?;
            let json = self.success(PATH, answer)?;
            let ttl = json
                .get("/data/ttl")
                .and_then(Value::as_u64)
                .ok_or_else(|| VaultError::bad_response(PATH, "no data.ttl"))?;
            let strings = |pointer| {
                json.get(pointer)
                    .and_then(Value::as_array)
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            Ok(TokenInfo {
                ttl: Duration::from_secs(ttl),
                renewable: json
                    .get("/data/renewable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                policies: strings("/data/policies"),
                token_type: json
                    .get("/data/type")
                    .and_then(Value::as_str)
                    .unwrap_or("service")
                    .to_owned(),
            })
        })
        .await
    }

    /// `auth/token/renew-self`: extend the lease, by `increment` if given (Vault may grant
    /// less, up to the token's max TTL). Returns the same secret with the new lease.
    pub async fn renew_self(
        &self,
        token: &Token,
        increment: Option<Duration>,
    ) -> Result<Token, VaultError> {
        const PATH: &str = "auth/token/renew-self";
        let body = buffer::to_json(&Renewal {
            increment: increment.map(|increment| format!("{}s", increment.as_secs())),
        });
        self.observed(Call::Renew, async {
            let sent = Instant::now();
            let answer = self
                .send(Method::POST, PATH, None, Some(token), Some(body))
                .await?;
            let json = self.success(PATH, answer)?;
            let lease = lease(PATH, &json)?;
            Ok(token.with_lease(lease, sent))
        })
        .await
    }

    /// `auth/token/revoke-self`: the token (and its child tokens and leases) stop working.
    pub async fn revoke_self(&self, token: &Token) -> Result<(), VaultError> {
        const PATH: &str = "auth/token/revoke-self";
        self.observed(Call::Revoke, async {
            let answer = self
                .send(Method::POST, PATH, None, Some(token), None)
                .await?;
            self.success(PATH, answer).map(drop)
        })
        .await
    }

    async fn login(&self, path: &str, body: Zeroizing<Vec<u8>>) -> Result<Token, VaultError> {
        self.observed(Call::Login, async {
            let sent = Instant::now();
            let answer = self
                .send(Method::POST, path, None, None, Some(body))
                .await?;
            let mut json = self.success(path, answer)?;
            let lease = lease(path, &json)?;
            let Value::String(secret) = json.take("/auth/client_token") else {
                return Err(VaultError::bad_response(path, "no auth.client_token"));
            };
            let secret = Zeroizing::new(secret);
            Ok(Token::from_secret(secret).with_lease(lease, sent))
        })
        .await
    }

    /// The body of a 2xx answer, or the error its status means.
    fn success(&self, path: &str, answer: Answer) -> Result<WipedJson, VaultError> {
        if (200..300).contains(&answer.status) {
            Ok(answer.json)
        } else {
            Err(self.status_error(path, answer.status, &answer.json))
        }
    }
}

/// The lease `lookup-self` describes.
fn info_lease(info: &TokenInfo) -> Lease {
    Lease {
        duration: info.ttl,
        renewable: info.renewable,
    }
}

/// `auth.lease_duration` and `auth.renewable` of a login or renewal answer.
fn lease(path: &str, json: &WipedJson) -> Result<Lease, VaultError> {
    let seconds = json
        .get("/auth/lease_duration")
        .and_then(Value::as_u64)
        .ok_or_else(|| VaultError::bad_response(path, "no auth.lease_duration"))?;
    Ok(Lease {
        duration: Duration::from_secs(seconds),
        renewable: json
            .get("/auth/renewable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(lease_secs: u64, obtained_at: Instant) -> Token {
        Token {
            secret: Zeroizing::new("s.abc".to_owned()),
            lease_duration: Duration::from_secs(lease_secs),
            renewable: true,
            lease_known: true,
            obtained_at,
        }
    }

    #[test]
    fn renewal_is_due_after_two_thirds_of_the_lease() {
        let start = Instant::now();
        let t = token(900, start);
        assert!(!t.needs_renewal(start));
        assert!(!t.needs_renewal(start + Duration::from_secs(599)));
        assert!(t.needs_renewal(start + Duration::from_secs(600)));
        assert!(!t.is_expired(start + Duration::from_secs(899)));
        assert!(t.is_expired(start + Duration::from_secs(900)));
        assert_eq!(t.expires_at(), Some(start + Duration::from_secs(900)));
    }

    #[test]
    fn a_token_without_lease_never_needs_renewal() {
        let start = Instant::now();
        let t = token(0, start);
        assert!(!t.needs_renewal(start + Duration::from_secs(86_400 * 365)));
        assert!(!t.is_expired(start + Duration::from_secs(86_400 * 365)));
        assert_eq!(t.expires_at(), None);
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", token(60, Instant::now()));
        assert!(!debug.contains("s.abc"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
