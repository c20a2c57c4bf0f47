//! The moto helpers against the real `moto_server`: values, versions and stages, binary,
//! tags, deletion states, and the region taken from the dummy signature.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use base64::Engine as _;
use serde_json::json;
use test_support::{Moto, SecretValue};

#[test]
fn secrets_set_up_through_motos_api_read_back() {
    let moto = Moto::start();

    let arn = moto.create_string("app/db", r#"{"password":"p1"}"#);
    assert!(arn.starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-"));
    let first = moto.get_value("app/db").unwrap();
    assert_eq!(first["SecretString"], r#"{"password":"p1"}"#);

    let v2 = moto.put_secret_value("app/db", SecretValue::String("two"));
    let current = moto.get_value(&arn).unwrap();
    assert_eq!(current["VersionId"], v2.as_str());
    assert_eq!(current["SecretString"], "two");
    let previous = moto.call_ok(
        "GetSecretValue",
        &json!({"SecretId": "app/db", "VersionStage": "AWSPREVIOUS"}),
    );
    assert_eq!(previous["VersionId"], first["VersionId"]);

    let blue = moto.put_secret_value_staged("app/db", SecretValue::String("blue"), &["blue"]);
    assert_eq!(moto.get_value("app/db").unwrap()["SecretString"], "two");
    let by_id = moto.call_ok(
        "GetSecretValue",
        &json!({"SecretId": "app/db", "VersionId": blue}),
    );
    assert_eq!(by_id["SecretString"], "blue");

    moto.create_binary("app/blob", &[0, 159, 146, 150]);
    let blob = moto.get_value("app/blob").unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob["SecretBinary"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, [0, 159, 146, 150]);

    moto.tag_resource("app/db", &[("team", "a"), ("env", "dev")]);
    let tags = moto.describe("app/db")["Tags"].clone();
    assert!(
        tags.as_array()
            .unwrap()
            .contains(&json!({"Key": "team", "Value": "a"}))
    );

    moto.schedule_deletion("app/db");
    let deleted = moto.get_value("app/db").unwrap_err();
    // Not ResourceNotFoundException: a store must treat this one as gone too.
    assert_eq!(deleted.kind, "InvalidRequestException", "{deleted}");
    assert!(deleted.message.contains("marked deleted"), "{deleted}");
    assert!(moto.describe("app/db")["DeletedDate"].is_number());
    moto.restore("app/db");
    assert_eq!(moto.get_value("app/db").unwrap()["SecretString"], "two");

    moto.delete_now("app/blob");
    let gone = moto.get_value("app/blob").unwrap_err();
    assert_eq!(gone.kind, "ResourceNotFoundException", "{gone}");

    // The region comes from the signature's credential scope: another region is empty.
    let elsewhere = moto
        .call_in(
            "eu-west-1",
            "GetSecretValue",
            &json!({"SecretId": "app/db"}),
        )
        .unwrap_err();
    assert_eq!(elsewhere.kind, "ResourceNotFoundException");

    moto.reset();
    assert_eq!(
        moto.get_value("app/db").unwrap_err().kind,
        "ResourceNotFoundException"
    );
}

#[test]
fn drop_kills_the_server() {
    let moto = Moto::start();
    let pid = moto.pid();
    let url = moto.url().to_owned();
    drop(moto);
    // Killed and reaped: not even a zombie keeps /proc/PID.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    let refused = std::net::TcpStream::connect(url.trim_start_matches("http://"));
    assert!(refused.is_err(), "moto still answers at {url}");
}
