#![allow(clippy::unwrap_used, reason = "tests")]

use http::HeaderMap;

use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().unwrap());
    }
    map
}

#[test]
fn a_secrets_manager_call_is_named_by_its_target_and_keeps_ids_only() {
    let h = headers(&[
        ("x-amz-target", "secretsmanager.BatchGetSecretValue"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=ab",
        ),
    ]);
    let (call, protocol) = Call::parse(&h, None, br#"{"SecretIdList":["a","b"]}"#);
    assert_eq!(protocol, Protocol::Json);
    assert_eq!(call.action, BATCH_GET_SECRET_VALUE);
    assert_eq!(call.access_key_id.as_deref(), Some("AKIAX"));
    assert_eq!(call.region.as_deref(), Some("eu-west-1"));
    assert_eq!(call.secret_ids, ["a", "b"]);
    assert_eq!(call.batch_size(), Some(2));

    let (call, _) = Call::parse(
        &headers(&[("x-amz-target", "secretsmanager.GetSecretValue")]),
        None,
        br#"{"SecretId":"x","VersionStage":"AWSPREVIOUS","SecretString":"never kept"}"#,
    );
    assert_eq!(call.action, GET_SECRET_VALUE);
    assert_eq!(call.version_stage.as_deref(), Some("AWSPREVIOUS"));
    assert_eq!(call.batch_size(), None);
    assert!(!format!("{call:?}").contains("never kept"));
}

#[test]
fn an_sts_call_is_named_by_its_form_action_and_drops_the_token() {
    let body = b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s+1&WebIdentityToken=eyJsecret";
    let (call, protocol) = Call::parse(&HeaderMap::new(), None, body);
    assert_eq!(protocol, Protocol::Query);
    assert_eq!(call.action, ASSUME_ROLE_WITH_WEB_IDENTITY);
    assert_eq!(call.role_arn.as_deref(), Some("arn:aws:iam::1:role/r"));
    assert_eq!(call.session_name.as_deref(), Some("s 1"));
    assert_eq!(call.access_key_id, None);
    assert!(!format!("{call:?}").contains("eyJsecret"));

    let (call, _) = Call::parse(
        &HeaderMap::new(),
        Some("Action=AssumeRole&ExternalId=ext"),
        b"",
    );
    assert_eq!(call.action, ASSUME_ROLE);
    assert_eq!(call.external_id.as_deref(), Some("ext"));
}

#[test]
fn errors_take_each_protocols_shape() {
    let json = throttled(Protocol::Json);
    assert_eq!(json.status, 400);
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(v["__type"], "ThrottlingException");

    let xml = throttled(Protocol::Query);
    assert_eq!(xml_text(&xml.body, "Code"), Some("Throttling"));

    let deny = denied(
        Protocol::Json,
        "arn:aws:sts::1:assumed-role/r/s",
        BATCH_GET_SECRET_VALUE,
    );
    let v: serde_json::Value = serde_json::from_str(&deny.body).unwrap();
    assert_eq!(v["__type"], "AccessDeniedException");
    assert!(
        v["Message"]
            .as_str()
            .unwrap()
            .contains("not authorized to perform: secretsmanager:BatchGetSecretValue")
    );
    let deny = denied(Protocol::Query, "arn:aws:iam::1:user/u", ASSUME_ROLE);
    assert_eq!(deny.status, 403);
    assert_eq!(xml_text(&deny.body, "Code"), Some("AccessDenied"));

    let big = batch_too_large(21);
    assert!(big.body.contains("ValidationException") && big.body.contains("20"));
}

#[test]
fn forms_round_trip() {
    let encoded = form_encode("arn:aws:iam::1:role/a b");
    assert_eq!(
        parse_form(&format!("X={encoded}"))["X"],
        "arn:aws:iam::1:role/a b"
    );
    assert!(parse_form("bad=%zz").is_empty());
}
