//! The key manager. Every replica watches the key Secrets (ours, and Bitnami's in compat mode)
//! and publishes a fresh [`KeyRing`] whenever they change, so keys added, restored or
//! relabelled at runtime take effect without a restart. The leader alone makes keys: on first
//! start, on schedule (`--key-renew-period`), when the newest key Secret carries
//! `kubectl-secrets.io/renew-requested-at` newer than its creation (how `keys rotate` asks),
//! or when the newest key predates `--key-cutoff-time`. Keys are never deleted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::{WatchStreamExt as _, reflector, watcher};
use secrets_core::seal::keys::{
    self, ACTIVE, BITNAMI_KEY_LABEL, Certificate, KEY_LABEL, KeyBits, KeyOrigin, KeyRing,
    RENEW_REQUESTED_AT, SealingKey,
};
use time::OffsetDateTime;
use tokio::sync::watch;
use zeroize::Zeroize as _;

use crate::metrics::Metrics;
use crate::telemetry::error_chain;

/// Validity of a new certificate: ten years, as Sealed Secrets.
const KEY_VALIDITY: time::Duration = time::Duration::days(3650);

/// Where keys live.
#[derive(Debug, Clone)]
pub struct KeySources {
    /// Our namespace (label `kubectl-secrets.io/sealing-key=active`).
    pub namespace: String,
    /// Bitnami's key namespace, in compat mode (label `…sealed-secrets-key=active`).
    pub bitnami_namespace: Option<String>,
}

/// Watch key Secrets forever, publishing the ring on `ring` and `true` on `synced` once every
/// source has been listed.
pub async fn watch_keys(
    client: kube::Client,
    sources: KeySources,
    ring: watch::Sender<Arc<KeyRing>>,
    synced: watch::Sender<bool>,
    changes: watch::Sender<u64>,
    metrics: Arc<Metrics>,
) {
    let mut readers = Vec::new();
    let mut streams = Vec::new();
    let mut add = |namespace: &str, label: &str| {
        let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let (reader, writer) = reflector::store();
        let config = watcher::Config::default().labels(&format!("{label}={ACTIVE}"));
        let stream = reflector(writer, watcher(api, config))
            .default_backoff()
            .boxed();
        readers.push(reader);
        streams.push(stream);
    };
    add(&sources.namespace, KEY_LABEL);
    if let Some(ns) = &sources.bitnami_namespace {
        add(ns, BITNAMI_KEY_LABEL);
    }
    let mut events = futures::stream::select_all(streams);
    let mut last: Vec<String> = Vec::new();
    while let Some(event) = events.next().await {
        if let Err(err) = event {
            tracing::warn!(error = %error_chain(&err), "watching key secrets");
            continue;
        }
        let all_ready = futures::future::join_all(readers.iter().map(|r| {
            let r = r.clone();
            async move {
                tokio::time::timeout(Duration::ZERO, r.wait_until_ready())
                    .await
                    .is_ok()
            }
        }))
        .await
        .into_iter()
        .all(|ready| ready);
        if !all_ready {
            continue;
        }
        let secrets: Vec<Arc<Secret>> = readers.iter().flat_map(|r| r.state()).collect();
        let new_ring = build_ring(&secrets);
        let fingerprints: Vec<String> = new_ring
            .keys()
            .iter()
            .map(SealingKey::fingerprint)
            .collect();
        if fingerprints != last || !*synced.borrow() {
            metrics.set_keys(new_ring.keys().len());
            if let Some(newest) = new_ring.newest() {
                metrics.set_last_renewal(newest.certificate.not_before());
            }
            tracing::info!(
                keys = fingerprints.len(),
                newest = fingerprints.last().map(String::as_str).unwrap_or("none"),
                "sealing keys loaded"
            );
            last = fingerprints;
            let _ = ring.send(Arc::new(new_ring));
        }
        let _ = synced.send(true);
        // Any change to a key Secret (an annotation too) wakes the renewal loop.
        changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Parse every key Secret; a bad one is logged by name and skipped, never fatal.
pub fn build_ring(secrets: &[Arc<Secret>]) -> KeyRing {
    let mut keys = Vec::new();
    for secret in secrets {
        let source = format!(
            "{}/{}",
            secret.metadata.namespace.as_deref().unwrap_or_default(),
            secret.metadata.name.as_deref().unwrap_or_default()
        );
        let created = secret
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t.0.as_second()).ok())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mut data: BTreeMap<String, Vec<u8>> = secret
            .data
            .as_ref()
            .map(|d| d.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
            .unwrap_or_default();
        match SealingKey::from_secret_data(&source, created, &data) {
            Ok(mut key) => {
                key.origin = origin(secret);
                keys.push(key);
            }
            Err(err) => {
                tracing::warn!(secret = %source, error = %error_chain(&err), "ignoring an unusable key secret")
            }
        }
        data.values_mut().for_each(|v| v.zeroize());
    }
    KeyRing::new(keys)
}

/// Bitnami's when only Bitnami's label selects the Secret; a Secret carrying both is ours.
fn origin(secret: &Secret) -> KeyOrigin {
    let labelled = |label: &str| {
        secret
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(label))
            .is_some_and(|v| v == ACTIVE)
    };
    if labelled(BITNAMI_KEY_LABEL) && !labelled(KEY_LABEL) {
        KeyOrigin::Bitnami
    } else {
        KeyOrigin::Ours
    }
}

/// Why a new key is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Make one now, for this reason.
    Now(&'static str),
    /// Not before this instant.
    At(OffsetDateTime),
    /// Only on request (renewal disabled).
    OnRequest,
}

/// The key Secret whose certificate starts last, with that start.
fn newest_key(secrets: &[Secret]) -> Option<(OffsetDateTime, &Secret)> {
    secrets
        .iter()
        .filter_map(|s| {
            let pem = s.data.as_ref()?.get("tls.crt")?;
            let cert = Certificate::from_pem(&pem.0).ok()?;
            Some((cert.not_before(), s))
        })
        .max_by_key(|(not_before, _)| *not_before)
}

/// When a new key's certificate starts: now, but always a second after the newest key's start.
/// Keys are ordered by that start (one-second resolution in X.509), so two keys made within one
/// second would tie, and which one is "newest" (sealed to, and whose renewal request counts)
/// would depend on list order.
pub fn next_not_before(secrets: &[Secret], now: OffsetDateTime) -> OffsetDateTime {
    match newest_key(secrets) {
        Some((newest, _)) => now.max(newest + time::Duration::seconds(1)),
        None => now,
    }
}

/// Renewal policy over the key Secrets (pure).
pub fn renewal_due(
    secrets: &[Secret],
    now: OffsetDateTime,
    period: Duration,
    cutoff: Option<OffsetDateTime>,
) -> Due {
    let Some((not_before, secret)) = newest_key(secrets) else {
        return Due::Now("no sealing key exists");
    };
    if cutoff.is_some_and(|cutoff| not_before < cutoff) {
        return Due::Now("the newest key predates --key-cutoff-time");
    }
    let requested = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RENEW_REQUESTED_AT))
        .and_then(|t| secrets_core::rfc3339::parse(t));
    let created = secret
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .unwrap_or(0);
    // Timestamps have one-second resolution: a request in the key's own second still counts.
    // Only the newest key is looked at, so the request is spent once a newer key exists.
    if requested.is_some_and(|r| r.unix_timestamp() >= created) {
        return Due::Now("a renewal was requested");
    }
    if period.is_zero() {
        return Due::OnRequest;
    }
    let at = not_before + period;
    if at <= now {
        Due::Now("the renewal period has passed")
    } else {
        Due::At(at)
    }
}

/// Parse `--key-cutoff-time`: RFC 3339 or RFC 1123Z (`date -R`).
pub fn parse_cutoff(text: &str) -> anyhow::Result<OffsetDateTime> {
    use time::format_description::well_known::Rfc2822;
    secrets_core::rfc3339::parse(text)
        .or_else(|| OffsetDateTime::parse(text, &Rfc2822).ok())
        .ok_or_else(|| {
            anyhow::anyhow!("invalid --key-cutoff-time {text:?}: expected RFC 3339 or RFC 1123Z")
        })
}

/// The leader's loop: make keys when due, until `leading` turns false.
pub async fn renew_keys(
    client: kube::Client,
    namespace: String,
    period: Duration,
    cutoff: Option<OffsetDateTime>,
    mut changes: watch::Receiver<u64>,
) {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let selector = format!("{KEY_LABEL}={ACTIVE}");
    loop {
        let wait = match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => match renewal_due(&list.items, OffsetDateTime::now_utc(), period, cutoff) {
                Due::Now(reason) => {
                    let not_before = next_not_before(&list.items, OffsetDateTime::now_utc());
                    match create_key(&api, &namespace, not_before).await {
                        Ok(name) => {
                            tracing::info!(secret = %name, reason, "made a new sealing key")
                        }
                        Err(err) => {
                            tracing::error!(error = format!("{err:#}"), "making a sealing key")
                        }
                    }
                    Duration::from_secs(1)
                }
                Due::At(at) => {
                    let secs = (at - OffsetDateTime::now_utc()).whole_seconds().max(1) as u64;
                    Duration::from_secs(secs.min(60))
                }
                Due::OnRequest => Duration::from_secs(60),
            },
            Err(err) => {
                tracing::warn!(error = %error_chain(&err), "listing key secrets");
                Duration::from_secs(5)
            }
        };
        // A change to the key Secrets (e.g. the annotation of `keys rotate`) wakes us early.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = changes.changed() => if changed.is_err() { return },
        }
    }
}

/// Generate an RSA-4096 key and store it as a new key Secret.
async fn create_key(
    api: &Api<Secret>,
    namespace: &str,
    not_before: OffsetDateTime,
) -> anyhow::Result<String> {
    let generated = tokio::task::spawn_blocking(move || {
        keys::generate(
            KeyBits::Rsa4096,
            "kubectl-secrets",
            not_before,
            KEY_VALIDITY,
        )
    })
    .await??;
    let mut secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {
            "generateName": "sealing-key-",
            "namespace": namespace,
            "labels": {KEY_LABEL: ACTIVE},
        },
        "type": "kubernetes.io/tls",
    }))?;
    secret.data = Some(BTreeMap::from([
        (
            "tls.crt".to_owned(),
            ByteString(generated.certificate.pem().as_bytes().to_vec()),
        ),
        (
            "tls.key".to_owned(),
            ByteString(generated.key_pem.as_bytes().to_vec()),
        ),
    ]));
    let created = api
        .create(
            &PostParams {
                field_manager: Some(crate::runtime::FIELD_MANAGER.into()),
                ..Default::default()
            },
            &secret,
        )
        .await;
    if let Some(data) = secret.data.as_mut() {
        data.values_mut().for_each(|v| v.0.zeroize());
    }
    Ok(created?.metadata.name.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_secret(not_before: OffsetDateTime, created: i64, requested: Option<&str>) -> Secret {
        let generated =
            keys::generate(KeyBits::Rsa2048, "t", not_before, time::Duration::days(1)).unwrap();
        let mut s: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "k", "creationTimestamp": OffsetDateTime::from_unix_timestamp(created).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap()},
        }))
        .unwrap();
        if let Some(r) = requested {
            s.metadata.annotations = Some(BTreeMap::from([(
                RENEW_REQUESTED_AT.to_owned(),
                r.to_owned(),
            )]));
        }
        s.data = Some(BTreeMap::from([(
            "tls.crt".to_owned(),
            ByteString(generated.certificate.pem().as_bytes().to_vec()),
        )]));
        s
    }

    #[test]
    fn a_new_key_starts_after_the_newest_even_within_its_second() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        assert_eq!(next_not_before(&[], now), now);
        let same_second = key_secret(now, now.unix_timestamp(), None);
        let later = now + time::Duration::milliseconds(400);
        let next = next_not_before(std::slice::from_ref(&same_second), later);
        assert_eq!(next, now + time::Duration::seconds(1));
        // Made with that start, the new key is the one renewal and sealing see as newest.
        let new = key_secret(next, now.unix_timestamp(), None);
        let ring = [same_second.clone(), new];
        assert_eq!(newest_key(&ring).map(|(nb, _)| nb), Some(next));
        let old = key_secret(now - time::Duration::days(2), 0, None);
        assert_eq!(
            next_not_before(&[old], now),
            now,
            "an old key leaves now alone"
        );
    }

    #[test]
    fn renewal_policy() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(
            renewal_due(&[], now, day, None),
            Due::Now("no sealing key exists")
        );
        let fresh = key_secret(
            now - time::Duration::hours(1),
            (now - time::Duration::hours(1)).unix_timestamp(),
            None,
        );
        assert_eq!(
            renewal_due(std::slice::from_ref(&fresh), now, day, None),
            Due::At(now - time::Duration::hours(1) + day)
        );
        assert_eq!(
            renewal_due(std::slice::from_ref(&fresh), now, Duration::ZERO, None),
            Due::OnRequest
        );
        assert_eq!(
            renewal_due(std::slice::from_ref(&fresh), now, day, Some(now)),
            Due::Now("the newest key predates --key-cutoff-time")
        );
        let old = key_secret(now - time::Duration::days(2), 0, None);
        assert_eq!(
            renewal_due(&[old.clone(), fresh.clone()], now, day, None),
            Due::At(now - time::Duration::hours(1) + day),
            "the newest key decides"
        );
        assert_eq!(
            renewal_due(&[old], now, day, None),
            Due::Now("the renewal period has passed")
        );
        let later = (now + time::Duration::seconds(5))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let requested = key_secret(
            now - time::Duration::hours(1),
            (now - time::Duration::hours(1)).unix_timestamp(),
            Some(&later),
        );
        assert_eq!(
            renewal_due(&[requested], now, day, None),
            Due::Now("a renewal was requested")
        );
    }

    #[test]
    fn cutoff_formats() {
        assert!(parse_cutoff("2026-01-02T03:04:05Z").is_ok());
        assert!(parse_cutoff("Fri, 02 Jan 2026 03:04:05 +0000").is_ok());
        assert!(parse_cutoff("yesterday").is_err());
    }
}
