use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::*;
use crate::seal::crypto::{CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION};
use crate::seal::keys::testing::{key2048, key4096};
use crate::secret::parse_secrets;

const INPUT: &str = r#"
apiVersion: v1
kind: Secret
metadata:
  name: db-creds
  namespace: team-a
  uid: "1234"
  resourceVersion: "9"
  creationTimestamp: "2026-01-01T00:00:00Z"
  labels: {app: db}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"leak"}}'
    owner: platform
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: x, uid: u1}
type: kubernetes.io/basic-auth
immutable: true
data:
  username: YXBw
stringData:
  password: s3cr3t
"#;

fn input() -> PlainSecret {
    parse_secrets(INPUT).unwrap().remove(0)
}

#[test]
fn sealed_shape_matches_kubeseal() {
    let sealed = seal_secret(
        &input(),
        key4096().certificate.public_key(),
        Scope::NamespaceWide,
    )
    .unwrap();
    let json = serde_json::to_value(&sealed).unwrap();
    assert_eq!(json["apiVersion"], "kubectl-secrets.io/v1alpha1");
    assert_eq!(json["metadata"]["name"], "db-creds");
    assert_eq!(json["metadata"]["namespace"], "team-a");
    assert_eq!(
        json["metadata"]["annotations"],
        serde_json::json!({NAMESPACE_WIDE_ANNOTATION: "true"})
    );
    assert!(
        json["metadata"].get("labels").is_none(),
        "input labels go only to the template"
    );
    let template = &json["spec"]["template"];
    assert_eq!(template["type"], "kubernetes.io/basic-auth");
    assert_eq!(template["immutable"], true);
    assert_eq!(
        template["metadata"],
        serde_json::json!({
            "name": "db-creds", "namespace": "team-a", "labels": {"app": "db"},
            "annotations": {"owner": "platform", NAMESPACE_WIDE_ANNOTATION: "true"}
        }),
        "server fields, owner references and last-applied-configuration are dropped"
    );
    let keys: Vec<_> = sealed.spec.encrypted_data.keys().cloned().collect();
    assert_eq!(keys, ["password", "username"]);
    assert!(!serde_json::to_string(&sealed).unwrap().contains("leak"));
}

#[test]
fn every_scope_round_trips_and_binds_its_label() {
    let key = key4096();
    for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
        let sealed = seal_secret(&input(), key.certificate.public_key(), scope).unwrap();
        assert_eq!(sealed.scope(), scope);
        let secret = unseal(&sealed, std::slice::from_ref(&key.private)).unwrap();
        assert_eq!(&secret.data["password"][..], b"s3cr3t");
        assert_eq!(&secret.data["username"][..], b"app");
        assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));

        // Renamed: strict breaks; namespace-wide and cluster-wide survive.
        let mut renamed = sealed.clone();
        renamed.metadata.name = Some("other".into());
        assert_eq!(
            unseal(&renamed, std::slice::from_ref(&key.private)).is_ok(),
            scope != Scope::Strict
        );
        // Moved: only cluster-wide survives.
        let mut moved = sealed.clone();
        moved.metadata.namespace = Some("team-b".into());
        let result = unseal(&moved, std::slice::from_ref(&key.private));
        assert_eq!(result.is_ok(), scope == Scope::ClusterWide);
        if let Ok(secret) = result {
            assert_eq!(
                secret.metadata.namespace.as_deref(),
                Some("team-b"),
                "namespace is forced"
            );
        }
    }
}

#[test]
fn scope_comes_from_top_level_metadata_only() {
    let key = key4096();
    let mut sealed = seal_secret(&input(), key.certificate.public_key(), Scope::Strict).unwrap();
    // Widening the template alone changes nothing: the label is still ns/name.
    let template_meta = sealed
        .spec
        .template
        .as_mut()
        .unwrap()
        .metadata
        .as_mut()
        .unwrap();
    template_meta
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(CLUSTER_WIDE_ANNOTATION.into(), "true".into());
    assert_eq!(sealed.scope(), Scope::Strict);
    assert!(unseal(&sealed, std::slice::from_ref(&key.private)).is_ok());
}

#[test]
fn failure_names_object_label_and_keys_tried() {
    let sealed = seal_secret(&input(), key4096().certificate.public_key(), Scope::Strict).unwrap();
    let mut moved = sealed.clone();
    moved.metadata.namespace = Some("team-b".into());
    let keys = [key2048(), key4096()].map(|k| k.private.public().fingerprint());
    assert_eq!(keys.len(), 2);
    let private = vec![
        crate::seal::keys::parse_private_keys(key4096().key_pem.as_bytes())
            .unwrap()
            .remove(0),
        crate::seal::keys::parse_private_keys(key2048().key_pem.as_bytes())
            .unwrap()
            .remove(0),
    ];
    let err = unseal(&moved, &private).unwrap_err().to_string();
    assert!(
        err.starts_with("sealed secret team-b/db-creds: 2 of 2 values"),
        "{err}"
    );
    assert!(
        err.contains("with 2 key(s) under scope label \"team-b/db-creds\" (strict)"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"));
}

#[test]
fn template_data_is_rendered_over_the_values() {
    let key = key4096();
    let mut sealed = seal_secret(&input(), key.certificate.public_key(), Scope::Strict).unwrap();
    let template = sealed.spec.template.as_mut().unwrap();
    template.data = Some(BTreeMap::from([(
        "url".into(),
        "db://{{ .username }}:{{ .password }}@h".into(),
    )]));
    let secret = unseal(&sealed, std::slice::from_ref(&key.private)).unwrap();
    assert_eq!(&secret.data["url"][..], b"db://app:s3cr3t@h");

    sealed.spec.template.as_mut().unwrap().data =
        Some(BTreeMap::from([("x".into(), "{{ env \"HOME\" }}".into())]));
    let err = unseal(&sealed, std::slice::from_ref(&key.private)).unwrap_err();
    assert!(matches!(err, UnsealError::Template { .. }), "{err}");
}

#[test]
fn merge_into_adds_and_replaces_keeping_the_rest() {
    let key = key4096();
    let mut existing =
        seal_secret(&input(), key.certificate.public_key(), Scope::NamespaceWide).unwrap();
    let untouched = existing.spec.encrypted_data["username"].clone();
    let mut update = PlainSecret::default();
    update.metadata.name = Some("ignored-name".into());
    update.metadata.labels = Some(BTreeMap::from([("tier".into(), "gold".into())]));
    update
        .data
        .insert("password".into(), Zeroizing::new(b"rotated".to_vec()));
    update
        .data
        .insert("extra".into(), Zeroizing::new(b"new".to_vec()));
    merge_into(&mut existing, &update, key.certificate.public_key()).unwrap();

    assert_eq!(existing.metadata.name.as_deref(), Some("db-creds"));
    assert_eq!(existing.spec.encrypted_data["username"], untouched);
    let labels = existing
        .spec
        .template
        .as_ref()
        .unwrap()
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone();
    assert_eq!(labels.unwrap().len(), 2);
    let secret = unseal(&existing, std::slice::from_ref(&key.private)).unwrap();
    assert_eq!(&secret.data["password"][..], b"rotated");
    assert_eq!(&secret.data["extra"][..], b"new");
    assert_eq!(&secret.data["username"][..], b"app");
}

#[test]
fn legacy_v1_blob_unseals() {
    let key = key4096();
    let blob = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"data":{"k":"dg=="}}"#;
    let sealed_blob =
        crate::seal::crypto::seal(key.certificate.public_key(), b"ns/old", blob.as_bytes())
            .unwrap();
    let mut sealed = SealedSecret::default();
    sealed.metadata.name = Some("old".into());
    sealed.metadata.namespace = Some("ns".into());
    sealed.spec.data = Some(crate::seal::crypto::encode(&sealed_blob));
    let secret = unseal(&sealed, std::slice::from_ref(&key.private)).unwrap();
    assert_eq!(&secret.data["k"][..], b"v");
    assert_eq!(secret.metadata.name.as_deref(), Some("old"));
}

#[test]
fn refusals() {
    let public = key4096().certificate.public_key();
    let mut empty = input();
    empty.data.clear();
    assert!(matches!(
        seal_secret(&empty, public, Scope::Strict),
        Err(SealSecretError::EmptyData(_))
    ));
    let mut no_ns = input();
    no_ns.metadata.namespace = None;
    assert!(matches!(
        seal_secret(&no_ns, public, Scope::Strict),
        Err(SealSecretError::NoNamespace(_))
    ));
    assert!(seal_secret(&no_ns, public, Scope::ClusterWide).is_ok());
    let mut big = input();
    big.data.insert(
        "big".into(),
        Zeroizing::new(vec![0; crate::secret::MAX_SECRET_BYTES + 1]),
    );
    assert!(matches!(
        seal_secret(&big, public, Scope::Strict),
        Err(SealSecretError::Invalid(_))
    ));
}

#[test]
fn namespace_rules_follow_kubeseal() {
    assert_eq!(
        resolve_namespace(Some("a"), None, Some("ctx")).unwrap(),
        "a"
    );
    assert_eq!(resolve_namespace(Some("a"), Some("a"), None).unwrap(), "a");
    assert_eq!(
        resolve_namespace(None, Some("b"), Some("ctx")).unwrap(),
        "b"
    );
    assert_eq!(resolve_namespace(None, None, Some("ctx")).unwrap(), "ctx");
    assert_eq!(resolve_namespace(None, None, None).unwrap(), "default");
    assert!(resolve_namespace(Some("a"), Some("b"), None).is_err());
}

#[test]
fn verify_opens_without_rendering_templates() {
    let key = key4096();
    let mut sealed = seal_secret(&input(), key.certificate.public_key(), Scope::Strict).unwrap();
    // A template that would fail to render (and could leak through rendering) is not run.
    sealed.spec.template.as_mut().unwrap().data = Some(BTreeMap::from([(
        "x".into(),
        "{{ .password | b64dec }}".into(),
    )]));
    verify(&sealed, &[&key.private]).unwrap();
    let mut moved = sealed.clone();
    moved.metadata.namespace = Some("elsewhere".into());
    assert!(matches!(
        verify(&moved, &[&key.private]),
        Err(UnsealError::Values { .. })
    ));
}

#[test]
fn rotate_reseals_to_the_new_key_and_never_widens_scope() {
    let old = key4096();
    let new = crate::seal::keys::generate(
        crate::seal::keys::KeyBits::Rsa2048,
        "new",
        time::OffsetDateTime::now_utc(),
        time::Duration::days(1),
    )
    .unwrap();
    let mut sealed = seal_secret(&input(), old.certificate.public_key(), Scope::Strict).unwrap();
    // An attacker widens the template's scope and adds a template: neither takes effect.
    let template = sealed.spec.template.as_mut().unwrap();
    template.data = Some(BTreeMap::from([("t".into(), "{{ .username }}".into())]));
    template
        .metadata
        .as_mut()
        .unwrap()
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(CLUSTER_WIDE_ANNOTATION.into(), "true".into());

    let rotated = rotate(&sealed, &[&old.private], new.certificate.public_key()).unwrap();
    assert_eq!(rotated.scope(), Scope::Strict);
    let t = rotated.spec.template.as_ref().unwrap();
    assert!(
        t.metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .is_none_or(|a| !a.contains_key(CLUSTER_WIDE_ANNOTATION))
    );
    assert_eq!(
        t.data.as_ref().unwrap()["t"],
        "{{ .username }}",
        "templates stay text"
    );
    assert!(
        verify(&rotated, &[&old.private]).is_err(),
        "the old key no longer opens it"
    );
    let opened = unseal_with(&rotated, &[&new.private], Templates::Render).unwrap();
    assert_eq!(&opened.secret.data["password"][..], b"s3cr3t");
    assert_eq!(opened.key_index, Some(0));
}

#[test]
fn unseal_with_reports_which_key_opened() {
    let key = key4096();
    let sealed = seal_secret(&input(), key.certificate.public_key(), Scope::Strict).unwrap();
    let other = &key2048().private;
    let opened = unseal_with(&sealed, &[other, &key.private], Templates::Render).unwrap();
    assert_eq!(opened.key_index, Some(1));
}

/// Issue 9 item 5: `index` for keys with dashes and `printf` render, as Bitnami's controller
/// renders them; every template sees the decrypted values only (the `env` template would
/// list `dsn` if templates saw each other's output); a missing key is an error naming where,
/// never a value.
#[test]
fn templates_with_index_printf_and_range_render() {
    let key = key4096();
    let mut secret = input();
    secret
        .data
        .insert("db-password".into(), Zeroizing::new(b"hunter2".to_vec()));
    let mut sealed = seal_secret(&secret, key.certificate.public_key(), Scope::Strict).unwrap();
    sealed.spec.template.as_mut().unwrap().data = Some(BTreeMap::from([
        (
            "dsn".into(),
            r#"{{ printf "%s:%s" .username (index . "db-password") }}"#.into(),
        ),
        (
            "env".into(),
            "{{ range $k, $v := . }}{{ $k | upper | replace \"-\" \"_\" }}={{ $v | quote }}\n{{ end }}".into(),
        ),
    ]));
    let opened = unseal(&sealed, std::slice::from_ref(&key.private)).unwrap();
    assert_eq!(&opened.data["dsn"][..], b"app:hunter2");
    assert_eq!(
        &opened.data["env"][..],
        b"DB_PASSWORD=\"hunter2\"\nPASSWORD=\"s3cr3t\"\nUSERNAME=\"app\"\n"
    );

    sealed.spec.template.as_mut().unwrap().data =
        Some(BTreeMap::from([("x".into(), "{{ .nope }}".into())]));
    let err = unseal(&sealed, std::slice::from_ref(&key.private)).unwrap_err();
    let text = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(matches!(err, UnsealError::Template { .. }), "{text}");
    assert!(
        !text.contains("s3cr3t") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn rotate_keeps_values_already_on_the_newest_key() {
    let new = crate::seal::keys::testing::key2048();
    let old = crate::seal::keys::testing::key4096();
    let sealed = seal_secret(&input(), new.certificate.public_key(), Scope::Strict).unwrap();
    let same = rotate(
        &sealed,
        &[&old.private, &new.private],
        new.certificate.public_key(),
    )
    .unwrap();
    assert_eq!(same.spec.encrypted_data, sealed.spec.encrypted_data);
    // Without the newest private key it cannot tell, and re-seals.
    let resealed = rotate(&sealed, &[&new.private], old.certificate.public_key()).unwrap();
    assert_ne!(resealed.spec.encrypted_data, sealed.spec.encrypted_data);
    assert!(verify(&resealed, &[&old.private]).is_ok());
}
