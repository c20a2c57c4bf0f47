//! ENC020 and the EncryptionConfiguration reader.

use super::*;

fn analyse(text: &str) -> Vec<Finding> {
    let config = EncryptionConfig::from_text(text).unwrap();
    sorted(analyse_config(&config, "/etc/kubernetes/enc/config.yaml"))
}

#[test]
fn identity_first_is_critical_even_with_aescbc_behind_it() {
    let findings = analyse(fixture!("identity-first.yaml"));
    let f = one(&findings, "ENC020");
    assert_eq!(verdict(f), (Severity::Critical, Status::Fail));
    assert!(
        f.message.contains("new writes are plaintext"),
        "{}",
        f.message
    );
    assert_eq!(f.via, ["resources[0] (secrets) → providers[0] identity"]);
    assert!(
        f.hint
            .contains("kubectl get secrets -A -o json | kubectl replace -f -")
    );
    assert_eq!(
        f.subject,
        Subject::new("EncryptionConfiguration", "/etc/kubernetes/enc/config.yaml")
    );
}

#[test]
fn an_identity_only_entry_before_the_wildcard_opts_secrets_out() {
    let findings = analyse(fixture!("identity-opt-out.yaml"));
    let f = one(&findings, "ENC020");
    assert_eq!(verdict(f), (Severity::Critical, Status::Fail));
    assert!(f.message.contains("opted out"), "{}", f.message);
    assert_eq!(f.via, ["resources[0] (secrets) → providers[0] identity"]);
}

#[test]
fn configmaps_only_leaves_secrets_uncovered() {
    let findings = analyse(fixture!("configmaps-only.yaml"));
    let f = one(&findings, "ENC020");
    assert_eq!(verdict(f), (Severity::Critical, Status::Fail));
    assert!(f.message.contains("not covered"), "{}", f.message);
    assert!(f.via[0].contains("configmaps"), "{:?}", f.via);
    // aesgcm on configmaps is not reported: it does not write Secrets.
    assert!(!findings.iter().any(|f| f.message.contains("aesgcm")));
}

#[test]
fn the_wildcard_covers_secrets_and_a_configmaps_opt_out_does_not_matter() {
    let findings = analyse(fixture!("wildcard.yaml"));
    let f = one(&findings, "ENC020");
    assert_eq!(verdict(f), (Severity::Info, Status::Pass));
    assert_eq!(f.via, ["resources[1] (*.*) → providers[0] secretbox"]);
}

#[test]
fn the_core_group_wildcard_wins_over_a_later_any_wildcard() {
    let findings = analyse(fixture!("core-wildcard.yaml"));
    let f = one(&findings, "ENC020");
    assert_eq!(verdict(f), (Severity::Low, Status::Fail));
    assert_eq!(f.via, ["resources[0] (*.) → providers[0] aescbc"]);
    assert!(f.message.contains("weak"), "{}", f.message);
}

#[test]
fn kms_without_api_version_is_v1_and_medium() {
    let findings = analyse(fixture!("kms-v1.yaml"));
    let f = one(&findings, "ENC020");
    assert_eq!(verdict(f), (Severity::Medium, Status::Fail));
    assert_eq!(
        f.via,
        ["resources[0] (secrets) → providers[0] kms v1 legacy-kms"]
    );
}

#[test]
fn kms_v2_first_passes_and_a_full_length_read_key_is_not_reported() {
    let findings = analyse(fixture!("kms-v2.yaml"));
    let f = one(&findings, "ENC020");
    assert_eq!(verdict(f), (Severity::Info, Status::Pass));
    assert_eq!(
        f.via,
        ["resources[0] (secrets) → providers[0] kms v2 vault-kms"]
    );
}

#[test]
fn aescbc_is_low_and_aesgcm_is_a_medium_warning() {
    let cbc = analyse(fixture!("aescbc.yaml"));
    assert_eq!(verdict(one(&cbc, "ENC020")), (Severity::Low, Status::Fail));
    let gcm = analyse(fixture!("aesgcm.yaml"));
    let f = one(&gcm, "ENC020");
    assert_eq!(verdict(f), (Severity::Medium, Status::Warn));
    assert!(f.message.contains("200,000 writes"), "{}", f.message);
}

#[test]
fn a_short_key_is_medium_and_named_by_its_name_and_length_only() {
    let findings = analyse(fixture!("short-key.yaml"));
    let found = with_id(&findings, "ENC020");
    assert_eq!(found.len(), 2, "{findings:#?}");
    let short = found
        .iter()
        .find(|f| f.severity == Severity::Medium)
        .unwrap();
    assert_eq!(short.status, Status::Fail);
    assert_eq!(
        short.via,
        ["resources[0] (secrets) → providers[0] secretbox key \"short\": 20 bytes"]
    );
    assert!(
        found
            .iter()
            .any(|f| verdict(f) == (Severity::Info, Status::Pass))
    );
}

#[test]
fn secrets_after_a_wildcard_is_refused_by_the_apiserver() {
    let findings = analyse(fixture!("masked.yaml"));
    let masked = findings
        .iter()
        .find(|f| f.message.contains("refuses"))
        .unwrap();
    assert_eq!(verdict(masked), (Severity::High, Status::Fail));
    assert_eq!(
        masked.via,
        ["resources[1] (secrets) after resources[0] (*.*)"]
    );
    // Judged as the apiserver would look it up: the exact entry (identity).
    assert!(findings.iter().any(|f| f.severity == Severity::Critical));
}

#[test]
fn the_json_form_and_the_legacy_kind_read_like_yaml() {
    let json = EncryptionConfig::from_text(fixture!("json-form.json")).unwrap();
    let yaml = EncryptionConfig::from_text(fixture!("aescbc.yaml")).unwrap();
    assert_eq!(json, yaml);
    assert_eq!(
        json.resources[0].providers[0].keys,
        [KeyInfo {
            name: "key1".to_owned(),
            length: 32
        }]
    );
    let legacy = analyse(fixture!("legacy-kind.yaml"));
    assert_eq!(
        verdict(one(&legacy, "ENC020")),
        (Severity::Info, Status::Pass)
    );
}

/// Every error's text, with its source chain.
fn chain(err: &EncryptionConfigError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[test]
fn errors_never_quote_key_material() {
    let broken = EncryptionConfig::from_text(fixture!("broken-with-key.yaml")).unwrap_err();
    assert!(
        matches!(broken, EncryptionConfigError::Manifest(_)),
        "{broken:?}"
    );
    let bad = EncryptionConfig::from_text(fixture!("bad-base64.yaml")).unwrap_err();
    assert_eq!(
        bad.to_string(),
        "resources[0].providers[0].aescbc.keys[0].secret: is not valid base64"
    );
    for err in [&broken, &bad] {
        for text in [chain(err), format!("{err:?}")] {
            for planted in PLANTED {
                assert!(!text.contains(planted), "{planted} in {text}");
            }
        }
    }
}

#[test]
fn a_pasted_key_in_a_duplicate_mapping_key_or_broken_json_is_not_quoted() {
    let key = "RklYVFVSRS1LRVktYWVzY2JjLTAxMjM0NTY3ODlhYmM=";
    let head = "kind: EncryptionConfiguration\nresources:\n  - providers:\n      - aescbc:\n          \
                keys:\n            - name: k\n";
    let json = "{\"kind\":\"EncryptionConfiguration\",\"resources\":[{\"providers\":[{\"aescbc\":\
                {\"keys\":[{\"name\":\"k\",\"secret\":\"";
    let cases = [
        format!("{head}              {key}: 1\n              {key}: 2\n"),
        format!("{head}              secret: \"{key}\n"),
        format!("{head}              secret: '{key}' x\n"),
        format!("{json}{key}"),
        format!("{json}{key}\" x"),
    ];
    for text in cases {
        let err = EncryptionConfig::from_text(&text).unwrap_err();
        for shown in [chain(&err), format!("{err:?}")] {
            assert!(!shown.contains("RklYVFVSRS1LRVkt"), "{shown}");
        }
    }
    let duplicate = EncryptionConfig::from_text(&format!(
        "{head}              {key}: 1\n              {key}: 2\n"
    ));
    let shown = chain(&duplicate.unwrap_err());
    assert!(
        shown.contains("duplicate entry with key \"<redacted>\""),
        "{shown}"
    );
}

#[test]
fn shapes_the_apiserver_refuses_are_errors() {
    let cases = [
        (
            "kind: Secret\napiVersion: v1\n",
            "no document of kind EncryptionConfiguration",
        ),
        (
            "kind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    \
             providers:\n      - aescbc: {}\n        identity: {}\n",
            "resources[0].providers[0]: must set exactly one",
        ),
        (
            "kind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    \
             providers:\n      - kms: {apiVersion: v3, name: x}\n",
            "resources[0].providers[0].kms.apiVersion: is not v1 or v2",
        ),
        (
            "kind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    \
             providers:\n      - secretbox: {keys: []}\n",
            "resources[0].providers[0].secretbox.keys: is empty",
        ),
    ];
    for (text, expected) in cases {
        let err = EncryptionConfig::from_text(text).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err} for {text}");
    }
}

proptest::proptest! {
    /// Whatever the key and however it breaks the file, neither findings nor errors show it.
    #[test]
    fn no_key_reaches_findings_or_errors(
        key in proptest::collection::vec(proptest::num::u8::ANY, 8..48),
        cut in 0usize..400,
        provider in proptest::sample::select(vec!["aescbc", "aesgcm", "secretbox"]),
    ) {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&key);
        let text = format!(
            "kind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n\
             \x20     - {provider}:\n          keys:\n            - name: k\n              \
             secret: {encoded}\n"
        );
        // The whole file, and the file cut anywhere (a broken file).
        let cut = text.get(..cut.min(text.len())).unwrap_or(&text);
        for input in [text.as_str(), cut] {
            let shown = match EncryptionConfig::from_text(input) {
                Ok(config) => serde_json::to_string(&analyse_config(&config, "f")).unwrap(),
                Err(err) => format!("{} {err:?}", chain(&err)),
            };
            // Eight characters of random base64 do not occur in our own words by chance.
            let fragment = encoded.get(..8).unwrap_or(&encoded);
            proptest::prop_assert!(!shown.contains(fragment), "{}", shown);
        }
    }
}
