#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests report failures by panicking"
)]
//! Leader election against kube-standin, a real API server stand-in speaking HTTP to kube-rs:
//! one leader among candidates, prompt hand-over on a graceful stop, takeover only after
//! expiry when the leader dies, stepping down in time when renewals fail or hang, and the
//! Lease object's fields. Short durations (lease 2 s, renewal every 300 ms); every wait is on
//! a condition with a deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{ApiResource, DynamicObject};
use secrets_agent::leader::{LeaseConfig, run};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const NAMESPACE: &str = "default";
const LEASE_NAME: &str = "secrets-agent";
const LEASE: Duration = Duration::from_secs(2);
const RENEW: Duration = Duration::from_millis(300);
/// Scheduling and timer slack allowed on top of a bound the elector promises.
const SLACK: Duration = Duration::from_millis(300);

async fn cluster() -> (kube_standin::StandIn, kube::Client) {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let standin = kube_standin::StandIn::start(kube_standin::Config::default())
        .await
        .unwrap();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&standin.kubeconfig_yaml()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    (standin, client)
}

fn lease_config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        namespace: NAMESPACE.into(),
        name: LEASE_NAME.into(),
        identity: identity.into(),
        lease_duration: LEASE,
        renew_every: RENEW,
    }
}

/// One replica's elector running in its own task.
struct Candidate {
    identity: String,
    leading: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Candidate {
    fn start(client: &kube::Client, identity: &str) -> Candidate {
        let (leading_tx, leading) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            client.clone(),
            lease_config(identity),
            leading_tx,
            stop_rx,
        ));
        Candidate {
            identity: identity.into(),
            leading,
            stop,
            task,
        }
    }

    fn is_leading(&self) -> bool {
        leading_now(&self.leading)
    }

    /// Ask for a graceful stop and wait for the task to return.
    async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(LEASE + SLACK, self.task)
            .await
            .unwrap_or_else(|_| panic!("{} did not stop in time", self.identity))
            .unwrap()
            .unwrap();
        assert!(
            !*self.leading.borrow(),
            "{} still publishes leading after stopping",
            self.identity
        );
    }
}

/// A closed channel means the elector's task is gone (aborted, as in a crash), and its
/// controller with it: that replica leads no more, whatever value it last published.
fn leading_now(leading: &watch::Receiver<bool>) -> bool {
    leading.has_changed().is_ok() && *leading.borrow()
}

/// Poll `condition` until it holds, failing after `within`; returns the time it took.
async fn wait_until(within: Duration, what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if condition() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Watch every candidate's channel and remember whether two ever led at once.
fn overlap_monitor(candidates: &[&Candidate]) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let overlap = Arc::new(AtomicBool::new(false));
    let receivers: Vec<_> = candidates.iter().map(|c| c.leading.clone()).collect();
    let seen = overlap.clone();
    let task = tokio::spawn(async move {
        let mut receivers = receivers;
        loop {
            let leaders = receivers.iter().filter(|rx| leading_now(rx)).count();
            if leaders > 1 {
                seen.store(true, Ordering::SeqCst);
            }
            let open: Vec<_> = receivers
                .iter_mut()
                .filter(|rx| rx.has_changed().is_ok())
                .map(|rx| Box::pin(rx.changed()))
                .collect();
            if open.is_empty() {
                return;
            }
            let _ = futures::future::select_all(open).await;
        }
    });
    (overlap, task)
}

async fn lease(client: &kube::Client) -> Lease {
    Api::<Lease>::namespaced(client.clone(), NAMESPACE)
        .get(LEASE_NAME)
        .await
        .unwrap()
}

/// The Lease as the server stores it, without k8s-openapi's re-formatting of times.
async fn lease_json(client: &kube::Client) -> serde_json::Value {
    let resource = ApiResource::erase::<Lease>(&());
    Api::<DynamicObject>::namespaced_with(client.clone(), NAMESPACE, &resource)
        .get(LEASE_NAME)
        .await
        .unwrap()
        .data
}

fn holder(lease: &Lease) -> Option<String> {
    lease.spec.as_ref().and_then(|s| s.holder_identity.clone())
}

fn transitions(lease: &Lease) -> i32 {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.lease_transitions)
        .unwrap()
}

/// A MicroTime as kube-apiserver writes it: RFC 3339, UTC, exactly six fractional digits.
fn assert_micro_time(value: &serde_json::Value, field: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing: {value}"));
    let (_, fraction) = text
        .split_once('.')
        .unwrap_or_else(|| panic!("{field} {text:?} has no fraction"));
    assert!(
        fraction.len() == 7
            && fraction.ends_with('Z')
            && fraction[..6].chars().all(|c| c.is_ascii_digit()),
        "{field} {text:?} is not a MicroTime"
    );
    assert!(
        text.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "{field} {text:?} does not parse"
    );
}

/// Wait until the leader's renewals have visibly moved `renewTime` `times` times.
async fn wait_for_renewals(client: &kube::Client, times: usize) {
    let deadline = Instant::now() + RENEW * (times as u32 + 2) * 2;
    let mut last = lease_json(client).await["spec"]["renewTime"].clone();
    let mut seen = 0;
    while seen < times {
        assert!(Instant::now() < deadline, "the leader stopped renewing");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = lease_json(client).await["spec"]["renewTime"].clone();
        if now != last {
            seen += 1;
            last = now;
        }
    }
}

fn the_leader<'a>(candidates: &[&'a Candidate]) -> &'a Candidate {
    let leaders: Vec<_> = candidates.iter().filter(|c| c.is_leading()).collect();
    assert_eq!(leaders.len(), 1, "expected exactly one leader");
    leaders[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_candidates_elect_exactly_one_leader() {
    let (_standin, client) = cluster().await;
    let a = Candidate::start(&client, "replica-a");
    let b = Candidate::start(&client, "replica-b");
    let (overlap, monitor) = overlap_monitor(&[&a, &b]);

    wait_until(LEASE, "a leader", || a.is_leading() || b.is_leading()).await;
    let leader = the_leader(&[&a, &b]).identity.clone();
    // Several renewal rounds later the same single replica leads.
    wait_for_renewals(&client, 3).await;
    assert_eq!(the_leader(&[&a, &b]).identity, leader);

    let lease = lease(&client).await;
    assert_eq!(holder(&lease).as_deref(), Some(leader.as_str()));
    assert_eq!(
        transitions(&lease),
        0,
        "a fresh Lease has had no transitions"
    );
    let json = lease_json(&client).await;
    assert_eq!(json["spec"]["leaseDurationSeconds"], 2);
    assert_micro_time(&json["spec"]["acquireTime"], "acquireTime");
    assert_micro_time(&json["spec"]["renewTime"], "renewTime");
    let spec = lease.spec.unwrap();
    assert!(
        spec.acquire_time.unwrap() < spec.renew_time.unwrap(),
        "renewals move renewTime only"
    );

    // Stopping the follower leaves the leader and its Lease alone.
    let (leader_c, follower) = if a.identity == leader { (a, b) } else { (b, a) };
    follower.stop().await;
    assert!(leader_c.is_leading());
    assert_eq!(
        holder(&self::lease(&client).await).as_deref(),
        Some(leader.as_str())
    );
    leader_c.stop().await;
    monitor.abort();
    assert!(!overlap.load(Ordering::SeqCst), "two replicas led at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_releases_and_hands_over_quickly() {
    let (standin, client) = cluster().await;
    let a = Candidate::start(&client, "replica-a");
    wait_until(LEASE, "a to lead", || a.is_leading()).await;
    let b = Candidate::start(&client, "replica-b");
    let (overlap, monitor) = overlap_monitor(&[&a, &b]);
    // Let b see the held Lease at least once, so the hand-over starts from a follower.
    let gets = standin.control().count("leases", "get");
    wait_until(LEASE, "b to poll", || {
        standin.control().count("leases", "get") > gets + 2
    })
    .await;
    assert!(!b.is_leading());

    let stopped_at = Instant::now();
    a.stop().await;
    let took = wait_until(LEASE, "b to take over", || b.is_leading()).await;
    let since_stop = stopped_at.elapsed();
    assert!(
        since_stop < LEASE / 2,
        "hand-over took {since_stop:?} ({took:?} after a returned): it must not wait for expiry"
    );
    let lease = lease(&client).await;
    assert_eq!(holder(&lease).as_deref(), Some("replica-b"));
    assert_eq!(transitions(&lease), 1);
    assert_eq!(lease.spec.unwrap().lease_duration_seconds, Some(2));
    b.stop().await;
    monitor.abort();
    assert!(!overlap.load(Ordering::SeqCst), "two replicas led at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_clears_the_holder() {
    let (_standin, client) = cluster().await;
    let a = Candidate::start(&client, "replica-a");
    wait_until(LEASE, "a to lead", || a.is_leading()).await;
    a.stop().await;
    let json = lease_json(&client).await;
    assert!(
        json["spec"]["holderIdentity"].is_null(),
        "holder left: {json}"
    );
    assert_eq!(json["spec"]["leaseDurationSeconds"], 1);
    assert_eq!(json["spec"]["leaseTransitions"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_leader_is_replaced_after_expiry() {
    let (standin, client) = cluster().await;
    let a = Candidate::start(&client, "replica-a");
    wait_until(LEASE, "a to lead", || a.is_leading()).await;
    let b = Candidate::start(&client, "replica-b");
    let gets = standin.control().count("leases", "get");
    wait_until(LEASE, "b to poll", || {
        standin.control().count("leases", "get") > gets + 2
    })
    .await;
    let acquired_by_a = lease_json(&client).await["spec"]["acquireTime"].clone();

    // A crash: no release, no last word on the channel.
    a.task.abort();
    let aborted_at = Instant::now();
    wait_until(LEASE * 2 + SLACK, "b to take over", || b.is_leading()).await;
    let took = aborted_at.elapsed();
    // a's last renewal was at most one renewal interval before the abort, and b must give it
    // a full lease duration from when it saw that renewal.
    assert!(
        took >= LEASE - RENEW - Duration::from_millis(100),
        "b took over after {took:?}, before a's Lease could expire"
    );
    let lease_now = lease_json(&client).await;
    assert_eq!(lease_now["spec"]["holderIdentity"], "replica-b");
    assert_eq!(lease_now["spec"]["leaseTransitions"], 1);
    assert_ne!(
        lease_now["spec"]["acquireTime"], acquired_by_a,
        "a takeover starts a new tenure"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_renewals_step_down_within_the_lease_and_recover() {
    let (standin, client) = cluster().await;
    let a = Candidate::start(&client, "replica-a");
    let b = Candidate::start(&client, "replica-b");
    let (overlap, monitor) = overlap_monitor(&[&a, &b]);
    wait_until(LEASE, "a leader", || a.is_leading() || b.is_leading()).await;
    let leader = the_leader(&[&a, &b]);

    standin.control().inject(kube_standin::Fault {
        resource: Some("leases".into()),
        verb: Some("update".into()),
        status: Some(500),
        ..Default::default()
    });
    let failing_since = Instant::now();
    // The last successful renewal happened before the fault, so stepping down is due within
    // one lease duration of it.
    wait_until(LEASE + SLACK, "the leader to step down", || {
        !leader.is_leading()
    })
    .await;
    let stepped_down = failing_since.elapsed();
    assert!(
        stepped_down <= LEASE + SLACK,
        "stepped down after {stepped_down:?}"
    );
    // Nobody can write the Lease, so nobody leads.
    assert!(!a.is_leading() && !b.is_leading());

    standin.control().clear_faults();
    wait_until(LEASE * 2, "leadership to recover", || {
        a.is_leading() || b.is_leading()
    })
    .await;
    let leader = the_leader(&[&a, &b]).identity.clone();
    assert_eq!(
        holder(&lease(&client).await).as_deref(),
        Some(leader.as_str())
    );
    a.stop().await;
    b.stop().await;
    monitor.abort();
    assert!(!overlap.load(Ordering::SeqCst), "two replicas led at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_api_server_cannot_keep_a_stale_leader() {
    let (standin, client) = cluster().await;
    let a = Candidate::start(&client, "replica-a");
    wait_until(LEASE, "a to lead", || a.is_leading()).await;

    // Reads of the Lease hang far longer than the lease lasts.
    standin.control().inject(kube_standin::Fault {
        resource: Some("leases".into()),
        verb: Some("get".into()),
        latency_ms: 30_000,
        ..Default::default()
    });
    let hanging_since = Instant::now();
    wait_until(LEASE + SLACK, "a to step down", || !a.is_leading()).await;
    assert!(hanging_since.elapsed() <= LEASE + SLACK);

    standin.control().clear_faults();
    wait_until(LEASE * 2, "a to lead again", || a.is_leading()).await;
    // Same holder throughout: renewing its own Lease is no transition.
    assert_eq!(transitions(&lease(&client).await), 0);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unworkable_settings_are_refused() {
    let (_standin, client) = cluster().await;
    let (leading, _leading_rx) = watch::channel(false);
    let (_stop, stop_rx) = watch::channel(false);
    let mut config = lease_config("replica-a");
    config.renew_every = config.lease_duration;
    let result = tokio::time::timeout(LEASE, run(client, config, leading, stop_rx))
        .await
        .unwrap();
    let err = result.unwrap_err().to_string();
    assert!(err.contains("shorter than the lease duration"), "{err}");
}

/// The binary refuses a renewal period that is not shorter than the Lease, before it
/// connects anywhere, naming both flags.
#[test]
fn lease_renew_not_shorter_than_the_lease_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_secrets-agent"))
        .args([
            "controller",
            "--lease-duration",
            "5s",
            "--lease-renew",
            "5s",
        ])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--lease-renew (5s) must be shorter than --lease-duration (5s)"),
        "{err}"
    );
}
