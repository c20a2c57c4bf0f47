use super::*;
use serde_json::json;

fn access_body(data: &[u8], crc: Value) -> Vec<u8> {
    json!({"name": "projects/123/secrets/db/versions/7",
           "payload": {"data": STANDARD.encode(data), "dataCrc32c": crc}})
    .to_string()
    .into_bytes()
}

#[test]
fn endpoints_default_regional_and_overridden() {
    let e = Endpoints::new(None, None, None, None);
    assert_eq!(e.secret_manager, "https://secretmanager.googleapis.com");
    assert_eq!(e.sts, "https://sts.googleapis.com");
    assert_eq!(e.iam_credentials, "https://iamcredentials.googleapis.com");
    let e = Endpoints::new(Some("europe-west4"), None, None, None);
    assert_eq!(
        e.secret_manager,
        "https://secretmanager.europe-west4.rep.googleapis.com"
    );
    let e = Endpoints::new(
        Some("europe-west4"),
        Some("http://127.0.0.1:9/"),
        Some("http://127.0.0.1:8"),
        None,
    );
    assert_eq!(
        e.secret_manager, "http://127.0.0.1:9",
        "the override replaces the regional host"
    );
    assert_eq!(e.sts, "http://127.0.0.1:8");
}

#[test]
fn urls_carry_the_location_on_every_path() {
    let p = parent("my-project", Some("eu"));
    assert_eq!(
        access_url("B", &p, "db", "latest"),
        "B/v1/projects/my-project/locations/eu/secrets/db/versions/latest:access"
    );
    assert_eq!(
        enabled_versions_url("B", &p, "db"),
        "B/v1/projects/my-project/locations/eu/secrets/db/versions?filter=state%3AENABLED&pageSize=25000"
    );
    assert_eq!(
        secret_url("B", &parent("p", None), "db"),
        "B/v1/projects/p/secrets/db"
    );
    assert_eq!(
        list_url("B", &p, Some("a b+c")),
        "B/v1/projects/my-project/locations/eu/secrets?pageSize=25000&pageToken=a+b%2Bc"
    );
    assert_eq!(
        generate_access_token_url("I", "r@p.iam.gserviceaccount.com"),
        "I/v1/projects/-/serviceAccounts/r@p.iam.gserviceaccount.com:generateAccessToken"
    );
    assert_eq!(sts_url("S"), "S/v1/token");
}

#[test]
fn the_sts_form_is_an_rfc8693_exchange() {
    let form = sts_form(
        "jwt.x.y",
        "//iam.googleapis.com/projects/1/x",
        "https://www.googleapis.com/auth/cloud-platform",
    );
    let fields: std::collections::BTreeMap<String, String> =
        form_urlencoded::parse(&form).into_owned().collect();
    assert_eq!(
        fields["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(
        fields["subject_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    assert_eq!(fields["audience"], "//iam.googleapis.com/projects/1/x");
    assert_eq!(fields["subject_token"], "jwt.x.y");
}

#[test]
fn access_checks_the_crc32c_and_reads_the_version() {
    let ok = parse_access(&access_body(b"123456789", json!("3808858755"))).unwrap();
    assert_eq!(
        (ok.version.as_str(), ok.data.as_slice()),
        ("7", &b"123456789"[..])
    );
    assert!(parse_access(&access_body(b"123456789", json!(3_808_858_755_u64))).is_ok());
    let bad = parse_access(&access_body(b"hunter2", json!("1")))
        .err()
        .unwrap();
    assert!(
        matches!(bad, WireError::Checksum { sent: 1, .. }),
        "{bad:?}"
    );
    assert!(!bad.to_string().contains("hunter2"));
    let absent = json!({"name": "projects/1/secrets/s/versions/2", "payload": {"data": STANDARD.encode("v")}});
    assert_eq!(
        parse_access(absent.to_string().as_bytes()).unwrap().version,
        "2"
    );
    assert!(matches!(
        parse_access(&access_body(b"x", json!("nope"))),
        Err(WireError::Shape(_))
    ));
    assert!(matches!(parse_access(b"<html>"), Err(WireError::Shape(_))));
}

#[test]
fn newest_version_metadata_and_lists() {
    let body = json!({"versions": [{"name": "projects/1/secrets/s/versions/3"}, {"name": "projects/1/secrets/s/versions/10"}]});
    assert_eq!(
        parse_newest_version(body.to_string().as_bytes()).unwrap(),
        Some(10)
    );
    assert_eq!(parse_newest_version(b"{}").unwrap(), None);
    let meta = parse_metadata(
        json!({"name": "x", "labels": {"team": "a"}})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        Value::Object(meta),
        json!({"labels": {"team": "a"}, "annotations": {}})
    );
    let (names, next) = parse_list(json!({"secrets": [{"name": "projects/1/secrets/a"}, {"name": "projects/1/locations/eu/secrets/b"}], "nextPageToken": "t"}).to_string().as_bytes()).unwrap();
    assert_eq!(
        (names, next.as_deref()),
        (vec!["a".to_owned(), "b".to_owned()], Some("t"))
    );
    assert_eq!(parse_list(b"{}").unwrap(), (Vec::new(), None));
}

#[test]
fn token_answers() {
    let sts = parse_sts(br#"{"access_token":"ya29.a","issued_token_type":"x","token_type":"Bearer","expires_in":3599}"#).unwrap();
    assert_eq!((sts.token.as_str(), sts.lifetime_seconds), ("ya29.a", 3599));
    let now = 1_700_000_000;
    let iam = parse_generated(
        br#"{"accessToken":"ya29.b","expireTime":"2023-11-14T23:13:20Z"}"#,
        now,
    )
    .unwrap();
    assert_eq!((iam.token.as_str(), iam.lifetime_seconds), ("ya29.b", 3600));
    assert!(parse_generated(br#"{"accessToken":"t","expireTime":"soon"}"#, now).is_err());
}

#[test]
fn errors_keep_googles_words_bounded() {
    let e = parse_api_error(br#"{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied","status":"PERMISSION_DENIED","details":[{"@type":"x","reason":"IAM_PERMISSION_DENIED"}]}}"#);
    assert_eq!(e.status, "PERMISSION_DENIED");
    assert_eq!(e.reason.as_deref(), Some("IAM_PERMISSION_DENIED"));
    let e = parse_api_error(b"<html>echo Bearer ya29.secret</html>");
    assert!(!e.message.contains("ya29"), "{e:?}");
    let long = json!({"error": {"message": "x\n".repeat(1000), "status": "S"}});
    let e = parse_api_error(long.to_string().as_bytes());
    assert!(e.message.chars().count() <= MAX_MESSAGE + 1 && !e.message.contains('\n'));
    let o = parse_oauth_error(br#"{"error":"invalid_grant","error_description":"The audience in ID Token [a] does not match the expected audience."}"#);
    assert_eq!(o.error, "invalid_grant");
    assert!(o.description.starts_with("The audience"));
}
