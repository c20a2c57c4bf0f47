//! What an AADSTS70021/700211 message needs of the assertion we sent: its issuer, subject and
//! audiences, decoded from the JWT's payload without verifying it (Entra did that). The token
//! itself never leaves this function.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The claims a federated credential matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionClaims {
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    #[serde(default)]
    aud: Option<Audiences>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audiences {
    One(String),
    Many(Vec<String>),
}

/// The claims of `jwt`, or `None` when it is not a JWT with a JSON payload.
pub fn decode(jwt: &str) -> Option<AssertionClaims> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(payload).ok()?);
    let raw: Raw = serde_json::from_slice(&bytes).ok()?;
    let audiences = match raw.aud {
        None => Vec::new(),
        Some(Audiences::One(one)) => vec![one],
        Some(Audiences::Many(many)) => many,
    };
    Some(AssertionClaims {
        issuer: raw.iss,
        subject: raw.sub,
        audiences,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:a:b","aud":["api://AzureADTokenExchange"]}"#,
        );
        let claims = decode(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")).unwrap();
        assert_eq!(claims.issuer, "https://kubernetes.default.svc");
        assert_eq!(claims.subject, "system:serviceaccount:a:b");
        assert_eq!(claims.audiences, ["api://AzureADTokenExchange"]);
        let one = URL_SAFE_NO_PAD.encode(br#"{"aud":"x"}"#);
        assert_eq!(decode(&format!("h.{one}.s")).unwrap().audiences, ["x"]);
        assert!(decode("not-a-jwt").is_none());
    }
}
