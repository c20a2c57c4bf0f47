use std::collections::BTreeMap;

use secrets_core::mount::params::{ObjectSource, StoreKind};

use super::*;
use crate::cli::SourceArg::{File, Key, Mode, Property, SealedSecret};

fn s(text: &str) -> String {
    text.to_owned()
}

fn build(order: &[SourceArg], sealed: &BTreeMap<String, Vec<String>>) -> Result<MountSpec, String> {
    let (sources, default_mode) = group(order)?;
    spec(&SpecInput {
        sources: &sources,
        default_mode: default_mode.as_deref(),
        store: store_ref(Some("vault"), false),
        audience: None,
        sealed_keys: sealed,
    })
}

#[test]
fn properties_and_files_belong_to_the_key_before_them() {
    let order = [
        Key(s("app/db")),
        Property(s("password")),
        File(s("db-password")),
        Mode(s("0440")),
        Property(s("user")),
        Key(s("app/config")),
    ];
    let spec = build(&order, &BTreeMap::new()).unwrap();
    let got: Vec<(&str, u32)> = spec
        .objects
        .iter()
        .map(|o| (o.path.as_str(), o.mode))
        .collect();
    assert_eq!(
        got,
        [("db-password", 0o440), ("user", 0o644), ("config", 0o644)]
    );
    assert_eq!(
        spec.objects[2].source,
        ObjectSource::Remote {
            key: s("app/config"),
            property: None,
            version: None
        }
    );
    assert_eq!(spec.store.unwrap().kind, StoreKind::SecretStore);
}

#[test]
fn a_mode_before_any_key_is_every_files_default() {
    let order = [
        Mode(s("0400")),
        Key(s("a/b")),
        Property(s("x")),
        Mode(s("0600")),
    ];
    let spec = build(&order, &BTreeMap::new()).unwrap();
    assert_eq!(spec.objects[0].mode, 0o600);
    let spec = build(&[Mode(s("400")), Key(s("a/b"))], &BTreeMap::new()).unwrap();
    assert_eq!(spec.objects[0].mode, 0o400);
}

#[test]
fn sealed_secrets_default_to_every_key_and_check_the_keys() {
    let sealed = BTreeMap::from([(s("db"), vec![s("password"), s("user")])]);
    let (sources, _) = group(&[SealedSecret(s("db"))]).unwrap();
    let spec = spec(&SpecInput {
        sources: &sources,
        default_mode: None,
        store: None,
        audience: None,
        sealed_keys: &sealed,
    })
    .unwrap();
    assert_eq!(spec.objects.len(), 2);
    assert!(spec.store.is_none());
    let err = build(
        &[Key(s("k")), SealedSecret(s("db")), Property(s("nope"))],
        &sealed,
    )
    .unwrap_err();
    assert!(
        err.contains("has no key \"nope\" (its keys: password, user)"),
        "{err}"
    );
}

#[test]
fn bad_orders_paths_and_modes_are_refused() {
    let none = BTreeMap::new();
    let cases: [(&[SourceArg], &str); 6] = [
        (&[Property(s("p"))], "must follow a --key"),
        (
            &[Key(s("a")), File(s("x")), File(s("y"))],
            "already has a --file",
        ),
        (&[Key(s("a")), Property(s("p")), File(s("../x"))], "path"),
        (
            &[
                Key(s("a")),
                Property(s("p")),
                Property(s("q")),
                File(s("p")),
            ],
            "used by an earlier object",
        ),
        (&[Key(s("a")), Mode(s("0999"))], "not an octal mode"),
        (
            &[Key(s("a")), Property(s("p")), File(s("..data"))],
            "atomic writer",
        ),
    ];
    for (order, expect) in cases {
        let err = build(order, &none).unwrap_err();
        assert!(err.contains(expect), "{order:?}: {err}");
    }
    assert!(build(&[], &none).unwrap_err().contains("nothing to mount"));
}
