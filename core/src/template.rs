//! `template.data`: a small, safe subset of Go's `text/template` + Sprig, enough for the
//! templates Sealed Secrets and ESO users write, with nothing that reaches outside the values.
//!
//! Supported: text with `{{ … }}` actions (and the `{{-` / `-}}` whitespace trimmers);
//! pipelines `a | f | g`; operands `.key` (a decrypted value), `"string"` and `` `raw` ``;
//! functions `b64enc`, `b64dec`, `upper`, `lower`, `trim`, `quote`, `default`.
//! Anything else (`env`, `range`, variables, ...) is a [`TemplateError`], never ignored.
//!
//! Data flow: parse the whole template first (so a syntax error renders nothing), then
//! evaluate into a zeroizing buffer. Values are bytes: `b64dec` may yield non-UTF-8.

use std::collections::BTreeMap;

use base64::Engine as _;
use zeroize::Zeroizing;

type Bytes = Zeroizing<Vec<u8>>;

/// Why a template could not be rendered. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{{` without `}}`.
    #[error("unclosed action: `{{{{` without `}}}}`")]
    Unclosed,
    /// A token we do not understand.
    #[error(
        "unsupported template syntax near {0:?} (supported: .key, \"string\", pipelines and the functions b64enc, b64dec, upper, lower, trim, quote, default)"
    )]
    Syntax(String),
    /// A function outside the supported set.
    #[error(
        "function {0:?} is not supported (supported: b64enc, b64dec, upper, lower, trim, quote, default)"
    )]
    UnknownFunction(String),
    /// A function called with the wrong number of arguments.
    #[error("function {name:?} takes {expected} argument(s), got {got}")]
    Arity {
        /// Function.
        name: &'static str,
        /// Expected count.
        expected: usize,
        /// Given count.
        got: usize,
    },
    /// `.key` names no value.
    #[error("no value named {0:?}")]
    MissingKey(String),
    /// `b64dec` of something that is not base64.
    #[error("b64dec: argument is not valid base64")]
    BadBase64,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Field(String),
    Literal(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Command {
    Value(Operand),
    Call(Func, Vec<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    B64Enc,
    B64Dec,
    Upper,
    Lower,
    Trim,
    Quote,
    Default,
}

impl Func {
    fn parse(name: &str) -> Result<Func, TemplateError> {
        Ok(match name {
            "b64enc" => Func::B64Enc,
            "b64dec" => Func::B64Dec,
            "upper" => Func::Upper,
            "lower" => Func::Lower,
            "trim" => Func::Trim,
            "quote" => Func::Quote,
            "default" => Func::Default,
            other => return Err(TemplateError::UnknownFunction(other.to_owned())),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Func::B64Enc => "b64enc",
            Func::B64Dec => "b64dec",
            Func::Upper => "upper",
            Func::Lower => "lower",
            Func::Trim => "trim",
            Func::Quote => "quote",
            Func::Default => "default",
        }
    }

    fn arity(self) -> usize {
        if self == Func::Default { 2 } else { 1 }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Vec<Command>),
}

/// Render `template` over `values` (key → plaintext).
pub fn render(template: &str, values: &BTreeMap<String, Bytes>) -> Result<Bytes, TemplateError> {
    let nodes = parse(template)?;
    let mut out = Zeroizing::new(Vec::with_capacity(template.len()));
    for node in &nodes {
        match node {
            Node::Text(text) => out.extend_from_slice(text.as_bytes()),
            Node::Action(pipeline) => out.extend_from_slice(&eval(pipeline, values)?),
        }
    }
    Ok(out)
}

/// Check a template's syntax without values (for validation before anything is decrypted).
pub fn check(template: &str) -> Result<(), TemplateError> {
    parse(template).map(drop)
}

fn parse(template: &str) -> Result<Vec<Node>, TemplateError> {
    let mut nodes = Vec::new();
    let mut rest = template;
    let mut trim_next_text = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next_text {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let (trim_left, after) = match after.strip_prefix("- ") {
            Some(a) => (true, a),
            None => (false, after),
        };
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            nodes.push(Node::Text(text.to_owned()));
        }
        let end = find_close(after).ok_or(TemplateError::Unclosed)?;
        let mut inner = &after[..end];
        trim_next_text = false;
        if let Some(stripped) = inner.strip_suffix(" -") {
            inner = stripped;
            trim_next_text = true;
        }
        nodes.push(Node::Action(parse_pipeline(inner)?));
        rest = &after[end + 2..];
    }
    let text = if trim_next_text {
        rest.trim_start()
    } else {
        rest
    };
    if !text.is_empty() {
        nodes.push(Node::Text(text.to_owned()));
    }
    Ok(nodes)
}

/// Position of the `}}` closing an action, skipping string literals.
fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(Debug, PartialEq)]
enum Token {
    Pipe,
    Field(String),
    Literal(String),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '|' => {
                chars.next();
                tokens.push(Token::Pipe);
            }
            '"' => {
                chars.next();
                let mut lit = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next().map(|(_, e)| e) {
                            Some('n') => lit.push('\n'),
                            Some('t') => lit.push('\t'),
                            Some('r') => lit.push('\r'),
                            Some(e @ ('"' | '\\')) => lit.push(e),
                            _ => return Err(TemplateError::Syntax(s[i..].to_owned())),
                        },
                        c => lit.push(c),
                    }
                }
                if !closed {
                    return Err(TemplateError::Syntax(s[i..].to_owned()));
                }
                tokens.push(Token::Literal(lit));
            }
            '`' => {
                chars.next();
                let lit: String = chars
                    .by_ref()
                    .map(|(_, c)| c)
                    .take_while(|c| *c != '`')
                    .collect();
                tokens.push(Token::Literal(lit));
            }
            '.' => {
                chars.next();
                let mut name = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if name.is_empty() {
                    return Err(TemplateError::Syntax(s[i..].to_owned()));
                }
                tokens.push(Token::Field(name));
            }
            c if c.is_alphabetic() => {
                let mut name = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Ident(name));
            }
            _ => return Err(TemplateError::Syntax(s[i..].to_owned())),
        }
    }
    Ok(tokens)
}

fn parse_pipeline(s: &str) -> Result<Vec<Command>, TemplateError> {
    let tokens = tokenize(s)?;
    if tokens.is_empty() {
        return Err(TemplateError::Syntax("{{}}".to_owned()));
    }
    let mut pipeline = Vec::new();
    for (index, group) in tokens.split(|t| *t == Token::Pipe).enumerate() {
        let operand = |t: &Token| match t {
            Token::Field(f) => Ok(Operand::Field(f.clone())),
            Token::Literal(l) => Ok(Operand::Literal(l.clone())),
            Token::Ident(name) => Err(TemplateError::Syntax(name.clone())),
            Token::Pipe => Err(TemplateError::Syntax("|".to_owned())),
        };
        let command = match group {
            [] => return Err(TemplateError::Syntax("|".to_owned())),
            [Token::Ident(name), args @ ..] => {
                let func = Func::parse(name)?;
                let args = args.iter().map(operand).collect::<Result<Vec<_>, _>>()?;
                // Piped commands get the previous result as their last argument.
                let got = args.len() + usize::from(index > 0);
                if got != func.arity() {
                    return Err(TemplateError::Arity {
                        name: func.name(),
                        expected: func.arity(),
                        got,
                    });
                }
                Command::Call(func, args)
            }
            [single] if index == 0 => Command::Value(operand(single)?),
            [first, ..] => return Err(TemplateError::Syntax(format!("{first:?}"))),
        };
        pipeline.push(command);
    }
    Ok(pipeline)
}

fn eval(pipeline: &[Command], values: &BTreeMap<String, Bytes>) -> Result<Bytes, TemplateError> {
    let mut previous: Option<Option<Bytes>> = None;
    for command in pipeline {
        let result = match command {
            Command::Value(op) => lookup(op, values),
            Command::Call(func, args) => {
                let mut resolved: Vec<Option<Bytes>> =
                    args.iter().map(|a| lookup(a, values)).collect();
                if let Some(prev) = previous.take() {
                    resolved.push(prev);
                }
                Some(call(*func, resolved, args, previous_field(pipeline))?)
            }
        };
        previous = Some(result);
    }
    match previous {
        Some(Some(value)) => Ok(value),
        // A missing key that reached the output without `default`.
        _ => Err(TemplateError::MissingKey(previous_field(pipeline))),
    }
}

fn previous_field(pipeline: &[Command]) -> String {
    pipeline
        .iter()
        .flat_map(|c| match c {
            Command::Value(op) => std::slice::from_ref(op).to_vec(),
            Command::Call(_, args) => args.clone(),
        })
        .find_map(|op| match op {
            Operand::Field(f) => Some(f),
            Operand::Literal(_) => None,
        })
        .unwrap_or_default()
}

/// `None` for a missing key: only `default` accepts that.
fn lookup(op: &Operand, values: &BTreeMap<String, Bytes>) -> Option<Bytes> {
    match op {
        Operand::Field(name) => values.get(name).cloned(),
        Operand::Literal(lit) => Some(Zeroizing::new(lit.as_bytes().to_vec())),
    }
}

fn call(
    func: Func,
    mut args: Vec<Option<Bytes>>,
    ops: &[Operand],
    field: String,
) -> Result<Bytes, TemplateError> {
    let missing = |ops: &[Operand]| {
        let name = ops.iter().find_map(|o| match o {
            Operand::Field(f) => Some(f.clone()),
            Operand::Literal(_) => None,
        });
        TemplateError::MissingKey(name.unwrap_or(field.clone()))
    };
    if func == Func::Default {
        // default FALLBACK VALUE: VALUE unless it is missing or empty.
        let value = args.pop().flatten();
        let fallback = args.pop().flatten().ok_or_else(|| missing(ops))?;
        return Ok(value.filter(|v| !v.is_empty()).unwrap_or(fallback));
    }
    let arg = args.pop().flatten().ok_or_else(|| missing(ops))?;
    let text = || String::from_utf8_lossy(&arg).into_owned();
    Ok(Zeroizing::new(match func {
        Func::B64Enc => base64::engine::general_purpose::STANDARD
            .encode(&arg[..])
            .into_bytes(),
        Func::B64Dec => base64::engine::general_purpose::STANDARD
            .decode(&arg[..])
            .map_err(|_| TemplateError::BadBase64)?,
        Func::Upper => case(&arg, str::to_uppercase, <[u8]>::to_ascii_uppercase),
        Func::Lower => case(&arg, str::to_lowercase, <[u8]>::to_ascii_lowercase),
        Func::Trim => match std::str::from_utf8(&arg) {
            Ok(s) => s.trim().as_bytes().to_vec(),
            Err(_) => arg.trim_ascii().to_vec(),
        },
        Func::Quote => quote(&text()).into_bytes(),
        Func::Default => Vec::new(),
    }))
}

fn case(arg: &[u8], utf8: fn(&str) -> String, ascii: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    match std::str::from_utf8(arg) {
        Ok(s) => utf8(s).into_bytes(),
        Err(_) => ascii(arg),
    }
}

/// Go's `%q` for printable text: backslash escapes for quotes, backslashes and controls.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, Bytes> {
        [
            ("user", "app"),
            ("password", " s3cr3t "),
            ("empty", ""),
            ("enc", "aGk="),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Zeroizing::new(v.as_bytes().to_vec())))
        .collect()
    }

    fn render_str(t: &str) -> Result<String, TemplateError> {
        render(t, &values()).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn renders_the_supported_subset() {
        assert_eq!(
            render_str("postgres://{{ .user }}:{{ .password | trim }}@db").unwrap(),
            "postgres://app:s3cr3t@db"
        );
        assert_eq!(
            render_str("{{ .user | upper | quote }}").unwrap(),
            "\"APP\""
        );
        assert_eq!(
            render_str("{{ .enc | b64dec }}-{{ .user | b64enc }}").unwrap(),
            "hi-YXBw"
        );
        assert_eq!(
            render_str("{{ .empty | default \"x\" }}{{ .missing | default `y` }}").unwrap(),
            "xy"
        );
        assert_eq!(render_str("{{ default \"z\" .user }}").unwrap(), "app");
        assert_eq!(render_str("a  {{- .user -}}  b").unwrap(), "aappb");
        assert_eq!(render_str("{{ \"}}\" }}").unwrap(), "}}");
        assert_eq!(render_str("{{ lower \"ABC\" }}").unwrap(), "abc");
    }

    #[test]
    fn refuses_everything_else_clearly() {
        assert_eq!(
            render_str("{{ env \"HOME\" }}"),
            Err(TemplateError::UnknownFunction("env".into()))
        );
        assert_eq!(
            render_str("{{ .nope }}"),
            Err(TemplateError::MissingKey("nope".into()))
        );
        assert_eq!(
            render_str("{{ .nope | upper }}"),
            Err(TemplateError::MissingKey("nope".into()))
        );
        assert_eq!(render_str("{{ .user "), Err(TemplateError::Unclosed));
        assert!(matches!(
            render_str("{{ range .x }}"),
            Err(TemplateError::UnknownFunction(_))
        ));
        assert!(matches!(
            render_str("{{ $x := 1 }}"),
            Err(TemplateError::Syntax(_))
        ));
        assert_eq!(
            render_str("{{ .user | default }}"),
            Err(TemplateError::Arity {
                name: "default",
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            render_str("{{ .user | b64dec }}"),
            Err(TemplateError::BadBase64)
        );
    }

    #[test]
    fn errors_never_carry_values() {
        let err = render_str("{{ .password | b64dec }}")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
