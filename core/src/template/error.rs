//! The one error type of template rendering. Messages say where (line, column and the action's
//! own text, which is template source, never a value) and what went wrong; no variant ever
//! holds a decrypted value or anything computed from one.

use std::fmt;

/// Where in the template something went wrong: 1-based line and column (in characters) of
/// the action, and the action's text (shortened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The action's source text, at most [`Location::EXCERPT`] characters.
    pub excerpt: String,
}

impl Location {
    /// How much of an action's text a message quotes.
    pub const EXCERPT: usize = 60;

    /// The location of `source[start..end]` (boxed: it rides in every error, which stays
    /// small that way).
    pub(crate) fn of(source: &str, start: usize, end: usize) -> Box<Location> {
        let start = floor_boundary(source, start.min(source.len()));
        let end = floor_boundary(source, end.clamp(start, source.len()));
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before, |nl| &before[nl + 1..])
            .chars()
            .count()
            + 1;
        let text = &source[start..end];
        let mut excerpt: String = text.chars().take(Self::EXCERPT).collect();
        if text.chars().count() > Self::EXCERPT {
            excerpt.push('…');
        }
        Box::new(Location {
            line,
            column,
            excerpt,
        })
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)?;
        if !self.excerpt.is_empty() {
            write!(f, " ({:?})", self.excerpt)?;
        }
        Ok(())
    }
}

/// Why a template could not be checked or rendered. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template text is longer than the limit.
    #[error("template is {len} bytes, more than the {max}-byte limit")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Text that is not a valid template.
    #[error("syntax error at {at}: {what}")]
    Syntax {
        /// Where.
        at: Box<Location>,
        /// What is wrong.
        what: String,
    },
    /// A function that neither Go templates nor Sprig define (or that we do not know).
    #[error("at {at}: function {name:?} is not defined")]
    UnknownFunction {
        /// Where.
        at: Box<Location>,
        /// The function.
        name: String,
    },
    /// A Go template or Sprig function refused on purpose.
    #[error("at {at}: function {name:?} is refused: {why}")]
    Refused {
        /// Where.
        at: Box<Location>,
        /// The function.
        name: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// Syntax or a function that exists in Go templates, Sprig or ESO but is not implemented.
    #[error("at {at}: {name} is not supported: {why}")]
    Unsupported {
        /// Where.
        at: Box<Location>,
        /// The function or keyword.
        name: String,
        /// Why, or what to use instead.
        why: &'static str,
    },
    /// A function called with the wrong number of arguments (piped values count).
    #[error("at {at}: function {name:?} takes {expected} argument(s), got {got}")]
    Arity {
        /// Where.
        at: Box<Location>,
        /// The function.
        name: &'static str,
        /// What it takes, e.g. `2` or `at least 1`.
        expected: String,
        /// How many it got.
        got: usize,
    },
    /// An action would print a missing key or nil (Go would print `<no value>`).
    #[error("at {at}: the value is missing (no such key, or nil); use `default` or `if`")]
    NoValue {
        /// Where.
        at: Box<Location>,
    },
    /// A value of the wrong kind for what it is used for (only kinds are named).
    #[error("at {at}: {what}")]
    Type {
        /// Where.
        at: Box<Location>,
        /// What was expected and what kind was given.
        what: String,
    },
    /// A function failed on its input (bad base64, bad JSON, an index out of range, …).
    #[error("at {at}: {func}: {what}")]
    Function {
        /// Where.
        at: Box<Location>,
        /// The function.
        func: &'static str,
        /// What went wrong (never the input).
        what: String,
    },
    /// The output would pass the limit.
    #[error("at {at}: output would pass the {max}-byte limit")]
    OutputTooLarge {
        /// Where.
        at: Box<Location>,
        /// The limit.
        max: usize,
    },
    /// The template took more evaluation steps than the budget.
    #[error("at {at}: evaluation took more than {max} steps")]
    StepBudget {
        /// Where.
        at: Box<Location>,
        /// The budget.
        max: usize,
    },
    /// Nesting deeper than the limit (blocks, parentheses, or nested lists/dicts/JSON).
    #[error("at {at}: nesting deeper than {max} levels")]
    TooDeep {
        /// Where.
        at: Box<Location>,
        /// The limit.
        max: usize,
    },
}
