//! IAM Credentials `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`: the Bearer
//! must be a federated token STS issued, whose pool principal was allowed to impersonate
//! EMAIL ([`crate::Control::allow_impersonation`]); the JSON body must name scopes. Answers
//! `{accessToken, expireTime}`, or Google's error JSON (401, 403 with the ErrorInfo detail).

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::reply::Reply;
use crate::server::{Req, Shared};
use crate::state::{Issued, Route};

pub(crate) fn generate_access_token(shared: &Shared, request: &Req, rest: &str) -> Reply {
    let mut inner = shared.control.lock();
    if let Some(fault) = inner.enter(Route::GenerateAccessToken, None) {
        return Reply::fault(fault, "iam");
    }
    let Some(email) = rest.strip_suffix(":generateAccessToken") else {
        return Reply::not_route();
    };
    if request.method != http::Method::POST {
        return Reply::not_route();
    }
    let caller = request
        .bearer
        .as_deref()
        .and_then(|b| inner.issued.get(b))
        .filter(|i| i.federated && i.expires > SystemTime::now())
        .map(|i| i.principal.clone());
    let Some(caller) = caller else {
        return Reply::unauthenticated();
    };
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    inner.last_generate = Some((email.to_owned(), body.clone()));
    if !inner.impersonation.contains(&(caller, email.to_owned())) {
        return Reply::json(
            403,
            &json!({"error": {
                "code": 403,
                "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
                "status": "PERMISSION_DENIED",
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "IAM_PERMISSION_DENIED",
                    "domain": "iam.googleapis.com",
                    "metadata": {"permission": "iam.serviceAccounts.getAccessToken"},
                }],
            }}),
        );
    }
    let scopes = body["scope"].as_array().map_or(0, Vec::len);
    if scopes == 0 {
        return Reply::google(400, "INVALID_ARGUMENT", "Scope required.");
    }
    let asked = match body["lifetime"].as_str() {
        None => 3600,
        Some(text) => match text.strip_suffix('s').and_then(|n| n.parse::<u64>().ok()) {
            Some(n) if (1..=3600).contains(&n) => n,
            _ => {
                return Reply::google(
                    400,
                    "INVALID_ARGUMENT",
                    "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration).",
                );
            }
        },
    };
    let lifetime = Duration::from_secs(asked).min(inner.lifetime());
    let expires = SystemTime::now() + lifetime;
    let token = crate::random_token("ya29.iam");
    inner.issued.insert(
        token.clone(),
        Issued {
            principal: format!("serviceAccount:{email}"),
            federated: false,
            expires,
        },
    );
    let expire_time = OffsetDateTime::from(expires)
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::from(expires))
        .format(&Rfc3339)
        .unwrap_or_default();
    Reply::ok(&json!({"accessToken": token, "expireTime": expire_time}))
}
