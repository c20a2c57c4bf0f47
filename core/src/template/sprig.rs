//! The Sprig functions Sealed Secrets and ESO users write: strings, base64, defaults, lists
//! and dicts, conversions and hashes, with Sprig's argument order (the subject last, so it
//! can be piped). Every string is built in a zeroizing [`Buf`]; a function that would build
//! more than the output limit fails instead.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::builtins::equal;
use super::funcs::Func;
use super::printf::quote;
use super::value::{Arena, Buf, Fail, Text, Value, to_text, write_v};
use super::{MAX_OUTPUT, MAX_STEPS};

/// Argument `i` as a string.
pub(crate) fn text(func: Func, args: &[Value], i: usize) -> Result<&Text, Fail> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(Fail::Type(format!(
            "{}: argument {} is a {}, expected a string",
            func.name(),
            i + 1,
            other.kind()
        ))),
        None => Err(Fail::Func(func.name(), "missing argument".into())),
    }
}

fn int(func: Func, args: &[Value], i: usize) -> Result<i64, Fail> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(other) => Err(Fail::Type(format!(
            "{}: argument {} is a {}, expected an int",
            func.name(),
            i + 1,
            other.kind()
        ))),
        None => Err(Fail::Func(func.name(), "missing argument".into())),
    }
}

fn count(func: Func, args: &[Value], i: usize) -> Result<usize, Fail> {
    usize::try_from(int(func, args, i)?).map_err(|_| {
        Fail::Func(
            func.name(),
            format!("argument {} must not be negative", i + 1),
        )
    })
}

fn dict_arg(func: Func, args: &[Value], i: usize) -> Result<super::value::DictRef, Fail> {
    match args.get(i) {
        Some(Value::Dict(d)) => Ok(Rc::clone(d)),
        Some(other) => Err(Fail::Type(format!(
            "{}: argument {} is a {}, expected a dict",
            func.name(),
            i + 1,
            other.kind()
        ))),
        None => Err(Fail::Func(func.name(), "missing argument".into())),
    }
}

fn done(buf: Buf) -> Result<Value, Fail> {
    Ok(Value::Str(buf.into_text()))
}

fn bytes_value(bytes: &[u8]) -> Result<Value, Fail> {
    let mut buf = Buf::new(MAX_OUTPUT);
    buf.push(bytes)?;
    done(buf)
}

pub(crate) fn call(arena: &mut Arena, func: Func, args: Vec<Value>) -> Result<Value, Fail> {
    let a = &args;
    match func {
        Func::B64enc => b64enc(text(func, a, 0)?.bytes()),
        Func::B64dec => b64dec(text(func, a, 0)?.bytes()),
        Func::Upper => map_case(text(func, a, 0)?.bytes(), true),
        Func::Lower => map_case(text(func, a, 0)?.bytes(), false),
        Func::Title => title(text(func, a, 0)?.bytes()),
        Func::Trim => {
            let s = text(func, a, 0)?;
            match s.str() {
                Some(t) => bytes_value(t.trim().as_bytes()),
                None => bytes_value(s.bytes().trim_ascii()),
            }
        }
        Func::TrimPrefix => {
            let (prefix, s) = (text(func, a, 0)?.bytes(), text(func, a, 1)?.bytes());
            bytes_value(s.strip_prefix(prefix).unwrap_or(s))
        }
        Func::TrimSuffix => {
            let (suffix, s) = (text(func, a, 0)?.bytes(), text(func, a, 1)?.bytes());
            bytes_value(s.strip_suffix(suffix).unwrap_or(s))
        }
        Func::TrimAll => trim_all(text(func, a, 0)?, text(func, a, 1)?),
        Func::Replace => replace(
            text(func, a, 0)?.bytes(),
            text(func, a, 1)?.bytes(),
            text(func, a, 2)?.bytes(),
        ),
        Func::Contains => {
            let (needle, s) = (text(func, a, 0)?.bytes(), text(func, a, 1)?.bytes());
            arena.charge_bytes(s.len() + needle.len());
            Ok(Value::Bool(find(s, needle).is_some()))
        }
        Func::HasPrefix => Ok(Value::Bool(
            text(func, a, 1)?
                .bytes()
                .starts_with(text(func, a, 0)?.bytes()),
        )),
        Func::HasSuffix => Ok(Value::Bool(
            text(func, a, 1)?
                .bytes()
                .ends_with(text(func, a, 0)?.bytes()),
        )),
        Func::Quote | Func::Squote => {
            let mut buf = Buf::new(MAX_OUTPUT);
            for (i, v) in a.iter().filter(|v| !v.is_nil()).enumerate() {
                if i > 0 {
                    buf.push(b" ")?;
                }
                let s = to_text(v, MAX_OUTPUT)?;
                if func == Func::Quote {
                    quote(&mut buf, s.bytes())?;
                } else {
                    buf.push(b"'")?;
                    buf.push(s.bytes())?;
                    buf.push(b"'")?;
                }
            }
            done(buf)
        }
        Func::Cat => {
            let mut buf = Buf::new(MAX_OUTPUT);
            for (i, v) in a.iter().filter(|v| !v.is_nil()).enumerate() {
                if i > 0 {
                    buf.push(b" ")?;
                }
                write_v(&mut buf, v, 0)?;
            }
            done(buf)
        }
        Func::Indent | Func::Nindent => {
            let spaces = count(func, a, 0)?;
            let s = text(func, a, 1)?.bytes();
            let mut buf = Buf::new(MAX_OUTPUT);
            if func == Func::Nindent {
                buf.push(b"\n")?;
            }
            let pad = |buf: &mut Buf| (0..spaces).try_for_each(|_| buf.push(b" "));
            pad(&mut buf)?;
            for &b in s {
                buf.push(&[b])?;
                if b == b'\n' {
                    pad(&mut buf)?;
                }
            }
            done(buf)
        }
        Func::Repeat => {
            let n = count(func, a, 0)?;
            let s = text(func, a, 1)?.bytes();
            if !s.is_empty() && n > MAX_OUTPUT / s.len() {
                return Err(Fail::Full);
            }
            let mut buf = Buf::new(MAX_OUTPUT);
            for _ in 0..if s.is_empty() { 0 } else { n } {
                buf.push(s)?;
            }
            done(buf)
        }
        Func::Substr => {
            let (start, end) = (int(func, a, 0)?, int(func, a, 1)?);
            let s = text(func, a, 2)?.bytes();
            let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
            let (from, to) = if start < 0 {
                (0, end)
            } else if end < 0 || end > len {
                (start, len)
            } else {
                (start, end)
            };
            if from > to || to > len || to < 0 {
                return Err(Fail::Func("substr", "indexes out of range".into()));
            }
            bytes_value(&s[from as usize..to as usize])
        }
        Func::Trunc => {
            let c = int(func, a, 0)?;
            let s = text(func, a, 1)?.bytes();
            let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
            if c < 0 && len + c > 0 {
                bytes_value(&s[(len + c) as usize..])
            } else if c >= 0 && len > c {
                bytes_value(&s[..c as usize])
            } else {
                bytes_value(s)
            }
        }
        Func::Nospace => {
            let s = text(func, a, 0)?;
            let mut buf = Buf::new(MAX_OUTPUT);
            match s.str() {
                Some(t) => {
                    for c in t.chars().filter(|c| !c.is_whitespace()) {
                        buf.push_char(c)?;
                    }
                }
                None => {
                    for b in s.bytes().iter().filter(|b| !b.is_ascii_whitespace()) {
                        buf.push(&[*b])?;
                    }
                }
            }
            done(buf)
        }
        Func::Split | Func::SplitList => {
            let (sep, s) = (text(func, a, 0)?.bytes(), text(func, a, 1)?.bytes());
            let parts = split(s, sep);
            // Each part costs a step; stop before building a list the budget cannot pay for.
            if parts.len() > MAX_STEPS {
                return Err(Fail::Steps);
            }
            if func == Func::SplitList {
                return Ok(Value::List(Rc::new(
                    parts.into_iter().map(Value::str).collect(),
                )));
            }
            let map = parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (Text::new(format!("_{i}").as_bytes()), Value::str(p)))
                .collect();
            Ok(arena.dict(map, false))
        }
        Func::Join => {
            let sep = text(func, a, 0)?.bytes();
            let mut buf = Buf::new(MAX_OUTPUT);
            for (i, s) in strslice(&a[1])?.iter().enumerate() {
                if i > 0 {
                    buf.push(sep)?;
                }
                buf.push(s.bytes())?;
            }
            done(buf)
        }
        Func::SortAlpha => {
            let mut items = strslice(&a[0])?;
            items.sort();
            Ok(Value::List(Rc::new(
                items.into_iter().map(Value::Str).collect(),
            )))
        }
        Func::Default => Ok(match a.get(1) {
            Some(given) if !empty(given) => given.clone(),
            _ => a[0].clone(),
        }),
        Func::Empty => Ok(Value::Bool(empty(&a[0]))),
        Func::Coalesce => Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil)),
        Func::Ternary => match &a[2] {
            Value::Bool(true) => Ok(a[0].clone()),
            Value::Bool(false) => Ok(a[1].clone()),
            other => Err(Fail::Type(format!(
                "ternary: argument 3 is a {}, expected a bool",
                other.kind()
            ))),
        },
        Func::List => Ok(Value::List(Rc::new(args))),
        Func::Dict => {
            let mut map = BTreeMap::new();
            let mut total = 0usize;
            for pair in a.chunks(2) {
                // Keys built from lists or dicts count against the size limit together.
                let key = to_text(&pair[0], MAX_OUTPUT - total)?;
                total += key.bytes().len();
                if total >= MAX_OUTPUT {
                    return Err(Fail::Full);
                }
                map.insert(key, pair.get(1).cloned().unwrap_or_else(|| Value::str(b"")));
            }
            Ok(arena.dict(map, false))
        }
        Func::Get => {
            let d = dict_arg(func, a, 0)?;
            let key = text(func, a, 1)?;
            let value = d.borrow().map.get(key).cloned();
            Ok(value.unwrap_or_else(|| Value::str(b"")))
        }
        Func::Set | Func::Unset => {
            let d = dict_arg(func, a, 0)?;
            let key = text(func, a, 1)?.clone();
            let mut dict = d.try_borrow_mut().map_err(|_| Fail::Deep)?;
            if dict.strings_only {
                return Err(Fail::Type(format!(
                    "{}: the template's data cannot be changed; make a dict",
                    func.name()
                )));
            }
            if func == Func::Set {
                dict.map.insert(key, a[2].clone());
            } else {
                dict.map.remove(&key);
            }
            drop(dict);
            Ok(Value::Dict(d))
        }
        Func::HasKey => {
            let d = dict_arg(func, a, 0)?;
            let key = text(func, a, 1)?;
            Ok(Value::Bool(d.borrow().map.contains_key(key)))
        }
        Func::Keys => {
            let mut total = 0usize;
            for i in 0..a.len() {
                total = total.saturating_add(dict_arg(func, a, i)?.borrow().map.len());
            }
            if total > MAX_STEPS {
                return Err(Fail::Steps);
            }
            let mut keys = Vec::with_capacity(total);
            for i in 0..a.len() {
                let d = dict_arg(func, a, i)?;
                keys.extend(d.borrow().map.keys().cloned().map(Value::Str));
            }
            Ok(Value::List(Rc::new(keys)))
        }
        Func::Has => match &a[1] {
            Value::List(items) => {
                let mut budget = MAX_STEPS;
                let mut found = false;
                for item in items.iter() {
                    if deep_equal(item, &a[0], 0, &mut budget)? {
                        found = true;
                        break;
                    }
                }
                arena.charge(MAX_STEPS - budget);
                Ok(Value::Bool(found))
            }
            Value::Nil => Ok(Value::Bool(false)),
            other => Err(Fail::Type(format!(
                "has: argument 2 is a {}, expected a list",
                other.kind()
            ))),
        },
        Func::First | Func::Last => match &a[0] {
            Value::List(items) => Ok(if func == Func::First {
                items.first()
            } else {
                items.last()
            }
            .cloned()
            .unwrap_or(Value::Nil)),
            other => Err(Fail::Type(format!(
                "{}: argument 1 is a {}, expected a list",
                func.name(),
                other.kind()
            ))),
        },
        Func::ToString => Ok(Value::Str(to_text(&a[0], MAX_OUTPUT)?)),
        Func::Atoi => {
            let s = text(func, a, 0)?;
            arena.charge_bytes(s.bytes().len());
            Ok(Value::Int(
                s.str().and_then(|t| t.parse().ok()).unwrap_or(0),
            ))
        }
        Func::Int | Func::Int64 => {
            if let Value::Str(s) = &a[0] {
                arena.charge_bytes(s.bytes().len());
            }
            Ok(Value::Int(to_int(&a[0])))
        }
        Func::Float64 => Ok(Value::Float(match &a[0] {
            Value::Float(f) => *f,
            Value::Int(i) => *i as f64,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Str(s) => {
                arena.charge_bytes(s.bytes().len());
                s.str().and_then(|t| t.trim().parse().ok()).unwrap_or(0.0)
            }
            _ => 0.0,
        })),
        Func::Sha1sum | Func::Sha256sum => {
            let s = text(func, a, 0)?;
            arena.charge_bytes(s.bytes().len());
            let algorithm = if func == Func::Sha1sum {
                &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY
            } else {
                &aws_lc_rs::digest::SHA256
            };
            hash(algorithm, s)
        }
        Func::Add => Ok(Value::Int(
            a.iter().fold(0i64, |sum, v| sum.wrapping_add(to_int(v))),
        )),
        Func::Add1 => Ok(Value::Int(to_int(&a[0]).wrapping_add(1))),
        Func::Sub => Ok(Value::Int(to_int(&a[0]).wrapping_sub(to_int(&a[1])))),
        Func::Mul => Ok(Value::Int(
            a.iter()
                .fold(1i64, |product, v| product.wrapping_mul(to_int(v))),
        )),
        Func::Div | Func::Mod => {
            let (x, y) = (to_int(&a[0]), to_int(&a[1]));
            if y == 0 {
                return Err(Fail::Func(func.name(), "division by zero".into()));
            }
            Ok(Value::Int(if func == Func::Div {
                x.wrapping_div(y)
            } else {
                x.wrapping_rem(y)
            }))
        }
        Func::Max | Func::Min => {
            let values = a.iter().map(to_int);
            Ok(Value::Int(if func == Func::Max {
                values.max().unwrap_or(0)
            } else {
                values.min().unwrap_or(0)
            }))
        }
        _ => Err(Fail::Func(func.name(), "not dispatched".into())),
    }
}

fn b64enc(input: &[u8]) -> Result<Value, Fail> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let len = base64::encoded_len(input.len(), true).ok_or(Fail::Full)?;
    if len > MAX_OUTPUT {
        return Err(Fail::Full);
    }
    let mut out = Zeroizing::new(vec![0u8; len]);
    let written = engine
        .encode_slice(input, &mut out[..])
        .map_err(|_| Fail::Func("b64enc", "encoding failed".into()))?;
    out.truncate(written);
    bytes_value(&out)
}

fn b64dec(input: &[u8]) -> Result<Value, Fail> {
    // Go's decoder skips CR and LF.
    let mut clean = Buf::new(MAX_OUTPUT);
    for &b in input.iter().filter(|b| !matches!(b, b'\r' | b'\n')) {
        clean.push(&[b])?;
    }
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut out = Zeroizing::new(vec![0u8; clean.len() / 4 * 3 + 3]);
    let written = engine
        .decode_slice(clean.as_bytes(), &mut out[..])
        .map_err(|_| Fail::Func("b64dec", "the argument is not valid base64".into()))?;
    out.truncate(written);
    bytes_value(&out)
}

fn map_case(s: &[u8], upper: bool) -> Result<Value, Fail> {
    let mut buf = Buf::new(MAX_OUTPUT);
    match std::str::from_utf8(s) {
        Ok(t) => {
            for c in t.chars() {
                if upper {
                    c.to_uppercase().try_for_each(|u| buf.push_char(u))?;
                } else {
                    c.to_lowercase().try_for_each(|l| buf.push_char(l))?;
                }
            }
        }
        Err(_) => {
            for b in s {
                buf.push(&[if upper {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                }])?;
            }
        }
    }
    done(buf)
}

/// Go's `strings.Title`: upper-case the first letter of each word; ASCII letters, digits
/// and `_` continue a word, as do non-ASCII letters and digits.
fn title(s: &[u8]) -> Result<Value, Fail> {
    let Ok(t) = std::str::from_utf8(s) else {
        return bytes_value(s);
    };
    let mut buf = Buf::new(MAX_OUTPUT);
    let mut prev_separator = true;
    for c in t.chars() {
        if prev_separator {
            c.to_uppercase().try_for_each(|u| buf.push_char(u))?;
        } else {
            buf.push_char(c)?;
        }
        prev_separator = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        };
    }
    done(buf)
}

/// Go's `strings.Trim`: the cutset becomes a sorted set first, so a long cutset cannot make
/// trimming quadratic.
fn trim_all(cutset: &Text, s: &Text) -> Result<Value, Fail> {
    match (cutset.str(), s.str()) {
        (Some(cut), Some(t)) => {
            let mut set: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(cut.len()));
            set.extend(cut.chars());
            set.sort_unstable();
            set.dedup();
            bytes_value(t.trim_matches(|c| set.binary_search(&c).is_ok()).as_bytes())
        }
        _ => {
            let mut set = [false; 256];
            for &b in cutset.bytes() {
                set[usize::from(b)] = true;
            }
            let cut = |b: &u8| set[usize::from(*b)];
            let bytes = s.bytes();
            let start = bytes.iter().position(|b| !cut(b)).unwrap_or(bytes.len());
            let end = bytes.iter().rposition(|b| !cut(b)).map_or(start, |e| e + 1);
            bytes_value(&bytes[start..end.max(start)])
        }
    }
}

/// The first position of `needle` in `haystack`, in linear time (Knuth–Morris–Pratt), so a
/// long needle cannot make a search quadratic.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if needle.len() > haystack.len() {
        return None;
    }
    // fail[i]: length of the longest proper border of needle[..=i].
    let mut fail = vec![0usize; needle.len()];
    let mut k = 0;
    for i in 1..needle.len() {
        while k > 0 && needle[i] != needle[k] {
            k = fail[k - 1];
        }
        if needle[i] == needle[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let mut matched = 0;
    for (i, &b) in haystack.iter().enumerate() {
        while matched > 0 && b != needle[matched] {
            matched = fail[matched - 1];
        }
        if b == needle[matched] {
            matched += 1;
        }
        if matched == needle.len() {
            return Some(i + 1 - needle.len());
        }
    }
    None
}

fn replace(old: &[u8], new: &[u8], s: &[u8]) -> Result<Value, Fail> {
    let mut buf = Buf::new(MAX_OUTPUT);
    if old.is_empty() {
        // Go inserts `new` before every character and at the end.
        buf.push(new)?;
        for part in split(s, b"") {
            buf.push(part)?;
            buf.push(new)?;
        }
        return done(buf);
    }
    let mut rest = s;
    while let Some(i) = find(rest, old) {
        buf.push(&rest[..i])?;
        buf.push(new)?;
        rest = &rest[i + old.len()..];
    }
    buf.push(rest)?;
    done(buf)
}

/// Go's `strings.Split`: an empty separator splits into UTF-8 characters.
fn split<'a>(s: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    if sep.is_empty() {
        let mut parts = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            let n = (1..=rest.len().min(4))
                .find(|n| std::str::from_utf8(&rest[..*n]).is_ok())
                .unwrap_or(1);
            parts.push(&rest[..n]);
            rest = &rest[n..];
        }
        return parts;
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(i) = find(rest, sep) {
        parts.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    parts.push(rest);
    parts
}

/// Sprig's `strslice`: a list's non-nil items as strings; nil is empty; anything else is
/// one string.
/// Together the strings are at most the output limit.
fn strslice(v: &Value) -> Result<Vec<Text>, Fail> {
    match v {
        Value::List(items) => {
            let mut total = 0usize;
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter().filter(|v| !v.is_nil()) {
                let text = to_text(item, MAX_OUTPUT - total)?;
                total += text.bytes().len();
                if total >= MAX_OUTPUT {
                    return Err(Fail::Full);
                }
                out.push(text);
            }
            Ok(out)
        }
        Value::Nil | Value::Missing => Ok(Vec::new()),
        other => Ok(vec![to_text(other, MAX_OUTPUT)?]),
    }
}

/// Sprig's `empty`.
pub(crate) fn empty(v: &Value) -> bool {
    !v.truthy()
}

/// Go's `reflect.DeepEqual` for values; every value and every 256 bytes compared spends one
/// of `budget`, so shared sub-lists cannot make a comparison exponential.
fn deep_equal(a: &Value, b: &Value, depth: usize, budget: &mut usize) -> Result<bool, Fail> {
    if depth > super::value::MAX_VALUE_DEPTH {
        return Err(Fail::Deep);
    }
    let cost = match a {
        Value::Str(s) => 1 + s.bytes().len() / super::value::BYTES_PER_STEP,
        _ => 1,
    };
    *budget = budget.checked_sub(cost).ok_or(Fail::Steps)?;
    Ok(match (a, b) {
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (p, q) in x.iter().zip(y.iter()) {
                if !deep_equal(p, q, depth + 1, budget)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Dict(x), Value::Dict(y)) => {
            let (Ok(x), Ok(y)) = (x.try_borrow(), y.try_borrow()) else {
                return Err(Fail::Deep);
            };
            if x.map.len() != y.map.len() {
                return Ok(false);
            }
            for ((k1, v1), (k2, v2)) in x.map.iter().zip(y.map.iter()) {
                if k1 != k2 || !deep_equal(v1, v2, depth + 1, budget)? {
                    return Ok(false);
                }
            }
            true
        }
        _ => equal(a, b).unwrap_or(false),
    })
}

/// spf13/cast's `ToInt`, as Sprig's `int` uses it: 0 when it cannot convert.
fn to_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) if f.is_finite() => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => s.str().map_or(0, parse_int),
        _ => 0,
    }
}

/// `strconv.ParseInt(s, 0, 0)` after dropping a zero decimal part (`"8.00"`), or 0.
fn parse_int(s: &str) -> i64 {
    let s = match s.split_once('.') {
        Some((int, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int,
        Some((int, "")) => int,
        _ => s,
    };
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let bytes = digits.as_bytes();
    let (radix, rest) = match (bytes.first(), bytes.get(1).map(u8::to_ascii_lowercase)) {
        (Some(b'0'), Some(b'x')) => (16, &bytes[2..]),
        (Some(b'0'), Some(b'o')) => (8, &bytes[2..]),
        (Some(b'0'), Some(b'b')) => (2, &bytes[2..]),
        (Some(b'0'), Some(_)) => (8, &bytes[1..]),
        _ => (10, bytes),
    };
    // Digit by digit, so no copy of the text is made.
    let mut n: i64 = 0;
    let mut any = false;
    for &b in rest {
        if b == b'_' {
            continue;
        }
        let Some(d) = char::from(b).to_digit(radix) else {
            return 0;
        };
        any = true;
        let Some(next) = n
            .checked_mul(i64::from(radix))
            .and_then(|n| n.checked_add(i64::from(d)))
        else {
            return 0;
        };
        n = next;
    }
    match (any, negative) {
        (false, _) => 0,
        (true, true) => -n,
        (true, false) => n,
    }
}

fn hash(algorithm: &'static aws_lc_rs::digest::Algorithm, s: &Text) -> Result<Value, Fail> {
    let digest = aws_lc_rs::digest::digest(algorithm, s.bytes());
    let mut buf = Buf::new(MAX_OUTPUT);
    for b in digest.as_ref() {
        buf.push_fmt(format_args!("{b:02x}"))?;
    }
    done(buf)
}
