use std::collections::BTreeMap;

use k8s_openapi::api::authentication::v1::UserInfo;
use time::OffsetDateTime;

use super::*;
use crate::seal::crypto::Scope;
use crate::seal::keys::SealingKey;
use crate::seal::keys::testing::{key2048, key4096};
use crate::seal::seal_secret;
use crate::secret::parse_secrets;

fn ring(key: &crate::seal::keys::GeneratedKey) -> KeyRing {
    let data = BTreeMap::from([
        ("tls.key".to_owned(), key.key_pem.as_bytes().to_vec()),
        (
            "tls.crt".to_owned(),
            key.certificate.pem().as_bytes().to_vec(),
        ),
    ]);
    KeyRing::new(vec![
        SealingKey::from_secret_data("ns/key", OffsetDateTime::now_utc(), &data).unwrap(),
    ])
}

fn sealed(name: &str, mount_only: bool, template: Option<(&str, &str)>) -> SealedSecret {
    let input = format!(
        "kind: Secret\nmetadata: {{name: {name}, namespace: team}}\nstringData: {{password: s3cr3t, user: app}}\n"
    );
    let secret = parse_secrets(&input).unwrap().remove(0);
    let mut s = seal_secret(&secret, key4096().certificate.public_key(), Scope::Strict).unwrap();
    if mount_only {
        s.metadata.annotations = Some(BTreeMap::from([(
            crate::mount::MOUNT_ONLY_ANNOTATION.to_owned(),
            "true".to_owned(),
        )]));
    }
    if let Some((key, text)) = template {
        s.spec.template.get_or_insert_with(Default::default).data =
            Some(BTreeMap::from([(key.to_owned(), text.to_owned())]));
    }
    s
}

fn request(items: &[(&str, &str, &str)]) -> MountRequest {
    MountRequest {
        namespace: "team".into(),
        pod_name: "web-0".into(),
        pod_uid: "uid-1".into(),
        service_account: "web".into(),
        token: Zeroizing::new("t".into()),
        items: items
            .iter()
            .map(|(path, name, key)| RequestItem {
                path: (*path).into(),
                name: (*name).into(),
                key: (*key).into(),
            })
            .collect(),
        nonce: exchange::new_nonce().unwrap(),
        time: "2026-12-01T10:00:00Z".into(),
        ephemeral_key: exchange::Pending::new().unwrap().public_key(),
    }
}

fn review(username: &str, audiences: &[&str], pod: Option<(&str, &str)>) -> TokenReviewStatus {
    let extra = pod.map(|(name, uid)| {
        BTreeMap::from([
            (EXTRA_POD_NAME.to_owned(), vec![name.to_owned()]),
            (EXTRA_POD_UID.to_owned(), vec![uid.to_owned()]),
        ])
    });
    TokenReviewStatus {
        authenticated: Some(true),
        audiences: Some(audiences.iter().map(|a| (*a).to_owned()).collect()),
        user: Some(UserInfo {
            username: Some(username.into()),
            extra,
            ..Default::default()
        }),
        error: None,
    }
}

#[test]
fn the_pod_review_must_name_this_pod_its_account_and_the_audience() {
    let req = request(&[("a", "db", "password")]);
    let sa = "system:serviceaccount:team:web";
    assert_eq!(
        check_pod_review(
            &review(sa, &["kubectl-secrets"], Some(("web-0", "uid-1"))),
            &req
        ),
        Ok(())
    );
    let cases = [
        (
            review(sa, &["vault"], Some(("web-0", "uid-1"))),
            "credentials",
            "audience",
        ),
        (
            review(
                "system:serviceaccount:other:web",
                &["kubectl-secrets"],
                Some(("web-0", "uid-1")),
            ),
            "permission_denied",
            "belongs to",
        ),
        (
            review(sa, &["kubectl-secrets"], Some(("web-1", "uid-2"))),
            "permission_denied",
            "bound to pod web-1",
        ),
        (
            review(sa, &["kubectl-secrets"], Some(("web-0", "uid-9"))),
            "permission_denied",
            "uid uid-9",
        ),
        (
            review(sa, &["kubectl-secrets"], None),
            "permission_denied",
            "not bound to a pod",
        ),
    ];
    for (status, category, text) in cases {
        let err = check_pod_review(&status, &req).unwrap_err();
        assert_eq!(err.category, category, "{err}");
        assert!(err.message.contains(text), "{err}");
    }
    let refused = TokenReviewStatus {
        authenticated: Some(false),
        error: Some("token has expired".into()),
        ..Default::default()
    };
    let err = check_pod_review(&refused, &req).unwrap_err();
    assert_eq!((err.category, err.http_status()), ("credentials", 401));
    assert!(
        err.message.contains("token has expired") && err.message.contains("pod team/web-0"),
        "{err}"
    );
}

#[test]
fn the_provider_review_must_be_exactly_the_provider() {
    let ok = review(
        "system:serviceaccount:csi:secrets-agent-csi-provider",
        &["kubectl-secrets"],
        None,
    );
    assert_eq!(
        check_provider_review(&ok, "csi/secrets-agent-csi-provider"),
        Ok(())
    );
    let pod = review(
        "system:serviceaccount:team:web",
        &["kubectl-secrets"],
        Some(("web-0", "u")),
    );
    let err = check_provider_review(&pod, "csi/secrets-agent-csi-provider").unwrap_err();
    assert_eq!(err.http_status(), 403);
    let prefix = review(
        "system:serviceaccount:csi:secrets-agent-csi-provider-x",
        &["kubectl-secrets"],
        None,
    );
    assert!(check_provider_review(&prefix, "csi/secrets-agent-csi-provider").is_err());
    let aud = review(
        "system:serviceaccount:csi:secrets-agent-csi-provider",
        &["api"],
        None,
    );
    assert_eq!(
        check_provider_review(&aud, "csi/secrets-agent-csi-provider")
            .unwrap_err()
            .category,
        "credentials"
    );
}

fn pod(uid: &str, account: &str, phase: &str, deleting: bool) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": "web-0", "namespace": "team", "uid": uid,
            "deletionTimestamp": deleting.then_some("2026-12-01T10:00:00Z"),
        },
        "spec": {"serviceAccountName": account, "containers": []},
        "status": {"phase": phase},
    }))
    .unwrap()
}

#[test]
fn the_pod_must_be_the_same_pending_or_running_and_not_deleted() {
    let req = request(&[("a", "db", "password")]);
    assert_eq!(
        check_pod(Some(&pod("uid-1", "web", "Running", false)), &req),
        Ok(())
    );
    assert_eq!(
        check_pod(Some(&pod("uid-1", "web", "Pending", false)), &req),
        Ok(())
    );
    for (found, text) in [
        (None, "does not exist"),
        (Some(pod("uid-2", "web", "Running", false)), "another uid"),
        (
            Some(pod("uid-1", "admin", "Running", false)),
            "service account \"admin\"",
        ),
        (Some(pod("uid-1", "web", "Succeeded", false)), "Succeeded"),
        (Some(pod("uid-1", "web", "Running", true)), "being deleted"),
    ] {
        let err = check_pod(found.as_ref(), &req).unwrap_err();
        assert_eq!(err.http_status(), 403);
        assert!(err.message.contains(text), "{err}");
    }
}

#[test]
fn requests_of_the_wrong_form_are_rejected() {
    assert_eq!(check_request(&request(&[("a", "db", "password")])), Ok(()));
    let err = check_request(&request(&[("a", "db", "password"), ("a", "db", "user")])).unwrap_err();
    assert!(err.message.contains("names path \"a\" twice"), "{err}");
    assert_eq!(err.http_status(), 400);
    assert!(check_request(&request(&[])).is_err());
    let mut req = request(&[("a", "db", "password")]);
    req.nonce = "AAAA".into();
    assert!(check_request(&req).unwrap_err().message.contains("nonce"));
    let mut req = request(&[("a", "db", "password")]);
    req.pod_uid.clear();
    assert!(check_request(&req).unwrap_err().message.contains("podUID"));
}

#[test]
fn only_mount_only_sealed_secrets_of_the_namespace_open() {
    let keys = ring(key4096());
    let objects = BTreeMap::from([
        (
            "db".to_owned(),
            sealed("db", true, Some(("dsn", "{{ .user }}:{{ .password }}"))),
        ),
        ("plain".to_owned(), sealed("plain", false, None)),
    ]);
    let req = request(&[("p", "db", "password"), ("d", "db", "dsn")]);
    let files = open_items(&req, &objects, &keys).unwrap();
    assert_eq!(files[0].0.path, "p");
    assert_eq!(&*files[0].1, b"s3cr3t");
    assert_eq!(&*files[1].1, b"app:s3cr3t", "keys after template rendering");
    assert!(
        files
            .iter()
            .all(|(f, _)| !f.version.contains("s3cr3t") && f.version.len() == 32)
    );

    let err = open_items(&request(&[("p", "plain", "password")]), &objects, &keys).unwrap_err();
    assert_eq!(err.http_status(), 403);
    assert!(
        err.message
            .contains("SealedSecret team/plain is not served to mounts"),
        "{err}"
    );
    let err = open_items(&request(&[("p", "gone", "password")]), &objects, &keys).unwrap_err();
    assert_eq!(
        (err.http_status(), err.message.as_str()),
        (404, "SealedSecret team/gone does not exist")
    );
    let err = open_items(&request(&[("p", "db", "nope")]), &objects, &keys).unwrap_err();
    assert!(err.message.contains("has no key \"nope\""), "{err}");
    let err = open_items(&req, &objects, &ring(key2048())).unwrap_err();
    assert!(
        err.message.contains("DecryptionFailed") && !err.message.contains("s3cr3t"),
        "{err}"
    );
    assert_eq!(
        open_items(&req, &objects, &KeyRing::default())
            .unwrap_err()
            .http_status(),
        503
    );
    let mut elsewhere = objects.clone();
    elsewhere.get_mut("db").unwrap().metadata.namespace = Some("other".into());
    assert_eq!(
        open_items(&req, &elsewhere, &keys)
            .unwrap_err()
            .http_status(),
        403
    );
}

#[test]
fn versions_are_stable_and_follow_the_ciphertext() {
    let keys = ring(key4096());
    let db = sealed("db", true, None);
    let objects = BTreeMap::from([("db".to_owned(), db.clone())]);
    let req = request(&[("p", "db", "password"), ("u", "db", "user")]);
    let first = open_items(&req, &objects, &keys).unwrap();
    let again = open_items(&req, &objects, &keys).unwrap();
    assert_eq!(first[0].0.version, again[0].0.version);
    assert_ne!(first[0].0.version, first[1].0.version);
    // Re-sealing the same value is a new ciphertext: a new version for that key only.
    let mut changed = db.clone();
    let resealed = sealed("db", true, None);
    changed.spec.encrypted_data.insert(
        "password".into(),
        resealed.spec.encrypted_data["password"].clone(),
    );
    let after = open_items(&req, &BTreeMap::from([("db".to_owned(), changed)]), &keys).unwrap();
    assert_ne!(after[0].0.version, first[0].0.version);
    assert_eq!(after[1].0.version, first[1].0.version);
}
