//! Reads: one secret's value (`GetSecretValue`), many current values at once
//! (`BatchGetSecretValue` through the collector, each per-id error mapped to its own id, with
//! a fall-back to `GetSecretValue` from then on when the batch action is denied), tags
//! (`DescribeSecret`), and names (`ListSecrets`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use secrets_core::store::{ErrorKind, ReadKey, RemoteValue, StoreError};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::{AwsStore, Inner};
use crate::STORE_TYPE;
use crate::batch::chunks;
use crate::error::{CallContext, ErrorAnswer, classify, detail};
use crate::observe::Op;
use crate::sm::{self, BATCH_LIMIT, Payload, SecretEntry, VersionSel};

/// One secret as read, cloneable so every read of it in a window gets its own value.
#[derive(Clone)]
pub(crate) struct Fetched {
    path: String,
    version: Option<String>,
    payload: Payload,
}

/// A failure, cloneable for the same reason.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    kind: ErrorKind,
    message: String,
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure {
            kind: err.kind(),
            message: err.message().to_owned(),
        }
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        StoreError::new(STORE_TYPE, f.kind, f.message)
    }
}

/// What a batched read gets back.
pub(crate) type Answer = Result<Fetched, Failure>;

impl Fetched {
    fn from_entry(mut entry: SecretEntry, id: &str, asked: &VersionSel, action: &str) -> Answer {
        let payload = entry
            .take_payload(action)
            .map_err(|e| Failure::from(StoreError::from(e)))?;
        Ok(Fetched {
            path: id.to_owned(),
            version: entry.version_label(asked),
            payload,
        })
    }

    fn into_value(self) -> RemoteValue {
        let bytes = match self.payload {
            Payload::Text(text) => Zeroizing::new(text.as_bytes().to_vec()),
            Payload::Binary(bytes) => bytes,
        };
        RemoteValue::raw(STORE_TYPE, self.path, self.version, bytes)
    }
}

impl AwsStore {
    pub(super) async fn read_value(&self, read: &ReadKey) -> Result<RemoteValue, StoreError> {
        let key = read.key.trim();
        if key.is_empty() {
            return Err(super::invalid("the remote key is empty"));
        }
        let id = format!("{}{key}", self.inner.prefix);
        if read.metadata {
            return self.inner.describe(&id).await;
        }
        let version = VersionSel::parse(read.version.as_deref()).map_err(|why| {
            let asked = read.version.as_deref().unwrap_or_default();
            super::invalid(format!("version {asked:?} of aws secret {id:?} {why}"))
        })?;
        let batching = version == VersionSel::Current
            && self.inner.batch
            && !self.inner.batch_denied.load(Ordering::Relaxed);
        let fetched = if batching {
            let inner = Arc::clone(&self.inner);
            let collector = Arc::clone(&self.inner.collector);
            collector
                .submit(id.clone(), move |ids| async move { inner.flush(ids).await })
                .await
                .unwrap_or_else(|| {
                    Err(Failure {
                        kind: ErrorKind::BadResponse,
                        message: format!("the batched read of aws secret {id:?} got no answer"),
                    })
                })
        } else {
            self.inner.get_secret_value(&id, &version).await
        };
        fetched.map(Fetched::into_value).map_err(StoreError::from)
    }

    pub(super) async fn list_names(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let full = format!("{}{prefix}", self.inner.prefix);
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let (body, _) = self
                .inner
                .sm_call(Op::ListSecrets, sm::list_body(&full, next.as_deref()), None)
                .await?;
            let page: sm::ListPage = sm::parse(&body, Op::ListSecrets.action())?;
            for listed in page.secret_list {
                if listed.deleted_date.is_some() {
                    continue;
                }
                if let Some(rest) = listed.name.strip_prefix(&self.inner.prefix)
                    && listed.name.starts_with(&full)
                {
                    names.push(rest.to_owned());
                }
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) if Some(&token) != next.as_ref() => next = Some(token),
                _ => break,
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

impl Inner {
    pub(super) async fn get_secret_value(&self, id: &str, version: &VersionSel) -> Answer {
        let op = Op::GetSecretValue;
        let (body, _) = self
            .sm_call(op, sm::get_secret_value_body(id, version), Some(id))
            .await?;
        let entry: SecretEntry =
            sm::parse(&body, op.action()).map_err(|e| Failure::from(StoreError::from(e)))?;
        Fetched::from_entry(entry, id, version, op.action())
    }

    /// `DescribeSecret`: tags as the value's keys; a secret scheduled for deletion is gone.
    pub(super) async fn describe(&self, id: &str) -> Result<RemoteValue, StoreError> {
        let op = Op::DescribeSecret;
        let (body, _) = self.sm_call(op, sm::describe_body(id), Some(id)).await?;
        let described: sm::Described = sm::parse(&body, op.action())?;
        if described.deleted_date.is_some() {
            return Err(StoreError::new(
                STORE_TYPE,
                ErrorKind::NotFound,
                format!("aws secret {id:?} is scheduled for deletion"),
            ));
        }
        let tags: Map<String, Value> = described
            .tags
            .into_iter()
            .map(|t| (t.key, Value::String(t.value)))
            .collect();
        Ok(RemoteValue::new(STORE_TYPE, id, None, tags))
    }

    /// Answer every queued id (duplicates included, in order).
    pub(super) async fn flush(self: Arc<Self>, ids: Vec<String>) -> Vec<Answer> {
        let runs = chunks(&ids, BATCH_LIMIT);
        let results = futures::future::join_all(runs.iter().map(|run| self.batch_run(run))).await;
        let mut by_id: BTreeMap<String, Answer> = BTreeMap::new();
        for answers in results {
            by_id.extend(answers);
        }
        ids.iter()
            .map(|id| {
                by_id.get(id).cloned().unwrap_or_else(|| {
                    Err(Failure {
                        kind: ErrorKind::BadResponse,
                        message: format!(
                            "aws's answer to secretsmanager:BatchGetSecretValue did not mention {id:?}"
                        ),
                    })
                })
            })
            .collect()
    }

    /// One `BatchGetSecretValue` of at most [`BATCH_LIMIT`] distinct ids (all its pages).
    async fn batch_run(&self, run: &[String]) -> Vec<(String, Answer)> {
        if self.batch_denied.load(Ordering::Relaxed) {
            return self.one_by_one(run).await;
        }
        let op = Op::BatchGetSecretValue;
        let mut answers: BTreeMap<String, Answer> = BTreeMap::new();
        let mut next: Option<String> = None;
        loop {
            let (body, principal) = match self
                .sm_call(op, sm::batch_body(run, next.as_deref()), None)
                .await
            {
                Ok(answer) => answer,
                Err(err) if err.kind() == ErrorKind::PermissionDenied && answers.is_empty() => {
                    if !self.batch_denied.swap(true, Ordering::Relaxed) {
                        tracing::info!(
                            store = %self.label,
                            error = %err,
                            "secretsmanager:BatchGetSecretValue is denied; reading with \
                             GetSecretValue one secret at a time from now on"
                        );
                    }
                    return self.one_by_one(run).await;
                }
                Err(err) => {
                    let failure = Failure::from(err);
                    return run
                        .iter()
                        .map(|id| (id.clone(), Err(failure.clone())))
                        .collect();
                }
            };
            let page: sm::BatchAnswer = match sm::parse(&body, op.action()) {
                Ok(page) => page,
                Err(err) => {
                    let failure = Failure::from(StoreError::from(err));
                    return run
                        .iter()
                        .map(|id| (id.clone(), Err(failure.clone())))
                        .collect();
                }
            };
            for entry in page.secret_values {
                let Some(id) = run.iter().find(|id| entry.answers(id)) else {
                    continue;
                };
                answers.insert(
                    id.clone(),
                    Fetched::from_entry(entry, id, &VersionSel::Current, op.action()),
                );
            }
            for error in page.errors {
                let Some(id) = run.iter().find(|id| **id == error.secret_id) else {
                    continue;
                };
                let err = classify(
                    CallContext {
                        action: Op::GetSecretValue.action(),
                        secret: Some(id),
                        principal: &principal,
                    },
                    ErrorAnswer {
                        status: 400,
                        code: error.error_code,
                        message: detail(&error.message),
                        retry_after: None,
                    },
                );
                answers.insert(id.clone(), Err(Failure::from(StoreError::from(err))));
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) if Some(&token) != next.as_ref() => next = Some(token),
                _ => break,
            }
        }
        answers.into_iter().collect()
    }

    async fn one_by_one(&self, run: &[String]) -> Vec<(String, Answer)> {
        let reads = run.iter().map(|id| async move {
            (
                id.clone(),
                self.get_secret_value(id, &VersionSel::Current).await,
            )
        });
        futures::future::join_all(reads).await
    }
}
