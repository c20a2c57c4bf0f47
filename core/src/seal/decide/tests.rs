use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use time::OffsetDateTime;

use super::*;
use crate::seal::crypto::Scope;
use crate::seal::keys::testing::{key2048, key4096};
use crate::seal::keys::{KeyRing, SealingKey};
use crate::seal::seal_secret;
use crate::secret::parse_secrets;

fn ring(keys: &[&crate::seal::keys::GeneratedKey]) -> KeyRing {
    KeyRing::new(
        keys.iter()
            .map(|k| {
                let data = BTreeMap::from([
                    ("tls.key".to_owned(), k.key_pem.as_bytes().to_vec()),
                    (
                        "tls.crt".to_owned(),
                        k.certificate.pem().as_bytes().to_vec(),
                    ),
                ]);
                SealingKey::from_secret_data("ns/key", OffsetDateTime::now_utc(), &data).unwrap()
            })
            .collect(),
    )
}

/// One sealed object for all tests (sealing is randomized, so each call would differ).
fn sealed() -> SealedSecret {
    static SEALED: std::sync::OnceLock<SealedSecret> = std::sync::OnceLock::new();
    SEALED.get_or_init(make_sealed).clone()
}

fn make_sealed() -> SealedSecret {
    let input = "kind: Secret\nmetadata: {name: db, namespace: team, labels: {app: db}}\ntype: Opaque\nstringData: {password: s3cr3t, user: app}\n";
    let secret = parse_secrets(input).unwrap().remove(0);
    let mut s = seal_secret(&secret, key4096().certificate.public_key(), Scope::Strict).unwrap();
    s.metadata.uid = Some("uid-1".into());
    s
}

fn owner() -> Owner {
    Owner {
        api_version: "kubectl-secrets.io/v1alpha1".into(),
        kind: "SealedSecret".into(),
        name: "db".into(),
        uid: "uid-1".into(),
    }
}

fn written(decision: Decision) -> (Secret, Option<String>, bool) {
    match decision {
        Decision::Write {
            secret,
            key_fingerprint,
            create,
        } => (*secret, key_fingerprint, create),
        other => panic!("expected a write, got {other:?}"),
    }
}

#[test]
fn creates_the_secret_with_owner_hash_and_key() {
    let keys = ring(&[key2048(), key4096()]);
    let (secret, fp, create) =
        written(decide(&sealed(), &owner(), None, &keys, Options::default()));
    assert!(create);
    assert_eq!(
        fp.as_deref(),
        Some(key4096().private.public().fingerprint().as_str())
    );
    let data = secret.data.unwrap();
    assert_eq!(data["password"].0, b"s3cr3t");
    assert_eq!(secret.metadata.labels.unwrap()["app"], "db");
    let refs = secret.metadata.owner_references.unwrap();
    assert_eq!(
        (refs[0].uid.as_str(), refs[0].controller),
        ("uid-1", Some(true))
    );
    assert_eq!(
        secret.metadata.annotations.unwrap()[SEALED_HASH],
        content_hash(&sealed())
    );
}

#[test]
fn unchanged_sealed_secret_needs_no_work() {
    let keys = ring(&[key4096()]);
    let (secret, _, _) = written(decide(&sealed(), &owner(), None, &keys, Options::default()));
    // Even with no keys at all: the hash matches, so nothing is decrypted.
    assert!(matches!(
        decide(
            &sealed(),
            &owner(),
            Some(&secret),
            &KeyRing::default(),
            Options::default()
        ),
        Decision::UpToDate
    ));
    let mut changed = sealed();
    changed.spec.template.as_mut().unwrap().type_ = Some("kubernetes.io/basic-auth".into());
    let (replaced, _, create) = written(decide(
        &changed,
        &owner(),
        Some(&secret),
        &keys,
        Options::default(),
    ));
    assert!(!create);
    assert_eq!(replaced.type_.as_deref(), Some("kubernetes.io/basic-auth"));
}

#[test]
fn unmanaged_secrets_are_not_taken() {
    let keys = ring(&[key4096()]);
    let foreign = Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    match decide(
        &sealed(),
        &owner(),
        Some(&foreign),
        &keys,
        Options::default(),
    ) {
        Decision::Fail(f) => assert_eq!(f.reason, "SecretConflict"),
        other => panic!("{other:?}"),
    }
    // Bitnami's annotation counts only in compat mode.
    let mut bitnami = foreign.clone();
    bitnami.metadata.annotations = Some(BTreeMap::from([(
        "sealedsecrets.bitnami.com/managed".into(),
        "true".into(),
    )]));
    assert!(matches!(
        decide(
            &sealed(),
            &owner(),
            Some(&bitnami),
            &keys,
            Options::default()
        ),
        Decision::Fail(_)
    ));
    assert!(matches!(
        decide(
            &sealed(),
            &owner(),
            Some(&bitnami),
            &keys,
            Options {
                bitnami_compat: true
            }
        ),
        Decision::Write { .. }
    ));
}

#[test]
fn managed_replaces_and_patch_merges() {
    let keys = ring(&[key4096()]);
    let existing = |annotation: &str| Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            labels: Some(BTreeMap::from([("keep".into(), "me".into())])),
            annotations: Some(BTreeMap::from([(annotation.to_owned(), "true".into())])),
            resource_version: Some("7".into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "extra".into(),
            ByteString(b"x".to_vec()),
        )])),
        ..Default::default()
    };
    let (replaced, _, _) = written(decide(
        &sealed(),
        &owner(),
        Some(&existing("kubectl-secrets.io/managed")),
        &keys,
        Options::default(),
    ));
    assert!(
        !replaced.data.as_ref().unwrap().contains_key("extra"),
        "managed replaces data"
    );
    assert!(replaced.metadata.owner_references.is_some());
    assert_eq!(replaced.metadata.resource_version.as_deref(), Some("7"));
    let (merged, _, _) = written(decide(
        &sealed(),
        &owner(),
        Some(&existing("kubectl-secrets.io/patch")),
        &keys,
        Options::default(),
    ));
    let data = merged.data.unwrap();
    assert!(
        data.contains_key("extra") && data.contains_key("password"),
        "patch merges data"
    );
    assert_eq!(merged.metadata.labels.unwrap()["keep"], "me");
    assert!(
        merged.metadata.owner_references.is_none(),
        "patch alone does not take ownership"
    );
}

#[test]
fn failures_have_precise_reasons() {
    let keys = ring(&[key2048()]);
    match decide(&sealed(), &owner(), None, &keys, Options::default()) {
        Decision::Fail(f) => {
            assert_eq!(f.reason, "DecryptionFailed");
            assert!(
                f.message.contains("team/db") && f.message.contains("\"team/db\" (strict)"),
                "{}",
                f.message
            );
            assert!(!f.message.contains("s3cr3t"));
        }
        other => panic!("{other:?}"),
    }
    let mut templated = sealed();
    templated.spec.template.as_mut().unwrap().data =
        Some(BTreeMap::from([("x".into(), "{{ env \"HOME\" }}".into())]));
    match decide(
        &templated,
        &owner(),
        None,
        &ring(&[key4096()]),
        Options::default(),
    ) {
        Decision::Fail(f) => assert_eq!(f.reason, "TemplateError", "{}", f.message),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide(
            &sealed(),
            &owner(),
            None,
            &KeyRing::default(),
            Options::default()
        ),
        Decision::Fail(Failure {
            reason: "NoKeys",
            ..
        })
    ));
}

#[test]
fn immutable_secrets_are_not_rewritten() {
    let keys = ring(&[key4096()]);
    let (mut secret, _, _) = written(decide(&sealed(), &owner(), None, &keys, Options::default()));
    secret.immutable = Some(true);
    secret
        .metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(SEALED_HASH.into(), "stale".into());
    secret
        .data
        .as_mut()
        .unwrap()
        .insert("password".into(), ByteString(b"old".to_vec()));
    match decide(
        &sealed(),
        &owner(),
        Some(&secret),
        &keys,
        Options::default(),
    ) {
        Decision::Fail(f) => assert_eq!(f.reason, "ImmutableSecret"),
        other => panic!("{other:?}"),
    }
}

/// Issue 9 item 5: a Bitnami SealedSecret whose template uses `index` for a key with a dash
/// and `printf` (both rendered by Bitnami's controller) must render in compat mode, not fail
/// with `TemplateError`.
#[test]
fn bitnami_templates_with_index_and_printf_render_in_compat_mode() {
    let input = "kind: Secret\nmetadata: {name: db, namespace: team}\nstringData: {db-password: hunter2, db-user: app}\n";
    let secret = parse_secrets(input).unwrap().remove(0);
    let native = seal_secret(&secret, key4096().certificate.public_key(), Scope::Strict).unwrap();
    let mut bitnami = crate::api::sealed_secret::BitnamiSealedSecret::from(native);
    bitnami.metadata.uid = Some("uid-b".into());
    bitnami.spec.inner.template.as_mut().unwrap().data = Some(BTreeMap::from([
        (
            "url".into(),
            r#"{{ printf "postgres://%s:%s@db/app" (index . "db-user") (index . "db-password") }}"#
                .into(),
        ),
        (
            "config.json".into(),
            r#"{{ dict "user" (index . "db-user") "password" (index . "db-password" | b64enc) | toJson }}"#
                .into(),
        ),
    ]));
    let owner = Owner {
        api_version: crate::api::sealed_secret::BITNAMI_API_VERSION.into(),
        kind: "SealedSecret".into(),
        name: "db".into(),
        uid: "uid-b".into(),
    };
    let sealed = SealedSecret::from(bitnami);
    let (secret, _, _) = written(decide(
        &sealed,
        &owner,
        None,
        &ring(&[key4096()]),
        Options {
            bitnami_compat: true,
        },
    ));
    let data = secret.data.unwrap();
    assert_eq!(data["url"].0, b"postgres://app:hunter2@db/app");
    assert_eq!(
        data["config.json"].0,
        br#"{"password":"aHVudGVyMg==","user":"app"}"#
    );
    assert_eq!(data["db-password"].0, b"hunter2", "sealed values stay");
}

/// Refused functions still fail the decision, naming the function and never a value.
#[test]
fn refused_template_functions_fail_with_template_error() {
    let mut templated = sealed();
    templated.spec.template.as_mut().unwrap().data = Some(BTreeMap::from([(
        "x".into(),
        "{{ randAlphaNum 8 }}".into(),
    )]));
    match decide(
        &templated,
        &owner(),
        None,
        &ring(&[key4096()]),
        Options::default(),
    ) {
        Decision::Fail(f) => {
            assert_eq!(f.reason, "TemplateError", "{}", f.message);
            assert!(f.message.contains("randAlphaNum"), "{}", f.message);
            assert!(!f.message.contains("s3cr3t"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
}

fn mount_only(mut sealed: SealedSecret) -> SealedSecret {
    sealed
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(crate::mount::MOUNT_ONLY_ANNOTATION.into(), "true".into());
    sealed
}

#[test]
fn mount_only_opens_but_makes_no_secret() {
    let keys = ring(&[key2048(), key4096()]);
    let sealed = mount_only(sealed());
    assert!(is_mount_only(&sealed));
    match decide(&sealed, &owner(), None, &keys, Options::default()) {
        Decision::MountOnly {
            delete,
            key_fingerprint,
        } => {
            assert_eq!(delete, None);
            assert_eq!(
                key_fingerprint.as_deref(),
                Some(key4096().private.public().fingerprint().as_str())
            );
        }
        other => panic!("{other:?}"),
    }
    // Any other value than "true" is the normal behaviour.
    let mut other = sealed.clone();
    other
        .metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(crate::mount::MOUNT_ONLY_ANNOTATION.into(), "yes".into());
    assert!(!is_mount_only(&other));
    assert!(matches!(
        decide(&other, &owner(), None, &keys, Options::default()),
        Decision::Write { create: true, .. }
    ));
}

#[test]
fn mount_only_deletes_only_its_own_earlier_secret() {
    let keys = ring(&[key4096()]);
    let (mut made, _, _) = written(decide(&sealed(), &owner(), None, &keys, Options::default()));
    made.metadata.uid = Some("secret-uid".into());
    let sealed = mount_only(sealed());
    match decide(&sealed, &owner(), Some(&made), &keys, Options::default()) {
        Decision::MountOnly { delete, .. } => assert_eq!(
            delete,
            Some(Stale {
                name: "db".into(),
                uid: Some("secret-uid".into())
            })
        ),
        other => panic!("{other:?}"),
    }
    // Even an up-to-date Secret goes: the hash shortcut does not apply to mount-only objects.
    let foreign = Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        decide(&sealed, &owner(), Some(&foreign), &keys, Options::default()),
        Decision::MountOnly { delete: None, .. }
    ));
}

#[test]
fn mount_only_that_cannot_open_fails_as_before() {
    let sealed = mount_only(sealed());
    match decide(
        &sealed,
        &owner(),
        None,
        &ring(&[key2048()]),
        Options::default(),
    ) {
        Decision::Fail(f) => assert_eq!(f.reason, "DecryptionFailed"),
        other => panic!("{other:?}"),
    }
    let mut templated = sealed.clone();
    templated.spec.template.as_mut().unwrap().data =
        Some(BTreeMap::from([("x".into(), "{{ env \"HOME\" }}".into())]));
    match decide(
        &templated,
        &owner(),
        None,
        &ring(&[key4096()]),
        Options::default(),
    ) {
        Decision::Fail(f) => assert_eq!(f.reason, "TemplateError"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide(
            &sealed,
            &owner(),
            None,
            &KeyRing::default(),
            Options::default()
        ),
        Decision::Fail(Failure {
            reason: "NoKeys",
            ..
        })
    ));
}
