//! `toJson` / `toPrettyJson` / `toRawJson` and `fromJson`, written here rather than through
//! serde so every byte stays in zeroizing buffers and the output matches Go's
//! `encoding/json`: sorted keys, `<`, `>`, `&`, U+2028 and U+2029 escaped (except in
//! `toRawJson`), invalid UTF-8 as U+FFFD, numbers read as float64 and written in Go's form.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::MAX_OUTPUT;
use super::value::{Arena, Buf, Fail, MAX_VALUE_DEPTH, Text, Value, scientific, special_float};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `json.Marshal`.
    Compact,
    /// `json.MarshalIndent(v, "", "  ")`.
    Pretty,
    /// `json.Marshal` without HTML escaping.
    Raw,
}

pub(crate) fn to_json(v: &Value, style: Style) -> Result<Value, Fail> {
    let mut buf = Buf::new(MAX_OUTPUT);
    write(&mut buf, v, style, 0)?;
    Ok(Value::Str(buf.into_text()))
}

fn newline(buf: &mut Buf, style: Style, depth: usize) -> Result<(), Fail> {
    if style == Style::Pretty {
        buf.push(b"\n")?;
        for _ in 0..depth {
            buf.push(b"  ")?;
        }
    }
    Ok(())
}

fn write(buf: &mut Buf, v: &Value, style: Style, depth: usize) -> Result<(), Fail> {
    if depth > MAX_VALUE_DEPTH {
        return Err(Fail::Deep);
    }
    match v {
        Value::Missing | Value::Nil => buf.push(b"null"),
        Value::Bool(b) => buf.push(if *b { b"true" } else { b"false" }),
        Value::Int(i) => buf.push_fmt(format_args!("{i}")),
        Value::Float(f) => float(buf, *f),
        Value::Str(s) => string(buf, s.bytes(), style != Style::Raw),
        Value::List(items) => {
            if items.is_empty() {
                return buf.push(b"[]");
            }
            buf.push(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b",")?;
                }
                newline(buf, style, depth + 1)?;
                write(buf, item, style, depth + 1)?;
            }
            newline(buf, style, depth)?;
            buf.push(b"]")
        }
        Value::Dict(d) => {
            let d = d.try_borrow().map_err(|_| Fail::Deep)?;
            if d.map.is_empty() {
                return buf.push(b"{}");
            }
            buf.push(b"{")?;
            for (i, (k, item)) in d.map.iter().enumerate() {
                if i > 0 {
                    buf.push(b",")?;
                }
                newline(buf, style, depth + 1)?;
                string(buf, k.bytes(), style != Style::Raw)?;
                buf.push(if style == Style::Pretty { b": " } else { b":" })?;
                write(buf, item, style, depth + 1)?;
            }
            newline(buf, style, depth)?;
            buf.push(b"}")
        }
    }
}

/// Go: shortest form, `e` notation below 1e-6 and from 1e21, exponent without padding.
fn float(buf: &mut Buf, f: f64) -> Result<(), Fail> {
    if special_float(f).is_some() {
        return Err(Fail::Func(
            "toJson",
            "NaN and infinities have no JSON form".into(),
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, exp) = scientific(f, None)?;
        let digits = digits.as_bytes();
        if f < 0.0 {
            buf.push(b"-")?;
        }
        buf.push(&digits[..1])?;
        if digits.len() > 1 {
            buf.push(b".")?;
            buf.push(&digits[1..])?;
        }
        buf.push_fmt(format_args!(
            "e{}{}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        ))
    } else {
        // Rust's `{}` for f64 is the shortest round-trip form without exponent.
        buf.push_fmt(format_args!("{f}"))
    }
}

fn string(buf: &mut Buf, s: &[u8], escape_html: bool) -> Result<(), Fail> {
    buf.push(b"\"")?;
    let chars = lossy_chars(s);
    for c in chars {
        match c {
            '"' => buf.push(b"\\\"")?,
            '\\' => buf.push(b"\\\\")?,
            '\n' => buf.push(b"\\n")?,
            '\r' => buf.push(b"\\r")?,
            '\t' => buf.push(b"\\t")?,
            '\u{08}' => buf.push(b"\\b")?,
            '\u{0c}' => buf.push(b"\\f")?,
            c if (c as u32) < 0x20 => buf.push_fmt(format_args!("\\u{:04x}", c as u32))?,
            '<' | '>' | '&' if escape_html => buf.push_fmt(format_args!("\\u{:04x}", c as u32))?,
            '\u{2028}' | '\u{2029}' => buf.push_fmt(format_args!("\\u{:04x}", c as u32))?,
            c => buf.push_char(c)?,
        }
    }
    buf.push(b"\"")
}

/// `fromJson`: objects become dicts, arrays lists, numbers float64 (as Go decodes into
/// `interface{}`). Invalid JSON is an error (Sprig's `fromJson` would give nil).
pub(crate) fn from_json(arena: &mut Arena, s: &Text) -> Result<Value, Fail> {
    let mut parser = Parser {
        s: s.bytes(),
        pos: 0,
        arena,
    };
    parser.ws();
    let v = parser.value(0)?;
    parser.ws();
    if parser.pos != parser.s.len() {
        return Err(bad());
    }
    Ok(v)
}

fn bad() -> Fail {
    Fail::Func("fromJson", "the argument is not valid JSON".into())
}

struct Parser<'a, 'b> {
    s: &'a [u8],
    pos: usize,
    arena: &'b mut Arena,
}

impl Parser<'_, '_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Fail> {
        if depth > MAX_VALUE_DEPTH {
            return Err(Fail::Deep);
        }
        // Every value built is a step, so a long JSON list cannot outrun the budget.
        self.arena.charge(1);
        match self.s.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut map = BTreeMap::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(self.arena.dict(map, false));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(bad());
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    map.insert(key, v);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(self.arena.dict(map, false));
                    }
                    return Err(bad());
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Value::List(Rc::new(items)));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Value::List(Rc::new(items)));
                    }
                    return Err(bad());
                }
            }
            Some(b'"') => self.string().map(Value::Str),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(bad()),
        }
    }

    fn number(&mut self) -> Result<Value, Fail> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.s.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos > from
        };
        self.eat(b"-");
        if !self.eat(b"0") && !digits(self) {
            return Err(bad());
        }
        if self.eat(b".") && !digits(self) {
            return Err(bad());
        }
        if matches!(self.s.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.s.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(bad());
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| bad())?;
        let f: f64 = text.parse().map_err(|_| bad())?;
        if !f.is_finite() {
            return Err(bad());
        }
        Ok(Value::Float(f))
    }

    fn hex4(&mut self) -> Result<u32, Fail> {
        let digits = self.s.get(self.pos..self.pos + 4).ok_or_else(bad)?;
        let mut v = 0;
        for d in digits {
            v = v * 16 + char::from(*d).to_digit(16).ok_or_else(bad)?;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<Text, Fail> {
        if !self.eat(b"\"") {
            return Err(bad());
        }
        let mut buf = Buf::new(MAX_OUTPUT);
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                return Err(bad());
            };
            self.pos += 1;
            match b {
                b'"' => return Ok(buf.into_text()),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(bad());
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => buf.push(&[e])?,
                        b'b' => buf.push(b"\x08")?,
                        b'f' => buf.push(b"\x0c")?,
                        b'n' => buf.push(b"\n")?,
                        b'r' => buf.push(b"\r")?,
                        b't' => buf.push(b"\t")?,
                        b'u' => {
                            let first = self.hex4()?;
                            let c = if (0xd800..0xdc00).contains(&first)
                                && self.s[self.pos..].starts_with(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let second = self.hex4()?;
                                if (0xdc00..0xe000).contains(&second) {
                                    char::from_u32(
                                        0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00),
                                    )
                                } else {
                                    self.pos = save;
                                    None
                                }
                            } else {
                                char::from_u32(first)
                            };
                            buf.push_char(c.unwrap_or('\u{fffd}'))?;
                        }
                        _ => return Err(bad()),
                    }
                }
                b if b < 0x20 => return Err(bad()),
                b => buf.push(&[b])?,
            }
        }
    }
}

/// The characters of `s`, invalid UTF-8 as U+FFFD (as Go's encoders do), without a lossy copy
/// of what may be a secret value.
pub(super) fn lossy_chars(s: &[u8]) -> impl Iterator<Item = char> + '_ {
    s.utf8_chunks().flat_map(|chunk| {
        let bad = (!chunk.invalid().is_empty()).then_some('\u{fffd}');
        chunk.valid().chars().chain(bad)
    })
}
