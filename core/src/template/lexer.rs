//! Lexer: template text → tokens, following Go's `text/template/parse` rules.
//!
//! Text outside `{{ }}` becomes [`Tok::Text`] with the `{{- ` / ` -}}` trimming already
//! applied (ASCII spaces, tabs, CR and LF, as Go). Comments `{{/* */}}` vanish. Inside an
//! action, every token records its byte span, so the parser can tell `$x.a` (a field chain)
//! from `$x .a` (two operands) and errors can point at the action.

use super::error::{Location, TemplateError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Text to copy, `src[start..end]`.
    Text,
    /// `{{` (or `{{- `).
    Open,
    /// `}}` (or ` -}}`).
    Close,
    Pipe,
    LParen,
    RParen,
    Comma,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    /// `.` alone.
    Dot,
    /// `.name`
    Field(String),
    /// `$name`; `$` alone is `Var("")`.
    Var(String),
    /// Identifiers and keywords.
    Ident(String),
    /// A string literal's bytes (escapes decoded; `\x` may make them non-UTF-8).
    Str(Vec<u8>),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

impl Lexer<'_> {
    fn error(&self, start: usize, end: usize, what: impl Into<String>) -> TemplateError {
        TemplateError::Syntax {
            at: Location::of(self.src, start, end),
            what: what.into(),
        }
    }

    fn push(&mut self, tok: Tok, start: usize, end: usize) {
        self.tokens.push(Token { tok, start, end });
    }

    fn run(&mut self) -> Result<(), TemplateError> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut trim_next = false;
        loop {
            let open = self.src[self.pos..].find("{{").map(|i| self.pos + i);
            let mut text_start = self.pos;
            let mut text_end = open.unwrap_or(self.src.len());
            if trim_next {
                while text_start < text_end && is_space(bytes[text_start]) {
                    text_start += 1;
                }
            }
            let Some(open) = open else {
                if text_start < text_end {
                    self.push(Tok::Text, text_start, text_end);
                }
                return Ok(());
            };
            let mut p = open + 2;
            // `{{- ` trims the text before; the space is part of the marker.
            let trim_left =
                bytes.get(p) == Some(&b'-') && bytes.get(p + 1).is_some_and(|b| is_space(*b));
            if trim_left {
                while text_end > text_start && is_space(bytes[text_end - 1]) {
                    text_end -= 1;
                }
                p += 2;
            }
            if text_start < text_end {
                self.push(Tok::Text, text_start, text_end);
            }
            if self.src[p..].starts_with("/*") {
                trim_next = self.comment(open, p)?;
                continue;
            }
            self.push(Tok::Open, open, p);
            self.pos = p;
            trim_next = self.action(open)?;
        }
    }

    /// `{{/* … */}}`; returns whether it ends with ` -}}`.
    fn comment(&mut self, open: usize, p: usize) -> Result<bool, TemplateError> {
        let Some(end) = self.src[p + 2..].find("*/").map(|i| p + 2 + i + 2) else {
            return Err(self.error(open, open + 2, "unclosed comment"));
        };
        let rest = &self.src[end..];
        let bytes = rest.as_bytes();
        if rest.starts_with("}}") {
            self.pos = end + 2;
            Ok(false)
        } else if bytes.first().is_some_and(|b| is_space(*b)) && rest[1..].starts_with("-}}") {
            self.pos = end + 4;
            Ok(true)
        } else {
            Err(self.error(open, end, "comment ends before closing delimiter"))
        }
    }

    /// Tokens up to and including the action's `}}`; returns whether it was ` -}}`.
    fn action(&mut self, open: usize) -> Result<bool, TemplateError> {
        let src = self.src;
        let bytes = src.as_bytes();
        loop {
            let p = self.pos;
            let Some(&b) = bytes.get(p) else {
                return Err(self.error(open, open + 2, "unclosed action: `{{` without `}}`"));
            };
            if is_space(b) {
                if self.src[p + 1..].starts_with("-}}") {
                    self.push(Tok::Close, p, p + 4);
                    self.pos = p + 4;
                    return Ok(true);
                }
                self.pos += 1;
                continue;
            }
            if self.src[p..].starts_with("}}") {
                self.push(Tok::Close, p, p + 2);
                self.pos = p + 2;
                return Ok(false);
            }
            let simple = match b {
                b'|' => Some((Tok::Pipe, 1)),
                b'(' => Some((Tok::LParen, 1)),
                b')' => Some((Tok::RParen, 1)),
                b',' => Some((Tok::Comma, 1)),
                b'=' => Some((Tok::Assign, 1)),
                b':' if bytes.get(p + 1) == Some(&b'=') => Some((Tok::Declare, 2)),
                _ => None,
            };
            if let Some((tok, len)) = simple {
                self.push(tok, p, p + len);
                self.pos = p + len;
                continue;
            }
            match b {
                b'"' => self.quoted(open)?,
                b'`' => self.raw(open)?,
                b'\'' => self.char_constant()?,
                b'$' => {
                    let end = self.ident_end(p + 1);
                    self.push(Tok::Var(self.src[p + 1..end].to_owned()), p, end);
                    self.pos = end;
                }
                b'.' if bytes.get(p + 1).is_some_and(u8::is_ascii_digit) => self.number()?,
                b'.' => {
                    let end = self.ident_end(p + 1);
                    if end == p + 1 {
                        self.push(Tok::Dot, p, p + 1);
                    } else {
                        self.push(Tok::Field(self.src[p + 1..end].to_owned()), p, end);
                    }
                    self.pos = end;
                }
                b'0'..=b'9' => self.number()?,
                b'+' | b'-'
                    if bytes
                        .get(p + 1)
                        .is_some_and(|c| c.is_ascii_digit() || *c == b'.') =>
                {
                    self.number()?
                }
                _ => {
                    let c = self.src[p..].chars().next().unwrap_or('\u{fffd}');
                    if is_ident_char(c) {
                        let end = self.ident_end(p);
                        self.push(Tok::Ident(self.src[p..end].to_owned()), p, end);
                        self.pos = end;
                    } else {
                        return Err(self.error(
                            p,
                            p + c.len_utf8(),
                            format!("unexpected {c:?} in action"),
                        ));
                    }
                }
            }
        }
    }

    fn ident_end(&self, from: usize) -> usize {
        self.src[from..]
            .char_indices()
            .find(|(_, c)| !is_ident_char(*c))
            .map_or(self.src.len(), |(i, _)| from + i)
    }

    fn raw(&mut self, open: usize) -> Result<(), TemplateError> {
        let p = self.pos;
        let Some(len) = self.src[p + 1..].find('`') else {
            return Err(self.error(open, p + 1, "unterminated raw string"));
        };
        let end = p + 1 + len + 1;
        self.push(
            Tok::Str(self.src.as_bytes()[p + 1..end - 1].to_vec()),
            p,
            end,
        );
        self.pos = end;
        Ok(())
    }

    fn quoted(&mut self, open: usize) -> Result<(), TemplateError> {
        let start = self.pos;
        let src = self.src;
        let mut out = Vec::new();
        let mut chars = src[start + 1..].char_indices();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(self.error(open, start + 1, "unterminated quoted string"));
            };
            match c {
                '"' => {
                    let end = start + 1 + i + 1;
                    self.push(Tok::Str(out), start, end);
                    self.pos = end;
                    return Ok(());
                }
                '\n' => return Err(self.error(open, start + 1, "unterminated quoted string")),
                '\\' => {
                    let at = start + 1 + i;
                    self.escape(&mut chars, &mut out, '"')
                        .map_err(|what| self.error(at, at + 2, what))?
                }
                c => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
    }

    /// One escape after a backslash, as Go's `strconv.Unquote` reads it.
    fn escape(
        &self,
        chars: &mut std::str::CharIndices<'_>,
        out: &mut Vec<u8>,
        quote: char,
    ) -> Result<(), String> {
        let bad = || "invalid escape in string literal".to_owned();
        let c = chars.next().map(|(_, c)| c).ok_or_else(bad)?;
        let mut hex = |n: usize| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = chars
                    .next()
                    .and_then(|(_, c)| c.to_digit(16))
                    .ok_or_else(bad)?;
                v = v * 16 + d;
            }
            Ok(v)
        };
        let simple = match c {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            c if c == quote => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        match c {
            'x' => out.push(hex(2)? as u8),
            'u' | 'U' => {
                let v = hex(if c == 'u' { 4 } else { 8 })?;
                let ch = char::from_u32(v).ok_or_else(bad)?;
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
            }
            '0'..='7' => {
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars
                        .next()
                        .and_then(|(_, c)| c.to_digit(8))
                        .ok_or_else(bad)?;
                    v = v * 8 + d;
                }
                out.push(u8::try_from(v).map_err(|_| bad())?);
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    fn char_constant(&mut self) -> Result<(), TemplateError> {
        let start = self.pos;
        let src = self.src;
        let mut chars = src[start + 1..].char_indices();
        let bad = |l: &Self| l.error(start, start + 1, "malformed character constant");
        let value = match chars.next() {
            Some((_, '\\')) => {
                let mut bytes = Vec::new();
                self.escape(&mut chars, &mut bytes, '\'')
                    .map_err(|_| bad(self))?;
                match std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|s| s.chars().next())
                {
                    Some(c) if bytes.len() == c.len_utf8() => c as i64,
                    _ if bytes.len() == 1 => i64::from(bytes[0]),
                    _ => return Err(bad(self)),
                }
            }
            Some((_, '\'')) | None => return Err(bad(self)),
            Some((_, c)) => c as i64,
        };
        match chars.next() {
            Some((i, '\'')) => {
                let end = start + 1 + i + 1;
                self.push(Tok::Int(value), start, end);
                self.pos = end;
                Ok(())
            }
            _ => Err(bad(self)),
        }
    }

    fn number(&mut self) -> Result<(), TemplateError> {
        let start = self.pos;
        let src = self.src;
        let bytes = src.as_bytes();
        let mut p = start;
        if matches!(bytes[p], b'+' | b'-') {
            p += 1;
        }
        let digits_from = p;
        let radix = match (bytes.get(p), bytes.get(p + 1).map(u8::to_ascii_lowercase)) {
            (Some(b'0'), Some(b'x')) => 16,
            (Some(b'0'), Some(b'o')) => 8,
            (Some(b'0'), Some(b'b')) => 2,
            _ => 10,
        };
        let mut is_float = false;
        if radix != 10 {
            p += 2;
            while p < bytes.len() && (bytes[p].is_ascii_alphanumeric() || bytes[p] == b'_') {
                p += 1;
            }
        } else {
            let digits = |p: &mut usize| {
                while *p < bytes.len() && (bytes[*p].is_ascii_digit() || bytes[*p] == b'_') {
                    *p += 1;
                }
            };
            digits(&mut p);
            if bytes.get(p) == Some(&b'.') {
                is_float = true;
                p += 1;
                digits(&mut p);
            }
            if matches!(bytes.get(p), Some(b'e' | b'E')) {
                is_float = true;
                p += 1;
                if matches!(bytes.get(p), Some(b'+' | b'-')) {
                    p += 1;
                }
                digits(&mut p);
            }
        }
        // A number must end where an operand can end.
        let end_ok = self.src[p..]
            .chars()
            .next()
            .is_none_or(|c| !is_ident_char(c) && c != '.');
        let text: String = self.src[digits_from..p]
            .chars()
            .filter(|c| *c != '_')
            .collect();
        let negative = bytes[start] == b'-';
        let bad = |l: &Self, what: &str| l.error(start, p, what.to_owned());
        if !end_ok || text.is_empty() {
            return Err(bad(self, "bad number syntax"));
        }
        let tok = if is_float {
            let v: f64 = text.parse().map_err(|_| bad(self, "bad number syntax"))?;
            Tok::Float(if negative { -v } else { v })
        } else {
            let (radix, digits) = match radix {
                10 if text.len() > 1 && text.starts_with('0') => (8, &text[1..]),
                10 => (10, text.as_str()),
                r => (r, &text[2..]),
            };
            let magnitude =
                i128::from_str_radix(digits, radix).map_err(|_| bad(self, "bad number syntax"))?;
            let v = if negative { -magnitude } else { magnitude };
            Tok::Int(i64::try_from(v).map_err(|_| bad(self, "number out of range for int"))?)
        };
        self.push(tok, start, p);
        self.pos = p;
        Ok(())
    }
}
