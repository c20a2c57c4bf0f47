//! Arbitrary text never panics, `check` agrees with `render` on what is malformed, and the
//! output never passes the limit.

use proptest::prelude::*;

use super::*;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("{{- ".to_owned()),
        Just(" -}}".to_owned()),
        Just(" | ".to_owned()),
        Just(" ".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(".user".to_owned()),
        Just(".".to_owned()),
        Just("$".to_owned()),
        Just("$x := ".to_owned()),
        Just("$x".to_owned()),
        Just("\"a\"".to_owned()),
        Just("`r`".to_owned()),
        Just("12".to_owned()),
        Just("-1".to_owned()),
        Just("1.5".to_owned()),
        Just("if ".to_owned()),
        Just("else ".to_owned()),
        Just("end".to_owned()),
        Just("range ".to_owned()),
        Just("with ".to_owned()),
        Just("break".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("index . \"db-password\"".to_owned()),
        Just("printf \"%s%d%v%q%x\" ".to_owned()),
        Just("repeat 100000 ".to_owned()),
        Just("list ".to_owned()),
        Just("dict ".to_owned()),
        Just("toJson ".to_owned()),
        Just("fromJson ".to_owned()),
        Just("default ".to_owned()),
        Just("b64dec ".to_owned()),
        Just("upper ".to_owned()),
        Just("slice ".to_owned()),
        Just("eq ".to_owned()),
        Just("and ".to_owned()),
        "[ -~]{0,6}",
        any::<String>().prop_map(|s| s.chars().take(4).collect()),
    ]
}

fn template() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..30).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_templates_never_panic_and_respect_bounds(t in template()) {
        let checked = check(&t);
        let rendered = render(&t, &values());
        match (&checked, &rendered) {
            (Err(c), Err(r)) => prop_assert_eq!(c, r),
            (Err(c), Ok(_)) => prop_assert!(false, "check failed ({c}) but render succeeded"),
            (Ok(()), Ok(out)) => prop_assert!(out.len() <= MAX_OUTPUT),
            (Ok(()), Err(_)) => {}
        }
    }

    #[test]
    fn arbitrary_values_render_verbatim(value in prop::collection::vec(any::<u8>(), 0..64)) {
        let values = data(&[("v", &value)]);
        let out = render(r#"{{ .v }}|{{ index . "v" | b64enc | b64dec }}"#, &values).unwrap();
        let mut expected = value.clone();
        expected.push(b'|');
        expected.extend_from_slice(&value);
        prop_assert_eq!(&out[..], &expected[..]);
    }
}
