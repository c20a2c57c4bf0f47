//! The GCP calls the store makes, each one request on the shared HTTPS client: under the
//! per-store rate for its class (accesses; lists and metadata), counted and observed, its
//! error answer turned into a [`GcpError`] in Google's words.
//!
//! Data flow: `access` / `newest_enabled` / `metadata` / `list_page` (Bearer = the store's
//! access token) and `sts` / `generate` (logins) ──[`Client::send`]──▶ limiter ──▶
//! `HttpClient::send` ──▶ 2xx body ──▶ `wire::parse_*`; else `wire::parse_*_error` ──▶
//! [`GcpError`]; a 429 also pauses the limiter for its `Retry-After`.

use std::sync::Arc;

use http::HeaderValue;
use http::header::AUTHORIZATION;
use secrets_core::store::CallObserver;
use secrets_store_http::{HttpClient, Request, Response, retry_after};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::limit::{self, Limiter};
use crate::observe::{Call, Counters, outcome};
use crate::wire::{self, Accessed, Endpoints, TokenAnswer};
use crate::{GcpError, STORE_TYPE};

pub(crate) struct Client {
    http: HttpClient,
    pub(crate) endpoints: Endpoints,
    /// `projects/P[/locations/L]`.
    pub(crate) parent: String,
    accesses: Limiter,
    reads: Limiter,
    counters: Arc<Counters>,
    observer: Option<CallObserver>,
}

/// `Authorization: Bearer …`, marked sensitive.
fn bearer(request: Request, token: &str) -> Result<Request, GcpError> {
    let value = Zeroizing::new(format!("Bearer {token}"));
    let header = HeaderValue::from_str(&value)
        .map_err(|_| GcpError::Config("the access token is not a valid header value".into()))?;
    Ok(request.header(AUTHORIZATION, header, true))
}

impl Client {
    pub(crate) fn new(
        http: HttpClient,
        endpoints: Endpoints,
        parent: String,
        observer: Option<CallObserver>,
    ) -> Client {
        Client {
            http,
            endpoints,
            parent,
            accesses: Limiter::new(limit::ACCESSES_PER_SECOND, limit::ACCESS_BURST),
            reads: Limiter::new(limit::READS_PER_SECOND, limit::READ_BURST),
            counters: Arc::default(),
            observer,
        }
    }

    pub(crate) fn calls(&self, call: Call) -> u64 {
        self.counters.get(call)
    }

    fn limiter(&self, call: Call) -> Option<&Limiter> {
        match call {
            Call::Access => Some(&self.accesses),
            Call::Versions | Call::Metadata | Call::List => Some(&self.reads),
            Call::Sts | Call::Impersonate => None,
        }
    }

    /// One call: `doing` says what it was for, in messages.
    async fn send(&self, call: Call, request: Request, doing: &str) -> Result<Response, GcpError> {
        if let Some(limiter) = self.limiter(call) {
            limiter.acquire().await;
        }
        let result = self.round_trip(call, request, doing).await;
        self.counters.record(call);
        if let Some(observer) = &self.observer {
            observer(STORE_TYPE, call.as_str(), outcome(&result));
        }
        if let (Err(err), Some(limiter)) = (&result, self.limiter(call))
            && let Some(delay) = err.retry_after()
        {
            limiter.pause(delay);
        }
        result
    }

    async fn round_trip(
        &self,
        call: Call,
        request: Request,
        doing: &str,
    ) -> Result<Response, GcpError> {
        let response = self
            .http
            .send(request)
            .await
            .map_err(|source| GcpError::Http {
                doing: doing.to_owned(),
                source,
            })?;
        if response.status.is_success() {
            return Ok(response);
        }
        let http = response.status.as_u16();
        Err(match call {
            Call::Sts => GcpError::Sts {
                doing: doing.to_owned(),
                http,
                oauth: wire::parse_oauth_error(&response.body),
            },
            _ => GcpError::Api {
                doing: doing.to_owned(),
                http,
                api: wire::parse_api_error(&response.body),
                retry_after: (http == 429)
                    .then(|| retry_after(&response.headers))
                    .flatten(),
            },
        })
    }

    fn wire_error(doing: &str) -> impl FnOnce(wire::WireError) -> GcpError + '_ {
        move |source| GcpError::Wire {
            doing: doing.to_owned(),
            source,
        }
    }

    /// The secret's resource name as we address it (`projects/P[/locations/L]/secrets/S`).
    pub(crate) fn secret_name(&self, secret: &str) -> String {
        format!("{}/secrets/{secret}", self.parent)
    }

    pub(crate) async fn access(
        &self,
        token: &str,
        secret: &str,
        version: &str,
    ) -> Result<Accessed, GcpError> {
        let doing = format!(
            "reading gcpsm secret {} version {version}",
            self.secret_name(secret)
        );
        let url = wire::access_url(
            &self.endpoints.secret_manager,
            &self.parent,
            secret,
            version,
        );
        let response = self
            .send(Call::Access, bearer(Request::get(url), token)?, &doing)
            .await?;
        wire::parse_access(&response.body).map_err(Self::wire_error(&doing))
    }

    pub(crate) async fn newest_enabled(
        &self,
        token: &str,
        secret: &str,
    ) -> Result<Option<u64>, GcpError> {
        let doing = format!(
            "listing the enabled versions of gcpsm secret {}",
            self.secret_name(secret)
        );
        let url = wire::enabled_versions_url(&self.endpoints.secret_manager, &self.parent, secret);
        let response = self
            .send(Call::Versions, bearer(Request::get(url), token)?, &doing)
            .await?;
        wire::parse_newest_version(&response.body).map_err(Self::wire_error(&doing))
    }

    pub(crate) async fn metadata(
        &self,
        token: &str,
        secret: &str,
    ) -> Result<Map<String, Value>, GcpError> {
        let doing = format!(
            "reading the labels and annotations of gcpsm secret {}",
            self.secret_name(secret)
        );
        let url = wire::secret_url(&self.endpoints.secret_manager, &self.parent, secret);
        let response = self
            .send(Call::Metadata, bearer(Request::get(url), token)?, &doing)
            .await?;
        wire::parse_metadata(&response.body).map_err(Self::wire_error(&doing))
    }

    pub(crate) async fn list_page(
        &self,
        token: &str,
        page_token: Option<&str>,
        page_size: Option<u32>,
    ) -> Result<(Vec<String>, Option<String>), GcpError> {
        let doing = format!("listing the gcpsm secrets of {}", self.parent);
        let mut url = wire::list_url(&self.endpoints.secret_manager, &self.parent, page_token);
        if let Some(size) = page_size {
            url = url.replace(
                &format!("pageSize={}", wire::PAGE_SIZE),
                &format!("pageSize={size}"),
            );
        }
        let response = self
            .send(Call::List, bearer(Request::get(url), token)?, &doing)
            .await?;
        wire::parse_list(&response.body).map_err(Self::wire_error(&doing))
    }

    /// Exchange a Kubernetes token of `account` at STS for the pool provider `audience`.
    pub(crate) async fn sts(
        &self,
        subject_token: &str,
        audience: &str,
        account: &str,
    ) -> Result<TokenAnswer, GcpError> {
        let doing = format!(
            "exchanging the token of service account {account} at STS for audience {audience}"
        );
        let body = wire::sts_form(subject_token, audience, crate::key::CLOUD_PLATFORM);
        let request = Request::post(
            wire::sts_url(&self.endpoints.sts),
            "application/x-www-form-urlencoded",
            body,
        );
        let response = self.send(Call::Sts, request, &doing).await?;
        wire::parse_sts(&response.body).map_err(Self::wire_error(&doing))
    }

    /// A token of the Google service account `email`, with the federated token of `account`.
    pub(crate) async fn generate(
        &self,
        federated: &str,
        email: &str,
        account: &str,
        now: i64,
    ) -> Result<TokenAnswer, GcpError> {
        let doing = format!(
            "impersonating {email} with the federated token of service account {account} (IAM Credentials generateAccessToken)"
        );
        let url = wire::generate_access_token_url(&self.endpoints.iam_credentials, email);
        let body = Zeroizing::new(wire::generate_access_token_body(crate::key::CLOUD_PLATFORM));
        let request = bearer(Request::post(url, "application/json", body), federated)?;
        let response = self.send(Call::Impersonate, request, &doing).await?;
        wire::parse_generated(&response.body, now).map_err(Self::wire_error(&doing))
    }
}
