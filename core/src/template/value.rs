//! Values a template computes with, and the zeroizing buffer every string is built in.
//!
//! Strings are bytes (a decrypted value need not be UTF-8), held in a [`Text`]: a shared,
//! zeroizing buffer, so cloning a value is cheap and the last owner wipes it. [`Buf`] grows
//! by copying into a fresh zeroizing allocation, so no unwiped copy is left behind by a
//! reallocation; it also enforces the size limit. Dicts are shared and mutable (Sprig's
//! `set` mutates in place, as Go's maps do); every dict is registered in an [`Arena`] that
//! empties them all when rendering ends, so a dict that contains itself still gets wiped.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use zeroize::Zeroizing;

/// A failure inside a function or formatter, before the evaluator adds where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fail {
    /// A kind mismatch; the text names kinds only.
    Type(String),
    /// A function failed on its input.
    Func(&'static str, String),
    /// A string would pass the size limit.
    Full,
    /// Values nested deeper than the limit.
    Deep,
    /// The work would pass the step budget.
    Steps,
}

/// Zeroizing bytes that grow without leaving copies behind, up to a limit.
pub(crate) struct Buf {
    bytes: Zeroizing<Vec<u8>>,
    limit: usize,
}

impl Buf {
    pub(crate) fn new(limit: usize) -> Buf {
        Buf {
            bytes: Zeroizing::new(Vec::new()),
            limit,
        }
    }

    pub(crate) fn push(&mut self, more: &[u8]) -> Result<(), Fail> {
        let needed = self.bytes.len() + more.len();
        if needed > self.limit {
            return Err(Fail::Full);
        }
        if needed > self.bytes.capacity() {
            let capacity = needed
                .max(self.bytes.capacity() * 2)
                .max(32)
                .min(self.limit);
            let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
            grown.extend_from_slice(&self.bytes);
            self.bytes = grown;
        }
        self.bytes.extend_from_slice(more);
        Ok(())
    }

    pub(crate) fn push_char(&mut self, c: char) -> Result<(), Fail> {
        let mut tmp = [0u8; 4];
        self.push(c.encode_utf8(&mut tmp).as_bytes())
    }

    /// Format straight into the buffer (no temporary string).
    pub(crate) fn push_fmt(&mut self, args: fmt::Arguments<'_>) -> Result<(), Fail> {
        let mut full = false;
        let mut writer = FmtWriter {
            buf: self,
            full: &mut full,
        };
        match fmt::write(&mut writer, args) {
            Err(_) if full => Err(Fail::Full),
            Err(_) => Err(Fail::Func("format", "formatting failed".into())),
            Ok(()) => Ok(()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.bytes
    }

    pub(crate) fn into_text(self) -> Text {
        Text(Rc::new(self.bytes))
    }
}

struct FmtWriter<'a> {
    buf: &'a mut Buf,
    full: &'a mut bool,
}

impl fmt::Write for FmtWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.buf.push(s.as_bytes()).map_err(|_| {
            *self.full = true;
            fmt::Error
        })
    }
}

/// Shared zeroizing bytes. `Debug` never shows them.
#[derive(Clone)]
pub(crate) struct Text(Rc<Zeroizing<Vec<u8>>>);

impl Text {
    pub(crate) fn new(bytes: &[u8]) -> Text {
        Text(Rc::new(Zeroizing::new(bytes.to_vec())))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text as UTF-8, if it is.
    pub(crate) fn str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({} bytes)", self.0.len())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}
impl Eq for Text {}
impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Text {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes().cmp(other.bytes())
    }
}

/// A dict: string keys in Go's sorted order. `strings_only` marks the template's own data
/// (Go's `map[string]string`: `index` of a missing key gives `""`, and it cannot be `set`).
#[derive(Debug, Default)]
pub(crate) struct Dict {
    pub(crate) map: BTreeMap<Text, Value>,
    pub(crate) strings_only: bool,
}

pub(crate) type DictRef = Rc<RefCell<Dict>>;

/// A value. `Missing` is Go's "no value" (a key that is not there); it becomes `Nil` when
/// passed to a function, as in Go.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Missing,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    List(Rc<Vec<Value>>),
    Dict(DictRef),
}

impl Value {
    pub(crate) fn str(bytes: &[u8]) -> Value {
        Value::Str(Text::new(bytes))
    }

    /// Go's kind name, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Missing => "missing value",
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }

    /// Go's truth: false, 0, nil, missing and empty strings, lists and dicts are false.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.bytes().is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Dict(d) => !d.borrow().map.is_empty(),
        }
    }

    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, Value::Missing | Value::Nil)
    }
}

/// What functions share while rendering: every dict made (emptied at the end so that cycles
/// such as `set $d "me" $d` cannot keep values alive unwiped), and the work functions did
/// that their result does not show (bytes scanned, values compared), which the evaluator
/// charges to the step budget after each call.
#[derive(Default)]
pub(crate) struct Arena {
    dicts: Vec<DictRef>,
    work: usize,
}

/// Bytes a function may build or scan per step of the budget.
pub(crate) const BYTES_PER_STEP: usize = 256;

impl Arena {
    /// Count `steps` of work.
    pub(crate) fn charge(&mut self, steps: usize) {
        self.work = self.work.saturating_add(steps);
    }

    /// Count scanning `bytes`.
    pub(crate) fn charge_bytes(&mut self, bytes: usize) {
        self.charge(bytes / BYTES_PER_STEP);
    }

    /// The work counted since the last call.
    pub(crate) fn take_work(&mut self) -> usize {
        std::mem::take(&mut self.work)
    }

    pub(crate) fn dict(&mut self, map: BTreeMap<Text, Value>, strings_only: bool) -> Value {
        let dict = Rc::new(RefCell::new(Dict { map, strings_only }));
        self.dicts.push(Rc::clone(&dict));
        Value::Dict(dict)
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for dict in &self.dicts {
            // Take the map out first: dropping values may drop other dicts.
            let map = std::mem::take(&mut dict.borrow_mut().map);
            drop(map);
        }
    }
}

/// Nesting limit for values (printing, JSON, comparisons).
pub const MAX_VALUE_DEPTH: usize = 100;

/// Go's `%v` (fmt.Sprint of one operand).
pub(crate) fn write_v(buf: &mut Buf, v: &Value, depth: usize) -> Result<(), Fail> {
    if depth > MAX_VALUE_DEPTH {
        return Err(Fail::Deep);
    }
    match v {
        Value::Missing => buf.push(b"<no value>"),
        Value::Nil => buf.push(b"<nil>"),
        Value::Bool(b) => buf.push(if *b { b"true" } else { b"false" }),
        Value::Int(i) => buf.push_fmt(format_args!("{i}")),
        Value::Float(f) => write_float_g(buf, *f, None, false),
        Value::Str(s) => buf.push(s.bytes()),
        Value::List(items) => {
            buf.push(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b" ")?;
                }
                write_v(buf, item, depth + 1)?;
            }
            buf.push(b"]")
        }
        Value::Dict(d) => {
            buf.push(b"map[")?;
            let d = d.try_borrow().map_err(|_| Fail::Deep)?;
            for (i, (k, item)) in d.map.iter().enumerate() {
                if i > 0 {
                    buf.push(b" ")?;
                }
                buf.push(k.bytes())?;
                buf.push(b":")?;
                write_v(buf, item, depth + 1)?;
            }
            buf.push(b"]")
        }
    }
}

/// Sprig's `toString`: strings as they are, anything else as `%v`.
pub(crate) fn to_text(v: &Value, limit: usize) -> Result<Text, Fail> {
    if let Value::Str(s) = v {
        return Ok(s.clone());
    }
    let mut buf = Buf::new(limit);
    write_v(&mut buf, v, 0)?;
    Ok(buf.into_text())
}

/// The decimal digits and exponent of `|f|` as `d.ddd × 10^exp`: the shortest round-trip
/// digits, or `1 + fraction` digits when given. Built in zeroizing buffers.
pub(crate) fn scientific(f: f64, fraction: Option<usize>) -> Result<(Buf, i32), Fail> {
    let mut sci = Buf::new(MAX_FLOAT_TEXT);
    match fraction {
        None => sci.push_fmt(format_args!("{:e}", f.abs()))?,
        Some(p) => sci.push_fmt(format_args!("{:.*e}", p, f.abs()))?,
    }
    let text = sci.as_bytes();
    let e = text.iter().position(|b| *b == b'e').unwrap_or(text.len());
    let mut digits = Buf::new(MAX_FLOAT_TEXT);
    for b in text[..e].iter().filter(|b| b.is_ascii_digit()) {
        digits.push(&[*b])?;
    }
    let exp = std::str::from_utf8(text.get(e + 1..).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((digits, exp))
}

/// Longest float text (digits are bounded by the printf precision limit).
const MAX_FLOAT_TEXT: usize = 4096;

/// Go's `%g` / `%v` for floats; `precision` None is the shortest representation.
/// `upper` selects `%G`.
pub(crate) fn write_float_g(
    buf: &mut Buf,
    f: f64,
    precision: Option<usize>,
    upper: bool,
) -> Result<(), Fail> {
    if let Some(special) = special_float(f) {
        return buf.push(special.as_bytes());
    }
    let (digits, exp) = scientific(f, precision.map(|p| p.max(1) - 1))?;
    let mut digits = digits.as_bytes();
    if precision.is_some() {
        // %g drops trailing zeros.
        while digits.len() > 1 && digits.last() == Some(&b'0') {
            digits = &digits[..digits.len() - 1];
        }
    }
    let eprec = match precision {
        None => 6,
        Some(p) => p.max(1) as i32,
    };
    if f.is_sign_negative() {
        buf.push(b"-")?;
    }
    if exp < -4 || exp >= eprec {
        buf.push(&digits[..1])?;
        if digits.len() > 1 {
            buf.push(b".")?;
            buf.push(&digits[1..])?;
        }
        buf.push(if upper { b"E" } else { b"e" })?;
        buf.push(if exp < 0 { b"-" } else { b"+" })?;
        buf.push_fmt(format_args!("{:02}", exp.unsigned_abs()))
    } else if exp < 0 {
        buf.push(b"0.")?;
        for _ in 0..(-exp - 1) {
            buf.push(b"0")?;
        }
        buf.push(digits)
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            buf.push(digits)?;
            for _ in digits.len()..point {
                buf.push(b"0")?;
            }
            Ok(())
        } else {
            buf.push(&digits[..point])?;
            buf.push(b".")?;
            buf.push(&digits[point..])
        }
    }
}

/// Go's spelling of infinities and NaN.
pub(crate) fn special_float(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f == f64::INFINITY {
        Some("+Inf")
    } else if f == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}
