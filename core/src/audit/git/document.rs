//! A file split into its documents, each with its byte range, so findings can name a line and
//! the fix can replace one document and leave every other byte alone.
//!
//! YAML streams are split at `---` marker lines (a marker starts a line and is followed by
//! whitespace or the end of the line; inside block scalars such a line cannot occur at column
//! 0); JSON streams at the end of each top-level value. Each part is then read with
//! [`crate::manifest::parse_values`], the way `seal` reads manifests. Where that refuses what it
//! could read but would not seal (a YAML 1.1-ambiguous scalar, `!!binary`), the audit reads the
//! part leniently instead: ambiguity matters for sealing, not for spotting a Secret.

use serde::Deserialize as _;
use serde::de::IgnoredAny;
use serde_yaml_ng::Value;

use crate::manifest::{self, ManifestError};

/// The two stream formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Yaml,
    Json,
}

/// One parsed document: its 1-based number among the file's non-empty documents, its byte
/// range, and its tree (wiped on drop: it may hold plaintext).
pub(super) struct Doc {
    pub(super) number: usize,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) value: Value,
}

impl Drop for Doc {
    fn drop(&mut self) {
        crate::yaml::wipe(&mut self.value);
    }
}

/// A part that did not parse: where, and the parser's redacted message.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) start: usize,
    pub(super) message: String,
}

/// The parsed documents of `text` and the parts that failed (a JSON stream stops at its first
/// failure; a YAML stream goes on with the next part).
pub(super) struct Parsed {
    pub(super) format: Format,
    pub(super) docs: Vec<Doc>,
    pub(super) failures: Vec<Failure>,
}

/// The stream's format, as [`crate::manifest::parse_values`] decides it.
pub(super) fn format_of(text: &str) -> Format {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Yaml
    }
}

/// Split and parse `text`.
pub(super) fn parse(text: &str) -> Parsed {
    let format = format_of(text);
    let (ranges, mut failures) = match format {
        Format::Yaml => (split_yaml(text), Vec::new()),
        Format::Json => split_json(text),
    };
    let mut docs = Vec::new();
    for (start, end) in ranges {
        let part = text.get(start..end).unwrap_or_default();
        match parse_part(part) {
            Ok(values) => {
                for value in values {
                    docs.push(Doc {
                        number: docs.len() + 1,
                        start,
                        end,
                        value,
                    });
                }
            }
            Err(message) => failures.push(Failure { start, message }),
        }
    }
    Parsed {
        format,
        docs,
        failures,
    }
}

/// Byte ranges of the documents of a YAML stream, each starting at its `---` line.
pub(super) fn split_yaml(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut offset = 0;
    // Directives (`%YAML 1.2`) and comments before a marker belong to the document after it.
    let mut has_content = false;
    for line in text.split_inclusive('\n') {
        if offset >= start && is_marker(line) {
            if has_content {
                ranges.push((start, offset));
                start = offset;
            }
            has_content = !line.get(3..).unwrap_or_default().trim().is_empty();
        } else if offset >= start {
            let trimmed = line.trim();
            has_content |=
                !(trimmed.is_empty() || trimmed.starts_with('#') || line.starts_with('%'));
        }
        offset += line.len();
    }
    ranges.push((start, text.len()));
    ranges
}

/// A `---` document marker line.
pub(super) fn is_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// Byte ranges of the top-level values of a JSON stream; a syntax error ends the stream.
fn split_json(text: &str) -> (Vec<(usize, usize)>, Vec<Failure>) {
    let mut ranges = Vec::new();
    let mut failures = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
    let mut previous = 0;
    loop {
        match stream.next() {
            None => break,
            Some(Ok(_)) => {
                let end = stream.byte_offset();
                let gap = text.get(previous..end).unwrap_or_default();
                let start = previous + (gap.len() - gap.trim_start().len());
                ranges.push((start, end));
                previous = end;
            }
            Some(Err(err)) => {
                failures.push(Failure {
                    start: previous,
                    message: format!("invalid JSON: {}", manifest::redact(&err.to_string())),
                });
                break;
            }
        }
    }
    (ranges, failures)
}

/// The documents of one part (normally one; none for a part of only comments).
fn parse_part(part: &str) -> Result<Vec<Value>, String> {
    match manifest::parse_values(part) {
        Ok(values) => Ok(values),
        Err(ManifestError::Ambiguous(_) | ManifestError::Unsupported(_)) => lenient(part),
        Err(err) => Err(err.to_string()),
    }
}

/// The part read without the sealing-time refusals, merge keys applied, errors redacted.
fn lenient(part: &str) -> Result<Vec<Value>, String> {
    let mut values = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(part) {
        let redacted = |err: serde_yaml_ng::Error| {
            format!("invalid YAML: {}", manifest::redact(&err.to_string()))
        };
        let mut value = Value::deserialize(doc).map_err(redacted)?;
        if value.is_null() {
            continue;
        }
        value.apply_merge().map_err(redacted)?;
        values.push(value);
    }
    Ok(values)
}
