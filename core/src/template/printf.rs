//! `printf`: Go's `fmt.Sprintf` for the verbs templates use — `%v %s %q %d %x %X %o %b %c
//! %t %f %e %g %U %%` with the `-`, `+`, `#`, `0` and space flags, width and precision.
//! Where Go would write `%!d(string=…)` into the output (with the value), this is an error
//! that names the argument's position and kind only.

use super::MAX_OUTPUT;
use super::value::{Buf, Fail, Value, scientific, special_float, write_float_g, write_v};

/// The largest precision accepted (Go has none; this keeps a float from being formatted
/// to a gigabyte of digits).
const MAX_PRECISION: usize = 1000;

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

fn fail(what: impl Into<String>) -> Fail {
    Fail::Func("printf", what.into())
}

pub(crate) fn sprintf(args: &[Value]) -> Result<Value, Fail> {
    let format = match args.first() {
        Some(Value::Str(s)) => s.clone(),
        Some(other) => {
            return Err(Fail::Type(format!(
                "printf: the format is a {}, expected a string",
                other.kind()
            )));
        }
        None => return Err(fail("no format")),
    };
    let format = format.bytes();
    let mut out = Buf::new(MAX_OUTPUT);
    let mut next_arg = 1;
    let mut i = 0;
    while i < format.len() {
        let Some(offset) = format[i..].iter().position(|b| *b == b'%') else {
            out.push(&format[i..])?;
            break;
        };
        out.push(&format[i..i + offset])?;
        i += offset + 1;
        let mut spec = Spec::default();
        while let Some(&b) = format.get(i) {
            match b {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b'#' => spec.sharp = true,
                b' ' => spec.space = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        spec.width = number(format, &mut i, args, &mut next_arg)?;
        if format.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(number(format, &mut i, args, &mut next_arg)?.unwrap_or(0));
        }
        if spec.precision.is_some_and(|p| p > MAX_PRECISION) {
            return Err(fail(format!("precision above {MAX_PRECISION}")));
        }
        let Some(verb) = first_char(&format[i..]) else {
            return Err(fail("the format ends in the middle of a verb"));
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push(b"%")?;
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(fail("more verbs than arguments"));
        };
        let position = next_arg;
        next_arg += 1;
        let mut body = Buf::new(MAX_OUTPUT);
        let numeric = one(&mut body, verb, spec, arg, position)?;
        pad(&mut out, body.as_bytes(), spec, numeric)?;
    }
    if next_arg < args.len() {
        return Err(fail("more arguments than verbs"));
    }
    Ok(Value::Str(out.into_text()))
}

fn first_char(bytes: &[u8]) -> Option<char> {
    (1..=bytes.len().min(4))
        .find_map(|n| std::str::from_utf8(&bytes[..n]).ok())
        .and_then(|s| s.chars().next())
}

/// Width or precision: digits, or `*` taking an int argument.
fn number(
    format: &[u8],
    i: &mut usize,
    args: &[Value],
    next_arg: &mut usize,
) -> Result<Option<usize>, Fail> {
    if format.get(*i) == Some(&b'*') {
        *i += 1;
        let n = match args.get(*next_arg) {
            Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
            _ => return Err(fail("a `*` width or precision needs an int argument")),
        };
        *next_arg += 1;
        return Ok(Some(n));
    }
    let start = *i;
    let mut n: usize = 0;
    while let Some(d) = format.get(*i).filter(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        *i += 1;
    }
    Ok((*i > start).then_some(n))
}

fn mismatch(position: usize, arg: &Value) -> Fail {
    Fail::Type(format!(
        "printf: argument {position} is a {}, which its verb does not format",
        arg.kind()
    ))
}

/// Format one argument into `body`; returns whether it is a number (for `0` padding).
fn one(body: &mut Buf, verb: char, spec: Spec, arg: &Value, position: usize) -> Result<bool, Fail> {
    match (verb, arg) {
        ('v' | 's', Value::Str(s)) => {
            truncate_runes(body, s.bytes(), spec.precision)?;
            Ok(false)
        }
        ('v', Value::Int(i)) => int(body, *i, 10, spec, false),
        ('v', Value::Float(f)) => {
            sign(body, *f, spec)?;
            write_float_g(body, f.abs(), spec.precision, false)?;
            Ok(true)
        }
        ('v', other) => {
            write_v(body, other, 0)?;
            Ok(false)
        }
        ('s', Value::List(_) | Value::Dict(_)) => {
            write_v(body, arg, 0)?;
            Ok(false)
        }
        ('q', Value::Str(s)) => {
            quote(body, s.bytes())?;
            Ok(false)
        }
        ('q', Value::Int(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            body.push(b"'")?;
            match c {
                '\'' => body.push(b"\\'")?,
                c => quote_char(body, c, '\'')?,
            }
            body.push(b"'")?;
            Ok(false)
        }
        ('d', Value::Int(i)) => int(body, *i, 10, spec, false),
        ('x', Value::Int(i)) => int(body, *i, 16, spec, false),
        ('X', Value::Int(i)) => int(body, *i, 16, spec, true),
        ('o' | 'O', Value::Int(i)) => int(body, *i, 8, spec, verb == 'O'),
        ('b', Value::Int(i)) => int(body, *i, 2, spec, false),
        ('x' | 'X', Value::Str(s)) => {
            for b in s.bytes() {
                if verb == 'x' {
                    body.push_fmt(format_args!("{b:02x}"))?;
                } else {
                    body.push_fmt(format_args!("{b:02X}"))?;
                }
            }
            Ok(false)
        }
        ('c', Value::Int(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            body.push_char(c)?;
            Ok(false)
        }
        ('U', Value::Int(i)) => {
            body.push_fmt(format_args!("U+{:04X}", i))?;
            Ok(false)
        }
        ('t', Value::Bool(b)) => {
            body.push(if *b { b"true" } else { b"false" })?;
            Ok(false)
        }
        ('f' | 'F' | 'e' | 'E' | 'g' | 'G', Value::Float(f)) => {
            float(body, *f, verb, spec)?;
            Ok(true)
        }
        (c, _) if "vsqdxXoObctfFeEgGU".contains(c) => Err(mismatch(position, arg)),
        _ => Err(fail(
            "unsupported verb (supported: %v %s %q %d %x %X %o %b %c %t %f %e %g %U %%)",
        )),
    }
}

fn sign(body: &mut Buf, f: f64, spec: Spec) -> Result<(), Fail> {
    if f.is_sign_negative() && !f.is_nan() {
        body.push(b"-")
    } else if spec.plus {
        body.push(b"+")
    } else if spec.space {
        body.push(b" ")
    } else {
        Ok(())
    }
}

fn int(
    body: &mut Buf,
    i: i64,
    radix: u32,
    spec: Spec,
    upper_or_prefix: bool,
) -> Result<bool, Fail> {
    let magnitude = i.unsigned_abs();
    if i < 0 {
        body.push(b"-")?;
    } else if spec.plus {
        body.push(b"+")?;
    } else if spec.space {
        body.push(b" ")?;
    }
    let digits = match radix {
        16 if upper_or_prefix => format!("{magnitude:X}"),
        16 => format!("{magnitude:x}"),
        8 => format!("{magnitude:o}"),
        2 => format!("{magnitude:b}"),
        _ => format!("{magnitude}"),
    };
    let digits = zeroize::Zeroizing::new(digits);
    match radix {
        16 if spec.sharp => body.push(if upper_or_prefix { b"0X" } else { b"0x" })?,
        8 if upper_or_prefix => body.push(b"0o")?,
        8 if spec.sharp && magnitude != 0 => body.push(b"0")?,
        2 if spec.sharp => body.push(b"0b")?,
        _ => {}
    }
    // A precision is a minimum number of digits.
    if let Some(p) = spec.precision {
        for _ in digits.len()..p {
            body.push(b"0")?;
        }
    }
    body.push(digits.as_bytes())?;
    Ok(spec.precision.is_none())
}

fn float(body: &mut Buf, f: f64, verb: char, spec: Spec) -> Result<(), Fail> {
    if let Some(special) = special_float(f) {
        if f.is_infinite() {
            if f < 0.0 {
                body.push(b"-")?;
            } else if spec.plus {
                body.push(b"+")?;
            }
            return body.push(b"Inf");
        }
        return body.push(special.as_bytes());
    }
    sign(body, f, spec)?;
    let f = f.abs();
    match verb {
        'f' | 'F' => body.push_fmt(format_args!("{:.*}", spec.precision.unwrap_or(6), f)),
        'e' | 'E' => {
            let precision = spec.precision.unwrap_or(6);
            let (digits, exp) = scientific(f, Some(precision))?;
            let digits = digits.as_bytes();
            body.push(&digits[..1])?;
            if digits.len() > 1 {
                body.push(b".")?;
                body.push(&digits[1..])?;
            }
            body.push(if verb == 'E' { b"E" } else { b"e" })?;
            body.push(if exp < 0 { b"-" } else { b"+" })?;
            body.push_fmt(format_args!("{:02}", exp.unsigned_abs()))
        }
        _ => write_float_g(body, f, spec.precision, verb == 'G'),
    }
}

fn truncate_runes(body: &mut Buf, s: &[u8], precision: Option<usize>) -> Result<(), Fail> {
    let Some(p) = precision else {
        return body.push(s);
    };
    match std::str::from_utf8(s) {
        Ok(text) => {
            let end = text.char_indices().nth(p).map_or(text.len(), |(i, _)| i);
            body.push(&s[..end])
        }
        Err(_) => body.push(&s[..p.min(s.len())]),
    }
}

/// Pad to the width (counted in characters), left or right, with spaces or (numbers) zeros
/// after the sign.
fn pad(out: &mut Buf, body: &[u8], spec: Spec, numeric: bool) -> Result<(), Fail> {
    let chars = std::str::from_utf8(body).map_or(body.len(), |s| s.chars().count());
    let fill = spec.width.unwrap_or(0).saturating_sub(chars);
    if fill == 0 {
        return out.push(body);
    }
    if spec.minus {
        out.push(body)?;
        return (0..fill).try_for_each(|_| out.push(b" "));
    }
    if spec.zero && numeric {
        let sign_len = usize::from(matches!(body.first(), Some(b'-' | b'+' | b' ')));
        out.push(&body[..sign_len])?;
        (0..fill).try_for_each(|_| out.push(b"0"))?;
        return out.push(&body[sign_len..]);
    }
    (0..fill).try_for_each(|_| out.push(b" "))?;
    out.push(body)
}

/// Go's `strconv.Quote`: double quotes, escapes for quotes, backslashes and anything not
/// printable; invalid UTF-8 bytes as `\x..`.
pub(crate) fn quote(out: &mut Buf, s: &[u8]) -> Result<(), Fail> {
    out.push(b"\"")?;
    let mut rest = s;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                for c in text.chars() {
                    quote_char(out, c, '"')?;
                }
                break;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                for c in std::str::from_utf8(valid).unwrap_or("").chars() {
                    quote_char(out, c, '"')?;
                }
                out.push_fmt(format_args!("\\x{:02x}", bad[0]))?;
                rest = &bad[1..];
            }
        }
    }
    out.push(b"\"")
}

fn quote_char(out: &mut Buf, c: char, quote: char) -> Result<(), Fail> {
    match c {
        c if c == quote => {
            out.push(b"\\")?;
            out.push_char(c)
        }
        '\\' => out.push(b"\\\\"),
        '\u{07}' => out.push(b"\\a"),
        '\u{08}' => out.push(b"\\b"),
        '\u{0c}' => out.push(b"\\f"),
        '\n' => out.push(b"\\n"),
        '\r' => out.push(b"\\r"),
        '\t' => out.push(b"\\t"),
        '\u{0b}' => out.push(b"\\v"),
        c if printable(c) => out.push_char(c),
        c if (c as u32) < 0x80 => out.push_fmt(format_args!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_fmt(format_args!("\\u{:04x}", c as u32)),
        c => out.push_fmt(format_args!("\\U{:08x}", c as u32)),
    }
}

/// An approximation of Go's `strconv.IsPrint`: no controls, no spaces but U+0020, no
/// format characters we know of.
fn printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
        || ('\u{e000}'..='\u{f8ff}').contains(&c))
}
