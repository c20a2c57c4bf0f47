//! Parser: tokens → a tree of nodes, with Go's static checks — functions must exist (and
//! not be refused), variables must be declared, `break`/`continue` only inside `range`,
//! only functions can be piped into or given arguments, arities are right — so that
//! [`super::check`] finds these mistakes without any value. Nesting is bounded.

use super::error::{Location, TemplateError};
use super::funcs::{self, Func, Lookup};
use super::lexer::{Tok, Token};

/// Deepest nesting of blocks and parentheses.
pub const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug)]
pub(crate) enum Node {
    Text(Span),
    Action(Pipe),
    If(Box<Branch>),
    With(Box<Branch>),
    Range(Box<Branch>),
    Break(Span),
    Continue(Span),
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) then: Vec<Node>,
    pub(crate) otherwise: Vec<Node>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    /// The whole action, for messages.
    pub(crate) span: Span,
    /// Variables declared (`:=`) or assigned (`=`).
    pub(crate) vars: Vec<String>,
    pub(crate) assign: bool,
    pub(crate) cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub(crate) struct Cmd {
    pub(crate) args: Vec<Arg>,
}

#[derive(Debug)]
pub(crate) enum Arg {
    Func(Func),
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
    /// `.a.b`
    Field(Vec<String>),
    /// `$x.a.b`
    Var(String, Vec<String>),
    /// `(pipeline).a.b`
    Sub(Box<Pipe>, Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    If,
    With,
    Range,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::If => "if",
            Kind::With => "with",
            Kind::Range => "range",
        }
    }
}

/// How a list of nodes ended.
enum Stop {
    Eof,
    End,
    Else,
    ElseIf(Kind),
}

const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "break", "continue", "define", "template", "block",
];

pub(crate) fn parse(src: &str, tokens: Vec<Token>) -> Result<Vec<Node>, TemplateError> {
    let mut parser = Parser {
        src,
        tokens,
        pos: 0,
        vars: vec![String::new()],
        depth: 0,
        ranges: 0,
        action: Span { start: 0, end: 0 },
    };
    let (nodes, end) = parser.list()?;
    match end {
        Stop::Eof => Ok(nodes),
        _ => Err(parser.error("unexpected {{end}} or {{else}}")),
    }
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    vars: Vec<String>,
    depth: usize,
    ranges: usize,
    /// The action being parsed, for messages.
    action: Span,
}

impl Parser<'_> {
    fn at(&self) -> Box<Location> {
        Location::of(self.src, self.action.start, self.action.end)
    }

    fn error(&self, what: impl Into<String>) -> TemplateError {
        TemplateError::Syntax {
            at: self.at(),
            what: what.into(),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_tok(&self, ahead: usize) -> Option<&Tok> {
        self.tokens.get(self.pos + ahead).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// Marks the action that starts at the current `{{` token, up to its `}}`.
    fn enter_action(&mut self) {
        let start = self.peek().map_or(0, |t| t.start);
        let end = self.tokens[self.pos..]
            .iter()
            .find(|t| t.tok == Tok::Close)
            .map_or(self.src.len(), |t| t.end);
        self.action = Span { start, end };
    }

    fn expect_close(&mut self, after: &str) -> Result<(), TemplateError> {
        match self.next().map(|t| t.tok) {
            Some(Tok::Close) => Ok(()),
            _ => Err(self.error(format!("unexpected text after {after}"))),
        }
    }

    fn deeper(&mut self) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(TemplateError::TooDeep {
                at: self.at(),
                max: MAX_NESTING,
            });
        }
        Ok(())
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let Some(token) = self.next() else {
                return Ok((nodes, Stop::Eof));
            };
            match token.tok {
                Tok::Text => nodes.push(Node::Text(Span {
                    start: token.start,
                    end: token.end,
                })),
                Tok::Open => {
                    self.pos -= 1;
                    self.enter_action();
                    self.pos += 1;
                    match self.peek_tok(0).cloned() {
                        Some(Tok::Ident(word)) if word == "end" => {
                            self.pos += 1;
                            self.expect_close("end")?;
                            return Ok((nodes, Stop::End));
                        }
                        Some(Tok::Ident(word)) if word == "else" => {
                            self.pos += 1;
                            match self.peek_tok(0) {
                                Some(Tok::Ident(w)) if w == "if" => {
                                    self.pos += 1;
                                    return Ok((nodes, Stop::ElseIf(Kind::If)));
                                }
                                Some(Tok::Ident(w)) if w == "with" => {
                                    self.pos += 1;
                                    return Ok((nodes, Stop::ElseIf(Kind::With)));
                                }
                                _ => {
                                    self.expect_close("else")?;
                                    return Ok((nodes, Stop::Else));
                                }
                            }
                        }
                        Some(Tok::Ident(word))
                            if word == "if" || word == "with" || word == "range" =>
                        {
                            self.pos += 1;
                            let kind = match word.as_str() {
                                "if" => Kind::If,
                                "with" => Kind::With,
                                _ => Kind::Range,
                            };
                            nodes.push(self.control(kind)?);
                        }
                        Some(Tok::Ident(word)) if word == "break" || word == "continue" => {
                            self.pos += 1;
                            if self.ranges == 0 {
                                return Err(
                                    self.error(format!("{{{{{word}}}}} outside {{{{range}}}}"))
                                );
                            }
                            self.expect_close(&word)?;
                            let span = self.action;
                            nodes.push(if word == "break" {
                                Node::Break(span)
                            } else {
                                Node::Continue(span)
                            });
                        }
                        Some(Tok::Ident(word))
                            if word == "define" || word == "template" || word == "block" =>
                        {
                            return Err(TemplateError::Unsupported {
                                at: self.at(),
                                name: format!("{{{{{word}}}}}"),
                                why: "each template.data entry is one template; named templates are not implemented",
                            });
                        }
                        _ => {
                            let pipe = self.pipeline("command", false)?;
                            // `{{ $x := … }}` declares; the variable lives to the enclosing `end`.
                            self.expect_close("the pipeline")?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
                _ => return Err(self.error("unexpected token")),
            }
        }
    }

    /// `if`/`with`/`range` after its keyword, through its `end`.
    fn control(&mut self, kind: Kind) -> Result<Node, TemplateError> {
        self.deeper()?;
        let scope = self.vars.len();
        let pipe = self.pipeline(kind.name(), kind == Kind::Range)?;
        self.expect_close(kind.name())?;
        if kind == Kind::Range {
            self.ranges += 1;
        }
        let (then, end) = self.list()?;
        if kind == Kind::Range {
            self.ranges -= 1;
        }
        let otherwise = match end {
            Stop::End => Vec::new(),
            Stop::Else => {
                let (otherwise, end) = self.list()?;
                match end {
                    Stop::End => otherwise,
                    _ => {
                        return Err(self.error(format!(
                            "expected {{{{end}}}} after {{{{else}}}} of {}",
                            kind.name()
                        )));
                    }
                }
            }
            Stop::ElseIf(k) if k == kind && kind != Kind::Range => {
                // `{{else if b}}…{{end}}` is `{{else}}{{if b}}…{{end}}{{end}}`.
                vec![self.control(k)?]
            }
            Stop::ElseIf(k) => {
                return Err(self.error(format!(
                    "{{{{else {}}}}} inside {}",
                    k.name(),
                    kind.name()
                )));
            }
            Stop::Eof => {
                return Err(self.error(format!("{{{{{}}}}} without {{{{end}}}}", kind.name())));
            }
        };
        self.vars.truncate(scope);
        self.depth -= 1;
        let branch = Box::new(Branch {
            pipe,
            then,
            otherwise,
        });
        Ok(match kind {
            Kind::If => Node::If(branch),
            Kind::With => Node::With(branch),
            Kind::Range => Node::Range(branch),
        })
    }

    /// A pipeline up to (not including) `}}` or, in parentheses, `)`.
    fn pipeline(&mut self, context: &'static str, two_vars: bool) -> Result<Pipe, TemplateError> {
        let span = self.action;
        let mut vars = Vec::new();
        let mut assign = false;
        // Declarations: `$x :=`, `$x =`, and in range `$k, $v :=`.
        if let Some(Tok::Var(first)) = self.peek_tok(0).cloned() {
            match (self.peek_tok(1), self.peek_tok(2), self.peek_tok(3)) {
                (Some(Tok::Declare | Tok::Assign), ..) => {
                    assign = self.peek_tok(1) == Some(&Tok::Assign);
                    vars.push(first);
                    self.pos += 2;
                }
                (Some(Tok::Comma), Some(Tok::Var(second)), Some(Tok::Declare | Tok::Assign)) => {
                    if !two_vars {
                        return Err(self.error("only range can declare two variables"));
                    }
                    assign = self.peek_tok(3) == Some(&Tok::Assign);
                    vars.push(first);
                    vars.push(second.clone());
                    self.pos += 4;
                }
                _ => {}
            }
        }
        if assign {
            for v in &vars {
                if !self.vars.contains(v) {
                    return Err(self.error(format!("undefined variable ${v}")));
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            cmds.push(self.command()?);
            match self.peek_tok(0) {
                Some(Tok::Pipe) => self.pos += 1,
                _ => break,
            }
        }
        if cmds.iter().any(|c| c.args.is_empty()) {
            return Err(self.error(format!("missing value for {context}")));
        }
        for (i, cmd) in cmds.iter().enumerate() {
            let piped = usize::from(i > 0);
            match cmd.args.first() {
                Some(Arg::Func(f)) => {
                    let got = cmd.args.len() - 1 + piped;
                    if let Err(expected) = f.check_arity(got) {
                        return Err(TemplateError::Arity {
                            at: self.at(),
                            name: f.name(),
                            expected,
                            got,
                        });
                    }
                }
                Some(Arg::Nil) if cmd.args.len() == 1 && i == 0 => {
                    return Err(self.error("nil is not a command"));
                }
                Some(_) if piped == 1 => {
                    return Err(self.error("only a function can be piped into"));
                }
                Some(_) if cmd.args.len() > 1 => {
                    return Err(self.error("only a function can take arguments"));
                }
                _ => {}
            }
            for arg in &cmd.args[1..] {
                if let Arg::Func(f) = arg
                    && let Err(expected) = f.check_arity(0)
                {
                    return Err(TemplateError::Arity {
                        at: self.at(),
                        name: f.name(),
                        expected,
                        got: 0,
                    });
                }
            }
        }
        if !assign {
            self.vars.extend(vars.iter().cloned());
        }
        Ok(Pipe {
            span,
            vars,
            assign,
            cmds,
        })
    }

    fn command(&mut self) -> Result<Cmd, TemplateError> {
        let mut args = Vec::new();
        loop {
            match self.peek_tok(0) {
                None | Some(Tok::Close | Tok::RParen | Tok::Pipe) => break,
                _ => args.push(self.operand()?),
            }
        }
        Ok(Cmd { args })
    }

    /// Field names that follow the previous token with no space (`$x.a.b`, `(…).a`).
    fn chain(&mut self) -> Vec<String> {
        let mut fields = Vec::new();
        while let (Some(prev), Some(next)) = (self.tokens.get(self.pos - 1), self.peek()) {
            match &next.tok {
                Tok::Field(name) if next.start == prev.end => {
                    fields.push(name.clone());
                    self.pos += 1;
                }
                _ => break,
            }
        }
        fields
    }

    fn operand(&mut self) -> Result<Arg, TemplateError> {
        let Some(token) = self.next() else {
            return Err(self.error("unclosed action"));
        };
        Ok(match token.tok {
            Tok::Ident(name) => match name.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                word if KEYWORDS.contains(&word) => {
                    return Err(self.error(format!("unexpected keyword {word:?} in operand")));
                }
                _ => self.function(name)?,
            },
            Tok::Dot => Arg::Dot,
            Tok::Field(first) => {
                let mut fields = vec![first];
                fields.extend(self.chain());
                Arg::Field(fields)
            }
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return Err(self.error(format!("undefined variable ${name}")));
                }
                let fields = self.chain();
                Arg::Var(name, fields)
            }
            Tok::Str(bytes) => Arg::Str(bytes),
            Tok::Int(i) => Arg::Int(i),
            Tok::Float(f) => Arg::Float(f),
            Tok::LParen => {
                self.deeper()?;
                let pipe = self.pipeline("parenthesized pipeline", false)?;
                match self.next().map(|t| t.tok) {
                    Some(Tok::RParen) => {}
                    _ => return Err(self.error("unclosed left parenthesis")),
                }
                self.depth -= 1;
                let fields = self.chain();
                Arg::Sub(Box::new(pipe), fields)
            }
            Tok::RParen => return Err(self.error("unexpected right parenthesis")),
            Tok::Declare | Tok::Assign => {
                return Err(self.error("unexpected := or = (only a variable can be declared)"));
            }
            Tok::Comma => return Err(self.error("unexpected comma")),
            Tok::Text | Tok::Open | Tok::Close | Tok::Pipe => {
                return Err(self.error("unexpected token in operand"));
            }
        })
    }

    fn function(&self, name: String) -> Result<Arg, TemplateError> {
        match funcs::lookup(&name) {
            Lookup::Func(f) => Ok(Arg::Func(f)),
            Lookup::Refused(why) => Err(TemplateError::Refused {
                at: self.at(),
                name,
                why,
            }),
            Lookup::Unsupported(why) => Err(TemplateError::Unsupported {
                at: self.at(),
                name: format!("function {name:?}"),
                why,
            }),
            Lookup::Unknown => Err(TemplateError::UnknownFunction {
                at: self.at(),
                name,
            }),
        }
    }
}
