//! The AWS wire shapes the stand-in reads and writes: which action a request is (Secrets
//! Manager's JSON protocol names it in `X-Amz-Target`, STS's query protocol in the form's
//! `Action`), who signed it (the access key in the SigV4 credential scope), what it asks for
//! (secret ids, role ARN, external id: never a value or a token), and the error answers AWS
//! gives (a JSON `__type` for Secrets Manager, an `ErrorResponse` XML for STS).
//!
//! Pure functions over headers and bodies, so the rules are tested without a server.

use std::collections::BTreeMap;

use http::HeaderMap;
use serde_json::{Value, json};

/// The IAM action names the stand-in counts under.
pub const GET_SECRET_VALUE: &str = "secretsmanager:GetSecretValue";
pub const BATCH_GET_SECRET_VALUE: &str = "secretsmanager:BatchGetSecretValue";
pub const ASSUME_ROLE: &str = "sts:AssumeRole";
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";
pub const ASSUME_ROLE_FOR_POD_IDENTITY: &str = "eks-auth:AssumeRoleForPodIdentity";

/// AWS's limit on `SecretIdList` in one `BatchGetSecretValue` (moto does not enforce it).
pub const BATCH_LIMIT: usize = 20;

/// Which protocol a request speaks, so errors come back in its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Secrets Manager (and other `X-Amz-Target` services): `application/x-amz-json-1.1`.
    Json,
    /// STS: form in, XML out.
    Query,
    /// The Pod Identity credentials endpoint: plain JSON.
    PodIdentity,
}

/// One request as the stand-in saw it. Holds names and ids only: secret values, web identity
/// tokens and signatures are never kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Call {
    /// `secretsmanager:GetSecretValue`, `sts:AssumeRole`, ... (`unknown` when unnamed).
    pub action: String,
    /// The access key id from the SigV4 credential scope (`None`: unsigned).
    pub access_key_id: Option<String>,
    /// Who the key belongs to: the assumed-role ARN the stand-in saw STS (or the Pod Identity
    /// stand-in) hand the key out for; `None` for keys it never saw issued (static keys).
    pub principal: Option<String>,
    /// The region from the credential scope.
    pub region: Option<String>,
    /// `SecretId`, or every id of a `SecretIdList`.
    pub secret_ids: Vec<String>,
    pub version_id: Option<String>,
    pub version_stage: Option<String>,
    /// `BatchGetSecretValue` with `Filters` instead of ids.
    pub filters: bool,
    /// STS: the role asked for, its external id and session name.
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    /// `AssumeRoleWithWebIdentity` with a trusted issuer: the token's service account,
    /// `namespace/name` (the token itself is never kept).
    pub web_identity: Option<String>,
    /// What the stand-in did with it.
    pub outcome: Outcome,
}

/// What happened to a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Outcome {
    /// Sent on to moto, which answered with this HTTP status.
    Forwarded(u16),
    /// Answered by the stand-in itself (Pod Identity) with this status.
    Answered(u16),
    /// Throttling injected.
    Throttled,
    /// Denied as IAM would.
    Denied,
    /// More than [`BATCH_LIMIT`] ids: a validation error, as AWS answers.
    BatchTooLarge,
    /// Outage: the connection was closed without an answer.
    Dropped,
    /// Not decided yet.
    #[default]
    Pending,
}

impl Call {
    /// Read a Secrets Manager or STS request (headers, query, body). `protocol` tells which
    /// error shape fits it.
    pub fn parse(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> (Call, Protocol) {
        let (access_key_id, region) = credential_scope(headers);
        let mut call = Call {
            access_key_id,
            region,
            ..Call::default()
        };
        if let Some(target) = header(headers, "x-amz-target") {
            let op = target.rsplit('.').next().unwrap_or(target);
            let service = target
                .split('.')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            // `secretsmanager.GetSecretValue` → the IAM name `secretsmanager:GetSecretValue`.
            call.action = format!("{service}:{op}");
            let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            if let Some(id) = json["SecretId"].as_str() {
                call.secret_ids.push(id.to_owned());
            }
            if let Some(ids) = json["SecretIdList"].as_array() {
                call.secret_ids
                    .extend(ids.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            call.filters = json["Filters"].as_array().is_some_and(|f| !f.is_empty());
            call.version_id = json["VersionId"].as_str().map(str::to_owned);
            call.version_stage = json["VersionStage"].as_str().map(str::to_owned);
            return (call, Protocol::Json);
        }
        let mut form = query.map(parse_form).unwrap_or_default();
        form.extend(parse_form(&String::from_utf8_lossy(body)));
        call.action = match form.get("Action") {
            Some(action) => format!("sts:{action}"),
            None => "unknown".to_owned(),
        };
        call.role_arn = form.get("RoleArn").cloned();
        call.external_id = form.get("ExternalId").cloned();
        call.session_name = form.get("RoleSessionName").cloned();
        (call, Protocol::Query)
    }

    /// How many ids a `BatchGetSecretValue` by ids asked for.
    pub fn batch_size(&self) -> Option<usize> {
        (self.action == BATCH_GET_SECRET_VALUE && !self.filters).then_some(self.secret_ids.len())
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Credential=AKID/DATE/REGION/SERVICE/aws4_request` from a SigV4 `Authorization` header.
pub fn credential_scope(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let Some(auth) = header(headers, "authorization") else {
        return (None, None);
    };
    let Some(scope) = auth
        .split([' ', ','])
        .find_map(|part| part.strip_prefix("Credential="))
    else {
        return (None, None);
    };
    let mut parts = scope.split('/');
    let key = parts.next().filter(|k| !k.is_empty()).map(str::to_owned);
    let region = parts.nth(1).map(str::to_owned);
    (key, region)
}

/// A form (`a=b&c=d`, percent-encoded, `+` for space) as a map; the last of a repeated name
/// wins.
pub fn parse_form(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Percent-encode a form value (RFC 3986 unreserved characters stay).
pub fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text between the first `<tag>` and its `</tag>` (enough for STS's flat answers).
pub fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// An error answer: HTTP status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// An AWS JSON-protocol error, as Secrets Manager sends it (`__type` and `Message`; moto
/// writes `message` in lower case, so a client must read both).
pub fn json_error(status: u16, kind: &str, message: &str) -> ErrorAnswer {
    ErrorAnswer {
        status,
        content_type: "application/x-amz-json-1.1",
        body: json!({ "__type": kind, "Message": message }).to_string(),
    }
}

/// An STS (query protocol) error: `ErrorResponse` XML.
pub fn query_error(status: u16, code: &str, message: &str) -> ErrorAnswer {
    ErrorAnswer {
        status,
        content_type: "text/xml",
        body: format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    \
             <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
             <RequestId>00000000-0000-4000-8000-000000000000</RequestId>\n</ErrorResponse>\n",
            xml_escape(message)
        ),
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Throttling in the request's protocol: Secrets Manager `ThrottlingException`, STS
/// `Throttling`, both HTTP 400 with "Rate exceeded", as AWS answers.
pub fn throttled(protocol: Protocol) -> ErrorAnswer {
    match protocol {
        Protocol::Json => json_error(400, "ThrottlingException", "Rate exceeded"),
        Protocol::Query => query_error(400, "Throttling", "Rate exceeded"),
        Protocol::PodIdentity => json_error(429, "ThrottlingException", "Rate exceeded"),
    }
}

/// IAM's denial, naming the caller and the action as AWS does.
pub fn denied(protocol: Protocol, principal: &str, action: &str) -> ErrorAnswer {
    let message = format!(
        "User: {principal} is not authorized to perform: {action} because no identity-based \
         policy allows the {action} action"
    );
    match protocol {
        Protocol::Json | Protocol::PodIdentity => {
            json_error(400, "AccessDeniedException", &message)
        }
        Protocol::Query => query_error(403, "AccessDenied", &message),
    }
}

/// AWS's answer to a request signed with an access key it does not know.
pub fn invalid_key(protocol: Protocol) -> ErrorAnswer {
    const TEXT: &str = "The security token included in the request is invalid.";
    match protocol {
        Protocol::Json | Protocol::PodIdentity => {
            json_error(400, "UnrecognizedClientException", TEXT)
        }
        Protocol::Query => query_error(403, "InvalidClientTokenId", TEXT),
    }
}

/// AWS's answer to a `SecretIdList` over [`BATCH_LIMIT`] ids.
pub fn batch_too_large(size: usize) -> ErrorAnswer {
    json_error(
        400,
        "ValidationException",
        &format!(
            "1 validation error detected: Value '[{size} ids]' at 'secretIdList' failed to \
             satisfy constraint: Member must have length less than or equal to {BATCH_LIMIT}"
        ),
    )
}

#[cfg(test)]
mod tests;
