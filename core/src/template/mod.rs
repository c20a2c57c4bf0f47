//! `template.data`: Go's `text/template` with the Sprig functions Sealed Secrets and ESO
//! users write, evaluated safely over the decrypted values.
//!
//! Data flow: `lexer` turns the text into tokens (trim markers applied, comments dropped);
//! `parse` builds the tree and checks what Go checks before running — functions exist and
//! are not refused, variables are declared, arities fit — which is all [`check`] does;
//! `exec` walks the tree with the data as dot (a map key → value, as Bitnami's and ESO's
//! `map[string]string`), calling `builtins`, `sprig`, `printf` and `json`. Every
//! string lives in a zeroizing buffer (`value::Buf`, `value::Text`); the output is one.
//!
//! Bounds (each a [`TemplateError`] variant): template text ≤ [`MAX_TEMPLATE`] bytes, output
//! (and any one string built) ≤ [`MAX_OUTPUT`], at most [`MAX_STEPS`] evaluation steps,
//! nesting ≤ [`MAX_NESTING`] blocks/parentheses and [`MAX_VALUE_DEPTH`] levels of values.
//!
//! Deliberate differences from Go: printing a missing key or nil is an error (Go writes
//! `<no value>` into the Secret); `printf` with a verb that does not fit its argument, and
//! `b64dec`/`fromJson` of bad input, are errors (Go and Sprig write an error text or nil into
//! the output); `keys` is sorted. Functions whose output changes on every reconcile or that
//! reach outside the template are refused by name.

mod builtins;
mod error;
mod exec;
mod funcs;
mod json;
mod lexer;
mod parse;
mod printf;
mod sprig;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use zeroize::Zeroizing;

pub use error::{Location, TemplateError};
pub use parse::MAX_NESTING;
pub use value::MAX_VALUE_DEPTH;

/// Longest template text accepted.
pub const MAX_TEMPLATE: usize = 256 * 1024;
/// Largest output (and largest string any function may build).
pub const MAX_OUTPUT: usize = 1024 * 1024;
/// Evaluation step budget: every node, range iteration and function call is a step, and
/// every 256 bytes (or list/dict item) a function builds is one more.
pub const MAX_STEPS: usize = 100_000;

type Bytes = Zeroizing<Vec<u8>>;

fn parse(template: &str) -> Result<Vec<parse::Node>, TemplateError> {
    if template.len() > MAX_TEMPLATE {
        return Err(TemplateError::TooLong {
            len: template.len(),
            max: MAX_TEMPLATE,
        });
    }
    let tokens = lexer::lex(template)?;
    parse::parse(template, tokens)
}

/// Render `template` over `values` (key → plaintext). The whole template is parsed first, so
/// a syntax error renders nothing.
pub fn render(template: &str, values: &BTreeMap<String, Bytes>) -> Result<Bytes, TemplateError> {
    let nodes = parse(template)?;
    exec::run(template, &nodes, values)
}

/// Check a template without values (before anything is decrypted): syntax, unknown and
/// refused functions, undeclared variables, argument counts.
pub fn check(template: &str) -> Result<(), TemplateError> {
    parse(template).map(drop)
}
