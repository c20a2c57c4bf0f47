//! Wire shapes: Entra's token answer and error body, Key Vault's secret, key, certificate and
//! list answers and its error body. Values deserialise into zeroizing strings; everything
//! else is metadata (ids, tags, attributes). Pure: bytes in, shapes out.

use std::collections::BTreeMap;

use serde::Deserialize;
use zeroize::Zeroizing;

/// Entra's token answer.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: Zeroizing<String>,
    /// Seconds; v2 sends a number, v1 and some proxies a string.
    pub expires_in: Seconds,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Seconds {
    Number(u64),
    Text(String),
}

impl Seconds {
    pub fn get(&self) -> Option<u64> {
        match self {
            Seconds::Number(n) => Some(*n),
            Seconds::Text(t) => t.parse().ok(),
        }
    }
}

/// Entra's error body.
#[derive(Deserialize, Default)]
pub struct EntraError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub error_codes: Vec<u64>,
}

impl EntraError {
    /// The description without the trace, correlation and timestamp lines Entra appends
    /// (they change per call and say nothing to the reader), cut to a readable length.
    pub fn description(&self) -> String {
        let text = self.error_description.as_str();
        let end = [" Trace ID:", "\r\nTrace ID:", "\nTrace ID:"]
            .iter()
            .filter_map(|m| text.find(m))
            .min()
            .unwrap_or(text.len());
        let text = text[..end].trim();
        let text = if text.is_empty() {
            self.error.as_str()
        } else {
            text
        };
        cut(text, 400)
    }

    /// The first AADSTS code.
    pub fn code(&self) -> Option<u64> {
        self.error_codes.first().copied().or_else(|| {
            let digits: String = self
                .error_description
                .strip_prefix("AADSTS")?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
    }
}

/// `attributes` of any Key Vault object.
#[derive(Deserialize, Default, Clone)]
pub struct Attributes {
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// `GET /secrets/{name}[/{version}]`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretBundle {
    #[serde(default)]
    pub value: Zeroizing<String>,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `GET /keys/{name}[/{version}]`: the JWK is passed on as JSON.
#[derive(Deserialize)]
pub struct KeyBundle {
    pub key: serde_json::Value,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `GET /certificates/{name}[/{version}]`.
#[derive(Deserialize)]
pub struct CertificateBundle {
    #[serde(default)]
    pub id: String,
    /// Base64 (standard) of the DER certificate.
    pub cer: String,
    /// The backing secret's id (`https://V/secrets/NAME/VERSION`).
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One item of a secrets list.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListItem {
    pub id: String,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub managed: bool,
}

/// A page of `/secrets` or `/secrets/{name}/versions`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage {
    #[serde(default)]
    pub value: Vec<ListItem>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// Key Vault's error body.
#[derive(Deserialize, Default)]
pub struct VaultErrorBody {
    #[serde(default)]
    pub error: VaultErrorDetail,
}

#[derive(Deserialize, Default)]
pub struct VaultErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub innererror: Option<InnerError>,
}

#[derive(Deserialize, Default)]
pub struct InnerError {
    #[serde(default)]
    pub code: String,
}

impl VaultErrorBody {
    /// The innermost code (`SecretDisabled`, `ForbiddenByRbac`) or the outer one.
    pub fn code(&self) -> &str {
        self.error
            .innererror
            .as_ref()
            .map(|i| i.code.as_str())
            .filter(|c| !c.is_empty())
            .unwrap_or(&self.error.code)
    }

    /// Key Vault's message on one line, cut to a readable length.
    pub fn message(&self) -> String {
        let one_line = self
            .error
            .message
            .split(['\r', '\n'])
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        cut(&one_line, 400)
    }
}

/// The last path segment of an object id: its version (`https://V/secrets/N/VERSION`).
pub fn version_of(id: &str) -> Option<String> {
    let path = id.split_once("://").map_or(id, |(_, rest)| rest);
    let segments: Vec<&str> = path.split('/').collect();
    (segments.len() == 4).then(|| segments[3].to_owned())
}

/// The name in an object id (`https://V/secrets/NAME[/VERSION]`).
pub fn name_of(id: &str) -> Option<&str> {
    let path = id.split_once("://").map_or(id, |(_, rest)| rest);
    path.split('/').nth(2).filter(|n| !n.is_empty())
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_errors_lose_their_trace_lines() {
        let body: EntraError = serde_json::from_str(
            r#"{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found. Trace ID: 1 Correlation ID: 2 Timestamp: 3","error_codes":[70021]}"#,
        )
        .unwrap();
        assert_eq!(body.code(), Some(70021));
        assert_eq!(
            body.description(),
            "AADSTS70021: No matching federated identity record found."
        );
        let bare: EntraError =
            serde_json::from_str(r#"{"error_description":"AADSTS700211: x"}"#).unwrap();
        assert_eq!(bare.code(), Some(700211));
    }

    #[test]
    fn vault_errors_prefer_the_inner_code() {
        let body: VaultErrorBody = serde_json::from_str(
            r#"{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}"#,
        )
        .unwrap();
        assert_eq!(body.code(), "SecretDisabled");
        let plain: VaultErrorBody =
            serde_json::from_str(r#"{"error":{"code":"SecretNotFound","message":"a\r\nb"}}"#)
                .unwrap();
        assert_eq!(
            (plain.code(), plain.message().as_str()),
            ("SecretNotFound", "a b")
        );
    }

    #[test]
    fn ids_give_names_and_versions() {
        let id = "https://v.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef";
        assert_eq!(
            version_of(id).as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(name_of(id), Some("db"));
        assert_eq!(version_of("https://v.vault.azure.net/secrets/db"), None);
        assert_eq!(name_of("https://v.vault.azure.net/secrets/db"), Some("db"));
        let answer: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"t","expires_in":"3599"}"#).unwrap();
        assert_eq!(answer.expires_in.get(), Some(3599));
    }
}
