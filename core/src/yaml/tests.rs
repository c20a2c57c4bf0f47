use std::collections::BTreeMap;

use proptest::prelude::*;
use test_support::{implicit_type, tricky_strings};

use super::*;

/// A YAML 1.1 reading of our own output, enough for the shapes we write at the top level:
/// `KEY: VALUE` lines. Every plain token (not quoted, not a block scalar, not an explicit key)
/// is resolved with YAML 1.1's and 1.2's implicit-type rules; none may resolve to anything but
/// a string.
fn assert_plain_tokens_are_strings(text: &str) {
    for line in text.lines() {
        if line.starts_with(['"', '?', ' ', ':']) || line.is_empty() {
            continue;
        }
        // A plain key never holds `: `, so the first one ends it.
        let (key, value) = match line.split_once(": ") {
            Some(pair) => pair,
            None => (line.strip_suffix(':').unwrap_or(line), ""),
        };
        assert_eq!(implicit_type(key), None, "plain key {key:?} in {line:?}");
        if !value.starts_with(['"', '|']) && !value.is_empty() {
            assert_eq!(
                implicit_type(value),
                None,
                "plain value {value:?} in {line:?}"
            );
        }
    }
}

fn one_entry(s: &str) -> String {
    let map = BTreeMap::from([(s.to_owned(), s.to_owned())]);
    to_string(&map).unwrap().to_string()
}

#[test]
fn every_tricky_string_reads_back_as_itself_as_key_and_value() {
    for s in tricky_strings() {
        let text = one_entry(&s);
        assert_plain_tokens_are_strings(&text);
        let back: BTreeMap<String, String> = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|err| panic!("{s:?} wrote {text:?}, unreadable: {err}"));
        assert_eq!(back, BTreeMap::from([(s.clone(), s.clone())]), "{text:?}");
    }
}

#[test]
fn plain_is_only_used_where_no_reader_resolves_a_type() {
    for s in tricky_strings() {
        if style(&s, true) == Style::Plain {
            assert_eq!(implicit_type(&s), None, "{s:?} would go out plain");
            let expected = if s.len() > MAX_IMPLICIT_KEY {
                format!("? {s}\n: {s}\n")
            } else {
                format!("{s}: {s}\n")
            };
            assert_eq!(one_entry(&s), expected);
        }
    }
}

#[test]
fn ambiguous_words_and_numbers_are_quoted_ordinary_strings_are_not() {
    for (s, written) in [
        ("on", "\"on\""),
        ("y", "\"y\""),
        ("No", "\"No\""),
        ("0o17", "\"0o17\""),
        ("1_000", "\"1_000\""),
        ("1:20", "\"1:20\""),
        ("2001-12-14", "\"2001-12-14\""),
        ("=", "\"=\""),
        ("", "\"\""),
        (" a", "\" a\""),
        ("\u{85}", "\"\\x85\""),
        ("\u{2028}", "\"\\u2028\""),
        ("a\0b", "\"a\\0b\""),
        ("kubectl-secrets.io/v1alpha1", "kubectl-secrets.io/v1alpha1"),
        ("AgBy+/==", "AgBy+/=="),
        (".dockerconfigjson", ".dockerconfigjson"),
    ] {
        assert_eq!(one_entry(s), format!("{written}: {written}\n"), "{s:?}");
    }
}

#[test]
fn multi_line_strings_are_literal_blocks_with_the_right_chomping() {
    let doc = BTreeMap::from([("a", "x\ny"), ("b", "x\n"), ("c", "x\n\n"), ("d", "x \ny")]);
    let text = to_string(&doc).unwrap();
    assert_eq!(
        text.as_str(),
        "a: |-\n  x\n  y\nb: |\n  x\nc: |+\n  x\n\nd: \"x \\ny\"\n"
    );
}

#[test]
fn nested_shapes_read_back_equal() {
    let value = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"metadata": {"name": "y", "labels": {"on": "off"}}, "data": {}},
            [["no", 1], []],
            "yes",
            null,
            true,
            1.5,
            1e300,
            -7,
        ],
        "empty": [],
        "multi": ["a\nb", {"k": "c\nd"}],
    });
    let text = to_string(&value).unwrap();
    let back: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(back, value, "{}", text.as_str());
    // Field order is kept (serde_json's map is sorted; a struct's would be its own order).
    assert!(text.starts_with("apiVersion: v1\n"), "{}", text.as_str());
}

#[test]
fn struct_field_order_is_kept() {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        kind: &'static str,
        api_version: &'static str,
    }
    let text = to_string(&Doc {
        kind: "Secret",
        api_version: "v1",
    })
    .unwrap();
    assert_eq!(text.as_str(), "kind: Secret\napiVersion: v1\n");
}

#[test]
fn long_keys_use_the_explicit_form() {
    let key = "k".repeat(1100);
    let doc = BTreeMap::from([(key.clone(), vec!["v"])]);
    let text = to_string(&doc).unwrap();
    assert!(text.starts_with("? kkk"), "{}", &text[..20]);
    let back: BTreeMap<String, Vec<String>> = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(back[&key], ["v"]);
}

#[test]
fn floats_keep_a_dot_and_a_signed_exponent() {
    assert_eq!(float_text(1.0), "1.0");
    assert_eq!(float_text(1.5), "1.5");
    assert_eq!(float_text(1e300), "1.0e+300");
    assert_eq!(float_text(1.5e-7), "1.5e-7");
    assert_eq!(float_text(f64::NEG_INFINITY), "-.inf");
    for f in [1.0, 1.5, 1e300, 1.5e-7, -2.5e20] {
        assert!(implicit_type(&float_text(f)).is_some_and(|t| t.contains("float")));
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_round_trip(s in "\\PC{0,40}|[ -~\\n\\t\\r]{0,40}|[0-9a-fA-FxXoObB_.:+ eE-]{1,12}") {
        let text = one_entry(&s);
        assert_plain_tokens_are_strings(&text);
        let back: BTreeMap<String, String> = serde_yaml_ng::from_str(&text).unwrap();
        prop_assert_eq!(back, BTreeMap::from([(s.clone(), s)]));
    }
}
