//! The stand-in between a plain HTTP client and the real moto: forwarding and counting,
//! the batch limit, injected throttling, denials and outage, key attribution through STS, and
//! the Pod Identity endpoint with kube-standin's tokens.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use aws_standin::{
    ASSUME_ROLE_FOR_POD_IDENTITY, AwsStandin, BATCH_GET_SECRET_VALUE, GET_SECRET_VALUE, Outcome,
    Throttle,
};
use serde_json::{Value, json};
use test_support::{Moto, dummy_authorization};

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    )
}

/// A Secrets Manager call through the stand-in: (status, JSON answer).
fn sm(url: &str, op: &str, body: &Value, auth: &str) -> (u16, Value) {
    let mut response = agent()
        .post(format!("{url}/"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", format!("secretsmanager.{op}"))
        .header("Authorization", auth)
        .send(body.to_string())
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn signed() -> String {
    dummy_authorization("us-east-1", "secretsmanager")
}

#[test]
fn calls_are_forwarded_counted_and_batches_held_to_twenty() {
    let moto = Moto::start();
    let standin = AwsStandin::start(moto.url()).unwrap();
    for i in 0..21 {
        moto.create_string(&format!("s{i}"), &format!("v{i}"));
    }
    let (status, answer) = sm(
        &standin.url(),
        "GetSecretValue",
        &json!({"SecretId": "s3"}),
        &signed(),
    );
    assert_eq!((status, answer["SecretString"].as_str()), (200, Some("v3")));

    let ids: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
    let (status, answer) = sm(
        &standin.url(),
        "BatchGetSecretValue",
        &json!({"SecretIdList": ids}),
        &signed(),
    );
    assert_eq!(status, 400);
    assert_eq!(answer["__type"], "ValidationException");
    let (status, answer) = sm(
        &standin.url(),
        "BatchGetSecretValue",
        &json!({"SecretIdList": ids[..20]}),
        &signed(),
    );
    assert_eq!(status, 200);
    assert_eq!(answer["SecretValues"].as_array().unwrap().len(), 20);

    let control = standin.control();
    assert_eq!(control.count(GET_SECRET_VALUE), 1);
    assert_eq!(control.count(BATCH_GET_SECRET_VALUE), 2);
    assert_eq!(control.batch_sizes(), [21, 20]);
    let outcomes: Vec<Outcome> = control.calls().into_iter().map(|c| c.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Forwarded(200),
            Outcome::BatchTooLarge,
            Outcome::Forwarded(200)
        ]
    );
    // Only ids are recorded, never values.
    assert!(!format!("{:?}", control.calls()).contains("v3"));
}

#[test]
fn throttling_denial_and_outage_are_injected() {
    let moto = Moto::start();
    let standin = AwsStandin::start(moto.url()).unwrap();
    moto.create_string("app", "value");
    let control = standin.control();
    let get = json!({"SecretId": "app"});

    control.throttle(GET_SECRET_VALUE, Throttle::Next(1));
    let (status, answer) = sm(&standin.url(), "GetSecretValue", &get, &signed());
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("ThrottlingException"))
    );
    assert_eq!(sm(&standin.url(), "GetSecretValue", &get, &signed()).0, 200);

    control.deny(BATCH_GET_SECRET_VALUE);
    let (status, answer) = sm(
        &standin.url(),
        "BatchGetSecretValue",
        &json!({"SecretIdList": ["app"]}),
        &signed(),
    );
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("AccessDeniedException"))
    );
    assert!(
        answer["Message"]
            .as_str()
            .unwrap()
            .contains("is not authorized to perform: secretsmanager:BatchGetSecretValue")
    );
    assert_eq!(sm(&standin.url(), "GetSecretValue", &get, &signed()).0, 200);

    control.set_outage(true);
    let refused = agent()
        .post(format!("{}/", standin.url()))
        .header("X-Amz-Target", "secretsmanager.GetSecretValue")
        .send(get.to_string());
    assert!(refused.is_err(), "an outage gives no answer");
    control.clear_faults();
    assert_eq!(sm(&standin.url(), "GetSecretValue", &get, &signed()).0, 200);
}

#[test]
fn sts_keys_are_attributed_to_their_role() {
    let moto = Moto::start();
    let standin = AwsStandin::start(moto.url()).unwrap();
    moto.create_string("app", "value");
    let role = "arn:aws:iam::123456789012:role/reader";
    let form = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName=s1&WebIdentityToken=any.jwt.here",
        aws_standin::wire::form_encode(role)
    );
    let mut response = agent()
        .post(format!("{}/", standin.url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(form)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let xml = response.body_mut().read_to_string().unwrap();
    let key = aws_standin::wire::xml_text(&xml, "AccessKeyId")
        .unwrap()
        .trim()
        .to_owned();

    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00"
    );
    control_denies_naming_the_role(&standin, &auth);
    let calls = standin.control().calls();
    assert_eq!(calls[0].action, aws_standin::ASSUME_ROLE_WITH_WEB_IDENTITY);
    assert_eq!(calls[0].role_arn.as_deref(), Some(role));
    assert_eq!(
        calls[0].access_key_id, None,
        "unsigned, as AWS SDKs send it"
    );
    assert!(!format!("{calls:?}").contains("any.jwt.here"));
    assert_eq!(
        calls[1].principal.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/reader/s1")
    );
}

fn control_denies_naming_the_role(standin: &AwsStandin, auth: &str) {
    standin.control().deny(GET_SECRET_VALUE);
    let (_, answer) = sm(
        &standin.url(),
        "GetSecretValue",
        &json!({"SecretId": "app"}),
        auth,
    );
    assert!(
        answer["Message"].as_str().unwrap().starts_with(
            "User: arn:aws:sts::123456789012:assumed-role/reader/s1 is not authorized"
        )
    );
}

#[test]
fn pod_identity_answers_keys_for_the_associated_role_to_a_valid_token() {
    let moto = Moto::start();
    let standin = AwsStandin::start(moto.url()).unwrap();
    let signer = kube_standin::tokens::TokenSigner::new("https://kubernetes.default.svc").unwrap();
    let control = standin.control();
    control.trust_tokens(signer.issuer(), &signer.public_key_pem());
    control.associate("team", "web", "arn:aws:iam::123456789012:role/web");
    let token = |sa: &str, aud: &str| {
        let subject = kube_standin::tokens::Subject {
            namespace: "team".into(),
            name: sa.into(),
            uid: "u1".into(),
        };
        signer
            .issue(
                &subject,
                &[aud.to_owned()],
                3600,
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
    };
    let get = |token: &str| {
        let mut response = agent()
            .get(standin.pod_identity_url())
            .header("Authorization", token)
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str::<Value>(&text).unwrap())
    };

    let (status, answer) = get(&token("web", "pods.eks.amazonaws.com"));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["AccountId"], "123456789012");
    for field in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(
            answer[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    // The keys belong to the role now: later calls with them are attributed to it.
    let key = answer["AccessKeyId"].as_str().unwrap();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00"
    );
    sm(&standin.url(), "ListSecrets", &json!({}), &auth);
    let last = control.calls().pop().unwrap();
    assert!(
        last.principal
            .as_deref()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/web/"),
        "{last:?}"
    );

    let (status, answer) = get(&token("web", "sts.amazonaws.com"));
    assert_eq!(status, 401);
    assert!(answer["message"].as_str().unwrap().contains("audience"));
    let (status, answer) = get(&token("other", "pods.eks.amazonaws.com"));
    assert_eq!(status, 403);
    assert!(answer["message"].as_str().unwrap().contains("team/other"));
    let forged = kube_standin::tokens::TokenSigner::new(signer.issuer()).unwrap();
    let subject = kube_standin::tokens::Subject {
        namespace: "team".into(),
        name: "web".into(),
        uid: "u1".into(),
    };
    let bad = forged
        .issue(
            &subject,
            &["pods.eks.amazonaws.com".into()],
            3600,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let (status, answer) = get(&bad);
    assert_eq!(status, 401);
    assert!(answer["message"].as_str().unwrap().contains("signature"));
    assert_eq!(control.count(ASSUME_ROLE_FOR_POD_IDENTITY), 4);
}

#[test]
fn with_a_trusted_issuer_web_identity_tokens_are_checked() {
    let moto = Moto::start();
    let standin = AwsStandin::start(moto.url()).unwrap();
    let signer = kube_standin::tokens::TokenSigner::new("https://kubernetes.default.svc").unwrap();
    standin
        .control()
        .trust_tokens(signer.issuer(), &signer.public_key_pem());
    let subject = kube_standin::tokens::Subject {
        namespace: "team".into(),
        name: "app".into(),
        uid: "u1".into(),
    };
    let assume = |token: &str| {
        let form = format!(
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s&WebIdentityToken={token}"
        );
        let mut response = agent()
            .post(format!("{}/", standin.url()))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form)
            .unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    };
    let now = time::OffsetDateTime::now_utc();
    let wrong = signer
        .issue(&subject, &["pods.eks.amazonaws.com".into()], 3600, now)
        .unwrap();
    let (status, xml) = assume(&wrong);
    assert_eq!(status, 400);
    assert_eq!(
        aws_standin::wire::xml_text(&xml, "Code"),
        Some("InvalidIdentityToken")
    );
    assert!(xml.contains("sts.amazonaws.com"), "{xml}");
    let right = signer
        .issue(&subject, &["sts.amazonaws.com".into()], 3600, now)
        .unwrap();
    let (status, _) = assume(&right);
    assert_eq!(status, 200);
    let calls = standin.control().calls();
    assert_eq!(calls[0].outcome, Outcome::Denied);
    assert_eq!(calls[1].outcome, Outcome::Forwarded(200));
    assert_eq!(calls[1].web_identity.as_deref(), Some("team/app"));
    assert!(!format!("{calls:?}").contains(&right));
}
