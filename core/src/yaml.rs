//! The one YAML writer: every YAML document the plugin, the agent and `cargo xtask gen` write
//! goes through [`to_string`], so that kubectl (go-yaml, a YAML 1.1 reader), PyYAML and any
//! YAML 1.2 reader read back exactly the strings we meant.
//!
//! Data flow: a `Serialize` value → `serde_yaml_ng::to_value` (a tree that keeps field order)
//! → [`Emitter`] writes it in block style, choosing for every string, keys included, the
//! plainest form that is safe → the tree's strings are wiped (unsealed Secrets and key backups
//! pass through here), and the text is returned in a zeroizing buffer that is wiped on every
//! growth too.
//!
//! Why our own emitter: serde_yaml_ng quotes only what a YAML 1.2 reader would misread, so
//! `on`, `y`, `no`, `0o17`, `1_000`, `1:20` or `2001-12-14` went out plain and kubectl read
//! booleans, numbers and timestamps (a Secret's keys `on`/`off` became `true`/`false`).
//!
//! The rules, conservative by design (a needless quote costs nothing, a missing one loses data):
//! - plain only for strings of a small character set (ASCII letters and digits, space and
//!   `-_./+=@,():;`) that start with a letter, a digit, `_`, `/`, `.` or `(`, end in neither a
//!   space nor `:`, hold no `: `, do not start with `..`, and look like no boolean, null,
//!   number, timestamp, `=` or `<<` in any spelling of YAML 1.1 or 1.2 ([`may_resolve`]);
//! - a literal block (`|`, `|-`, `|+`) for multi-line printable text without tabs whose first
//!   line does not start with whitespace and whose lines end in no whitespace (so no reader
//!   trims them);
//! - double quotes, with escapes for everything outside YAML's printable set and for the
//!   characters YAML 1.1 takes as line breaks (U+0085, U+2028, U+2029) or a byte-order mark,
//!   for everything else.

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};
use zeroize::{Zeroize as _, Zeroizing};

/// Longest key written as an implicit key: YAML readers refuse longer "simple keys" (1024
/// characters in libyaml and go-yaml), so longer ones use the explicit `? key` form.
const MAX_IMPLICIT_KEY: usize = 1000;

/// Render `value` as one YAML document body (no `---`), ending in a newline.
pub fn to_string<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Zeroizing<String>, serde_yaml_ng::Error> {
    let mut tree = serde_yaml_ng::to_value(value)?;
    let mut emitter = Emitter::default();
    emitter.document(&tree);
    wipe(&mut tree);
    Ok(emitter.out)
}

/// How a string is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Literal,
    DoubleQuoted,
}

fn style(text: &str, key: bool) -> Style {
    if plain_ok(text) {
        Style::Plain
    } else if !key && literal_ok(text) {
        Style::Literal
    } else {
        Style::DoubleQuoted
    }
}

fn plain_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let safe_first = first.is_ascii_alphanumeric() || matches!(first, b'_' | b'/' | b'.' | b'(');
    safe_first
        && !matches!(last, b' ' | b':')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b" -_./+=@,():;".contains(b))
        && !text.contains(": ")
        && !text.starts_with("..")
        && !may_resolve(text)
}

/// Whether a YAML 1.1 or 1.2 reader (or go-yaml, whose number rules are its own) might resolve
/// the plain scalar `text` to something other than a string. A superset on purpose: every
/// spelling of the booleans and nulls in any letter case, and anything that starts like a
/// number (after a sign: a digit or a dot) and holds only characters numbers,
/// sexagesimals and timestamps are made of.
pub(crate) fn may_resolve(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<", ".inf",
        "+.inf", "-.inf", ".nan", "inf", "+inf", "-inf", "nan", "infinity",
    ];
    let lower = text.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    let body = text.strip_prefix(['+', '-']).unwrap_or(text).as_bytes();
    // `.` alone is a YAML 1.1 float (its regex needs no digit), so a dot start counts too.
    let numeric_start = body
        .first()
        .is_some_and(|first| first.is_ascii_digit() || *first == b'.');
    numeric_start
        && body
            .iter()
            .all(|c| c.is_ascii_hexdigit() || b"xXoObB_.:+-tTzZ ".contains(c))
}

fn literal_ok(text: &str) -> bool {
    text.contains('\n')
        && !text.starts_with([' ', '\t', '\n'])
        && text.chars().all(|c| c == '\n' || printable(c))
        && text
            .trim_end_matches('\n')
            .split('\n')
            .all(|line| !line.ends_with([' ', '\t']))
}

/// YAML's printable set, less what YAML 1.1 reads as a line break or a byte-order mark.
fn printable(c: char) -> bool {
    matches!(u32::from(c), 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Writes block-style YAML into a buffer that is wiped whenever it grows and when dropped.
#[derive(Default)]
struct Emitter {
    out: Zeroizing<String>,
}

impl Emitter {
    fn push(&mut self, text: &str) {
        let needed = self.out.len() + text.len();
        if needed > self.out.capacity() {
            // Grow by hand: a plain `String` reallocation would leave a copy behind unwiped.
            let mut grown = Zeroizing::new(String::with_capacity(
                needed.max(self.out.capacity() * 2).max(256),
            ));
            grown.push_str(&self.out);
            self.out = grown;
        }
        self.out.push_str(text);
    }

    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.push(c.encode_utf8(&mut buf));
    }

    fn pad(&mut self, indent: usize) {
        for _ in 0..indent {
            self.push(" ");
        }
    }

    fn document(&mut self, value: &Value) {
        match value {
            Value::Mapping(map) if !map.is_empty() => self.entries(map, 0, false),
            Value::Sequence(items) if !items.is_empty() => self.items(items, 0, false),
            Value::Tagged(tagged) => self.entries(&untag(tagged), 0, false),
            other => self.scalar(other, 2),
        }
    }

    /// A mapping's entries at column `indent`; with `inline_first` the first one continues
    /// the current line (after `- `).
    fn entries(&mut self, map: &Mapping, indent: usize, mut inline_first: bool) {
        for (key, value) in map {
            if !inline_first {
                self.pad(indent);
            }
            inline_first = false;
            let key = key_text(key);
            let mut rendered = Emitter::default();
            rendered.string(&key, 0, true);
            if rendered.out.len() > MAX_IMPLICIT_KEY {
                self.push("? ");
                self.push(&rendered.out);
                self.push("\n");
                self.pad(indent);
                self.push(":");
                self.value_after_colon(value, indent, true);
            } else {
                self.push(&rendered.out);
                self.push(":");
                self.value_after_colon(value, indent, false);
            }
        }
    }

    fn value_after_colon(&mut self, value: &Value, indent: usize, explicit: bool) {
        match value {
            Value::Mapping(map) if !map.is_empty() => {
                self.push("\n");
                self.entries(map, indent + 2, false);
            }
            Value::Sequence(items) if !items.is_empty() => {
                self.push("\n");
                // `key:` then `- item` at the key's column, as kubectl writes; under an
                // explicit `:` the items are indented, which every reader takes.
                self.items(items, if explicit { indent + 2 } else { indent }, false);
            }
            Value::Tagged(tagged) => {
                self.push("\n");
                self.entries(&untag(tagged), indent + 2, false);
            }
            other => {
                self.push(" ");
                self.scalar(other, indent + 2);
            }
        }
    }

    fn items(&mut self, items: &[Value], indent: usize, mut inline_first: bool) {
        for value in items {
            if !inline_first {
                self.pad(indent);
            }
            inline_first = false;
            self.push("- ");
            match value {
                Value::Mapping(map) if !map.is_empty() => self.entries(map, indent + 2, true),
                Value::Sequence(inner) if !inner.is_empty() => self.items(inner, indent + 2, true),
                Value::Tagged(tagged) => self.entries(&untag(tagged), indent + 2, true),
                other => self.scalar(other, indent + 2),
            }
        }
    }

    /// A scalar (or an empty collection) and its line end; a literal block's lines go at
    /// column `indent`.
    fn scalar(&mut self, value: &Value, indent: usize) {
        match value {
            Value::Null => self.push("null"),
            Value::Bool(true) => self.push("true"),
            Value::Bool(false) => self.push("false"),
            Value::Number(number) => self.push(&number_text(number)),
            Value::String(text) => self.string(text, indent, false),
            Value::Sequence(_) => self.push("[]"),
            Value::Mapping(_) => self.push("{}"),
            // Callers expand tags into mappings before they get here.
            Value::Tagged(_) => self.push("{}"),
        }
        self.push("\n");
    }

    /// A string in its [`style`]; a literal block leaves the cursor after its last line's text.
    fn string(&mut self, text: &str, indent: usize, key: bool) {
        match style(text, key) {
            Style::Plain => self.push(text),
            Style::DoubleQuoted => self.double_quoted(text),
            Style::Literal => {
                let body = text.trim_end_matches('\n');
                let trailing = text.len() - body.len();
                self.push(match trailing {
                    0 => "|-",
                    1 => "|",
                    _ => "|+",
                });
                for line in body.split('\n') {
                    self.push("\n");
                    if !line.is_empty() {
                        self.pad(indent);
                        self.push(line);
                    }
                }
                // Kept trailing newlines (`|+`) are empty lines after the last one.
                for _ in 1..trailing {
                    self.push("\n");
                }
            }
        }
    }

    fn double_quoted(&mut self, text: &str) {
        self.push("\"");
        for c in text.chars() {
            match c {
                '"' => self.push("\\\""),
                '\\' => self.push("\\\\"),
                '\n' => self.push("\\n"),
                '\t' => self.push("\\t"),
                '\r' => self.push("\\r"),
                '\0' => self.push("\\0"),
                c if printable(c) => self.push_char(c),
                c => {
                    let code = u32::from(c);
                    let escape = if code <= 0xFF {
                        format!("\\x{code:02X}")
                    } else if code <= 0xFFFF {
                        format!("\\u{code:04X}")
                    } else {
                        format!("\\U{code:08X}")
                    };
                    self.push(&escape);
                }
            }
        }
        self.push("\"");
    }
}

/// Map keys are strings in Kubernetes (and in JSON); anything else is written as its text.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(number) => number.to_string(),
        // Complex keys do not occur in our objects; JSON could not hold them either.
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// An enum variant serde_yaml_ng wrote as a tag (`!Variant value`) becomes `{Variant: value}`,
/// as in our JSON.
fn untag(tagged: &serde_yaml_ng::value::TaggedValue) -> Mapping {
    let tag = tagged.tag.to_string();
    let mut map = Mapping::new();
    map.insert(
        Value::String(tag.trim_start_matches('!').to_owned()),
        tagged.value.clone(),
    );
    map
}

/// Integers as they are; floats always with a `.` and a signed exponent (YAML 1.1 requires
/// both to read a float), infinities and NaN in YAML's spelling.
fn number_text(number: &serde_yaml_ng::Number) -> String {
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    float_text(number.as_f64().unwrap_or(f64::NAN))
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let debug = format!("{f:?}");
    match debug.split_once('e') {
        None if debug.contains('.') => debug,
        None => format!("{debug}.0"),
        Some((mantissa, exponent)) => {
            let mantissa = if mantissa.contains('.') {
                mantissa.to_owned()
            } else {
                format!("{mantissa}.0")
            };
            let exponent = if exponent.starts_with('-') {
                exponent.to_owned()
            } else {
                format!("+{exponent}")
            };
            format!("{mantissa}e{exponent}")
        }
    }
}

/// Wipe the intermediate tree's strings (values may be plaintext). Keys stay: the map does not
/// hand them out mutably, and keys are names, not secrets.
pub(crate) fn wipe(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Sequence(items) => items.iter_mut().for_each(wipe),
        Value::Mapping(map) => map.values_mut().for_each(wipe),
        Value::Tagged(tagged) => wipe(&mut tagged.value),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests;
