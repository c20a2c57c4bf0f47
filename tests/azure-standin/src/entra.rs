//! The Entra ID v2 token endpoint, `POST /{tenant}/oauth2/v2.0/token` (form body), for the
//! client-credentials grant with a client secret or with a `jwt-bearer` client assertion.
//!
//! Data flow: form fields → the application `(tenant, client_id)` → (secret: compare; assertion:
//! decode, find the application's federated credentials with its issuer (none: AADSTS700211),
//! check the RS256 signature with the issuer's key and the time window, then look for a
//! credential matching issuer + subject + audience (none: AADSTS70021)) → an opaque access
//! token for the scope's resource, remembered for the vault routes. Errors carry Entra's JSON
//! shape (`error`, `error_description` starting with the AADSTS code, `error_codes`).

use std::time::{Duration, Instant};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{Inner, Issued, random_hex, unix_now};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An answer: HTTP status and JSON body.
pub(crate) type Answer = (u16, Value);

/// The token endpoint's answer to `form` for `tenant`.
pub(crate) fn token(inner: &mut Inner, tenant: &str, form: &[(String, String)]) -> Answer {
    inner.count("token");
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some("client_credentials") {
        return error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(client_id) = field("client_id") else {
        return error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(resource) = field("scope").and_then(|s| s.strip_suffix("/.default")) else {
        return error(
            400,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        );
    };
    if !inner.apps.keys().any(|(t, _)| t == tenant) {
        return error(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let key = (tenant.to_owned(), client_id.to_owned());
    let Some(app) = inner.apps.get(&key) else {
        return error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        );
    };
    if let Some(secret) = field("client_secret") {
        if !app.secrets.iter().any(|s| s == secret) {
            return error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
            );
        }
    } else if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(JWT_BEARER) {
            return error(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed: unsupported client_assertion_type.",
            );
        }
        if let Err(answer) = check_assertion(inner, &key, assertion) {
            return answer;
        }
    } else {
        return error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
    let access_token = format!("standin-at-{}", random_hex(24));
    let lifetime = inner.faults.token_lifetime;
    inner.tokens.insert(
        access_token.clone(),
        Issued {
            client_id: client_id.to_owned(),
            resource: resource.to_owned(),
            expires: Instant::now() + Duration::from_secs(lifetime),
        },
    );
    (
        200,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }),
    )
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audiences,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audiences {
    One(String),
    Many(Vec<String>),
}

impl Audiences {
    fn list(&self) -> Vec<&str> {
        match self {
            Audiences::One(one) => vec![one.as_str()],
            Audiences::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

fn check_assertion(inner: &Inner, app: &(String, String), assertion: &str) -> Result<(), Answer> {
    let malformed = || {
        error(
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        )
    };
    let mut parts = assertion.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(malformed)?;
    let federated = inner
        .apps
        .get(app)
        .map(|a| a.federated.as_slice())
        .unwrap_or_default();
    if !federated.iter().any(|f| f.issuer == claims.iss) {
        return Err(error(
            400,
            "invalid_request",
            700211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                claims.iss
            ),
        ));
    }
    let Some(key) = inner.issuers.get(&claims.iss) else {
        return Err(error(
            400,
            "invalid_request",
            50166,
            &format!(
                "Request to External OIDC endpoint failed: the issuer '{}' publishes no keys the stand-in knows.",
                claims.iss
            ),
        ));
    };
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed())?;
    let signed = format!("{header}.{payload}");
    if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &signature)
        .is_err()
    {
        return Err(error(
            400,
            "invalid_client",
            50013,
            "Assertion failed signature validation.",
        ));
    }
    let now = unix_now();
    if claims.exp <= now || claims.nbf.is_some_and(|nbf| nbf > now + 300) {
        return Err(error(
            400,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let audiences = claims.aud.list();
    let matched = federated.iter().any(|f| {
        f.issuer == claims.iss
            && f.subject == claims.sub
            && audiences.contains(&f.audience.as_str())
    });
    if !matched {
        return Err(error(
            400,
            "invalid_request",
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
                claims.iss,
                claims.sub,
                audiences.join(",")
            ),
        ));
    }
    Ok(())
}

/// Entra's error body: `error`, `error_description` beginning with `AADSTS<code>: `,
/// `error_codes`, and the ids Entra adds (random here).
fn error(status: u16, error: &str, code: u32, text: &str) -> Answer {
    let trace = random_hex(16);
    (
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {trace} Timestamp: {}", unix_now()),
            "error_codes": [code],
            "timestamp": unix_now().to_string(),
            "trace_id": trace,
            "correlation_id": trace,
        }),
    )
}
