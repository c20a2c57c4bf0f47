//! Google STS `POST /v1/token` (RFC 8693 token exchange, form body): checks the subject token
//! (a Kubernetes service-account JWT) against the identity provider's issuer and public key
//! and its audience against the provider's allowed audiences, checks the `audience`
//! parameter names the configured pool provider, and issues a federated access token for the
//! pool principal `…/subject/<sub>`. Failures answer as STS does: 400 with
//! `{error, error_description}`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::json;

use crate::jwt;
use crate::reply::Reply;
use crate::server::{Req, Shared};
use crate::state::{Issued, Route};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPES: [&str; 2] = [
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
];

fn oauth_error(error: &str, description: &str) -> Reply {
    Reply::json(
        400,
        &json!({"error": error, "error_description": description}),
    )
}

pub(crate) fn token(shared: &Shared, request: &Req) -> Reply {
    let mut inner = shared.control.lock();
    if let Some(fault) = inner.enter(Route::StsToken, None) {
        return Reply::fault(fault, "sts");
    }
    if request.method != http::Method::POST {
        return Reply::not_route();
    }
    if !request
        .content_type
        .starts_with("application/x-www-form-urlencoded")
    {
        return oauth_error(
            "invalid_request",
            "Invalid Content-Type; expected a form body.",
        );
    }
    let form: BTreeMap<String, String> =
        form_urlencoded::parse(&request.body).into_owned().collect();
    let mut recorded = form.clone();
    recorded.remove("subject_token");
    inner.last_sts_form = Some(recorded);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != TOKEN_EXCHANGE {
        return oauth_error(
            "unsupported_grant_type",
            &format!("The grant_type {:?} is not supported.", field("grant_type")),
        );
    }
    if !JWT_TYPES.contains(&field("subject_token_type")) {
        return oauth_error("invalid_request", "Invalid subject_token_type.");
    }
    if form
        .get("requested_token_type")
        .is_some_and(|t| t != ACCESS_TOKEN)
    {
        return oauth_error("invalid_request", "Invalid requested_token_type.");
    }
    let config = &shared.config;
    if field("audience") != config.pool_audience {
        return oauth_error(
            "invalid_target",
            "The target service indicated by the \"audience\" parameters is invalid. This might \
             either be because the pool or provider is disabled or deleted or because it doesn't exist.",
        );
    }
    if field("scope").is_empty() {
        return oauth_error("invalid_scope", "Scope(s) must be provided.");
    }
    let subject = match subject(config, field("subject_token")) {
        Ok(subject) => subject,
        Err(description) => return oauth_error("invalid_grant", &description),
    };
    let token = crate::random_token("ya29.sts");
    let lifetime = inner.lifetime();
    inner.issued.insert(
        token.clone(),
        Issued {
            principal: config.principal(&subject),
            federated: true,
            expires: SystemTime::now() + lifetime,
        },
    );
    Reply::ok(&json!({
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
    }))
}

/// The subject (`sub`) of a valid subject token, or STS's description of what is wrong.
fn subject(config: &crate::Config, token: &str) -> Result<String, String> {
    if token.is_empty() {
        return Err("The subject_token is missing.".into());
    }
    let verified = jwt::verify(token, &config.subject_public_key_der)
        .map_err(|why| format!("Invalid JWT: {why}."))?;
    let claims = verified.claims;
    let _ = verified.header;
    let issuer = claims["iss"].as_str().unwrap_or_default();
    if issuer != config.subject_issuer {
        return Err(format!(
            "The issuer in ID Token {issuer} does not match the expected ones: {}.",
            config.subject_issuer
        ));
    }
    let now = jwt::now();
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err("The ID Token has expired.".into());
    }
    let allowed = config.allowed_audiences();
    if !jwt::audience_matches(&claims["aud"], &allowed) {
        return Err(format!(
            "The audience in ID Token [{}] does not match the expected audience {}.",
            claims["aud"],
            allowed.join(", ")
        ));
    }
    claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "The ID Token has no sub claim.".into())
}
