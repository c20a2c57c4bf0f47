//! Access tokens for the vault: from the caller's credentials to an Entra client-credentials
//! request (a service principal's secret, or a service account's token as a `jwt-bearer`
//! client assertion), or a person's bearer token used as given. Entra's answer is kept per
//! store instance until [`REFRESH_BEFORE`] its expiry; its errors are mapped to what to fix
//! (AADSTS70021/700211 name the issuer, subject and audience of the token we sent).

use std::time::{Duration, Instant};

use secrets_core::store::{Credentials, ErrorKind, StoreError};
use secrets_store_http::{HttpClient, Request};
use zeroize::Zeroizing;

use crate::STORE_TYPE;
use crate::claims;
use crate::cloud::Cloud;
use crate::identity::{check_tenant, resolve_client_id, resolve_tenant};
use crate::wire::{EntraError, TokenAnswer};

/// A token is replaced this long before it expires (as the Azure SDKs do).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the store logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthType {
    ServicePrincipal,
    WorkloadIdentity,
}

/// A token and when to replace it.
pub(crate) struct CachedToken {
    pub(crate) token: Zeroizing<String>,
    pub(crate) refresh_at: Option<Instant>,
}

/// What the login needs besides credentials.
pub(crate) struct LoginConfig<'a> {
    pub(crate) auth: &'a AuthType,
    pub(crate) cloud: Cloud,
    pub(crate) authority: &'a str,
    pub(crate) spec_tenant: Option<&'a str>,
    pub(crate) env_tenant: Option<&'a str>,
    pub(crate) label: &'a str,
}

fn invalid(message: String) -> StoreError {
    StoreError::new(STORE_TYPE, ErrorKind::InvalidConfig, message)
}

/// One login with `credentials`.
pub(crate) async fn login(
    http: &HttpClient,
    config: &LoginConfig<'_>,
    credentials: Credentials,
) -> Result<CachedToken, StoreError> {
    let scope = config.cloud.vault_scope();
    let (tenant, client_id, assertion, form) = match (config.auth, credentials) {
        (_, Credentials::Token(token)) => {
            // A person's own token (`az account get-access-token`): used as it is.
            return Ok(CachedToken {
                token,
                refresh_at: None,
            });
        }
        // A service principal's keys log in whatever the store's authType: the agent passes
        // keys only for ServicePrincipal stores, and the plugin a person's own (`AZURE_*`)
        // for any store.
        (_, Credentials::Keys(keys)) => {
            let client_id = keys
                .get("clientId")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    invalid("authSecretRef.clientId is needed for ServicePrincipal".into())
                })?;
            let secret = keys
                .get("clientSecret")
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    invalid("authSecretRef.clientSecret is needed for ServicePrincipal".into())
                })?;
            let no_annotations = Default::default();
            let tenant = resolve_tenant(
                &keys,
                config.spec_tenant,
                &no_annotations,
                config.env_tenant,
            )
            .map_err(invalid)?;
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &client_id)
                .append_pair("scope", &scope)
                .append_pair("client_secret", secret);
            (tenant, client_id, None, Zeroizing::new(form.finish()))
        }
        (AuthType::WorkloadIdentity, Credentials::Federated(federated)) => {
            let client_id =
                resolve_client_id(&federated.keys, &federated.annotations).map_err(invalid)?;
            let tenant = resolve_tenant(
                &federated.keys,
                config.spec_tenant,
                &federated.annotations,
                config.env_tenant,
            )
            .map_err(invalid)?;
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &client_id)
                .append_pair("scope", &scope)
                .append_pair("client_assertion_type", JWT_BEARER)
                .append_pair("client_assertion", &federated.token);
            let claims = claims::decode(&federated.token);
            (tenant, client_id, claims, Zeroizing::new(form.finish()))
        }
        (auth, other) => {
            return Err(invalid(format!(
                "the azurekv {auth:?} login was given {} credentials",
                other.kind()
            )));
        }
    };
    check_tenant(&tenant).map_err(invalid)?;
    let url = format!("{}/{tenant}/oauth2/v2.0/token", config.authority);
    let body = Zeroizing::new(form.as_bytes().to_vec());
    drop(form);
    let request = Request::post(url, "application/x-www-form-urlencoded", body);
    let response = http.send(request).await.map_err(|e| {
        crate::vault::transport_error(
            &e,
            &format!("asking entra ({}) for a token", config.authority),
        )
    })?;
    let what = format!("application {client_id} in tenant {tenant}");
    if response.status.is_success() {
        let answer: TokenAnswer = serde_json::from_slice(&response.body).map_err(|_| {
            StoreError::new(
                STORE_TYPE,
                ErrorKind::BadResponse,
                format!("entra's token answer for {what} is not a token"),
            )
        })?;
        // A token living 5 minutes or less (or of unknown life) is used once, not kept.
        let keep = answer
            .expires_in
            .get()
            .map(Duration::from_secs)
            .and_then(|l| l.checked_sub(REFRESH_BEFORE))
            .unwrap_or(Duration::ZERO);
        let refresh_at = Some(Instant::now() + keep);
        return Ok(CachedToken {
            token: answer.access_token,
            refresh_at,
        });
    }
    let error: EntraError = serde_json::from_slice(&response.body).unwrap_or_default();
    Err(entra_error(
        response.status.as_u16(),
        &error,
        &what,
        assertion.as_ref(),
        config.label,
    ))
}

/// Entra's refusal in words that say what to fix.
fn entra_error(
    status: u16,
    error: &EntraError,
    what: &str,
    assertion: Option<&claims::AssertionClaims>,
    label: &str,
) -> StoreError {
    let description = error.description();
    let kind = match status {
        429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::PermissionDenied,
    };
    let mut message = format!("entra refused the login of {what} (HTTP {status}): {description}");
    let federated = matches!(error.code(), Some(70021 | 700211 | 700212 | 700213));
    if let (true, Some(claims)) = (federated, assertion) {
        message.push_str(&format!(
            "; the service account token sent has issuer {:?}, subject {:?} and audience {:?}: \
             the application needs a federated identity credential with exactly these",
            claims.issuer,
            claims.subject,
            claims.audiences.join(",")
        ));
    }
    tracing::debug!(store = %label, status, code = ?error.code(), "entra refused a login");
    StoreError::new(STORE_TYPE, kind, message)
}
