use super::*;
use crate::api::ExternalSecret;

struct Json(serde_json::Value);

impl RemoteSecret for Json {
    fn select(&self, property: Option<&str>) -> Result<Bytes, String> {
        match property {
            None => Ok(Zeroizing::new(self.0.to_string().into_bytes())),
            Some(p) => match self.0.get(p) {
                Some(serde_json::Value::String(s)) => Ok(Zeroizing::new(s.clone().into_bytes())),
                Some(v) => Ok(Zeroizing::new(v.to_string().into_bytes())),
                None => Err(format!("property {p:?} not found")),
            },
        }
    }
    fn entries(&self) -> Result<BTreeMap<String, Bytes>, String> {
        let obj = self.0.as_object().ok_or("not an object")?;
        Ok(obj
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    self.select(Some(k))
                        .unwrap_or_else(|_| Zeroizing::new(v.to_string().into_bytes())),
                )
            })
            .collect())
    }
}

fn es(yaml: &str) -> ExternalSecret {
    let mut es: ExternalSecret = serde_yaml_ng::from_str(yaml).unwrap();
    es.metadata.uid = Some("uid-1".into());
    es
}

const BASE: &str = r#"
apiVersion: kubectl-secrets.io/v1alpha1
kind: ExternalSecret
metadata: {name: app, namespace: team}
spec:
  secretStoreRef: {name: vault}
  data:
  - secretKey: password
    remoteRef: {key: app/db, property: password}
  dataFrom:
  - extract: {key: app/config}
"#;

fn remote() -> BTreeMap<ReadKey, Json> {
    let k = |key: &str| ReadKey {
        key: key.into(),
        version: None,
        metadata: false,
    };
    [
        (
            k("app/db"),
            Json(serde_json::json!({"password": "pw1", "user": "u"})),
        ),
        (
            k("app/config"),
            Json(serde_json::json!({"mode": "prod", "password": "from-extract"})),
        ),
    ]
    .into()
}

fn run(
    es: &ExternalSecret,
    existing: Option<&Secret>,
    remote: &BTreeMap<ReadKey, Json>,
) -> Decision {
    let answer = |k: &ReadKey| {
        Some(
            remote
                .get(k)
                .map_or(Answer::Gone, |j| Answer::Found(j as &dyn RemoteSecret)),
        )
    };
    decide(es, existing, &answer, "SecretStore \"vault\"")
}

fn data(s: &Secret) -> BTreeMap<String, String> {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.0.clone()).unwrap()))
        .collect()
}

fn written(d: Decision) -> (Secret, bool, bool) {
    match d {
        Decision::Write {
            secret,
            create,
            data_changed,
        } => (*secret, create, data_changed),
        other => panic!("expected a write, got {other:?}"),
    }
}

#[test]
fn reads_are_distinct_and_ordered() {
    let mut e = es(BASE);
    e.spec.data.push(e.spec.data[0].clone());
    assert_eq!(reads(&e).len(), 2);
}

#[test]
fn creates_owned_secret_with_data_over_data_from() {
    let (s, create, _) = written(run(&es(BASE), None, &remote()));
    assert!(create);
    assert_eq!(
        data(&s),
        [
            ("mode".into(), "prod".into()),
            ("password".into(), "pw1".into())
        ]
        .into()
    );
    assert_eq!(s.metadata.labels.unwrap()[MANAGED_BY_LABEL], "app");
    assert_eq!(s.metadata.owner_references.unwrap()[0].uid, "uid-1");
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
}

#[test]
fn unchanged_is_up_to_date_and_change_is_flagged() {
    let r = remote();
    let (mut s, _, _) = written(run(&es(BASE), None, &r));
    s.metadata.resource_version = Some("7".into());
    assert!(matches!(run(&es(BASE), Some(&s), &r), Decision::UpToDate));
    let mut r2 = remote();
    r2.insert(
        ReadKey {
            key: "app/db".into(),
            version: None,
            metadata: false,
        },
        Json(serde_json::json!({"password": "pw2"})),
    );
    let (s2, create, changed) = written(run(&es(BASE), Some(&s), &r2));
    assert!(!create && changed);
    assert_eq!(s2.metadata.resource_version.as_deref(), Some("7"));
}

#[test]
fn template_renders_only_templated_keys() {
    let e = es(&format!(
        "{BASE}  target:\n    template:\n      type: kubernetes.io/basic-auth\n      data:\n        url: 'db://{{{{ .password | upper }}}}@{{{{ .mode }}}}'\n"
    ));
    let (s, _, _) = written(run(&e, None, &remote()));
    assert_eq!(data(&s), [("url".into(), "db://PW1@prod".into())].into());
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
}

/// Issue 9 item 5: ESO's documented templates (keys with dashes through `index`, `printf`,
/// `range` over the data) render through the sync decision.
#[test]
fn templates_with_index_printf_and_range_render() {
    let e = es(&format!(
        "{BASE}  target:\n    template:\n      data:\n        dsn: '{{{{ printf \"%s:%s\" .mode (index . \"db-password\") }}}}'\n        keys: '{{{{ range $k, $v := . }}}}{{{{ $k }}}};{{{{ end }}}}'\n"
    )
    .replace("secretKey: password", "secretKey: db-password"));
    let (s, _, _) = written(run(&e, None, &remote()));
    let d = data(&s);
    assert_eq!(d["dsn"], "prod:pw1");
    assert!(
        d["keys"].contains("db-password;") && d["keys"].contains("mode;"),
        "{}",
        d["keys"]
    );
}

#[test]
fn missing_property_fails_without_values() {
    let e = es(BASE
        .replace("property: password", "property: nope")
        .as_str());
    let Decision::Fail { reason, message } = run(&e, None, &remote()) else {
        panic!()
    };
    assert_eq!(reason, "SecretSyncedError");
    assert!(
        message.contains("nope") && !message.contains("pw1"),
        "{message}"
    );
}

#[test]
fn gone_with_retain_keeps_the_secret() {
    let (s, _, _) = written(run(&es(BASE), None, &remote()));
    let Decision::Fail { message, .. } = run(&es(BASE), Some(&s), &BTreeMap::new()) else {
        panic!()
    };
    assert!(
        message.contains("not found") && message.contains("Retain"),
        "{message}"
    );
}

#[test]
fn gone_with_delete_deletes_only_when_everything_is_gone() {
    let e = es(&format!("{BASE}  target:\n    deletionPolicy: Delete\n"));
    let (s, _, _) = written(run(&e, None, &remote()));
    assert!(matches!(
        run(&e, Some(&s), &BTreeMap::new()),
        Decision::Delete
    ));
    let mut partial = remote();
    partial.remove(&ReadKey {
        key: "app/config".into(),
        version: None,
        metadata: false,
    });
    assert!(matches!(run(&e, Some(&s), &partial), Decision::Fail { .. }));
}

#[test]
fn merge_needs_an_existing_secret_and_keeps_other_keys() {
    let e = es(&format!(
        "{BASE}  target:\n    creationPolicy: Merge\n    deletionPolicy: Delete\n"
    ));
    let Decision::Fail { reason, .. } = run(&e, None, &remote()) else {
        panic!()
    };
    assert_eq!(reason, "SecretMissing");
    let mut other = Secret::default();
    other.metadata.name = Some("app".into());
    other.data = Some([("theirs".to_owned(), ByteString(b"x".to_vec()))].into());
    let (merged, create, _) = written(run(&e, Some(&other), &remote()));
    assert!(!create);
    assert_eq!(data(&merged).len(), 3);
    assert!(merged.metadata.owner_references.is_none());
    let Decision::DeleteKeys { secret: cleaned } = run(&e, Some(&merged), &BTreeMap::new()) else {
        panic!("expected our keys to be removed")
    };
    assert_eq!(data(&cleaned), [("theirs".into(), "x".into())].into());
    // Once they are gone there is nothing left to delete, and that is no "synced" either.
    assert!(matches!(
        run(&e, Some(&cleaned), &BTreeMap::new()),
        Decision::NothingToDelete { .. }
    ));
}

#[test]
fn delete_with_no_secret_is_a_deletion_not_a_sync() {
    let e = es(&format!("{BASE}  target:\n    deletionPolicy: Delete\n"));
    let Decision::NothingToDelete { message } = run(&e, None, &BTreeMap::new()) else {
        panic!("expected nothing to delete")
    };
    assert!(message.contains("no Secret to delete"), "{message}");
}

#[test]
fn delete_leaves_a_secret_it_does_not_manage() {
    let e = es(&format!("{BASE}  target:\n    deletionPolicy: Delete\n"));
    let mut foreign = Secret::default();
    foreign.metadata.name = Some("app".into());
    foreign.data = Some([("x".to_owned(), ByteString(b"y".to_vec()))].into());
    let Decision::Fail { reason, message } = run(&e, Some(&foreign), &BTreeMap::new()) else {
        panic!("a foreign Secret must not be deleted or called synced")
    };
    assert_eq!(reason, "SecretSyncedError");
    assert!(
        message.contains("not managed by this ExternalSecret"),
        "{message}"
    );
}

#[test]
fn gone_before_the_secret_exists_says_it_was_not_created() {
    let Decision::Fail { message, .. } = run(&es(BASE), None, &BTreeMap::new()) else {
        panic!()
    };
    assert!(
        message.contains("the Secret was not created") && !message.contains("kept"),
        "{message}"
    );
    let mut partial = remote();
    partial.remove(&ReadKey {
        key: "app/config".into(),
        version: None,
        metadata: false,
    });
    let e = es(&format!("{BASE}  target:\n    deletionPolicy: Delete\n"));
    let Decision::Fail { message, .. } = run(&e, None, &partial) else {
        panic!()
    };
    assert!(
        message.contains("the Secret was not created")
            && message.contains("other remote secrets still exist"),
        "{message}"
    );
}

#[test]
fn empty_data_only_from_an_empty_remote_secret() {
    // The provider returned an empty secret: an empty Secret is what it holds.
    let e = es(&BASE.replace(
        "  data:\n  - secretKey: password\n    remoteRef: {key: app/db, property: password}\n",
        "",
    ));
    let empty: BTreeMap<ReadKey, Json> = [(
        ReadKey {
            key: "app/config".into(),
            version: None,
            metadata: false,
        },
        Json(serde_json::json!({})),
    )]
    .into();
    let (s, create, _) = written(run(&e, None, &empty));
    assert!(create && data(&s).is_empty());
    // Nothing read at all is never written as empty data.
    let mut none = es(BASE);
    none.spec.data.clear();
    none.spec.data_from.clear();
    let Decision::Fail { reason, message } = run(&none, None, &remote()) else {
        panic!("empty data that no provider returned must not be written")
    };
    assert_eq!(reason, "SecretSyncedError");
    assert!(message.contains("nothing was read"), "{message}");
}

#[test]
fn never_takes_over_a_foreign_secret() {
    let mut foreign = Secret::default();
    foreign.metadata.name = Some("app".into());
    let Decision::Fail { message, .. } = run(&es(BASE), Some(&foreign), &remote()) else {
        panic!()
    };
    assert!(message.contains("not managed"), "{message}");
    foreign.metadata.labels = Some([(MANAGED_BY_LABEL.to_owned(), "other".to_owned())].into());
    let Decision::Fail { message, .. } = run(&es(BASE), Some(&foreign), &remote()) else {
        panic!()
    };
    assert!(
        message.contains("another ExternalSecret \"other\""),
        "{message}"
    );
}

#[test]
fn orphan_has_no_owner_and_none_writes_nothing() {
    let e = es(&format!("{BASE}  target:\n    creationPolicy: Orphan\n"));
    let (s, _, _) = written(run(&e, None, &remote()));
    assert!(s.metadata.owner_references.is_none());
    let e = es(&format!("{BASE}  target:\n    creationPolicy: None\n"));
    assert!(matches!(run(&e, None, &remote()), Decision::NothingToWrite));
}

#[test]
fn immutable_secret_is_not_rewritten() {
    let (mut s, _, _) = written(run(&es(BASE), None, &remote()));
    s.immutable = Some(true);
    let mut r2 = remote();
    r2.insert(
        ReadKey {
            key: "app/db".into(),
            version: None,
            metadata: false,
        },
        Json(serde_json::json!({"password": "pw2"})),
    );
    let Decision::Fail { message, .. } = run(&es(BASE), Some(&s), &r2) else {
        panic!()
    };
    assert!(message.contains("immutable"), "{message}");
}

#[test]
fn extracted_keys_follow_kube_apiservers_rule() {
    let e = es(BASE);
    for (bad, refused) in [("..data", true), ("..", true), (".", true), ("a/b", true)]
        .into_iter()
        .chain([("ok-key_1.x", false)])
    {
        let mut remote = remote();
        let config = reads(&e)
            .into_iter()
            .find(|r| r.key == "app/config")
            .unwrap();
        remote.insert(config, Json(serde_json::json!({ bad: "v" })));
        let decision = run(&e, None, &remote);
        match decision {
            Decision::Fail { message, .. } if refused => assert!(
                message.contains("not a valid Secret key") && !message.contains("pw1"),
                "{bad}: {message}"
            ),
            Decision::Write { secret, .. } if !refused => {
                assert!(data(&secret).contains_key(bad), "{bad}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn extracting_a_value_that_is_not_json_fails_naming_it() {
    let e = es(BASE);
    let plain = crate::store::RemoteValue::raw(
        crate::store::StoreType::new("aws"),
        "app/config",
        None,
        Zeroizing::new(b"just text hunter2".to_vec()),
    );
    let db = remote().remove(&ReadKey::new("app/db", None)).unwrap();
    let answer = |k: &ReadKey| match k.key.as_str() {
        "app/db" => Some(Answer::Found(&db as &dyn RemoteSecret)),
        _ => Some(Answer::Found(&plain as &dyn RemoteSecret)),
    };
    match decide(&e, None, &answer, "SecretStore \"aws\"") {
        Decision::Fail { message, .. } => assert_eq!(
            message,
            "dataFrom extract \"app/config\": aws secret app/config is not a JSON object, so it has no properties or keys to take"
        ),
        other => panic!("{other:?}"),
    }
}
