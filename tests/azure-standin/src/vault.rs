//! The Key Vault data plane (read side): `GET /secrets/{n}[/{v}]`, `/secrets` and
//! `/secrets/{n}/versions` (paged with `nextLink`), `/keys/{n}[/{v}]`, `/certificates/{n}[/{v}]`.
//!
//! Data flow: faults first (503, 429 with `Retry-After`), then `api-version`, then the bearer
//! token (none, unknown, expired or for another resource: 401 with the challenge naming the
//! configured resource), then the caller's role (403 `ForbiddenByRbac`), then the object.
//! A disabled secret answers 403 `SecretDisabled`; a missing one 404 `SecretNotFound`. Ids in
//! answers are built from the `Host` the client used, as Key Vault builds them from its name.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::entra::Answer;
use crate::state::{Inner, SecretVersion};

/// Objects per list page when the client asks for no `maxresults` (Key Vault's default).
const DEFAULT_PAGE: usize = 25;

/// A request as the vault routes see it.
pub(crate) struct Call<'a> {
    pub(crate) base: String,
    pub(crate) path: &'a str,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) bearer: Option<&'a str>,
}

/// An answer with extra headers (`WWW-Authenticate`, `Retry-After`).
pub(crate) struct VaultAnswer {
    pub(crate) answer: Answer,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl From<Answer> for VaultAnswer {
    fn from(answer: Answer) -> Self {
        VaultAnswer {
            answer,
            headers: Vec::new(),
        }
    }
}

pub(crate) fn handle(inner: &mut Inner, call: &Call<'_>, authority: &str) -> VaultAnswer {
    let segments: Vec<String> = call
        .path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let route: &'static str = match segments.as_slice() {
        ["secrets"] => "secret_list",
        ["secrets", _, "versions"] => "secret_versions",
        ["secrets", _] | ["secrets", _, _] => "secret_get",
        ["keys", _] | ["keys", _, _] => "key_get",
        ["certificates", _] | ["certificates", _, _] => "cert_get",
        _ => "unknown",
    };
    inner.count(route);
    if inner.faults.unavailable {
        return error(
            503,
            "ServiceUnavailable",
            None,
            "The service is unavailable.",
        )
        .into();
    }
    if inner.faults.throttle > 0 {
        inner.faults.throttle -= 1;
        let mut answer: VaultAnswer = error(
            429,
            "Throttled",
            None,
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        )
        .into();
        answer
            .headers
            .push(("retry-after", inner.faults.retry_after.to_string()));
        return answer;
    }
    if !call.query.iter().any(|(k, _)| k == "api-version") {
        return error(
            400,
            "BadParameter",
            None,
            "The request URI contains an invalid or missing api-version parameter.",
        )
        .into();
    }
    let challenge = format!(
        "Bearer authorization=\"{authority}\", resource=\"{}\"",
        inner.faults.resource
    );
    let client_id = match authorize(inner, call.bearer) {
        Ok(client) => client,
        Err(message) => {
            inner.count("challenge");
            let mut answer: VaultAnswer = error(401, "Unauthorized", None, message).into();
            answer.headers.push(("www-authenticate", challenge));
            return answer;
        }
    };
    if inner.faults.denied.contains(&client_id) {
        let message = format!(
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid={client_id}\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"
        );
        return error(403, "Forbidden", Some("ForbiddenByRbac"), &message).into();
    }
    let base = call.base.as_str();
    match segments.as_slice() {
        ["secrets"] => list(inner, call, base, None),
        ["secrets", name, "versions"] => list(inner, call, base, Some(name)),
        ["secrets", name] => get_secret(inner, base, name, None),
        ["secrets", name, version] => get_secret(inner, base, name, Some(version)),
        ["keys", name] => get_key(inner, base, name, None),
        ["keys", name, version] => get_key(inner, base, name, Some(version)),
        ["certificates", name] => get_certificate(inner, base, name, None),
        ["certificates", name, version] => get_certificate(inner, base, name, Some(version)),
        _ => error(
            400,
            "BadParameter",
            None,
            "The requested route is not served by this stand-in.",
        )
        .into(),
    }
}

/// The client a bearer token was issued to, or why it is refused.
fn authorize(inner: &mut Inner, bearer: Option<&str>) -> Result<String, &'static str> {
    let token = bearer.ok_or("AKV10000: Request is missing a Bearer or PoP token.")?;
    inner.forget_expired(Instant::now());
    let issued = inner
        .tokens
        .get(token)
        .ok_or("AKV10032: Invalid issuer or token.")?;
    if issued.resource != inner.faults.resource {
        return Err("AKV10022: Invalid audience.");
    }
    Ok(issued.client_id.clone())
}

fn pick<'a, T>(versions: &'a [T], version: Option<&str>, id: impl Fn(&T) -> &str) -> Option<&'a T> {
    match version {
        None | Some("") => versions.last(),
        Some(v) => versions.iter().find(|x| id(x) == v),
    }
}

fn attributes(enabled: bool, created: u64) -> Value {
    json!({"enabled": enabled, "created": created, "updated": created, "recoveryLevel": "Recoverable+Purgeable"})
}

fn get_secret(inner: &Inner, base: &str, name: &str, version: Option<&str>) -> VaultAnswer {
    let found = inner
        .secrets
        .get(name)
        .and_then(|versions| pick(versions, version, |v| v.version.as_str()));
    let Some(secret) = found else {
        let message = format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        );
        return error(404, "SecretNotFound", None, &message).into();
    };
    if !secret.enabled {
        return error(
            403,
            "Forbidden",
            Some("SecretDisabled"),
            "Operation get is not allowed on a disabled secret.",
        )
        .into();
    }
    let mut body = secret_item(base, name, secret, true);
    body["value"] = json!(secret.value);
    (200, body).into()
}

fn secret_item(base: &str, name: &str, secret: &SecretVersion, with_version: bool) -> Value {
    let id = if with_version {
        format!("{base}/secrets/{name}/{}", secret.version)
    } else {
        format!("{base}/secrets/{name}")
    };
    let mut item = json!({"id": id, "attributes": attributes(secret.enabled, secret.created)});
    if !secret.tags.is_empty() {
        item["tags"] = json!(secret.tags);
    }
    if let Some(content_type) = &secret.content_type {
        item["contentType"] = json!(content_type);
    }
    if secret.managed {
        item["managed"] = json!(true);
        item["kid"] = json!(format!("{base}/keys/{name}/{}", secret.version));
    }
    item
}

/// A page of `/secrets` (one item per secret, its current version's attributes) or of
/// `/secrets/{name}/versions` (one item per version).
fn list(inner: &Inner, call: &Call<'_>, base: &str, name: Option<&str>) -> VaultAnswer {
    let param = |key: &str| {
        call.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let page = param("maxresults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, DEFAULT_PAGE);
    let skip = param("$skiptoken")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let items: Vec<Value> = match name {
        None => inner
            .secrets
            .iter()
            .filter_map(|(n, versions)| versions.last().map(|v| secret_item(base, n, v, false)))
            .collect(),
        Some(name) => match inner.secrets.get(name) {
            Some(versions) => versions
                .iter()
                .map(|v| secret_item(base, name, v, true))
                .collect(),
            None => {
                let message =
                    format!("A secret with (name/id) {name} was not found in this key vault.");
                return error(404, "SecretNotFound", None, &message).into();
            }
        },
    };
    let end = skip.saturating_add(page).min(items.len());
    let value: Vec<Value> = items
        .get(skip..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let path = match name {
        None => "secrets".to_owned(),
        Some(name) => format!("secrets/{name}/versions"),
    };
    let api = param("api-version").unwrap_or_default();
    let next = (end < items.len())
        .then(|| format!("{base}/{path}?api-version={api}&$skiptoken={end}&maxresults={page}"));
    (200, json!({"value": value, "nextLink": next})).into()
}

fn get_key(inner: &Inner, base: &str, name: &str, version: Option<&str>) -> VaultAnswer {
    let found = inner
        .keys
        .get(name)
        .and_then(|versions| pick(versions, version, |v| v.version.as_str()));
    let Some(key) = found else {
        let message = format!("A key with (name/id) {name} was not found in this key vault.");
        return error(404, "KeyNotFound", None, &message).into();
    };
    let mut jwk = key.jwk.clone();
    jwk["kid"] = json!(format!("{base}/keys/{name}/{}", key.version));
    let mut body = json!({"key": jwk, "attributes": attributes(key.enabled, key.created)});
    if !key.tags.is_empty() {
        body["tags"] = json!(key.tags);
    }
    (200, body).into()
}

fn get_certificate(inner: &Inner, base: &str, name: &str, version: Option<&str>) -> VaultAnswer {
    let found = inner
        .certificates
        .get(name)
        .and_then(|versions| pick(versions, version, |v| v.version.as_str()));
    let Some(cert) = found else {
        let message =
            format!("A certificate with (name/id) {name} was not found in this key vault.");
        return error(404, "CertificateNotFound", None, &message).into();
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert.cer);
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    let mut body = json!({
        "id": format!("{base}/certificates/{name}/{}", cert.version),
        "kid": format!("{base}/keys/{name}/{}", cert.version),
        "sid": format!("{base}/secrets/{name}/{}", cert.version),
        "x5t": x5t,
        "cer": STANDARD.encode(&cert.cer),
        "attributes": attributes(cert.enabled, cert.created),
    });
    if !cert.tags.is_empty() {
        body["tags"] = json!(cert.tags);
    }
    (200, body).into()
}

/// Key Vault's error body: `{"error": {"code", "message", "innererror"?: {"code"}}}`.
pub(crate) fn error(status: u16, code: &str, inner: Option<&str>, message: &str) -> Answer {
    let mut body = json!({"error": {"code": code, "message": message}});
    if let Some(inner) = inner {
        body["error"]["innererror"] = json!({"code": inner});
    }
    (status, body)
}
