//! Who a Bearer token speaks for at Secret Manager: a token the stand-in issued (STS,
//! IAM Credentials) or was given (a person's), unexpired; or a self-signed service-account
//! JWT (`iss` = `sub` = the account, `kid` = a registered key, RS256, at most an hour, scoped
//! to cloud-platform or addressed to Secret Manager).

use std::time::SystemTime;

use serde_json::Value;

use crate::Config;
use crate::jwt;
use crate::state::Inner;

/// The audience a self-signed JWT may carry instead of a scope.
const SECRET_MANAGER_AUDIENCE: &str = "https://secretmanager.googleapis.com/";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The principal (`serviceAccount:EMAIL`, `principal://…`, a person) of `bearer`, if valid.
pub(crate) fn principal(
    _config: &Config,
    inner: &mut Inner,
    bearer: Option<&str>,
) -> Option<String> {
    let bearer = bearer?;
    if let Some(issued) = inner.issued.get(bearer) {
        return (issued.expires > SystemTime::now()).then(|| issued.principal.clone());
    }
    self_signed(inner, bearer).ok()
}

fn self_signed(inner: &Inner, token: &str) -> Result<String, &'static str> {
    let header = jwt::header(token)?;
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let (email, key) = inner.keys.get(kid).ok_or("unknown key")?;
    let claims = jwt::verify(token, key)?.claims;
    let string = |name: &str| claims[name].as_str().unwrap_or_default();
    if string("iss") != email || string("sub") != email {
        return Err("iss/sub is not the key's account");
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err("no iat/exp");
    };
    let now = jwt::now();
    // A minute of clock skew either way, as Google's token verifiers allow.
    if exp <= now - 60 || iat > now + 60 || exp - iat > 3600 {
        return Err("outside its time window or longer than an hour");
    }
    let scoped = string("scope").split(' ').any(|s| s == CLOUD_PLATFORM);
    let addressed = claims["aud"] == Value::String(SECRET_MANAGER_AUDIENCE.into());
    if !scoped && !addressed {
        return Err("neither scoped to cloud-platform nor addressed to secret manager");
    }
    Ok(format!("serviceAccount:{email}"))
}
