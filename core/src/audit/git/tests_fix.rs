//! `plan_fix` round trips: the rewritten documents are SealedSecrets that open into the
//! original values; every other byte of the file stays.

use super::document::split_yaml;
use super::*;
use crate::api::sealed_secret::parse_sealed_secrets;
use crate::seal::keys::GeneratedKey;
use crate::seal::keys::testing::key2048;
use crate::seal::unseal;

const MULTI: &str = "# app config, then its password\n\
apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: prod\ndata:\n  on: \"yes\"\n\
--- # the database\n\
apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n  labels: {app: db}\n\
type: Opaque\ndata:\n  password: aHVudGVyMg==\nstringData:\n  user: admin\n\
# keep this comment\n\
---\n\
apiVersion: v1\nkind: Secret\nmetadata:\n  name: later\n  namespace: prod\nstringData:\n  a: changeme\n";

fn key() -> &'static GeneratedKey {
    key2048()
}

/// The `index`th part of a YAML stream.
fn part(text: &str, index: usize) -> &str {
    let (start, end) = split_yaml(text)[index];
    &text[start..end]
}

fn open(text: &str) -> crate::secret::PlainSecret {
    let sealed = parse_sealed_secrets(text).unwrap().remove(0).object;
    unseal(&sealed, std::slice::from_ref(&key().private)).unwrap()
}

#[test]
fn yaml_secret_is_sealed_and_the_rest_kept_byte_for_byte() {
    let plan = plan_fix(MULTI, None, key().certificate.public_key()).unwrap();
    assert_eq!(
        plan.changes,
        [FixChange {
            document: 2,
            secret: "prod/db".into(),
            keys: vec!["password".into(), "user".into()],
        }]
    );
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    assert_eq!(
        part(&plan.text, 0),
        part(MULTI, 0),
        "the ConfigMap and its comment"
    );
    assert_eq!(
        part(&plan.text, 2),
        part(MULTI, 2),
        "the placeholder Secret"
    );
    let sealed = part(&plan.text, 1);
    assert!(sealed.starts_with("--- # the database\n"), "{sealed}");
    assert!(sealed.ends_with("# keep this comment\n"), "{sealed}");
    assert!(!sealed.contains("hunter2") && !sealed.contains("aHVudGVyMg=="));
    let opened = open(sealed);
    assert_eq!(&opened.data["password"][..], b"hunter2");
    assert_eq!(&opened.data["user"][..], b"admin");
    assert_eq!(opened.metadata.namespace.as_deref(), Some("prod"));
    // The fixed file is clean for the scan.
    let file = GitFile {
        path: "x.yaml",
        bytes: plan.text.as_bytes(),
    };
    assert!(scan_tree(&[file]).iter().all(|f| f.id == "GIT040"));
    assert!(!format!("{plan:?}").contains("admin"));
}

#[test]
fn json_stays_json() {
    let text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\"name\": \"j\", \"namespace\": \"ns\"},\n  \"stringData\": {\"token\": \"t0ken\"}\n}\n";
    let plan = plan_fix(text, None, key().certificate.public_key()).unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert!(plan.text.ends_with("}\n"), "the trailing newline stays");
    let json: serde_json::Value = serde_json::from_str(&plan.text).unwrap();
    assert_eq!(json["kind"], "SealedSecret");
    assert_eq!(&open(&plan.text).data["token"][..], b"t0ken");
    assert!(!plan.text.contains("t0ken"));
}

#[test]
fn no_namespace_is_skipped_unless_one_is_given() {
    let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bare\nstringData:\n  k: v4lue\n";
    let plan = plan_fix(text, None, key().certificate.public_key()).unwrap();
    assert!(plan.changes.is_empty());
    assert_eq!(
        plan.skipped,
        [FixSkip {
            document: 1,
            secret: "bare".into(),
            reason: "no namespace: pass -n".into(),
        }]
    );
    assert_eq!(plan.text, text);

    let plan = plan_fix(text, Some("dev"), key().certificate.public_key()).unwrap();
    assert_eq!(plan.changes[0].secret, "dev/bare");
    let opened = open(&plan.text);
    assert_eq!(opened.metadata.namespace.as_deref(), Some("dev"));
    assert_eq!(&opened.data["k"][..], b"v4lue");
}

#[test]
fn lists_are_rebuilt_around_their_sealed_items() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm}\n  data: {a: b}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s, namespace: ns}\n  stringData: {k: l1sted}\n";
    let plan = plan_fix(text, None, key().certificate.public_key()).unwrap();
    assert_eq!(plan.changes.len(), 1);
    let list: serde_json::Value = serde_yaml_ng::from_str(&plan.text).unwrap();
    assert_eq!(list["items"][0]["kind"], "ConfigMap");
    let item = serde_json::to_string(&list["items"][1]).unwrap();
    assert_eq!(&open(&item).data["k"][..], b"l1sted");
    assert!(!plan.text.contains("l1sted"));
}

#[test]
fn what_seal_refuses_is_skipped_with_its_reason() {
    let sops = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\nstringData:\n  a: pl4in\nsops:\n  mac: x\n";
    let ambiguous = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\nstringData:\n  a: pl4in\n  b: yes\n";
    let tls = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: c3rt\n";
    for (text, reason) in [
        (sops, "SOPS"),
        (ambiguous, "kubectl (YAML 1.1)"),
        (tls, "tls.key"),
    ] {
        let plan = plan_fix(text, None, key().certificate.public_key()).unwrap();
        assert!(plan.changes.is_empty(), "{text}");
        assert_eq!(plan.text, text);
        assert_eq!(plan.skipped.len(), 1, "{text}");
        assert!(
            plan.skipped[0].reason.contains(reason),
            "{:?}",
            plan.skipped
        );
        assert!(!plan.skipped[0].reason.contains("pl4in"));
    }
}

#[test]
fn broken_json_is_an_error_and_yaml_without_secrets_is_untouched() {
    let err = plan_fix(
        "{\"kind\": \"Secret\", \"a\": \"s3cret",
        None,
        key().certificate.public_key(),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("fixing the file: "), "{err}");
    assert!(!err.to_string().contains("s3cret"));
    let text = "# nothing here\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n";
    let plan = plan_fix(text, None, key().certificate.public_key()).unwrap();
    assert_eq!(plan.text, text);
}

#[test]
fn bitnami_flavor_on_request() {
    let text =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: ns}\nstringData: {k: v}\n";
    let plan = plan_fix_as(
        text,
        None,
        key().certificate.public_key(),
        crate::api::sealed_secret::Flavor::Bitnami,
    )
    .unwrap();
    assert!(
        plan.text.contains("apiVersion: bitnami.com/v1alpha1"),
        "{}",
        plan.text
    );
    assert_eq!(&open(&plan.text).data["k"][..], b"v");
}
