//! Leader election on a `coordination.k8s.io/v1` Lease, with the semantics of client-go's
//! `leaderelection` package (written here, not taken from a crate).
//!
//! Data flow: [`run`] loops over *attempts*. Each attempt reads the Lease
//! `namespace/name` and either creates it (none yet), leaves it alone (another replica holds
//! it and it has not expired), or writes this replica's identity and a fresh `renewTime` into
//! it with `replace`, carrying the resourceVersion it read, so that of two racing writers
//! exactly one wins and the other gets a 409. The outcome goes out on the `leading` watch
//! channel: `true` only after a write naming us succeeded, `false` the moment we may no
//! longer assume we hold the Lease. The controller watches that channel and starts or stops.
//!
//! Timing, as client-go does it:
//! - Expiry of someone else's Lease is judged by *our* clock: the instant we last saw the
//!   Lease's spec change, plus its `leaseDurationSeconds`. The `renewTime` written by the
//!   holder is never compared with our wall clock, so clock skew between nodes does not
//!   matter, only the rate at which clocks run.
//! - The holder counts its validity from the instant it *sent* its last successful write.
//!   That instant precedes the moment any peer can observe the write, so the holder always
//!   steps down (publishes `false`) no later than any peer can consider the Lease expired.
//!   Every request while leading is cut off at that deadline, so a hanging API server cannot
//!   keep a stale leader running.
//!
//! On shutdown a holder first publishes `false` (its controller stops), then releases the
//! Lease (no holder, `leaseDurationSeconds: 1`) so that a peer takes over on its next poll
//! instead of waiting for expiry.

use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;
use tokio::time::Instant;

/// Settings of the election.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Lease name.
    pub name: String,
    /// This replica's identity.
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
}

impl LeaseConfig {
    /// Refuse settings under which the election cannot work.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (what, value) in [
            ("namespace", &self.namespace),
            ("name", &self.name),
            ("identity", &self.identity),
        ] {
            anyhow::ensure!(!value.is_empty(), "the lease {what} is empty");
        }
        anyhow::ensure!(
            !self.renew_every.is_zero(),
            "the lease renewal interval is zero"
        );
        // A holder that renews no more often than the lease lasts would lose it between
        // renewals; retries after a failure need room inside the lease too.
        anyhow::ensure!(
            self.renew_every < self.lease_duration,
            "the lease renewal interval ({:?}) must be shorter than the lease duration ({:?})",
            self.renew_every,
            self.lease_duration
        );
        Ok(())
    }

    /// `leaseDurationSeconds` to write: whole seconds, rounded up so that peers never wait
    /// less than we assume, and at least 1 (the API requires a positive value).
    pub fn lease_duration_seconds(&self) -> i32 {
        let d = self.lease_duration;
        let seconds = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
        i32::try_from(seconds.max(1)).unwrap_or(i32::MAX)
    }
}

/// Run the election until `shutdown` flips to true; publish `true` on `leading` while this
/// replica holds the lease, `false` as soon as it does not. Releases the lease on shutdown.
///
/// A closed `shutdown` channel counts as a stop: nobody could ask us to stop any more, and a
/// dropped sender means the owner is going away. Errors are returned only for invalid
/// settings; API failures are logged and retried.
pub async fn run(
    client: kube::Client,
    config: LeaseConfig,
    leading: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    config.validate()?;
    let mut elector = Elector::new(client, config);
    let lease = format!("{}/{}", elector.config.namespace, elector.config.name);
    let identity = elector.config.identity.clone();
    let lease_duration = elector.config.lease_duration;
    let renew_every = elector.config.renew_every;
    publish(&leading, false);
    // While leading: the instant after which we may no longer assume we hold the Lease.
    let mut valid_until: Option<Instant> = None;
    tracing::info!(%lease, %identity, "leader election started");

    loop {
        // A request must not outlive our claim to the Lease; when following, the lease
        // duration is a generous bound that still lets a hung request give way to a new one.
        let budget = valid_until.map_or(lease_duration, |until| {
            until.saturating_duration_since(Instant::now())
        });
        let attempt = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => break,
            attempt = tokio::time::timeout(budget, elector.attempt()) => attempt,
        };
        let next_wait = match attempt {
            Ok(Ok(Attempt::Holding { sent, took_over })) => {
                let until = sent + lease_duration;
                if until > Instant::now() {
                    if valid_until.is_none() {
                        tracing::info!(%lease, %identity, took_over, "became the leader");
                    } else {
                        tracing::debug!(%lease, %identity, "renewed the lease");
                    }
                    valid_until = Some(until);
                    publish(&leading, true);
                } else {
                    // Only possible when not yet leading (otherwise the budget cuts the
                    // request off): the write took so long that the claim is already over.
                    tracing::warn!(%lease, %identity, "the lease write took longer than the lease lasts");
                }
                // The one holder renews on a fixed beat: no herd to spread out.
                renew_every
            }
            Ok(Ok(Attempt::HeldBy(holder))) => {
                if valid_until.take().is_some() {
                    tracing::warn!(%lease, %identity, %holder, "another replica took the lease; stepping down");
                    publish(&leading, false);
                } else {
                    tracing::debug!(%lease, %holder, "the lease is held by another replica");
                }
                elector.retry_delay()
            }
            Ok(Ok(Attempt::Conflict)) => {
                tracing::debug!(%lease, %identity, "another writer changed the lease first; retrying");
                elector.retry_delay()
            }
            Ok(Err(err)) => {
                tracing::warn!(%lease, %identity, error = %crate::telemetry::error_chain(&err), "lease request failed; retrying");
                elector.retry_delay()
            }
            Err(_) => {
                tracing::warn!(%lease, %identity, timeout = ?budget, "lease request timed out; retrying");
                elector.retry_delay()
            }
        };

        let next_attempt = Instant::now() + next_wait;
        let wake = valid_until.map_or(next_attempt, |until| until.min(next_attempt));
        tokio::select! {
            biased;
            () = stopped(&mut shutdown) => break,
            () = tokio::time::sleep_until(wake) => {}
        }
        if valid_until.is_some_and(|until| Instant::now() >= until) {
            // Peers may consider the Lease expired from now on: the controller must stop
            // before any of them can start.
            tracing::warn!(%lease, %identity, "could not renew the lease in time; stepping down");
            valid_until = None;
            publish(&leading, false);
        }
    }

    // Stop the controller before handing the Lease over, so two never run at once.
    let was_leading = valid_until.is_some();
    publish(&leading, false);
    if was_leading || elector.may_hold {
        match tokio::time::timeout(lease_duration, elector.release()).await {
            Ok(Ok(true)) => tracing::info!(%lease, %identity, "released the lease"),
            Ok(Ok(false)) => {
                tracing::debug!(%lease, %identity, "the lease was not ours to release")
            }
            Ok(Err(err)) => {
                tracing::warn!(%lease, %identity, error = %crate::telemetry::error_chain(&err), "could not release the lease; peers take over when it expires");
            }
            Err(_) => {
                tracing::warn!(%lease, %identity, "releasing the lease timed out; peers take over when it expires");
            }
        }
    }
    tracing::info!(%lease, %identity, "leader election stopped");
    Ok(())
}

/// Publish only real changes, so watchers are not woken on every renewal. The value is
/// stored even with no receiver left, so a late subscriber sees the truth.
fn publish(leading: &watch::Sender<bool>, value: bool) {
    leading.send_if_modified(|current| {
        let changed = *current != value;
        *current = value;
        changed
    });
}

/// Resolves once a stop is asked for or can no longer be asked for.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// What one attempt found.
#[derive(Debug)]
enum Attempt {
    /// The Lease names us now; the write that made it so was sent at `sent`.
    Holding { sent: Instant, took_over: bool },
    /// Another replica holds the Lease and it has not expired.
    HeldBy(String),
    /// Another writer got there first (409): the next attempt reads afresh.
    Conflict,
}

/// The Lease spec as last seen, and when we first saw it that way.
#[derive(Debug)]
struct Observed {
    spec: LeaseSpec,
    since: Instant,
}

/// The state one replica keeps between attempts.
struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    observed: Option<Observed>,
    /// The Lease may name us: a write of ours succeeded or has an unknown outcome, or the
    /// last read showed us as holder. Decides whether shutdown tries to release.
    may_hold: bool,
    /// State of a splitmix64 generator for retry jitter (no need for cryptographic quality).
    jitter_state: u64,
}

impl Elector {
    fn new(client: kube::Client, config: LeaseConfig) -> Elector {
        // Each RandomState is freshly keyed, which seeds replicas differently without
        // pulling in a random-number crate.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write(config.identity.as_bytes());
        Elector {
            api: Api::namespaced(client, &config.namespace),
            observed: None,
            may_hold: false,
            jitter_state: hasher.finish(),
            config,
        }
    }

    /// `renew_every` stretched by up to 20 %, so that followers polling after the same
    /// event do not all hit the API server (and race for the Lease) in lockstep.
    fn retry_delay(&mut self) -> Duration {
        self.jitter_state = self.jitter_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.jitter_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        self.config.renew_every.mul_f64(1.0 + 0.2 * unit)
    }

    /// Remember the spec, restarting the expiry clock only when it changed: an unchanged
    /// spec means the holder has not renewed since we last looked.
    fn observe(&mut self, spec: &LeaseSpec) {
        if self.observed.as_ref().is_none_or(|seen| seen.spec != *spec) {
            self.observed = Some(Observed {
                spec: spec.clone(),
                since: Instant::now(),
            });
        }
        self.may_hold = holder(spec) == Some(self.config.identity.as_str());
    }

    /// Whether the spec last observed has outlived its duration by our clock.
    fn observed_expired(&self) -> bool {
        let Some(seen) = &self.observed else {
            return true;
        };
        let seconds = seen
            .spec
            .lease_duration_seconds
            .unwrap_or_else(|| self.config.lease_duration_seconds());
        let duration = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
        Instant::now() >= seen.since + duration
    }

    /// One read and at most one write: client-go's `tryAcquireOrRenew`.
    async fn attempt(&mut self) -> Result<Attempt, kube::Error> {
        let name = self.config.name.clone();
        let Some(current) = self.api.get_opt(&name).await? else {
            let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.config.identity.clone()),
                    lease_duration_seconds: Some(self.config.lease_duration_seconds()),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return self.write(Write::Create, lease, true).await;
        };

        let spec = current.spec.clone().unwrap_or_default();
        self.observe(&spec);
        let ours = holder(&spec) == Some(self.config.identity.as_str());
        if let Some(other) = holder(&spec)
            && !ours
            && !self.observed_expired()
        {
            return Ok(Attempt::HeldBy(other.to_owned()));
        }

        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let transitions = spec.lease_transitions.unwrap_or(0);
        let next_spec = LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_duration_seconds()),
            // A renewal keeps the start of this tenure; a takeover (from a holder, an
            // expired one, or a released Lease) starts a new one.
            acquire_time: if ours {
                spec.acquire_time.clone().or_else(|| Some(now.clone()))
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(if ours {
                transitions
            } else {
                transitions.saturating_add(1)
            }),
            // Coordinated-election fields belong to whoever set them.
            ..spec
        };
        // Keeping the metadata as read carries its resourceVersion: the server refuses the
        // write with 409 if anyone wrote in between.
        let mut next = current;
        next.spec = Some(next_spec);
        self.write(Write::Replace, next, !ours).await
    }

    /// Send a write naming us and interpret the answer.
    async fn write(
        &mut self,
        how: Write,
        lease: Lease,
        took_over: bool,
    ) -> Result<Attempt, kube::Error> {
        // Until the answer arrives (or if this future is dropped on shutdown or timeout),
        // the write may have landed.
        self.may_hold = true;
        let sent = Instant::now();
        let params = PostParams::default();
        let result = match how {
            Write::Create => self.api.create(&params, &lease).await,
            Write::Replace => self.api.replace(&self.config.name, &params, &lease).await,
        };
        match result {
            Ok(written) => {
                self.observe(&written.spec.unwrap_or_default());
                Ok(Attempt::Holding { sent, took_over })
            }
            Err(kube::Error::Api(status)) => {
                // The server answered, so the write did not happen.
                self.may_hold = self
                    .observed
                    .as_ref()
                    .is_some_and(|seen| holder(&seen.spec) == Some(self.config.identity.as_str()));
                if status.is_conflict() || status.is_already_exists() {
                    Ok(Attempt::Conflict)
                } else {
                    Err(kube::Error::Api(status))
                }
            }
            // Transport failures leave the outcome unknown: `may_hold` stays set.
            Err(err) => Err(err),
        }
    }

    /// Give the Lease up if it still names us: no holder, and a 1 s duration so that any
    /// peer that still sees a holder waits as little as possible. Returns whether a release
    /// was written.
    async fn release(&mut self) -> Result<bool, kube::Error> {
        // A few tries: a conflict here means the Lease changed under us, and the fresh read
        // tells whether it is still ours to give up.
        for _ in 0..3 {
            let Some(current) = self.api.get_opt(&self.config.name).await? else {
                return Ok(false);
            };
            let spec = current.spec.clone().unwrap_or_default();
            if holder(&spec) != Some(self.config.identity.as_str()) {
                return Ok(false);
            }
            let mut next = current;
            next.spec = Some(LeaseSpec {
                holder_identity: None,
                lease_duration_seconds: Some(1),
                renew_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
                ..spec
            });
            match self
                .api
                .replace(&self.config.name, &PostParams::default(), &next)
                .await
            {
                Ok(_) => {
                    self.may_hold = false;
                    return Ok(true);
                }
                Err(kube::Error::Api(status)) if status.is_conflict() => {}
                Err(err) => return Err(err),
            }
        }
        Ok(false)
    }
}

/// How a write reaches the server.
#[derive(Debug, Clone, Copy)]
enum Write {
    Create,
    Replace,
}

/// The holder named in a spec; an empty string counts as none, as in client-go.
fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity
        .as_deref()
        .filter(|holder| !holder.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lease: Duration, renew: Duration) -> LeaseConfig {
        LeaseConfig {
            namespace: "ns".into(),
            name: "lease".into(),
            identity: "me".into(),
            lease_duration: lease,
            renew_every: renew,
        }
    }

    #[test]
    fn lease_seconds_round_up() {
        let secs = |ms| {
            config(Duration::from_millis(ms), Duration::from_millis(1)).lease_duration_seconds()
        };
        assert_eq!(secs(2000), 2);
        assert_eq!(secs(2001), 3);
        assert_eq!(secs(10), 1);
    }

    #[test]
    fn validation_refuses_unworkable_settings() {
        assert!(
            config(Duration::from_secs(2), Duration::from_millis(300))
                .validate()
                .is_ok()
        );
        assert!(
            config(Duration::from_secs(2), Duration::from_secs(2))
                .validate()
                .is_err()
        );
        assert!(
            config(Duration::from_secs(2), Duration::ZERO)
                .validate()
                .is_err()
        );
        let mut empty = config(Duration::from_secs(2), Duration::from_millis(300));
        empty.identity.clear();
        assert!(empty.validate().is_err());
    }

    #[test]
    fn empty_holder_is_no_holder() {
        let mut spec = LeaseSpec::default();
        assert_eq!(holder(&spec), None);
        spec.holder_identity = Some(String::new());
        assert_eq!(holder(&spec), None);
        spec.holder_identity = Some("a".into());
        assert_eq!(holder(&spec), Some("a"));
    }
}
