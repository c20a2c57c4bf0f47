use super::*;

#[test]
fn fields_index_and_keys_with_dashes() {
    assert_eq!(ok("{{ .user }}:{{ .password }}"), "app: s3cr3t ");
    assert_eq!(ok(r#"{{ index . "db-password" }}"#), "hunter2");
    assert_eq!(ok(r#"{{ index $ "db-password" | upper }}"#), "HUNTER2");
    // Go's index of a missing key in the data map is "" (map[string]string's zero value).
    assert_eq!(ok(r#"[{{ index . "nope" }}]"#), "[]");
    assert_eq!(ok(r#"{{ index (list "a" "b") 1 }}"#), "b");
    assert_eq!(ok(r#"{{ index (dict "a" (list 1 2)) "a" 1 }}"#), "2");
}

#[test]
fn printf_verbs() {
    assert_eq!(
        ok(r#"{{ printf "%s:%s" .user (index . "db-password") }}"#),
        "app:hunter2"
    );
    assert_eq!(
        ok(r#"{{ printf "%d|%5d|%-5d|%05d|%x|%X|%o|%b" 42 42 42 -42 255 255 8 5 }}"#),
        "42|   42|42   |-0042|ff|FF|10|101"
    );
    assert_eq!(
        ok(r#"{{ printf "%q %v %v %v %%" .user 1.5 true (list 1 "a") }}"#),
        "\"app\" 1.5 true [1 a] %"
    );
    assert_eq!(
        ok(r#"{{ printf "%.2f %e %g %g" 3.14159 1234.5 0.0001 1e7 }}"#),
        "3.14 1.234500e+03 0.0001 1e+07"
    );
    assert_eq!(
        ok(r#"{{ printf "%.3s|%6s|%-6s|" "abcdef" "ab" "ab" }}"#),
        "abc|    ab|ab    |"
    );
    assert_eq!(
        ok(r#"{{ printf "%x" "hi" }} {{ printf "%c%c" 72 105 }} {{ printf "%t" false }}"#),
        "6869 Hi false"
    );
    assert_eq!(ok(r#"{{ printf "%*d" 4 7 }}"#), "   7");
}

#[test]
fn print_and_println_spacing() {
    assert_eq!(ok(r#"{{ print "a" "b" 1 2 "c" }}"#), "ab1 2c");
    assert_eq!(ok(r#"{{ println "a" 1 }}"#), "a 1\n");
}

#[test]
fn variables_and_assignment() {
    assert_eq!(
        ok(r#"{{ $x := .user }}{{ $x }}{{ $x = "b" }}{{ $x }}"#),
        "appb"
    );
    assert_eq!(
        ok(r#"{{ $u := .user }}{{ with .password }}{{ $u }}{{ $.user }}{{ end }}"#),
        "appapp"
    );
    // An assignment inside a block changes the outer variable (Go 1.11+).
    assert_eq!(
        ok(r#"{{ $n := 0 }}{{ range list 1 2 3 }}{{ $n = . }}{{ end }}{{ $n }}"#),
        "3"
    );
}

#[test]
fn conditionals_and_truth() {
    assert_eq!(ok("{{ if .user }}y{{ else }}n{{ end }}"), "y");
    assert_eq!(ok("{{ if .empty }}y{{ else }}n{{ end }}"), "n");
    assert_eq!(
        ok("{{ if .missing }}y{{ else if .user }}u{{ else }}n{{ end }}"),
        "u"
    );
    assert_eq!(
        ok("{{ if 0 }}a{{ else if false }}b{{ else if list }}c{{ else }}d{{ end }}"),
        "d"
    );
    assert_eq!(
        ok("{{ with .user }}<{{ . }}>{{ else }}none{{ end }}"),
        "<app>"
    );
    assert_eq!(
        ok("{{ with .missing }}<{{ . }}>{{ else with .user }}[{{ . }}]{{ end }}"),
        "[app]"
    );
    assert_eq!(
        ok(r#"{{ if and .user (not .empty) (eq .user "app") }}ok{{ end }}"#),
        "ok"
    );
    assert_eq!(ok(r#"{{ or .empty .missing "fallback" }}"#), "fallback");
    assert_eq!(ok(r#"{{ and .user "" }}|{{ and "" .nope.deeper }}|"#), "||");
}

#[test]
fn and_or_short_circuit() {
    // The second argument would fail (b64dec of non-base64) if it were evaluated.
    assert_eq!(ok(r#"{{ or .user (b64dec "!") }}"#), "app");
    assert_eq!(
        ok(r#"{{ if and .empty (b64dec "!") }}x{{ else }}y{{ end }}"#),
        "y"
    );
}

#[test]
fn comparisons() {
    assert_eq!(
        ok(
            r#"{{ eq .user "x" "app" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}"#
        ),
        "true true true true true false"
    );
    assert_eq!(ok("{{ eq .missing nil }}"), "true");
    assert!(matches!(
        r(r#"{{ eq 1 "1" }}"#),
        Err(TemplateError::Type { .. })
    ));
    assert!(matches!(
        r("{{ lt true false }}"),
        Err(TemplateError::Type { .. })
    ));
}

#[test]
fn range_over_maps_lists_and_ints() {
    assert_eq!(
        ok(r#"{{ range $k, $v := dict "b" "2" "a" "1" }}{{ $k }}={{ $v }};{{ end }}"#),
        "a=1;b=2;"
    );
    assert_eq!(
        ok(r#"{{ range $i, $e := list "x" "y" }}{{ $i }}{{ $e }}{{ end }}"#),
        "0x1y"
    );
    assert_eq!(ok("{{ range list }}x{{ else }}empty{{ end }}"), "empty");
    assert_eq!(ok("{{ range .missing }}x{{ else }}none{{ end }}"), "none");
    assert_eq!(ok("{{ range 3 }}{{ . }}{{ end }}"), "012");
    assert_eq!(
        ok(
            "{{ range list 1 2 3 4 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}"
        ),
        "13"
    );
    // The data itself, in sorted key order.
    let out = render(
        "{{ range $k, $v := . }}{{ $k }},{{ end }}",
        &data(&[("b", b"1"), ("a", b"2")]),
    )
    .unwrap();
    assert_eq!(&out[..], b"a,b,");
}

#[test]
fn trimming_comments_and_literals() {
    assert_eq!(ok("a  {{- .user -}}  b"), "aappb");
    assert_eq!(ok("a\n  {{- /* note */ -}}\n  b"), "ab");
    assert_eq!(ok("{{/* a comment */}}x"), "x");
    assert_eq!(ok(r#"{{ "}}" }}{{ `{{ .raw }}` }}"#), "}}{{ .raw }}");
    assert_eq!(ok(r#"{{ "tab\tq\"\x41\u00e9" }}"#), "tab\tq\"Aé");
    assert_eq!(
        ok(
            "{{ 0x1F }} {{ 017 }} {{ 1_000 }} {{ -3 }} {{ 'a' }} {{ 2.50 }} {{ 1e6 }} {{ default 7 nil }}"
        ),
        "31 15 1000 -3 97 2.5 1e+06 7"
    );
    assert_eq!(ok("{{ true }} {{ false }}"), "true false");
    assert_eq!(ok("{{- 3 -}}"), "3");
    assert_eq!(ok("{{-3}}"), "-3");
}

#[test]
fn pipelines_and_parentheses() {
    assert_eq!(ok(r#"{{ .user | printf "%s-%s" "x" }}"#), "x-app");
    assert_eq!(
        ok(r#"{{ (.json | fromJson).host }}:{{ ((fromJson .json).nested).k }}"#),
        "db:v"
    );
    assert_eq!(
        ok(r#"{{ $c := fromJson .json }}{{ $c.port }} {{ index $c.tags 1 }}"#),
        "5432 b"
    );
    assert_eq!(
        ok(r#"{{ len (list 1 2 3) }} {{ len .user }} {{ len (dict "a" 1) }}"#),
        "3 3 1"
    );
    assert_eq!(
        ok(r#"{{ slice "abcdef" 1 3 }} {{ slice (list 1 2 3) 1 }}"#),
        "bc [2 3]"
    );
}

#[test]
fn sprig_strings() {
    assert_eq!(ok("{{ .user | b64enc }} {{ .enc | b64dec }}"), "YXBw hi");
    assert_eq!(
        ok(r#"{{ upper "aé" }} {{ lower "AÉ" }} {{ title "hello wide-world" }}"#),
        "AÉ aé Hello Wide-World"
    );
    assert_eq!(ok("[{{ .password | trim }}]"), "[s3cr3t]");
    assert_eq!(
        ok(r#"{{ trimPrefix "ab" "abc" }} {{ trimSuffix "bc" "abc" }} {{ trimAll "$" "$$5$" }}"#),
        "c a 5"
    );
    assert_eq!(
        ok(r#"{{ .user | replace "p" "P" }} {{ replace "" "-" "ab" }}"#),
        "aPP -a-b-"
    );
    assert_eq!(
        ok(r#"{{ contains "pp" .user }} {{ hasPrefix "a" .user }} {{ hasSuffix "x" .user }}"#),
        "true true false"
    );
    assert_eq!(
        ok(r#"{{ quote .user "b" }} {{ squote .user }} {{ cat "a" 1 nil "b" }}"#),
        r#""app" "b" 'app' a 1 b"#
    );
    assert_eq!(
        ok(r#"{{ "a\nb" | indent 2 }}|{{ "a" | nindent 2 }}"#),
        "  a\n  b|\n  a"
    );
    assert_eq!(
        ok(
            r#"{{ repeat 3 "ab" }} {{ substr 1 3 "abcd" }} {{ trunc 2 "abcd" }} {{ trunc -2 "abcd" }}"#
        ),
        "ababab bc ab cd"
    );
    assert_eq!(
        ok(
            r#"{{ nospace " a b " }} {{ join "," (splitList ":" "a:b:c") }} {{ (split ":" "x:y")._1 }}"#
        ),
        "ab a,b,c y"
    );
    assert_eq!(
        ok(r#"{{ list "b" "a" | sortAlpha | join "" }} {{ join "-" (list 1 nil "z") }}"#),
        "ab 1-z"
    );
    assert_eq!(ok(r#"{{ "a\"b" | quote }}"#), r#""a\"b""#);
}

#[test]
fn sprig_defaults_and_logic() {
    assert_eq!(
        ok(r#"{{ .empty | default "x" }}{{ .missing | default "y" }}{{ .user | default "z" }}"#),
        "xyapp"
    );
    assert_eq!(
        ok(r#"{{ empty .empty }} {{ empty .user }} {{ empty 0 }} {{ empty (list) }}"#),
        "true false true true"
    );
    assert_eq!(ok(r#"{{ coalesce .missing .empty .user }}"#), "app");
    assert_eq!(
        ok(r#"{{ ternary "yes" "no" (eq .user "app") }} {{ true | ternary 1 2 }}"#),
        "yes 1"
    );
}

#[test]
fn sprig_lists_and_dicts() {
    assert_eq!(
        ok(
            r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d.b }} {{ get $d "a" }} [{{ get $d "z" }}] {{ hasKey $d "b" }}"#
        ),
        "2 1 [] true"
    );
    assert_eq!(
        ok(
            r#"{{ $d := dict "a" 1 "b" 2 }}{{ keys $d | join "," }} {{ unset $d "a" | keys | join "," }}"#
        ),
        "a,b b"
    );
    assert_eq!(
        ok(r#"{{ first (list 1 2) }} {{ last (list 1 2) }} {{ has 2 (list 1 2) }}"#),
        "1 2 true"
    );
    assert_eq!(
        ok(r#"{{ keys . | join "," }}"#),
        "binary,db-password,empty,enc,json,password,user"
    );
    assert_eq!(
        ok(r#"{{ hasKey . "user" }} {{ get . "user" }}"#),
        "true app"
    );
}

#[test]
fn json_round_trip_and_go_encoding() {
    assert_eq!(
        ok(r#"{{ dict "b" (list 1 2.5 true nil) "a" "<&>" | toJson }}"#),
        r#"{"a":"\u003c\u0026\u003e","b":[1,2.5,true,null]}"#
    );
    assert_eq!(ok(r#"{{ dict "a" "<" | toRawJson }}"#), r#"{"a":"<"}"#);
    assert_eq!(
        ok(r#"{{ dict "a" (list 1) | toPrettyJson }}"#),
        "{\n  \"a\": [\n    1\n  ]\n}"
    );
    assert_eq!(
        ok(r#"{{ .json | fromJson | toJson }}"#),
        r#"{"host":"db","nested":{"k":"v"},"port":5432,"tags":["a","b"]}"#
    );
    assert_eq!(ok(r#"{{ .user | toJson }}"#), r#""app""#);
    assert_eq!(
        ok(r#"{{ (fromJson "1e21") | toJson }} {{ (fromJson "123456789") }}"#),
        "1e+21 1.23456789e+08"
    );
}

#[test]
fn conversions_and_hashes() {
    assert_eq!(ok(r#"{{ atoi "42" }}"#), "42");
    assert_eq!(
        ok(
            r#"{{ atoi "x" }} {{ int "0x10" }} {{ int "8.00" }} {{ int 3.9 }} {{ int64 "-5" }} {{ float64 "1.5" }}"#
        ),
        "0 16 8 3 -5 1.5"
    );
    assert_eq!(ok(r#"{{ toString 5 }} {{ 5 | toString | len }}"#), "5 1");
    assert_eq!(
        ok(r#"{{ sha256sum "abc" }}"#),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        ok(r#"{{ sha1sum "abc" }}"#),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
}

#[test]
fn go_escapers() {
    assert_eq!(
        ok(r#"{{ html "<a href='x'>&\"" }}"#),
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"
    );
    assert_eq!(ok(r#"{{ urlquery "a b&c/é" }}"#), "a+b%26c%2F%C3%A9");
    assert_eq!(ok(r#"{{ js "it's <x>" }}"#), r"it\'s \u003Cx\u003E");
}

#[test]
fn bytes_stay_bytes() {
    let out = render("{{ .binary }}", &values()).unwrap();
    assert_eq!(&out[..], &[0xff, 0x00, 0x41]);
    let out = render("{{ .binary | b64enc }}", &values()).unwrap();
    assert_eq!(&out[..], b"/wBB");
    let out = render(r#"{{ "/wBB" | b64dec }}"#, &values()).unwrap();
    assert_eq!(&out[..], &[0xff, 0x00, 0x41]);
    assert_eq!(ok(r#"{{ printf "%q" .binary }}"#), r#""\xff\x00A""#);
}

#[test]
fn check_accepts_what_render_needs_no_values_for() {
    for t in [
        r#"{{ index . "db-password" }}"#,
        r#"{{ printf "%s" .x }}"#,
        "{{ range $k, $v := . }}{{ $k }}{{ end }}",
        "{{ if .a }}{{ else if .b }}{{ else }}{{ end }}",
    ] {
        assert_eq!(check(t), Ok(()), "{t}");
    }
}

#[test]
fn float_formatting_matches_go() {
    assert_eq!(
        ok(
            r#"{{ printf "%e|%.3g|%.3g|%G|%8.2f|%+.1f" -1234.5 1234.5678 0.00012345 1e-9 3.14159 2.0 }}"#
        ),
        "-1.234500e+03|1.23e+03|0.000123|1E-09|    3.14|+2.0"
    );
    assert_eq!(
        ok("{{ 123456.0 }} {{ 1234567.0 }} {{ 0.00001 }} {{ -2.5 }}"),
        "123456 1.234567e+06 1e-05 -2.5"
    );
    assert_eq!(
        ok(r#"{{ fromJson "-1.5e-7" | toJson }} {{ fromJson "[0.5, 100, 1e20]" | toJson }}"#),
        "-1.5e-7 [0.5,100,100000000000000000000]"
    );
    assert_eq!(
        ok(r#"{{ int "1_000" }} {{ int "0b101" }} {{ int "9223372036854775808" }}"#),
        "1000 5 0"
    );
}

#[test]
fn sprig_integer_math() {
    assert_eq!(
        ok(
            r#"{{ add 1 2 "3" }} {{ add1 41 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 3 }} {{ max 1 9 3 }} {{ min 4 -2 }}"#
        ),
        "6 42 -2 24 3 1 9 -2"
    );
    assert!(matches!(
        r("{{ div 1 0 }}"),
        Err(TemplateError::Function { func: "div", .. })
    ));
    assert!(matches!(
        check(r#"{{ regexMatch "a" .user }}"#),
        Err(TemplateError::Unsupported { .. })
    ));
}
