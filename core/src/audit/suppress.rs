//! The suppression file, `.kubectl-secrets-doctor.yaml`: findings a person has decided to
//! accept, each with a reason, optionally until a date.
//!
//! Data flow:
//!
//! ```text
//!  text ──[manifest::parse_values]──▶ one document ──[per entry: refuse unknown fields,
//!        (YAML or JSON, kubectl's      {suppressions: […]}   check the id, subject XOR
//!         reading; redacted errors)                          pathGlob, parse expires]──▶ Suppressions
//!
//!  Suppressions::apply(findings, today) ── per entry, in file order:
//!        no reason   ──▶ DOC001 (medium, fail), suppresses nothing
//!        expired     ──▶ DOC002 (low, warn),    suppresses nothing
//!        otherwise   ──▶ matching findings get `suppressed = true`; none matched ──▶ DOC003
//! ```
//!
//! A reason is required because a suppression without one is a decision nobody can review
//! later; an expiry makes the decision come back. The findings about the file are never
//! suppressible themselves (entry ids must be RBAC…, ENC…, GIT… or AGENT… check ids), and take
//! the category of the check the entry names. Entries are numbered from 1 in findings and
//! errors. An entry matches by its id and either its `subject` (kind and name, and namespace
//! when given) or, for `File` subjects, its `pathGlob` (`*` within a segment, `**` across
//! segments, relative to the `--git` root).

mod glob;
#[cfg(test)]
mod tests;

use serde::Deserialize;
use serde_yaml_ng::Value;
use time::Date;

use crate::audit::{Category, Finding, Scope, Severity, Status, Subject};

/// Why a suppression file could not be read. The text names the file and, for an entry, its
/// 1-based number; quoted scalars from the parser are redacted like manifest errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuppressError {
    /// The file is not one YAML or JSON document of the expected shape.
    #[error("reading suppression file {file}: {message}")]
    File {
        /// The name given to [`Suppressions::from_yaml`].
        file: String,
        /// What is wrong.
        message: String,
    },
    /// One entry is not valid.
    #[error("reading suppression file {file}: entry {entry}: {message}")]
    Entry {
        /// The name given to [`Suppressions::from_yaml`].
        file: String,
        /// 1-based position in `suppressions`.
        entry: usize,
        /// What is wrong.
        message: String,
    },
}

/// What an entry matches besides the id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A finding's subject: kind and name, and the namespace when the entry gives one.
    Subject {
        kind: String,
        name: String,
        namespace: Option<String>,
    },
    /// `File` subjects whose path matches.
    PathGlob(String),
}

/// One entry, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    id: String,
    category: Category,
    target: Target,
    /// `None` when missing or blank: a finding of its own.
    reason: Option<String>,
    /// The last day the entry applies.
    expires: Option<Date>,
}

impl Entry {
    fn matches(&self, finding: &Finding) -> bool {
        if finding.id != self.id {
            return false;
        }
        let subject = &finding.subject;
        match &self.target {
            Target::Subject {
                kind,
                name,
                namespace,
            } => {
                subject.kind == *kind
                    && subject.name == *name
                    && namespace
                        .as_deref()
                        .is_none_or(|ns| subject.namespace.as_deref() == Some(ns))
            }
            Target::PathGlob(pattern) => {
                subject.kind == "File" && glob::matches(pattern, &subject.name)
            }
        }
    }
}

/// The entries of one suppression file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Suppressions {
    source: String,
    entries: Vec<Entry>,
}

/// The file as written; entries are read one by one so an error can name the entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppressions: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawEntry {
    id: String,
    #[serde(default)]
    subject: Option<RawSubject>,
    #[serde(default)]
    path_glob: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expires: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

impl Suppressions {
    /// Read a suppression file; `source` names it in errors and in the findings about it
    /// (the plugin passes the path relative to the `--git` root, or as given).
    pub fn from_yaml(text: &str, source: &str) -> Result<Self, SuppressError> {
        let file_error = |message: String| SuppressError::File {
            file: source.to_owned(),
            message,
        };
        let docs = crate::manifest::parse_values(text).map_err(|e| file_error(e.to_string()))?;
        let raw = match docs.as_slice() {
            [] => RawFile { suppressions: None },
            [doc] => RawFile::deserialize(doc)
                .map_err(|e| file_error(crate::manifest::redact(&e.to_string())))?,
            more => {
                return Err(file_error(format!(
                    "{} documents, expected one",
                    more.len()
                )));
            }
        };
        let mut entries = Vec::new();
        for (index, value) in raw.suppressions.unwrap_or_default().iter().enumerate() {
            let entry = entry(value).map_err(|message| SuppressError::Entry {
                file: source.to_owned(),
                entry: index + 1,
                message,
            })?;
            entries.push(entry);
        }
        Ok(Self {
            source: source.to_owned(),
            entries,
        })
    }

    /// How many entries the file holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Mark the findings that an entry in force matches as suppressed, and append the
    /// findings about the file itself (DOC001 no reason, DOC002 expired, DOC003 matches
    /// nothing; see the module doc). An entry is in force through its `expires` day, judged
    /// by `today`. Call it once per run: a second call appends the file's findings again.
    pub fn apply(&self, findings: &mut Vec<Finding>, today: Date) {
        let mut about_file = Vec::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let number = index + 1;
            if entry.reason.is_none() {
                about_file.push(self.finding(
                    entry,
                    "DOC001",
                    (Severity::Medium, Status::Fail),
                    format!("suppression entry {number} has no reason"),
                    format!(
                        "add a reason to entry {number} ({}): why this finding is accepted; \
                         until then it suppresses nothing",
                        entry.id
                    ),
                ));
                continue;
            }
            if let Some(expires) = entry.expires.filter(|day| today > *day) {
                about_file.push(
                    self.finding(
                        entry,
                        "DOC002",
                        (Severity::Low, Status::Warn),
                        format!(
                            "suppression entry {number} ({}) expired on {expires}: it no longer \
                         suppresses",
                            entry.id
                        ),
                        "fix what it suppressed and remove the entry, or review it and give it \
                     a later expires date"
                            .to_owned(),
                    ),
                );
                continue;
            }
            let mut matched = false;
            for finding in findings.iter_mut().filter(|f| entry.matches(f)) {
                finding.suppressed = true;
                matched = true;
            }
            if !matched {
                about_file.push(
                    self.finding(
                        entry,
                        "DOC003",
                        (Severity::Info, Status::Warn),
                        format!(
                            "suppression entry {number} ({}) matches no finding of this run",
                            entry.id
                        ),
                        "remove it if what it suppressed is fixed, or correct its id, subject or \
                     pathGlob"
                            .to_owned(),
                    ),
                );
            }
        }
        findings.extend(about_file);
    }

    fn finding(
        &self,
        entry: &Entry,
        id: &str,
        (severity, status): (Severity, Status),
        message: String,
        hint: String,
    ) -> Finding {
        Finding {
            id: id.to_owned(),
            category: entry.category,
            severity,
            status,
            suppressed: false,
            subject: Subject::new("File", self.source.clone()),
            scope: Scope::Cluster,
            location: None,
            via: vec![],
            message,
            hint,
        }
    }
}

/// One entry from its tree; the error text is the entry's part of [`SuppressError::Entry`].
fn entry(value: &Value) -> Result<Entry, String> {
    let raw = RawEntry::deserialize(value).map_err(|e| crate::manifest::redact(&e.to_string()))?;
    let category = category(&raw.id).ok_or_else(|| {
        "`id` must be a check id: RBAC, ENC, GIT or AGENT followed by digits (RBAC011)".to_owned()
    })?;
    let target = match (raw.subject, raw.path_glob) {
        (Some(subject), None) => Target::Subject {
            kind: subject.kind,
            name: subject.name,
            namespace: subject.namespace,
        },
        (None, Some(pattern)) => {
            // People copy paths as `./charts/…`; subjects' paths never start that way.
            let pattern = pattern.strip_prefix("./").unwrap_or(&pattern);
            if pattern.is_empty() {
                return Err("`pathGlob` is empty".to_owned());
            }
            Target::PathGlob(pattern.to_owned())
        }
        (Some(_), Some(_)) => return Err("give a `subject` or a `pathGlob`, not both".to_owned()),
        (None, None) => return Err("needs a `subject` or a `pathGlob`".to_owned()),
    };
    let expires = raw.expires.as_ref().map(expiry).transpose()?;
    Ok(Entry {
        id: raw.id,
        category,
        target,
        reason: raw.reason.filter(|r| !r.trim().is_empty()),
        expires,
    })
}

/// The category of a check id: its letters, then at least one digit and only digits.
fn category(id: &str) -> Option<Category> {
    let digits_at = id.find(|c: char| c.is_ascii_digit())?;
    let (prefix, number) = id.split_at(digits_at);
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match prefix {
        "RBAC" => Some(Category::Rbac),
        "ENC" => Some(Category::Encryption),
        "GIT" => Some(Category::Git),
        "AGENT" => Some(Category::Agent),
        _ => None,
    }
}

/// `expires` as the last day in force: `YYYY-MM-DD`, or an RFC 3339 time (its date where
/// it was written, so `2027-01-31T23:00:00-05:00` is the 31st). YAML 1.2 reads an unquoted
/// date as text, so both spellings arrive as strings.
fn expiry(value: &Value) -> Result<Date, String> {
    const WHAT: &str = "`expires` must be a date (2027-01-31) or an RFC 3339 time";
    let text = value.as_str().ok_or_else(|| WHAT.to_owned())?.trim();
    if let Some(date) = calendar_date(text) {
        return Ok(date);
    }
    crate::rfc3339::parse(text)
        .map(|t| t.date())
        .ok_or_else(|| format!("{WHAT}, not a valid one"))
}

/// `YYYY-MM-DD`, exactly: four, two and two digits, a real day.
fn calendar_date(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return None;
    }
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}
