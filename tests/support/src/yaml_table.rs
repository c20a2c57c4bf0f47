//! Strings that YAML readers misread when written plain, and a checker of the implicit types
//! YAML 1.1 (kubectl's go-yaml, PyYAML) and YAML 1.2 resolve plain scalars to.
//!
//! [`tricky_strings`] is the generated table the YAML writer's tests round-trip (as keys,
//! values, labels, annotations, names and namespaces); [`implicit_type`] says what a plain
//! scalar would become, from the regular expressions of the YAML 1.1 type repository
//! (bool, null, int, float, timestamp, merge, value) and the YAML 1.2 core schema, plus
//! go-yaml's own float rule.

use std::sync::OnceLock;

use regex::Regex;

/// What readers would resolve a plain scalar to, if not a string: `Some("yaml1.1 bool")` etc.
pub fn implicit_type(plain: &str) -> Option<&'static str> {
    static RULES: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            // YAML 1.1 types (yaml.org/type/*.html).
            (
                "yaml1.1 bool",
                r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            ),
            ("yaml1.1 null", r"~|null|Null|NULL|"),
            ("yaml1.1 int (base 2)", r"[-+]?0b[0-1_]+"),
            ("yaml1.1 int (base 8)", r"[-+]?0[0-7_]+"),
            ("yaml1.1 int (base 10)", r"[-+]?(0|[1-9][0-9_]*)"),
            ("yaml1.1 int (base 16)", r"[-+]?0x[0-9a-fA-F_]+"),
            ("yaml1.1 int (base 60)", r"[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+"),
            (
                "yaml1.1 float (base 10)",
                r"[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?",
            ),
            (
                "yaml1.1 float (base 60)",
                r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*",
            ),
            ("yaml1.1 float (infinity)", r"[-+]?\.(inf|Inf|INF)"),
            ("yaml1.1 float (nan)", r"\.(nan|NaN|NAN)"),
            ("yaml1.1 timestamp (date)", r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"),
            (
                "yaml1.1 timestamp",
                r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\.[0-9]*)?(([ \t]*)Z|[-+][0-9][0-9]?(:[0-9][0-9])?)?",
            ),
            ("yaml1.1 merge", r"<<"),
            ("yaml1.1 value", r"="),
            // YAML 1.2 core schema.
            ("yaml1.2 null", r"null|Null|NULL|~|"),
            ("yaml1.2 bool", r"true|True|TRUE|false|False|FALSE"),
            ("yaml1.2 int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
            (
                "yaml1.2 float",
                r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN",
            ),
            // go-yaml v2's float rule (it also takes `1e3`).
            (
                "go-yaml float",
                r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?",
            ),
        ]
        .into_iter()
        .map(|(name, pattern)| (name, Regex::new(&format!("^(?:{pattern})$")).unwrap()))
        .collect()
    });
    rules
        .iter()
        .find(|(_, regex)| regex.is_match(plain))
        .map(|(name, _)| *name)
}

/// The generated table: every spelling of YAML 1.1 booleans and nulls, numbers in every base
/// and form, timestamps, `=`, `<<`, indicators, whitespace at the edges, line breaks,
/// non-printable characters, long strings, and ordinary strings that must stay readable.
pub fn tricky_strings() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in ["y", "n", "yes", "no", "on", "off", "true", "false", "null"] {
        out.extend(case_variants(word));
    }
    let fixed = [
        // nulls
        "~",
        "",
        // integers
        "0",
        "00",
        "012",
        "0o17",
        "0O17",
        "0x1F",
        "0X1f",
        "0b101",
        "0B11",
        "1_000",
        "+1",
        "-1",
        "+0x1F",
        "-0b1",
        "1:20",
        "-1:20:30",
        "190:20:30",
        "123456789012345678901234567890",
        "1e3",
        "1E3",
        "1e+3",
        "1e-3",
        "-1e3",
        // floats
        "1.5",
        ".5",
        "5.",
        ".",
        "-.",
        "+.",
        ".e",
        "._",
        "-.5",
        "+1.5e3",
        "1.5e+3",
        "1_000.5",
        "1.2.3",
        ".inf",
        ".Inf",
        ".INF",
        "-.inf",
        "+.inf",
        ".nan",
        ".NaN",
        ".NAN",
        "inf",
        "nan",
        "Infinity",
        "190:20:30.15",
        "0.1e-1",
        // timestamps
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5",
        "2001-12-15T02:59:43.1Z",
        "2002-1-1 1:2:3",
        "2001-12-14T21:59:43Z",
        // merge, value, document markers, indicators
        "=",
        "<<",
        "---",
        "...",
        "--- a",
        "-",
        "?",
        ":",
        "- a",
        "? a",
        ": a",
        "a:",
        "a: b",
        "a:b",
        "a #b",
        "a#b",
        "#a",
        "&a",
        "*a",
        "!a",
        "!!str a",
        "|a",
        ">a",
        "'a",
        "\"a",
        "%a",
        "@a",
        "`a",
        ",a",
        "[a]",
        "{a}",
        "a,b",
        "a]b",
        "a}b",
        "{{ .foo }}",
        "a\\b",
        // whitespace at the edges and inside
        " a",
        "a ",
        " ",
        "\t",
        "a\tb",
        "a  b",
        " - a",
        // line breaks
        "a\nb",
        "a\n",
        "a\n\n",
        "\n",
        "\na",
        "a\r\nb",
        "a\rb",
        "line1\n  indented\nline3",
        "a \nb",
        "a\n\nb",
        "a\n \nb",
        "a\n\tb",
        "#a\nb",
        "a\n---\nb",
        "a\n...\n",
        // characters outside YAML's printable set, line separators, byte-order marks
        "\0",
        "\u{7}",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{85}",
        "\u{2028}",
        "\u{2029}",
        "\u{feff}a",
        "a\u{feff}",
        "\u{a0}",
        "\u{fffe}",
        "é",
        "日本",
        "😀",
        // ordinary strings that must stay plain-readable and exact
        "plain",
        "kubectl-secrets.io/v1alpha1",
        "AgBy+/==",
        ".dockerconfigjson",
        "tls.crt",
        "10Gi",
        "1password",
        "a/b",
        "Opaque",
        "_",
        "(x)",
    ];
    out.extend(fixed.iter().map(|s| (*s).to_owned()));
    out.push("k".repeat(1100));
    out.push(format!("{}\n{}", "long ".repeat(300), "line"));
    out
}

/// Every upper/lower-case spelling of an ASCII word.
fn case_variants(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    (0u32..(1 << chars.len()))
        .map(|mask| {
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if mask & (1 << i) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        *c
                    }
                })
                .collect()
        })
        .collect()
}

/// Table entries that are valid Secret data keys by kube-apiserver's rule (`[-._a-zA-Z0-9]+`, at most
/// 253 characters, not `.`, not starting with `..`).
pub fn valid_data_keys() -> Vec<String> {
    tricky_strings()
        .into_iter()
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 253
                && s != "."
                && !s.starts_with("..")
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .collect()
}

/// Table entries that are valid label values (and label/annotation key names): at most 63
/// characters, alphanumeric at both ends, `-_.` inside. The empty string is a valid label value.
pub fn valid_label_names() -> Vec<String> {
    tricky_strings()
        .into_iter()
        .filter(|s| {
            let b = s.as_bytes();
            !s.is_empty()
                && s.len() <= 63
                && b.first().is_some_and(u8::is_ascii_alphanumeric)
                && b.last().is_some_and(u8::is_ascii_alphanumeric)
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        })
        .collect()
}

/// Table entries that are valid namespace names (DNS-1123 labels); Secret names may be these
/// too (a DNS-1123 label is a DNS-1123 subdomain).
pub fn valid_dns_labels() -> Vec<String> {
    tricky_strings()
        .into_iter()
        .filter(|s| {
            let b = s.as_bytes();
            let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !s.is_empty()
                && s.len() <= 63
                && b.first().is_some_and(edge)
                && b.last().is_some_and(edge)
                && b.iter().all(|c| edge(c) || *c == b'-')
        })
        .collect()
}
