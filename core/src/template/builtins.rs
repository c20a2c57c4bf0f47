//! Go's builtin functions (`len`, `index`, `slice`, `print*`, comparisons, `html`, `js`,
//! `urlquery`) and the dispatch of every other function to its module. `and`/`or` are in
//! the evaluator because they do not evaluate all their arguments.

use std::rc::Rc;

use super::MAX_OUTPUT;
use super::funcs::Func;
use super::value::{Arena, Buf, Fail, Value, write_v};
use super::{json, printf, sprig};

/// Call `func` with its evaluated arguments (a piped value is the last).
pub(crate) fn call(arena: &mut Arena, func: Func, args: Vec<Value>) -> Result<Value, Fail> {
    if matches!(
        func,
        Func::Eq | Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge | Func::FromJson
    ) {
        // Comparing or parsing long strings is work the (small) result does not show.
        for arg in &args {
            if let Value::Str(s) = arg {
                arena.charge_bytes(s.bytes().len());
            }
        }
    }
    match func {
        Func::Not => Ok(Value::Bool(!args.first().is_some_and(Value::truthy))),
        Func::Len => len(&args[0]).map(Value::Int),
        Func::Index => index(&args[0], &args[1..]),
        Func::Slice => slice(&args[0], &args[1..]),
        Func::Print => print(&args, false),
        Func::Println => print(&args, true),
        Func::Printf => printf::sprintf(&args),
        Func::Eq => {
            for other in &args[1..] {
                if equal(&args[0], other)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        Func::Ne => equal(&args[0], &args[1]).map(|e| Value::Bool(!e)),
        Func::Lt => less(&args[0], &args[1]).map(Value::Bool),
        Func::Le => Ok(Value::Bool(
            less(&args[0], &args[1])? || equal(&args[0], &args[1])?,
        )),
        Func::Gt => Ok(Value::Bool(
            !(less(&args[0], &args[1])? || equal(&args[0], &args[1])?),
        )),
        Func::Ge => less(&args[0], &args[1]).map(|l| Value::Bool(!l)),
        Func::Html => escape_with(&args, html_escape),
        Func::Js => escape_with(&args, js_escape),
        Func::Urlquery => escape_with(&args, query_escape),
        Func::ToJson => json::to_json(&args[0], json::Style::Compact),
        Func::ToPrettyJson => json::to_json(&args[0], json::Style::Pretty),
        Func::ToRawJson => json::to_json(&args[0], json::Style::Raw),
        Func::FromJson => json::from_json(arena, sprig::text(func, &args, 0)?),
        // `and` and `or` never get here.
        Func::And | Func::Or => Ok(args.into_iter().last().unwrap_or(Value::Nil)),
        other => sprig::call(arena, other, args),
    }
}

fn len(v: &Value) -> Result<i64, Fail> {
    let n = match v {
        Value::Str(s) => s.bytes().len(),
        Value::List(items) => items.len(),
        Value::Dict(d) => d.borrow().map.len(),
        other => return Err(Fail::Type(format!("len of a {}", other.kind()))),
    };
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

fn position(i: &Value, len: usize, func: &'static str) -> Result<usize, Fail> {
    match i {
        Value::Int(i) => usize::try_from(*i)
            .ok()
            .filter(|i| *i < len)
            .ok_or_else(|| Fail::Func(func, "index out of range".into())),
        other => Err(Fail::Type(format!(
            "{func}: cannot index with a {}",
            other.kind()
        ))),
    }
}

fn index(item: &Value, keys: &[Value]) -> Result<Value, Fail> {
    let mut item = item.clone();
    for key in keys {
        let next = match (&item, key) {
            (Value::List(items), i) => items[position(i, items.len(), "index")?].clone(),
            (Value::Str(s), i) => {
                Value::Int(i64::from(s.bytes()[position(i, s.bytes().len(), "index")?]))
            }
            (Value::Dict(d), Value::Str(k)) => {
                let d = d.borrow();
                match d.map.get(k) {
                    Some(v) => v.clone(),
                    // Go gives the map's zero value: "" for the data, nil for a dict.
                    None if d.strings_only => Value::str(b""),
                    None => Value::Nil,
                }
            }
            (Value::Dict(_), other) => {
                return Err(Fail::Type(format!(
                    "index: a dict key must be a string, not a {}",
                    other.kind()
                )));
            }
            (other, _) => {
                return Err(Fail::Type(format!("index: can't index a {}", other.kind())));
            }
        };
        item = next;
    }
    Ok(item)
}

fn slice(item: &Value, bounds: &[Value]) -> Result<Value, Fail> {
    let len = match item {
        Value::Str(s) => s.bytes().len(),
        Value::List(items) => items.len(),
        other => return Err(Fail::Type(format!("slice: can't slice a {}", other.kind()))),
    };
    if matches!(item, Value::Str(_)) && bounds.len() > 2 {
        return Err(Fail::Func(
            "slice",
            "a string takes at most 2 indexes".into(),
        ));
    }
    let mut idx = [0, len, len];
    for (i, b) in bounds.iter().enumerate() {
        idx[i] = match b {
            Value::Int(v) => usize::try_from(*v)
                .ok()
                .filter(|v| *v <= len)
                .ok_or_else(|| Fail::Func("slice", "index out of range".into()))?,
            other => {
                return Err(Fail::Type(format!(
                    "slice: cannot index with a {}",
                    other.kind()
                )));
            }
        };
    }
    if bounds.len() < 2 {
        idx[1] = len;
    }
    if idx[0] > idx[1] || (bounds.len() == 3 && idx[1] > idx[2]) {
        return Err(Fail::Func("slice", "invalid slice indexes".into()));
    }
    Ok(match item {
        Value::Str(s) => Value::str(&s.bytes()[idx[0]..idx[1]]),
        Value::List(items) => Value::List(Rc::new(items[idx[0]..idx[1]].to_vec())),
        _ => Value::Nil,
    })
}

/// `fmt.Sprint` / `fmt.Sprintln`.
fn print(args: &[Value], line: bool) -> Result<Value, Fail> {
    let mut buf = Buf::new(MAX_OUTPUT);
    sprint(&mut buf, args, line)?;
    Ok(Value::Str(buf.into_text()))
}

pub(crate) fn sprint(buf: &mut Buf, args: &[Value], line: bool) -> Result<(), Fail> {
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::Str(_));
        // Sprint puts spaces between operands when neither is a string; Sprintln always.
        if i > 0 && (line || (!is_string && !prev_string)) {
            buf.push(b" ")?;
        }
        write_v(buf, arg, 0)?;
        prev_string = is_string;
    }
    if line {
        buf.push(b"\n")?;
    }
    Ok(())
}

/// Go's `eq` for two values.
pub(crate) fn equal(a: &Value, b: &Value) -> Result<bool, Fail> {
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (x, y) if x.is_nil() || y.is_nil() => x.is_nil() && y.is_nil(),
        (Value::List(_) | Value::Dict(_), _) | (_, Value::List(_) | Value::Dict(_)) => {
            return Err(Fail::Type(format!(
                "can't compare a {} with a {}",
                a.kind(),
                b.kind()
            )));
        }
        _ => {
            return Err(Fail::Type(format!(
                "incompatible types for comparison: {} and {}",
                a.kind(),
                b.kind()
            )));
        }
    })
}

/// Go's `lt`.
fn less(a: &Value, b: &Value) -> Result<bool, Fail> {
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => {
            return Err(Fail::Type(format!("can't order {} values", a.kind())));
        }
        _ => {
            return Err(Fail::Type(format!(
                "incompatible types for comparison: {} and {}",
                a.kind(),
                b.kind()
            )));
        }
    })
}

/// Go's `evalArgs`: one string as it is, anything else through `Sprint`; then escape.
fn escape_with(
    args: &[Value],
    escape: fn(&[u8], &mut Buf) -> Result<(), Fail>,
) -> Result<Value, Fail> {
    let joined = match args {
        [Value::Str(s)] => s.clone(),
        _ => {
            let mut buf = Buf::new(MAX_OUTPUT);
            sprint(&mut buf, args, false)?;
            buf.into_text()
        }
    };
    let mut out = Buf::new(MAX_OUTPUT);
    escape(joined.bytes(), &mut out)?;
    Ok(Value::Str(out.into_text()))
}

fn html_escape(s: &[u8], out: &mut Buf) -> Result<(), Fail> {
    for &b in s {
        match b {
            b'"' => out.push(b"&#34;")?,
            b'\'' => out.push(b"&#39;")?,
            b'&' => out.push(b"&amp;")?,
            b'<' => out.push(b"&lt;")?,
            b'>' => out.push(b"&gt;")?,
            0 => out.push("\u{fffd}".as_bytes())?,
            b => out.push(&[b])?,
        }
    }
    Ok(())
}

fn js_escape(s: &[u8], out: &mut Buf) -> Result<(), Fail> {
    let chars = super::json::lossy_chars(s);
    for c in chars {
        match c {
            '\\' => out.push(b"\\\\")?,
            '\'' => out.push(b"\\'")?,
            '"' => out.push(b"\\\"")?,
            '<' => out.push(b"\\u003C")?,
            '>' => out.push(b"\\u003E")?,
            '&' => out.push(b"\\u0026")?,
            '=' => out.push(b"\\u003D")?,
            '\n' => out.push(b"\\n")?,
            '\r' => out.push(b"\\r")?,
            '\t' => out.push(b"\\t")?,
            c if (c as u32) < 0x20 || c.is_control() => {
                out.push_fmt(format_args!("\\u{:04X}", c as u32))?
            }
            c => out.push_char(c)?,
        }
    }
    Ok(())
}

fn query_escape(s: &[u8], out: &mut Buf) -> Result<(), Fail> {
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(&[b])?
            }
            b' ' => out.push(b"+")?,
            b => out.push_fmt(format_args!("%{b:02X}"))?,
        }
    }
    Ok(())
}
