//! Unquoted scalars that kubectl would read differently from us.
//!
//! kubectl reads YAML with go-yaml v2, which resolves plain scalars by YAML 1.1's rules (`on`,
//! `yes`, `n` are booleans; `012` is octal; `1_000` is a number); our parser follows YAML 1.2
//! (all three are text). A manifest that means one thing to kubectl and another to us must not
//! be sealed: the Secret in the cluster would differ from the file the person checked.
//!
//! Data flow: the text goes through an event parser that tells plain scalars from quoted ones
//! → each plain scalar is resolved twice, by go-yaml v2's rules (written here from its
//! documented behaviour) and by our parser → the first that disagrees is an
//! [`Ambiguous`] naming its line and column and both readings, never the scalar itself (it
//! may be a secret value). Syntax errors are left to the real parse that follows.

use granit_parser::{Event, Parser, ScalarStyle};

/// How a reader resolved a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reading {
    Null,
    Bool(bool),
    Number(f64),
    Text,
}

impl Reading {
    fn describe(self) -> &'static str {
        match self {
            Reading::Null => "null",
            Reading::Bool(_) => "a boolean",
            Reading::Number(_) => "a number",
            Reading::Text => "text",
        }
    }
}

/// A plain scalar kubectl and we would read differently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}, column {column}: kubectl (YAML 1.1) reads this unquoted scalar as {kubectl} \
     and YAML 1.2 readers as {ours}: quote it (\"…\") to mean the text"
)]
pub struct Ambiguous {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// kubectl's reading.
    pub kubectl: &'static str,
    /// Ours.
    pub ours: &'static str,
}

/// The first plain scalar of a YAML stream that kubectl would read otherwise than we do.
pub(crate) fn find_ambiguous(text: &str) -> Option<Ambiguous> {
    for event in Parser::new_from_str(text) {
        // A syntax error is the real parser's to report, with its own words.
        let Ok((event, span)) = event else {
            return None;
        };
        let Event::Scalar(value, ScalarStyle::Plain, _, None) = event else {
            continue;
        };
        let (kubectl, ours) = (go_yaml_v2(&value), yaml_1_2(&value));
        if !same(kubectl, ours) {
            return Some(Ambiguous {
                line: span.start.line(),
                column: span.start.col() + 1,
                kubectl: kubectl.describe(),
                ours: ours.describe(),
            });
        }
    }
    None
}

fn same(a: Reading, b: Reading) -> bool {
    match (a, b) {
        // Both are numbers in JSON: only the value matters (`08` is 8 either way).
        (Reading::Number(x), Reading::Number(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// Our parser's reading of a lone plain scalar.
fn yaml_1_2(plain: &str) -> Reading {
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(plain) {
        Ok(serde_yaml_ng::Value::Null) => Reading::Null,
        Ok(serde_yaml_ng::Value::Bool(b)) => Reading::Bool(b),
        Ok(serde_yaml_ng::Value::Number(n)) => Reading::Number(n.as_f64().unwrap_or(f64::NAN)),
        _ => Reading::Text,
    }
}

/// go-yaml v2's `resolve` for an untagged plain scalar: a fixed table of booleans, nulls and
/// special floats; then, for a scalar starting with a digit, a sign or a dot, Go's base-0
/// integer syntax (underscores removed), then its float syntax. Timestamps stay text when
/// decoded into the untyped tree kubectl uses.
fn go_yaml_v2(plain: &str) -> Reading {
    match plain {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Reading::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Reading::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Reading::Null,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Reading::Number(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Reading::Number(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Reading::Number(f64::NAN),
        _ => {}
    }
    if !plain.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return Reading::Text;
    }
    let compact = plain.replace('_', "");
    if let Some(n) = go_parse_int(&compact) {
        return Reading::Number(n as f64);
    }
    if go_style_float(&compact)
        && let Ok(f) = compact.parse::<f64>()
    {
        return Reading::Number(f);
    }
    Reading::Text
}

/// Go's `strconv.ParseInt(s, 0, 64)`, or `ParseUint` for what overflows it: an optional sign,
/// then `0x`, `0o`, `0b` or a leading `0` (octal) or decimal digits.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let prefixed = |p: &str| {
        body.strip_prefix(p)
            .or_else(|| body.strip_prefix(&p.to_ascii_uppercase()))
    };
    let (radix, digits) = if let Some(d) = prefixed("0x") {
        (16, d)
    } else if let Some(d) = prefixed("0b") {
        (2, d)
    } else if let Some(d) = prefixed("0o") {
        (8, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    // from_str_radix would take a second sign; Go does not.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let value = i128::from_str_radix(digits, radix).ok()?;
    let value = if negative { -value } else { value };
    let fits = if negative {
        value >= i128::from(i64::MIN)
    } else {
        value <= i128::from(u64::MAX)
    };
    fits.then_some(value)
}

/// go-yaml v2's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn go_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && digits(frac),
        Some((int, frac)) => !int.is_empty() && digits(int) && digits(frac),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_yaml_readings() {
        for (plain, want) in [
            ("on", Reading::Bool(true)),
            ("No", Reading::Bool(false)),
            ("~", Reading::Null),
            ("012", Reading::Number(10.0)),
            ("0o17", Reading::Number(15.0)),
            ("0b101", Reading::Number(5.0)),
            ("-0x1F", Reading::Number(-31.0)),
            ("1_000", Reading::Number(1000.0)),
            ("08", Reading::Number(8.0)),
            ("1e3", Reading::Number(1000.0)),
            (".5", Reading::Number(0.5)),
            ("+.inf", Reading::Number(f64::INFINITY)),
            ("1.2.3", Reading::Text),
            ("2001-12-14", Reading::Text),
            ("1:20", Reading::Text),
            ("inf", Reading::Text),
            ("nan", Reading::Text),
            ("+-1", Reading::Text),
            ("hello", Reading::Text),
            ("99999999999999999999999", Reading::Number(1e23)),
        ] {
            let got = go_yaml_v2(plain);
            assert!(same(got, want), "{plain}: {got:?}, want {want:?}");
        }
    }

    #[test]
    fn only_disagreements_are_reported() {
        // Read alike by both: ordinary text, true/false, plain decimals, quoted anything.
        let fine =
            "a: hello\nb: true\nc: 42\nd: 1.5\ne: 'on'\nf: \"yes\"\ng: !!str no\nh: 2001-12-14\n";
        assert_eq!(find_ambiguous(fine), None);
        for (text, line, column, kubectl, ours) in [
            ("k: on\n", 1, 4, "a boolean", "text"),
            ("a: x\nenabled: y\n", 2, 10, "a boolean", "text"),
            ("data:\n  on: eA==\n", 2, 3, "a boolean", "text"),
            ("pin: 0123\n", 1, 6, "a number", "text"),
            ("n: 1_000\n", 1, 1, "a boolean", "text"),
        ] {
            let found = find_ambiguous(text).unwrap_or_else(|| panic!("{text:?} passed"));
            assert_eq!(
                (found.line, found.column, found.kubectl, found.ours),
                (line, column, kubectl, ours),
                "{text:?}"
            );
            assert!(!found.to_string().contains("0123"), "{found}");
        }
    }
}
