//! The wire shapes: URLs of the Secret Manager, STS and IAM Credentials calls, request
//! bodies, and the answers parsed into what the store needs. Pure: no IO, so every shape is
//! tested here.
//!
//! Data flow: store spec (project, location) + endpoint overrides ──▶ [`Endpoints`] ──▶
//! `*_url` ──▶ the HTTP client ──▶ status + body ──▶ `parse_*` ──▶ [`Accessed`] (payload
//! checked against `dataCrc32c`), version numbers, metadata, names │ [`ApiError`] /
//! [`OauthError`] (Google's error bodies, reduced to their code and message).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::crc32c::crc32c;

/// Largest error text kept from an answer: enough for Google's messages, bounded for logs.
const MAX_MESSAGE: usize = 600;
/// Secret Manager's page size limit.
pub(crate) const PAGE_SIZE: u32 = 25_000;

/// The three endpoints, scheme and host (and port) only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub(crate) secret_manager: String,
    pub(crate) sts: String,
    pub(crate) iam_credentials: String,
}

impl Endpoints {
    /// Google's endpoints, the regional Secret Manager host when `location` is set, each
    /// replaced by its override when one is given.
    pub(crate) fn new(
        location: Option<&str>,
        secret_manager: Option<&str>,
        sts: Option<&str>,
        iam_credentials: Option<&str>,
    ) -> Endpoints {
        let base = |over: Option<&str>, default: String| {
            over.map_or(default, |o| o.trim_end_matches('/').to_owned())
        };
        let regional = match location {
            Some(l) => format!("https://secretmanager.{l}.rep.googleapis.com"),
            None => "https://secretmanager.googleapis.com".to_owned(),
        };
        Endpoints {
            secret_manager: base(secret_manager, regional),
            sts: base(sts, "https://sts.googleapis.com".into()),
            iam_credentials: base(
                iam_credentials,
                "https://iamcredentials.googleapis.com".into(),
            ),
        }
    }
}

/// `projects/P` or `projects/P/locations/L`.
pub(crate) fn parent(project: &str, location: Option<&str>) -> String {
    match location {
        Some(l) => format!("projects/{project}/locations/{l}"),
        None => format!("projects/{project}"),
    }
}

pub(crate) fn access_url(base: &str, parent: &str, secret: &str, version: &str) -> String {
    format!("{base}/v1/{parent}/secrets/{secret}/versions/{version}:access")
}

pub(crate) fn enabled_versions_url(base: &str, parent: &str, secret: &str) -> String {
    format!(
        "{base}/v1/{parent}/secrets/{secret}/versions?filter=state%3AENABLED&pageSize={PAGE_SIZE}"
    )
}

pub(crate) fn secret_url(base: &str, parent: &str, secret: &str) -> String {
    format!("{base}/v1/{parent}/secrets/{secret}")
}

pub(crate) fn list_url(base: &str, parent: &str, page_token: Option<&str>) -> String {
    let mut url = format!("{base}/v1/{parent}/secrets?pageSize={PAGE_SIZE}");
    if let Some(token) = page_token {
        url.push_str("&pageToken=");
        url.extend(form_urlencoded::byte_serialize(token.as_bytes()));
    }
    url
}

pub(crate) fn sts_url(base: &str) -> String {
    format!("{base}/v1/token")
}

pub(crate) fn generate_access_token_url(base: &str, email: &str) -> String {
    format!("{base}/v1/projects/-/serviceAccounts/{email}:generateAccessToken")
}

/// The STS token-exchange form for a Kubernetes token, for the pool provider `audience`.
pub(crate) fn sts_form(subject_token: &str, audience: &str, scope: &str) -> Zeroizing<Vec<u8>> {
    let form = Zeroizing::new(
        form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            )
            .append_pair(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            )
            .append_pair("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
            .append_pair("audience", audience)
            .append_pair("scope", scope)
            .append_pair("subject_token", subject_token)
            .finish(),
    );
    Zeroizing::new(form.as_bytes().to_vec())
}

/// The `generateAccessToken` body.
pub(crate) fn generate_access_token_body(scope: &str) -> Vec<u8> {
    serde_json::json!({"scope": [scope], "lifetime": "3600s"})
        .to_string()
        .into_bytes()
}

/// An answer that cannot be used; the text names what was expected, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the answer is not the JSON expected ({0})")]
    Shape(&'static str),
    #[error(
        "the payload does not match its dataCrc32c (sent {sent}, computed {computed}): it was \
         corrupted on the way, so it is not used"
    )]
    Checksum { sent: u32, computed: u32 },
}

/// A version read.
pub(crate) struct Accessed {
    /// The version number the name in the answer carries (`latest` resolved).
    pub(crate) version: String,
    pub(crate) data: Zeroizing<Vec<u8>>,
}

#[derive(Deserialize)]
struct AccessJson {
    name: String,
    payload: PayloadJson,
}

#[derive(Deserialize)]
struct PayloadJson {
    #[serde(default)]
    data: Zeroizing<String>,
    #[serde(rename = "dataCrc32c", default)]
    crc: Option<Value>,
}

/// The last segment of `…/versions/N`.
fn version_of(name: &str) -> Option<&str> {
    name.rsplit_once("/versions/").map(|(_, v)| v)
}

/// An access answer: the payload decoded and checked against `dataCrc32c` when present (the
/// service always sends it; it guards against corruption, TLS against tampering).
pub(crate) fn parse_access(body: &[u8]) -> Result<Accessed, WireError> {
    let parsed: AccessJson =
        serde_json::from_slice(body).map_err(|_| WireError::Shape("name and payload"))?;
    let data = Zeroizing::new(
        STANDARD
            .decode(parsed.payload.data.as_bytes())
            .map_err(|_| WireError::Shape("payload.data in base64"))?,
    );
    if let Some(crc) = parsed.payload.crc {
        // int64 travels as a decimal string in proto3 JSON; accept a number too.
        let sent = match &crc {
            Value::String(s) => s.parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(WireError::Shape("payload.dataCrc32c as a 32-bit number"))?;
        let computed = crc32c(&data);
        if sent != computed {
            return Err(WireError::Checksum { sent, computed });
        }
    }
    let version = version_of(&parsed.name)
        .filter(|v| !v.is_empty())
        .ok_or(WireError::Shape("name ending in /versions/N"))?
        .to_owned();
    Ok(Accessed { version, data })
}

/// The newest version number in a versions list (the service lists newest first, but the
/// largest number is taken rather than trusting the order).
pub(crate) fn parse_newest_version(body: &[u8]) -> Result<Option<u64>, WireError> {
    let parsed: Value =
        serde_json::from_slice(body).map_err(|_| WireError::Shape("a versions list"))?;
    let Some(versions) = parsed.get("versions") else {
        return Ok(None);
    };
    let versions = versions
        .as_array()
        .ok_or(WireError::Shape("versions as a list"))?;
    Ok(versions
        .iter()
        .filter_map(|v| v["name"].as_str())
        .filter_map(version_of)
        .filter_map(|v| v.parse::<u64>().ok())
        .max())
}

/// A secret's metadata as ESO's `metadataPolicy: Fetch` returns it: `{labels, annotations}`.
pub(crate) fn parse_metadata(body: &[u8]) -> Result<Map<String, Value>, WireError> {
    let parsed: Value = serde_json::from_slice(body).map_err(|_| WireError::Shape("a secret"))?;
    let mut out = Map::new();
    for key in ["labels", "annotations"] {
        let value = match parsed.get(key) {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(map @ Value::Object(_)) => map.clone(),
            Some(_) => return Err(WireError::Shape("labels and annotations as maps")),
        };
        out.insert(key.to_owned(), value);
    }
    Ok(out)
}

/// One page of a secrets list: the short names, and the next page's token.
pub(crate) fn parse_list(body: &[u8]) -> Result<(Vec<String>, Option<String>), WireError> {
    let parsed: Value =
        serde_json::from_slice(body).map_err(|_| WireError::Shape("a secrets list"))?;
    let names = match parsed.get("secrets") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|s| s["name"].as_str())
            .filter_map(|n| n.rsplit_once("/secrets/").map(|(_, s)| s.to_owned()))
            .collect(),
        Some(_) => return Err(WireError::Shape("secrets as a list")),
    };
    let next = parsed["nextPageToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok((names, next))
}

/// A token answer: STS (`access_token`, `expires_in`) or IAM Credentials (`accessToken`,
/// `expireTime`); the lifetime in seconds from now.
pub(crate) struct TokenAnswer {
    pub(crate) token: Zeroizing<String>,
    pub(crate) lifetime_seconds: u64,
}

#[derive(Deserialize)]
struct StsJson {
    access_token: Zeroizing<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

pub(crate) fn parse_sts(body: &[u8]) -> Result<TokenAnswer, WireError> {
    let parsed: StsJson = serde_json::from_slice(body)
        .map_err(|_| WireError::Shape("access_token and expires_in"))?;
    Ok(TokenAnswer {
        token: parsed.access_token,
        // STS always sends expires_in; without it, assume the shortest common lifetime.
        lifetime_seconds: parsed.expires_in.unwrap_or(600),
    })
}

#[derive(Deserialize)]
struct IamJson {
    #[serde(rename = "accessToken")]
    access_token: Zeroizing<String>,
    #[serde(rename = "expireTime")]
    expire_time: String,
}

/// An IAM Credentials answer, with `now` (seconds since the epoch) to turn `expireTime` into
/// a lifetime.
pub(crate) fn parse_generated(body: &[u8], now: i64) -> Result<TokenAnswer, WireError> {
    let parsed: IamJson =
        serde_json::from_slice(body).map_err(|_| WireError::Shape("accessToken and expireTime"))?;
    let expires = time::OffsetDateTime::parse(
        &parsed.expire_time,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| WireError::Shape("expireTime in RFC 3339"))?
    .unix_timestamp();
    Ok(TokenAnswer {
        token: parsed.access_token,
        lifetime_seconds: u64::try_from(expires.saturating_sub(now)).unwrap_or(0),
    })
}

/// Google's API error body `{"error": {code, message, status, details}}`, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `error.status` (`NOT_FOUND`, `PERMISSION_DENIED`, …); empty when the body had none.
    pub status: String,
    /// `error.message`, bounded; a note when the body was not Google's JSON.
    pub message: String,
    /// `details[].reason` of an ErrorInfo (`IAM_PERMISSION_DENIED`), when present.
    pub reason: Option<String>,
}

/// `text` without control characters, at most [`MAX_MESSAGE`] characters.
fn bounded(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    if text.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out
}

pub(crate) fn parse_api_error(body: &[u8]) -> ApiError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &parsed["error"];
    match error["message"].as_str() {
        Some(message) => ApiError {
            status: bounded(error["status"].as_str().unwrap_or_default()),
            message: bounded(message),
            reason: error["details"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|d| d["reason"].as_str())
                .map(bounded),
        },
        // Not Google's JSON (a proxy, a wrong endpoint): its text is not quoted, since
        // nobody vouches for what it echoes.
        None => ApiError {
            status: String::new(),
            message: format!(
                "an answer that is not Google's error JSON ({} bytes)",
                body.len()
            ),
            reason: None,
        },
    }
}

/// STS's OAuth error body `{error, error_description}`, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OauthError {
    pub error: String,
    pub description: String,
}

pub(crate) fn parse_oauth_error(body: &[u8]) -> OauthError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match parsed["error"].as_str() {
        Some(error) => OauthError {
            error: bounded(error),
            description: bounded(parsed["error_description"].as_str().unwrap_or_default()),
        },
        None => {
            // IAM-style bodies reach STS callers too (a 403 from a proxy in Google's shape).
            let api = parse_api_error(body);
            OauthError {
                error: api.status,
                description: api.message,
            }
        }
    }
}

#[cfg(test)]
mod tests;
