use super::*;
use crate::template::funcs;

fn syntax(t: &str) -> String {
    match check(t) {
        Err(TemplateError::Syntax { what, .. }) => what,
        other => panic!("{t:?}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn syntax_errors_are_found_by_check() {
    assert!(syntax("{{ .user ").contains("unclosed action"));
    assert!(syntax("{{ if .a }}x").contains("without {{end}}"));
    assert!(syntax("{{ end }}").contains("unexpected"));
    assert!(syntax("{{ $x }}").contains("undefined variable $x"));
    assert!(syntax("{{ $x = 1 }}").contains("undefined variable $x"));
    assert!(syntax(r#"{{ "abc }}"#).contains("unterminated"));
    assert!(syntax("{{ .a | .b }}").contains("piped"));
    assert!(syntax("{{ .a 1 }}").contains("arguments"));
    assert!(syntax("{{ break }}").contains("outside"));
    assert!(syntax("{{ (1 }}").contains("parenthesis"));
    assert!(syntax("{{ nil }}").contains("nil is not a command"));
    assert!(syntax("{{/* open").contains("unclosed comment"));
    assert!(syntax("{{ 1x }}").contains("bad number"));
    assert!(syntax("{{ # }}").contains("unexpected"));
    // The variable of a block ends at its end.
    assert!(syntax("{{ if $x := 1 }}{{ end }}{{ $x }}").contains("undefined variable"));
}

#[test]
fn syntax_errors_say_where() {
    let err = check("line one\n  {{ .a | .b }}").unwrap_err();
    match &err {
        TemplateError::Syntax { at, .. } => {
            assert_eq!((at.line, at.column), (2, 3));
            assert_eq!(at.excerpt, "{{ .a | .b }}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("line 2, column 3"), "{err}");
}

#[test]
fn unknown_functions_are_named() {
    for t in [
        "{{ frobnicate .a }}",
        "{{ .a | frobnicate }}",
        "{{ print (frobnicate) }}",
    ] {
        match check(t) {
            Err(TemplateError::UnknownFunction { name, .. }) => assert_eq!(name, "frobnicate"),
            other => panic!("{t}: {other:?}"),
        }
    }
}

#[test]
fn refused_functions_say_why() {
    for name in funcs::refused_names() {
        let t = format!("{{{{ {name} }}}}");
        match check(&t) {
            Err(e @ TemplateError::Refused { .. }) => {
                let text = e.to_string();
                assert!(text.contains(name), "{text}");
                assert!(text.contains("refused"), "{text}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let env = check(r#"{{ env "HOME" }}"#).unwrap_err().to_string();
    assert!(env.contains("outside the template"), "{env}");
    let now = check("{{ now }}").unwrap_err().to_string();
    assert!(now.contains("every reconcile"), "{now}");
}

#[test]
fn unsupported_names_say_so() {
    for t in [
        "{{ toYaml . }}",
        "{{ .a | pkcs12key }}",
        r#"{{ template "x" }}"#,
        r#"{{ define "x" }}{{ end }}"#,
    ] {
        assert!(
            matches!(check(t), Err(TemplateError::Unsupported { .. })),
            "{t}"
        );
    }
}

#[test]
fn every_name_in_the_table_is_implemented() {
    // Calling each with wrong-kind arguments must give a clean error or a value, never the
    // "not dispatched" fallback.
    for name in funcs::names() {
        for args in ["", " 1", " 1 2", " \"a\" \"b\" \"c\""] {
            let t = format!("{{{{ {name}{args} }}}}");
            if check(&t).is_err() {
                continue;
            }
            if let Err(e) = r(&t) {
                assert!(!e.to_string().contains("not dispatched"), "{t}: {e}");
            }
        }
    }
}

#[test]
fn arity_errors_are_found_by_check() {
    assert_eq!(
        check(r#"{{ .a | default }}"#).map_err(|e| e.to_string()),
        Ok(()),
        "default with a piped value has its 1 argument"
    );
    match check(r#"{{ replace "a" .b }}"#) {
        Err(TemplateError::Arity {
            name,
            expected,
            got,
            ..
        }) => {
            assert_eq!((name, expected.as_str(), got), ("replace", "3", 2));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        check("{{ .a | upper .b }}"),
        Err(TemplateError::Arity { got: 2, .. })
    ));
    assert!(matches!(
        check("{{ print (default) }}"),
        Err(TemplateError::Arity { got: 0, .. })
    ));
}

#[test]
fn runtime_errors() {
    assert!(matches!(
        r("{{ .nope }}"),
        Err(TemplateError::NoValue { .. })
    ));
    assert!(matches!(
        r("{{ .nope | upper }}"),
        Err(TemplateError::Type { .. })
    ));
    assert!(matches!(
        r(r#"{{ first list }}"#),
        Err(TemplateError::NoValue { .. })
    ));
    assert!(matches!(
        r("{{ .user.name }}"),
        Err(TemplateError::Type { .. })
    ));
    assert!(matches!(
        r("{{ .user | b64dec }}"),
        Err(TemplateError::Function { func: "b64dec", .. })
    ));
    assert!(matches!(
        r("{{ .user | fromJson }}"),
        Err(TemplateError::Function {
            func: "fromJson",
            ..
        })
    ));
    assert!(matches!(
        r(r#"{{ printf "%d" .user }}"#),
        Err(TemplateError::Type { .. })
    ));
    assert!(matches!(
        r(r#"{{ printf "%s %s" .user }}"#),
        Err(TemplateError::Function { func: "printf", .. })
    ));
    assert!(matches!(
        r(r#"{{ printf "%s" .user 1 }}"#),
        Err(TemplateError::Function { func: "printf", .. })
    ));
    assert!(matches!(
        r(r#"{{ index (list 1) 5 }}"#),
        Err(TemplateError::Function { func: "index", .. })
    ));
    assert!(matches!(
        r(r#"{{ substr 5 9 "ab" }}"#),
        Err(TemplateError::Function { func: "substr", .. })
    ));
    assert!(matches!(
        r(r#"{{ $_ := set . "a" "b" }}"#),
        Err(TemplateError::Type { .. })
    ));
    assert!(matches!(
        r(r#"{{ range "abc" }}{{ end }}"#),
        Err(TemplateError::Type { .. })
    ));
    assert!(matches!(
        r(r#"{{ ternary 1 2 "yes" }}"#),
        Err(TemplateError::Type { .. })
    ));
    assert!(matches!(
        r(r#"{{ len 3 }}"#),
        Err(TemplateError::Type { .. })
    ));
}

#[test]
fn runtime_errors_say_where() {
    let err = r("a\nb {{ .nope }}").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 2, column 3"), "{text}");
    assert!(text.contains("{{ .nope }}"), "{text}");
}

#[test]
fn errors_never_carry_values() {
    let secret = "s3cr3t";
    for t in [
        "{{ .password | b64dec }}",
        "{{ .password | fromJson }}",
        r#"{{ printf "%d" .password }}"#,
        r#"{{ index (list 1) (len .password) }}"#,
        "{{ .password.x }}",
        r#"{{ eq .password 1 }}"#,
        r#"{{ lt .password (list) }}"#,
        r#"{{ printf .password 1 }}"#,
        "{{ range .password }}{{ end }}",
        r#"{{ repeat 2000000 .password }}"#,
        r#"{{ index (dict "a" 1) .password }}{{ .nope }}"#,
    ] {
        let err = r(t).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(secret), "{t}: {text}");
    }
}

#[test]
fn bounds_are_typed_errors() {
    let long = "x".repeat(MAX_TEMPLATE + 1);
    assert!(matches!(check(&long), Err(TemplateError::TooLong { .. })));

    let deep = format!(
        "{}1{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    assert!(matches!(
        check(&format!("{{{{ {deep} }}}}")),
        Err(TemplateError::TooDeep { .. })
    ));
    let blocks = format!(
        "{}{}",
        "{{ if 1 }}".repeat(MAX_NESTING + 1),
        "{{ end }}".repeat(MAX_NESTING + 1)
    );
    assert!(matches!(check(&blocks), Err(TemplateError::TooDeep { .. })));

    assert!(matches!(
        r(r#"{{ repeat 2000000 "x" }}"#),
        Err(TemplateError::OutputTooLarge { .. })
    ));
    assert!(matches!(
        r(r#"{{ range 200 }}{{ repeat 10000 "x" }}{{ end }}"#),
        Err(TemplateError::OutputTooLarge { .. } | TemplateError::StepBudget { .. })
    ));
    let big_text = "y".repeat(200_000);
    let six_copies = format!("{{{{ range 6 }}}}{big_text}{{{{ end }}}}");
    assert!(matches!(
        r(&six_copies),
        Err(TemplateError::OutputTooLarge {
            max: MAX_OUTPUT,
            ..
        })
    ));
    assert!(matches!(
        r(r#"{{ "x" | indent 2000000 }}"#),
        Err(TemplateError::OutputTooLarge { .. })
    ));
    assert!(matches!(
        r(r#"{{ printf "%2000000d" 1 }}"#),
        Err(TemplateError::OutputTooLarge { .. })
    ));

    assert!(matches!(
        r("{{ range 1000000 }}{{ end }}"),
        Err(TemplateError::StepBudget { max: MAX_STEPS, .. })
    ));
    assert!(matches!(
        r("{{ range 300 }}{{ range 300 }}{{ range 300 }}x{{ end }}{{ end }}{{ end }}"),
        Err(TemplateError::StepBudget { .. })
    ));
    // Doubling a string in a loop is stopped by the size limit or the budget, not memory.
    assert!(matches!(
        r(r#"{{ $s := "xxxxxxxxxxxxxxxx" }}{{ range 40 }}{{ $s = print $s $s }}{{ end }}"#),
        Err(TemplateError::OutputTooLarge { .. } | TemplateError::StepBudget { .. })
    ));
    // A dict that holds itself cannot be printed or encoded forever.
    assert!(matches!(
        r(r#"{{ $d := dict }}{{ $_ := set $d "me" $d }}{{ toJson $d }}"#),
        Err(TemplateError::TooDeep { .. })
    ));
    assert!(matches!(
        r(r#"{{ $d := dict }}{{ $_ := set $d "me" $d }}{{ $d }}"#),
        Err(TemplateError::TooDeep { .. })
    ));
    let nested_json = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let t = format!("{{{{ fromJson `{nested_json}` }}}}");
    assert!(matches!(r(&t), Err(TemplateError::TooDeep { .. })));
}

/// Work a result does not show (scanning, comparing, snapshotting) is charged too, and no
/// function is worse than linear, so a template cannot stall the agent within the limits.
#[test]
fn hidden_work_is_bounded() {
    let steps = |t: &str| matches!(r(t), Err(TemplateError::StepBudget { .. }));
    // Shared sub-lists: comparing 2^40 leaves would never end without the budget.
    assert!(steps(
        "{{ $x := list 1 1 }}{{ range 40 }}{{ $x = list $x $x }}{{ end }}{{ has $x (list $x) }}"
    ));
    // Scanning a long string many times.
    assert!(steps(
        r#"{{ $big := repeat 1000000 "a" }}{{ range 1000 }}{{ if contains "b" $big }}{{ end }}{{ end }}"#
    ));
    assert!(steps(
        r#"{{ $big := repeat 1000000 "a" }}{{ range 1000 }}{{ if eq $big $big }}{{ end }}{{ end }}"#
    ));
    assert!(steps(
        r#"{{ $big := repeat 1000000 "a" }}{{ range 1000 }}{{ $_ := sha256sum $big }}{{ end }}"#
    ));
    // Building a list the budget cannot pay for stops before it is built.
    assert!(steps(r#"{{ $l := splitList "" (repeat 200000 "a") }}"#));
    // Ranging over a big dict repeatedly pays for each snapshot.
    assert!(steps(
        r#"{{ $d := split "," (repeat 60000 "a,") }}{{ range 10 }}{{ range $d }}{{ break }}{{ end }}{{ end }}"#
    ));
    // Long needles and cutsets stay linear (these would take minutes if quadratic).
    assert_eq!(
        ok(r#"{{ contains (print (repeat 300000 "a") "b") (repeat 600000 "a") }}"#),
        "false"
    );
    assert_eq!(
        ok(r#"[{{ trimAll (print (repeat 200000 "b") "a") (repeat 200000 "a") }}]"#),
        "[]"
    );
    // Many keys or items made from big values count against the size limit together.
    assert!(matches!(
        r(r#"{{ $l := list (repeat 600000 "x") }}{{ join "," (list $l $l) }}"#),
        Err(TemplateError::OutputTooLarge { .. })
    ));
    assert!(matches!(
        r(r#"{{ $l := list (repeat 600000 "x") }}{{ $d := dict $l 1 (list $l) 2 }}"#),
        Err(TemplateError::OutputTooLarge { .. })
    ));
}
