//! One Key Vault GET, the way every read goes: the vault's rate limit, then (once per store)
//! an unauthenticated request whose 401 challenge must name the cloud's Key Vault resource,
//! then the request with the access token; a 401 on it re-checks the challenge and logs in
//! once more, a 429 closes the vault's gate for its `Retry-After` (waited out here when
//! short). Status mapping onto the seam's kinds is [`status_error`]: 404 → not found (the only
//! answer that means "gone"), 403 `SecretDisabled` → "disabled", other 403 → denied.

use std::time::{Duration, Instant};

use http::StatusCode;
use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use secrets_core::store::{ErrorKind, StoreError};
use secrets_store_http::{HttpError, Request, Response, retry_after};

use crate::STORE_TYPE;
use crate::cloud::check_challenge;
use crate::limit::Wait;
use crate::store::AzureStore;
use crate::wire::VaultErrorBody;

/// The Key Vault REST version asked for (GA in every cloud).
pub(crate) const API_VERSION: &str = "7.4";

/// A `Retry-After` up to this long is waited out inside the call; longer ones fail the call
/// as throttled (the caller's backoff takes over).
const INLINE_RETRY: Duration = Duration::from_secs(2);

/// A transport failure while `doing`.
pub(crate) fn transport_error(err: &HttpError, doing: &str) -> StoreError {
    let kind = match err {
        HttpError::Timeout(_) => ErrorKind::Timeout,
        HttpError::Connect(_) => ErrorKind::Unavailable,
        HttpError::TooLarge => ErrorKind::BadResponse,
        HttpError::Invalid(_) | HttpError::Tls(_) => ErrorKind::InvalidConfig,
    };
    StoreError::new(STORE_TYPE, kind, format!("{doing}: {err}"))
}

impl AzureStore {
    /// `GET {vault}{path}?api-version=…[&query]`, answered with a success status, or the
    /// error for `what` (e.g. `secret "db"`).
    pub(crate) async fn get(
        &self,
        call: &'static str,
        path: &str,
        query: &str,
        what: &str,
    ) -> Result<Response, StoreError> {
        let url = format!(
            "{}{path}?api-version={API_VERSION}{query}",
            self.vault.base()
        );
        let result = self.get_url(&url, what).await;
        self.observe(call, result.as_ref().err());
        result
    }

    pub(crate) async fn get_url(&self, url: &str, what: &str) -> Result<Response, StoreError> {
        let deadline = Instant::now() + self.http.timeout();
        self.ensure_challenge(url, deadline).await?;
        let mut relogged = false;
        let mut waited = false;
        loop {
            self.wait_turn(deadline).await?;
            let token = self.access_token().await?;
            let bearer =
                HeaderValue::from_str(&format!("Bearer {}", token.as_str())).map_err(|_| {
                    StoreError::new(
                        STORE_TYPE,
                        ErrorKind::BadResponse,
                        "entra's access token is not a valid header value",
                    )
                })?;
            drop(token);
            let request = Request::get(url).header(AUTHORIZATION, bearer, true);
            let response = self.http.send(request).await.map_err(|e| {
                transport_error(&e, &format!("reading {what} from {}", self.vault.base()))
            })?;
            match response.status {
                status if status.is_success() => return Ok(response),
                StatusCode::UNAUTHORIZED if !relogged => {
                    // The token may have been revoked or the vault moved: the challenge is
                    // checked again before another token goes out.
                    let header = response
                        .headers
                        .get(WWW_AUTHENTICATE)
                        .and_then(|h| h.to_str().ok());
                    check_challenge(header, self.cloud).map_err(|m| self.refused(m))?;
                    self.forget_token().await;
                    relogged = true;
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let after = retry_after(&response.headers).unwrap_or(Duration::from_secs(1));
                    self.limiter.close_for(Instant::now(), after);
                    if waited || after > INLINE_RETRY || Instant::now() + after >= deadline {
                        return Err(StoreError::new(
                            STORE_TYPE,
                            ErrorKind::Throttled,
                            format!(
                                "azure key vault {} throttled reading {what}: retry after {} s",
                                self.vault.base(),
                                after.as_secs().max(1)
                            ),
                        ));
                    }
                    waited = true;
                }
                _ => return Err(self.status_error(&response, what)),
            }
        }
    }

    /// Wait for the vault's rate limit, or fail as throttled when that would pass `deadline`.
    async fn wait_turn(&self, deadline: Instant) -> Result<(), StoreError> {
        loop {
            match self.limiter.take(Instant::now()) {
                Wait::Go => return Ok(()),
                Wait::After(wait) if Instant::now() + wait < deadline => {
                    tokio::time::sleep(wait).await;
                }
                Wait::After(wait) => {
                    return Err(StoreError::new(
                        STORE_TYPE,
                        ErrorKind::Throttled,
                        format!(
                            "azure key vault {}: the request rate towards the vault is at its limit \
                             (or the vault asked us to wait); retry in {} s",
                            self.vault.base(),
                            wait.as_secs().max(1)
                        ),
                    ));
                }
            }
        }
    }

    /// Before the first token goes to this vault: an unauthenticated request must be
    /// answered by a 401 challenge for the cloud's Key Vault resource.
    async fn ensure_challenge(&self, url: &str, deadline: Instant) -> Result<(), StoreError> {
        if self
            .challenge_checked
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(());
        }
        self.wait_turn(deadline).await?;
        let response = self.http.send(Request::get(url)).await.map_err(|e| {
            transport_error(
                &e,
                &format!("reaching azure key vault {}", self.vault.base()),
            )
        })?;
        self.observe("challenge", None);
        match response.status {
            StatusCode::UNAUTHORIZED => {
                let header = response.headers.get(WWW_AUTHENTICATE).and_then(|h| h.to_str().ok());
                check_challenge(header, self.cloud).map_err(|m| self.refused(m))?;
                self.challenge_checked.store(true, std::sync::atomic::Ordering::Release);
                Ok(())
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let after = retry_after(&response.headers).unwrap_or(Duration::from_secs(1));
                self.limiter.close_for(Instant::now(), after);
                Err(StoreError::new(
                    STORE_TYPE,
                    ErrorKind::Throttled,
                    format!("azure key vault {} throttled: retry after {} s", self.vault.base(), after.as_secs().max(1)),
                ))
            }
            status if status.is_server_error() => Err(StoreError::new(
                STORE_TYPE,
                ErrorKind::Unavailable,
                format!("azure key vault {} answered HTTP {}", self.vault.base(), status.as_u16()),
            )),
            status => Err(self.refused(format!(
                "the vault answered an unauthenticated request with HTTP {} instead of a 401 challenge",
                status.as_u16()
            ))),
        }
    }

    fn refused(&self, why: String) -> StoreError {
        StoreError::new(
            STORE_TYPE,
            ErrorKind::InvalidConfig,
            format!(
                "{} does not look like a {} key vault: {why}",
                self.vault.base(),
                self.cloud.name()
            ),
        )
    }

    /// A non-success answer as the seam's error.
    fn status_error(&self, response: &Response, what: &str) -> StoreError {
        let body: VaultErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
        let status = response.status.as_u16();
        let vault = self.vault.base();
        let detail = body.message();
        let (kind, message) = match (status, body.code()) {
            (404, _) => (
                ErrorKind::NotFound,
                format!("azure key vault {vault} has no {what}"),
            ),
            (403, "SecretDisabled") => (
                ErrorKind::Rejected,
                format!(
                    "{what} in azure key vault {vault} is disabled: enable it, or pin an enabled version"
                ),
            ),
            (401 | 403, code) => (
                ErrorKind::PermissionDenied,
                format!(
                    "azure key vault {vault} denied reading {what} ({code}): {detail}; the identity needs \
                     the Key Vault Secrets User role (Key Vault Certificate User for cert/, Key Vault \
                     Crypto User for key/) on the vault"
                ),
            ),
            (500..=599, code) => (
                ErrorKind::Unavailable,
                format!(
                    "azure key vault {vault} failed reading {what} (HTTP {status} {code}): {detail}"
                ),
            ),
            (_, code) => (
                ErrorKind::Rejected,
                format!(
                    "azure key vault {vault} refused reading {what} (HTTP {status} {code}): {detail}"
                ),
            ),
        };
        StoreError::new(STORE_TYPE, kind, message)
    }
}
