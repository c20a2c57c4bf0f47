//! Evaluator: walks the parsed tree over the data with Go's semantics, writing into a
//! zeroizing, size-limited buffer and counting steps (every node, range iteration and
//! function call is one; every 256 bytes a function builds is one more), so a template
//! cannot run or grow without bound.

use std::collections::BTreeMap;
use zeroize::Zeroizing;

use super::builtins;
use super::error::{Location, TemplateError};
use super::funcs::Func;
use super::parse::{Arg, Node, Pipe, Span};
use super::value::{Arena, BYTES_PER_STEP, Buf, Fail, MAX_VALUE_DEPTH, Text, Value, write_v};
use super::{MAX_OUTPUT, MAX_STEPS};

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'a> {
    src: &'a str,
    out: Buf,
    steps: usize,
    /// Variables in scope, innermost last; `$` is the first.
    vars: Vec<(String, Value)>,
    arena: Arena,
}

/// Render `nodes` over `values`.
pub(crate) fn run(
    src: &str,
    nodes: &[Node],
    values: &BTreeMap<String, Zeroizing<Vec<u8>>>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let mut exec = Exec {
        src,
        out: Buf::new(MAX_OUTPUT),
        steps: 0,
        vars: Vec::new(),
        arena: Arena::default(),
    };
    let map = values
        .iter()
        .map(|(k, v)| (Text::new(k.as_bytes()), Value::str(v)))
        .collect();
    let root = exec.arena.dict(map, true);
    exec.vars.push((String::new(), root.clone()));
    exec.walk(nodes, &root)?;
    exec.vars.clear();
    Ok(exec.out.into_inner())
}

impl Exec<'_> {
    fn at(&self, span: Span) -> Box<Location> {
        Location::of(self.src, span.start, span.end)
    }

    fn fail(&self, span: Span, fail: Fail) -> TemplateError {
        let at = self.at(span);
        match fail {
            Fail::Type(what) => TemplateError::Type { at, what },
            Fail::Func(func, what) => TemplateError::Function { at, func, what },
            Fail::Full => TemplateError::OutputTooLarge {
                at,
                max: MAX_OUTPUT,
            },
            Fail::Deep => TemplateError::TooDeep {
                at,
                max: MAX_VALUE_DEPTH,
            },
            Fail::Steps => TemplateError::StepBudget { at, max: MAX_STEPS },
        }
    }

    fn step(&mut self, span: Span, n: usize) -> Result<(), TemplateError> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > MAX_STEPS {
            return Err(TemplateError::StepBudget {
                at: self.at(span),
                max: MAX_STEPS,
            });
        }
        Ok(())
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, TemplateError> {
        for node in nodes {
            let flow = match node {
                Node::Text(span) => {
                    self.step(*span, 1)?;
                    let text = &self.src.as_bytes()[span.start..span.end];
                    self.out.push(text).map_err(|f| self.fail(*span, f))?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    self.step(pipe.span, 1)?;
                    let value = self.pipe(pipe, dot)?;
                    if pipe.vars.is_empty() {
                        self.print(&value, pipe.span)?;
                    } else {
                        self.bind(pipe, &[value]);
                    }
                    Flow::Normal
                }
                Node::If(branch) | Node::With(branch) => {
                    self.step(branch.pipe.span, 1)?;
                    let mark = self.vars.len();
                    let value = self.pipe(&branch.pipe, dot)?;
                    if !branch.pipe.vars.is_empty() {
                        self.bind(&branch.pipe, std::slice::from_ref(&value));
                    }
                    let flow = match (value.truthy(), matches!(node, Node::With(_))) {
                        (true, true) => self.walk(&branch.then, &value)?,
                        (true, false) => self.walk(&branch.then, dot)?,
                        (false, _) => self.walk(&branch.otherwise, dot)?,
                    };
                    self.vars.truncate(mark);
                    flow
                }
                Node::Range(branch) => self.range(branch, dot)?,
                Node::Break(span) => {
                    self.step(*span, 1)?;
                    return Ok(Flow::Break);
                }
                Node::Continue(span) => {
                    self.step(*span, 1)?;
                    return Ok(Flow::Continue);
                }
            };
            match flow {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn range(&mut self, branch: &super::parse::Branch, dot: &Value) -> Result<Flow, TemplateError> {
        let span = branch.pipe.span;
        self.step(span, 1)?;
        let mark = self.vars.len();
        let value = self.cmds(&branch.pipe, dot)?;
        // Lists and ints are iterated by index; a dict through a snapshot of its entries in
        // sorted key order (as Go), paid for in steps, since the body may change the dict.
        let mut pairs: Vec<(Value, Value)> = Vec::new();
        let count = match &value {
            Value::Missing | Value::Nil => 0,
            Value::List(items) => items.len(),
            Value::Dict(d) => {
                let d = d.borrow();
                self.step(span, d.map.len())?;
                pairs.extend(
                    d.map
                        .iter()
                        .map(|(k, v)| (Value::Str(k.clone()), v.clone())),
                );
                pairs.len()
            }
            Value::Int(n) => {
                if branch.pipe.vars.len() > 1 {
                    return Err(self.fail(
                        span,
                        Fail::Type("can't use two variables when ranging over an int".into()),
                    ));
                }
                usize::try_from(*n).unwrap_or(0)
            }
            other => {
                return Err(self.fail(
                    span,
                    Fail::Type(format!("range can't iterate over a {}", other.kind())),
                ));
            }
        };
        if count == 0 {
            // `break`/`continue` in the else branch belong to an outer range.
            let flow = self.walk(&branch.otherwise, dot)?;
            self.vars.truncate(mark);
            return Ok(flow);
        }
        for i in 0..count {
            // Each iteration costs a step, so a huge count fails on the budget.
            self.step(span, 1)?;
            self.vars.truncate(mark);
            let index = Value::Int(i64::try_from(i).unwrap_or(i64::MAX));
            let (key, element) = match &value {
                Value::List(items) => (index, items[i].clone()),
                Value::Dict(_) => pairs[i].clone(),
                _ => (index.clone(), index),
            };
            match branch.pipe.vars.len() {
                0 => {}
                1 => self.bind(&branch.pipe, std::slice::from_ref(&element)),
                _ => self.bind(&branch.pipe, &[key, element.clone()]),
            }
            match self.walk(&branch.then, &element)? {
                Flow::Break => break,
                Flow::Normal | Flow::Continue => {}
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    /// Declare or assign the pipe's variables.
    fn bind(&mut self, pipe: &Pipe, values: &[Value]) {
        for (name, value) in pipe.vars.iter().zip(values) {
            if pipe.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = value.clone();
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
    }

    fn print(&mut self, value: &Value, span: Span) -> Result<(), TemplateError> {
        match value {
            Value::Missing | Value::Nil => Err(TemplateError::NoValue { at: self.at(span) }),
            v => write_v(&mut self.out, v, 0).map_err(|f| self.fail(span, f)),
        }
    }

    /// A pipeline's value; a declaration in parentheses takes effect too.
    fn pipe(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value, TemplateError> {
        self.cmds(pipe, dot)
    }

    fn cmds(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value, TemplateError> {
        let mut last: Option<Value> = None;
        for cmd in &pipe.cmds {
            let value = match cmd.args.first() {
                Some(Arg::Func(f)) => self.call(*f, &cmd.args[1..], last.take(), dot, pipe.span)?,
                Some(arg) => self.operand(arg, dot, pipe.span)?,
                None => Value::Missing,
            };
            last = Some(value);
        }
        Ok(last.unwrap_or(Value::Missing))
    }

    fn operand(&mut self, arg: &Arg, dot: &Value, span: Span) -> Result<Value, TemplateError> {
        Ok(match arg {
            Arg::Func(f) => self.call(*f, &[], None, dot, span)?,
            Arg::Dot => dot.clone(),
            Arg::Nil => Value::Nil,
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::Str(bytes) => Value::str(bytes),
            Arg::Field(names) => self.fields(dot.clone(), names, span)?,
            Arg::Var(name, names) => {
                let value = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map_or(Value::Missing, |(_, v)| v.clone());
                self.fields(value, names, span)?
            }
            Arg::Sub(pipe, names) => {
                let value = self.pipe(pipe, dot)?;
                if !pipe.vars.is_empty() {
                    self.bind(pipe, std::slice::from_ref(&value));
                }
                self.fields(value, names, span)?
            }
        })
    }

    fn fields(
        &self,
        mut value: Value,
        names: &[String],
        span: Span,
    ) -> Result<Value, TemplateError> {
        for name in names {
            let next = match &value {
                Value::Dict(d) => d
                    .borrow()
                    .map
                    .get(&Text::new(name.as_bytes()))
                    .cloned()
                    .unwrap_or(Value::Missing),
                // Go: a field of nothing is nothing.
                Value::Missing | Value::Nil => Value::Missing,
                other => {
                    return Err(self.fail(
                        span,
                        Fail::Type(format!("can't read field {name:?} of a {}", other.kind())),
                    ));
                }
            };
            value = next;
        }
        Ok(value)
    }

    fn call(
        &mut self,
        func: Func,
        args: &[Arg],
        piped: Option<Value>,
        dot: &Value,
        span: Span,
    ) -> Result<Value, TemplateError> {
        self.step(span, 1)?;
        // `and` and `or` stop at the first argument that decides, as Go's do.
        if matches!(func, Func::And | Func::Or) {
            let want = func == Func::Or;
            let mut last = Value::Missing;
            for arg in args {
                last = nil_if_missing(self.operand(arg, dot, span)?);
                if last.truthy() == want {
                    return Ok(last);
                }
            }
            if let Some(p) = piped {
                last = nil_if_missing(p);
            }
            return Ok(last);
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(nil_if_missing(self.operand(arg, dot, span)?));
        }
        if let Some(p) = piped {
            values.push(nil_if_missing(p));
        }
        let result =
            builtins::call(&mut self.arena, func, values).map_err(|f| self.fail(span, f))?;
        // What a function builds costs steps too, so building cannot outrun the budget.
        let size = match &result {
            Value::Str(s) => s.bytes().len() / BYTES_PER_STEP,
            Value::List(items) => items.len(),
            Value::Dict(d) => d.borrow().map.len(),
            _ => 0,
        };
        let work = self.arena.take_work();
        self.step(span, size.saturating_add(work))?;
        Ok(result)
    }
}

/// A missing key passed to a function is nil, as in Go.
fn nil_if_missing(v: Value) -> Value {
    match v {
        Value::Missing => Value::Nil,
        v => v,
    }
}
