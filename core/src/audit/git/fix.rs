//! `doctor --git . --fix`, the pure half: every plaintext Secret document of one file becomes a
//! SealedSecret sealed for the given key (strict scope, as `kubectl secrets seal` does by
//! default), in the file's own format. The plugin shows the plan, asks, and writes the file.
//!
//! Data flow: the file is split into documents with their byte ranges ([`document`]) → the
//! documents holding a Secret with real values ([`shape::secrets_in`]) are read with
//! [`crate::secret::parse_stream`], sealed with [`crate::seal::seal_secret`] and written back
//! (YAML through [`crate::yaml::to_string`], which quotes what YAML 1.1 readers would misread;
//! JSON pretty-printed) → every other byte of the file, comments and `---` lines included, is
//! copied as it was. A YAML document keeps its leading `---`/comment lines and trailing comment
//! lines; comments inside a rewritten Secret go with it.
//!
//! Not sealed, each with a reason in [`FixPlan::skipped`]: a Secret without a namespace when
//! none is given, one `seal` would refuse (invalid names, missing keys of its type, YAML 1.1
//! ambiguities), SOPS files (`sops -e` is their fix), and a whole `List` when one of its Secrets
//! cannot be sealed. Secrets of only placeholders are left alone: sealing `changeme` commits a
//! fake value as if it were real.

use serde_json::Value as Json;

use super::document::{self, Format};
use super::{placeholder, shape};
use crate::api::sealed_secret::{AnySealedSecret, Flavor};
use crate::seal::crypto::Scope;
use crate::seal::keys::PublicKey;
use crate::seal::{self, SealSecretError};
use crate::secret::{self, Document, PlainSecret, SecretManifest};

/// The rewritten file and what changed.
pub struct FixPlan {
    /// The whole file after the fix.
    pub text: String,
    /// The Secrets sealed.
    pub changes: Vec<FixChange>,
    /// The Secrets left as they were, and why.
    pub skipped: Vec<FixSkip>,
}

// Hand-written: the text still holds every Secret that was skipped.
impl std::fmt::Debug for FixPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixPlan")
            .field("text_len", &self.text.len())
            .field("changes", &self.changes)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// One Secret turned into a SealedSecret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixChange {
    /// 1-based number of the document among the file's non-empty documents.
    pub document: usize,
    /// `namespace/name`.
    pub secret: String,
    /// The keys sealed (names only).
    pub keys: Vec<String>,
}

/// One plaintext Secret the fix left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixSkip {
    /// 1-based number of the document.
    pub document: usize,
    /// `namespace/name`, or the name alone.
    pub secret: String,
    /// Why, and what to do instead.
    pub reason: String,
}

/// Why a file could not be fixed at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixError {
    /// A JSON stream that does not parse cannot be rewritten piecewise.
    #[error("fixing the file: {0}")]
    Parse(String),
    /// The cipher failed.
    #[error("fixing the file: sealing secret {secret}")]
    Seal {
        /// Which Secret.
        secret: String,
        /// Why.
        #[source]
        source: SealSecretError,
    },
    /// The SealedSecret could not be written out.
    #[error("fixing the file: writing the SealedSecret for {secret}: {message}")]
    Write {
        /// Which Secret.
        secret: String,
        /// The writer's message.
        message: String,
    },
}

/// Rewrite every plaintext Secret document of `text` into a SealedSecret sealed for `key`
/// (`kubectl-secrets.io/v1alpha1`, as `seal` writes by default). A Secret without a namespace
/// gets `namespace`, or is skipped ("no namespace: pass -n").
pub fn plan_fix(text: &str, namespace: Option<&str>, key: &PublicKey) -> Result<FixPlan, FixError> {
    plan_fix_as(text, namespace, key, Flavor::Native)
}

/// [`plan_fix`], writing SealedSecrets of `flavor` (`bitnami.com/v1alpha1` for clusters still
/// running Bitnami's controller, as `seal --format bitnami`).
pub fn plan_fix_as(
    text: &str,
    namespace: Option<&str>,
    key: &PublicKey,
    flavor: Flavor,
) -> Result<FixPlan, FixError> {
    let parsed = document::parse(text);
    if parsed.format == Format::Json
        && let Some(failure) = parsed.failures.first()
    {
        return Err(FixError::Parse(failure.message.clone()));
    }
    let mut plan = FixPlan {
        text: String::with_capacity(text.len()),
        changes: Vec::new(),
        skipped: Vec::new(),
    };
    let mut cursor = 0;
    let mut last_range = None;
    for doc in &parsed.docs {
        let shared = last_range == Some((doc.start, doc.end));
        last_range = Some((doc.start, doc.end));
        let plain: Vec<shape::SecretInfo> = shape::secrets_in(&doc.value)
            .into_iter()
            .filter(|s| !s.real_keys.is_empty())
            .collect();
        if plain.is_empty() {
            continue;
        }
        let skip_all = |plan: &mut FixPlan, reason: &str| {
            for s in &plain {
                plan.skipped.push(FixSkip {
                    document: doc.number,
                    secret: s.display(),
                    reason: reason.to_owned(),
                });
            }
        };
        if plain.iter().any(|s| s.sops) {
            skip_all(&mut plan, "a SOPS file: encrypt it with sops -e instead");
            continue;
        }
        if shared {
            skip_all(
                &mut plan,
                "the document could not be told apart from the one before",
            );
            continue;
        }
        let part = text.get(doc.start..doc.end).unwrap_or_default();
        let documents = match secret::parse_stream(part) {
            Ok(documents) => documents,
            Err(err) => {
                skip_all(&mut plan, &format!("seal would refuse it: {err}"));
                continue;
            }
        };
        let Some(rewritten) = rewrite(doc.number, documents, (namespace, key, flavor), &mut plan)?
        else {
            continue;
        };
        let replacement = match parsed.format {
            Format::Yaml => yaml_replacement(part, &rewritten)?,
            Format::Json => json_text(&rewritten)?,
        };
        plan.text
            .push_str(text.get(cursor..doc.start).unwrap_or_default());
        plan.text.push_str(&replacement);
        cursor = doc.end;
    }
    plan.text.push_str(text.get(cursor..).unwrap_or_default());
    Ok(plan)
}

/// The sealed form of one document (a Secret, or a `List` rebuilt around its items), or
/// `None` when nothing in it is sealed (its Secrets are then in `plan.skipped`).
fn rewrite(
    number: usize,
    documents: Vec<Document>,
    how: How<'_>,
    plan: &mut FixPlan,
) -> Result<Option<Json>, FixError> {
    let single = documents.len() == 1;
    let mut items = Vec::with_capacity(documents.len());
    let mut changes = Vec::new();
    let mut skips = Vec::new();
    for document in documents {
        match document {
            Document::Other(other) => items.push(other),
            Document::Secret(mut secret) => {
                if !secret.data.values().any(|v| placeholder::is_real(v)) {
                    items.push(plain_json(&secret)?);
                    continue;
                }
                match seal_one(&mut secret, how)? {
                    Ok(sealed) => {
                        changes.push(FixChange {
                            document: number,
                            secret: secret.display_name(),
                            keys: secret.data.keys().cloned().collect(),
                        });
                        items.push(sealed);
                    }
                    Err(reason) => {
                        skips.push(FixSkip {
                            document: number,
                            secret: secret.display_name(),
                            reason,
                        });
                        items.push(plain_json(&secret)?);
                    }
                }
            }
        }
    }
    if !skips.is_empty() && !single {
        // Half a List sealed would still hold plaintext: leave the whole List.
        for change in changes.drain(..) {
            skips.push(FixSkip {
                document: number,
                secret: change.secret,
                reason: "kept: another Secret of the same List could not be sealed".to_owned(),
            });
        }
    }
    plan.skipped.extend(skips);
    if changes.is_empty() {
        return Ok(None);
    }
    plan.changes.extend(changes);
    if single {
        return Ok(items.pop());
    }
    Ok(Some(serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
    })))
}

/// The default namespace, the key and the flavor to seal with.
type How<'a> = (Option<&'a str>, &'a PublicKey, Flavor);

/// Seal one Secret: `Ok(Err(reason))` when it is skipped, `Err` when the cipher fails.
fn seal_one(
    secret: &mut PlainSecret,
    (namespace, key, flavor): How<'_>,
) -> Result<Result<Json, String>, FixError> {
    if secret
        .metadata
        .namespace
        .as_deref()
        .is_none_or(str::is_empty)
    {
        match namespace {
            Some(ns) => secret.metadata.namespace = Some(ns.to_owned()),
            None => return Ok(Err("no namespace: pass -n".to_owned())),
        }
    }
    if let Some(type_) = &secret.type_
        && let Err(err) =
            crate::secret_type::check_required_keys(type_, secret.data.keys().map(String::as_str))
    {
        return Ok(Err(err.to_string()));
    }
    match seal::seal_secret(secret, key, Scope::Strict) {
        Ok(object) => {
            let any = AnySealedSecret { object, flavor };
            Ok(Ok(any.to_value(flavor)))
        }
        Err(err @ SealSecretError::Seal { .. }) => Err(FixError::Seal {
            secret: secret.display_name(),
            source: err,
        }),
        Err(err) => Ok(Err(err.to_string())),
    }
}

/// A Secret that stays in a rebuilt `List`, as a manifest.
fn plain_json(secret: &PlainSecret) -> Result<Json, FixError> {
    serde_json::to_value(SecretManifest::new(secret)).map_err(|err| FixError::Write {
        secret: secret.display_name(),
        message: crate::manifest::redact(&err.to_string()),
    })
}

fn json_text(value: &Json) -> Result<String, FixError> {
    serde_json::to_string_pretty(value).map_err(|err| FixError::Write {
        secret: describe(value),
        message: crate::manifest::redact(&err.to_string()),
    })
}

/// The YAML document replacing `part`: its leading marker and comment lines, the new body,
/// its trailing comment lines.
fn yaml_replacement(part: &str, value: &Json) -> Result<String, FixError> {
    let body = crate::yaml::to_string(value).map_err(|err| FixError::Write {
        secret: describe(value),
        message: crate::manifest::redact(&err.to_string()),
    })?;
    let lines: Vec<&str> = part.split_inclusive('\n').collect();
    let head = lines
        .iter()
        .take_while(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || l.starts_with('%') || marker_only(l)
        })
        .count();
    let tail = lines
        .iter()
        .skip(head)
        .rev()
        .take_while(|l| l.trim().is_empty() || l.starts_with('#'))
        .count();
    let mut out = String::new();
    match lines.first() {
        // `--- {...}` or `--- !tag`: the marker stays, its content goes.
        Some(first) if head == 0 && document::is_marker(first) => out.push_str("---\n"),
        _ => lines.iter().take(head).for_each(|l| out.push_str(l)),
    }
    out.push_str(&body);
    lines
        .iter()
        .skip(lines.len().saturating_sub(tail).max(head))
        .for_each(|l| out.push_str(l));
    Ok(out)
}

/// `---` alone or followed by a comment.
fn marker_only(line: &str) -> bool {
    document::is_marker(line)
        && line
            .get(3..)
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
}

fn describe(value: &Json) -> String {
    let meta = |key: &str| {
        value
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    format!("{}/{}", meta("namespace"), meta("name"))
}
