//! STS's query protocol for the two calls a role chain makes: form bodies for
//! `AssumeRoleWithWebIdentity` (sent unsigned: the web identity token is the proof) and
//! `AssumeRole` (signed with the previous link's keys), and the XML error answer
//! (`<Error><Code>…</Code><Message>…</Message></Error>`).
//!
//! The session name is fixed ([`SESSION_NAME`]), so CloudTrail shows the same name for every
//! session of the agent and a trust policy can match it. Bodies carrying a token are built in
//! zeroizing buffers.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{ErrorAnswer, detail};
use crate::xml;

/// `RoleSessionName` of every session we start.
pub const SESSION_NAME: &str = "kubectl-secrets";

/// `Content-Type` of STS requests.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

const VERSION: &str = "2011-06-15";

/// `AssumeRoleWithWebIdentity` as `role_arn` with `token`.
pub(crate) fn web_identity_body(role_arn: &str, token: &str) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::with_capacity(token.len() + role_arn.len() + 128));
    form_pair(&mut body, "Action", "AssumeRoleWithWebIdentity");
    form_pair(&mut body, "Version", VERSION);
    form_pair(&mut body, "RoleArn", role_arn);
    form_pair(&mut body, "RoleSessionName", SESSION_NAME);
    form_pair(&mut body, "WebIdentityToken", token);
    body
}

/// `AssumeRole` of `role_arn`, with `external_id` when given.
pub(crate) fn assume_role_body(role_arn: &str, external_id: Option<&str>) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::with_capacity(256));
    form_pair(&mut body, "Action", "AssumeRole");
    form_pair(&mut body, "Version", VERSION);
    form_pair(&mut body, "RoleArn", role_arn);
    form_pair(&mut body, "RoleSessionName", SESSION_NAME);
    if let Some(id) = external_id {
        form_pair(&mut body, "ExternalId", id);
    }
    body
}

/// `GetCallerIdentity` (no parameters).
pub(crate) fn caller_identity_body() -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::with_capacity(64));
    form_pair(&mut body, "Action", "GetCallerIdentity");
    form_pair(&mut body, "Version", VERSION);
    body
}

/// Append `name=value` (with `&` between pairs), percent-encoding all but RFC 3986's
/// unreserved characters. The buffer has room reserved, and a token is short enough that
/// one growth at most copies into a fresh allocation.
fn form_pair(body: &mut Zeroizing<Vec<u8>>, name: &str, value: &str) {
    if !body.is_empty() {
        push_byte(body, b'&');
    }
    encode(body, name);
    push_byte(body, b'=');
    encode(body, value);
}

fn encode(body: &mut Zeroizing<Vec<u8>>, text: &str) {
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            push_byte(body, b);
        } else {
            for c in format!("%{b:02X}").bytes() {
                push_byte(body, c);
            }
        }
    }
}

/// Push one byte; grow by copying into a wiped-on-drop allocation, never by `Vec`'s realloc.
fn push_byte(body: &mut Zeroizing<Vec<u8>>, b: u8) {
    if body.len() == body.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(body.capacity().max(64) * 2));
        bigger.extend_from_slice(body);
        *body = bigger;
    }
    body.push(b);
}

/// An STS error answer.
pub(crate) fn error_answer(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ErrorAnswer {
    let doc = std::str::from_utf8(body).unwrap_or_default();
    let code = xml::element(doc, "Code")
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    let message = xml::element(doc, "Message")
        .map(|m| detail(&m))
        .unwrap_or_else(|| detail(""));
    ErrorAnswer {
        status,
        code,
        message,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_identity_form() {
        let body = web_identity_body("arn:aws:iam::1:role/r", "a.b+c/=");
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr\
             &RoleSessionName=kubectl-secrets&WebIdentityToken=a.b%2Bc%2F%3D"
        );
    }

    #[test]
    fn assume_role_form_with_and_without_external_id() {
        let body = assume_role_body("arn:aws:iam::2:role/x", Some("ext id"));
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A2%3Arole%2Fx\
             &RoleSessionName=kubectl-secrets&ExternalId=ext%20id"
        );
        let body = assume_role_body("r", None);
        assert!(!std::str::from_utf8(&body).unwrap().contains("ExternalId"));
    }

    #[test]
    fn caller_identity_form() {
        let body = caller_identity_body();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "Action=GetCallerIdentity&Version=2011-06-15"
        );
    }

    #[test]
    fn long_values_grow_the_buffer() {
        let token = "x".repeat(5000);
        let body = web_identity_body("r", &token);
        assert!(std::str::from_utf8(&body).unwrap().ends_with(&token));
    }

    #[test]
    fn xml_errors() {
        let body = br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
        let e = error_answer(403, None, body);
        assert_eq!(e.code, "AccessDenied");
        assert!(e.message.contains("sts:AssumeRole"));
        let e = error_answer(502, None, b"<html>bad gateway</html>");
        assert_eq!(e.code, "");
        assert_eq!(e.message, "no detail");
    }
}
