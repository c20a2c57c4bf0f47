//! Our own install (AGENT…): is the agent answering and leading, are its sealing key and
//! certificate fresh, are our objects Ready, does the CSI provider run on every node.
//!
//! Data flow: the plugin collects [`AgentFacts`] (the agent's `GET /v1/keys`, the leader
//! Lease, our objects' Ready conditions, the provider DaemonSet) → [`audit`] decides with the
//! time given (so tests pin it) → findings. What could not be read is `incomplete`.

use time::{Duration, OffsetDateTime};

use crate::audit::{Category, Collected, Finding, Scope, Severity, Status, Subject};
use crate::seal::keys::KeyList;

/// The leader Lease as read: who holds it and until when it is valid.
#[derive(Debug, Clone)]
pub struct LeaseFacts {
    /// `spec.holderIdentity`.
    pub holder: Option<String>,
    /// `spec.renewTime` plus `spec.leaseDurationSeconds`.
    pub valid_until: Option<OffsetDateTime>,
}

/// Objects of one kind that are not Ready.
#[derive(Debug, Clone, Default)]
pub struct NotReady {
    /// `SealedSecret`, `ExternalSecret`, `SecretStore`, `ClusterSecretStore`.
    pub kind: String,
    /// How many objects of the kind were looked at.
    pub total: usize,
    /// `namespace/name` (or `name`) of each one whose Ready condition is not `True`, with the
    /// condition's reason.
    pub failing: Vec<(String, String)>,
}

/// The CSI provider DaemonSet's counts.
#[derive(Debug, Clone, Copy)]
pub struct ProviderFacts {
    /// `status.desiredNumberScheduled`.
    pub desired: i32,
    /// `status.numberReady`.
    pub ready: i32,
    /// Nodes in the cluster that can run pods.
    pub nodes: usize,
}

/// What the plugin collected about our install.
#[derive(Debug, Clone)]
pub struct AgentFacts {
    /// The agent's namespace.
    pub namespace: String,
    /// The agent's answer to `GET /v1/keys`.
    pub keys: Collected<KeyList>,
    /// The leader Lease (`None`: there is none).
    pub lease: Collected<Option<LeaseFacts>>,
    /// `--key-renew-period` (zero: renewal off).
    pub renew_period: Duration,
    /// Per kind, the objects not Ready.
    pub objects: Vec<Collected<NotReady>>,
    /// The CSI provider (`None`: not installed); only judged when `mounts_used`.
    pub provider: Collected<Option<ProviderFacts>>,
    /// A SecretProviderClass of ours exists.
    pub mounts_used: bool,
}

/// How many failing names a finding lists before "and N more".
const NAMES_SHOWN: usize = 5;
/// A certificate closer than this to its notAfter is reported.
const EXPIRY_WARNING: Duration = Duration::days(30);

fn finding(id: &str, severity: Severity, status: Status, name: &str, ns: &str) -> Finding {
    Finding {
        id: id.to_owned(),
        category: Category::Agent,
        severity,
        status,
        suppressed: false,
        subject: Subject::namespaced("Agent", ns, name),
        scope: Scope::Namespace(ns.to_owned()),
        location: None,
        via: Vec::new(),
        message: String::new(),
        hint: String::new(),
    }
}

fn incomplete(id: &str, what: &str, why: &str, ns: &str) -> Finding {
    let mut f = finding(id, Severity::Medium, Status::Incomplete, what, ns);
    f.message = format!("could not check: {why}");
    f.hint = "run doctor as someone who may read the agent's namespace".to_owned();
    f
}

/// Every AGENT finding at time `now`.
pub fn audit(facts: &AgentFacts, now: OffsetDateTime) -> Vec<Finding> {
    let ns = facts.namespace.as_str();
    let mut findings = Vec::new();
    findings.extend(keys(facts, now));
    findings.push(leader(&facts.lease, now, ns));
    for objects in &facts.objects {
        findings.extend(not_ready(objects, ns));
    }
    if facts.mounts_used {
        findings.push(provider(&facts.provider, ns));
    }
    findings
}

/// AGENT010 (answering), AGENT020 (newest key age), AGENT021 (certificate expiry).
fn keys(facts: &AgentFacts, now: OffsetDateTime) -> Vec<Finding> {
    let ns = facts.namespace.as_str();
    let list = match &facts.keys {
        Collected::Got(list) => list,
        Collected::Unavailable(why) => {
            let mut f = finding(
                "AGENT010",
                Severity::High,
                Status::Fail,
                "secrets-agent",
                ns,
            );
            f.message = format!("the agent does not answer: {why}");
            f.hint = format!(
                "kubectl -n {ns} get pods,endpoints -l app.kubernetes.io/name=secrets-agent; kubectl -n {ns} logs deploy/secrets-agent"
            );
            return vec![f];
        }
        Collected::NotAsked => return Vec::new(),
    };
    let mut ok = finding(
        "AGENT010",
        Severity::Info,
        Status::Pass,
        "secrets-agent",
        ns,
    );
    ok.message = format!(
        "the agent answers and holds {} sealing key(s)",
        list.keys.len()
    );
    let mut findings = vec![ok];
    let Some(newest) = list.keys.iter().find(|k| k.newest) else {
        let mut f = finding("AGENT020", Severity::High, Status::Fail, "sealing-key", ns);
        f.message = "the agent holds no sealing key, so nothing can be sealed".to_owned();
        f.hint = "kubectl secrets keys rotate".to_owned();
        findings.push(f);
        return findings;
    };
    let created = crate::rfc3339::parse(&newest.created);
    let not_after = crate::rfc3339::parse(&newest.not_after);
    let key = newest.secret.name.as_str();
    if let Some(created) = created
        && !facts.renew_period.is_zero()
    {
        let age = now - created;
        // The leader renews on schedule; a key past 1.5 periods means renewal is stuck.
        let late = age > facts.renew_period + facts.renew_period / 2;
        let mut f = if late {
            let mut f = finding("AGENT020", Severity::Medium, Status::Fail, key, ns);
            f.hint = "the leader should have made a new key: check its logs, or kubectl secrets keys rotate".to_owned();
            f
        } else {
            finding("AGENT020", Severity::Info, Status::Pass, key, ns)
        };
        f.message = format!(
            "newest sealing key is {} days old (renewal every {} days)",
            age.whole_days(),
            facts.renew_period.whole_days()
        );
        findings.push(f);
    }
    if let Some(not_after) = not_after {
        let left = not_after - now;
        let (severity, status) = if left <= Duration::ZERO {
            (Severity::Critical, Status::Fail)
        } else if left < EXPIRY_WARNING {
            (Severity::High, Status::Fail)
        } else {
            (Severity::Info, Status::Pass)
        };
        let mut f = finding("AGENT021", severity, status, key, ns);
        f.message = if left <= Duration::ZERO {
            "the sealing certificate has expired: kubeseal-style clients refuse it".to_owned()
        } else {
            format!(
                "the sealing certificate expires in {} days",
                left.whole_days()
            )
        };
        if status == Status::Fail {
            f.hint = "kubectl secrets keys rotate (a new key and certificate; old keys still open)"
                .to_owned();
        }
        findings.push(f);
    }
    findings
}

/// AGENT011: one replica holds an unexpired leader Lease.
fn leader(lease: &Collected<Option<LeaseFacts>>, now: OffsetDateTime, ns: &str) -> Finding {
    let lease = match lease {
        Collected::Got(lease) => lease,
        Collected::Unavailable(why) => return incomplete("AGENT011", "leader", why, ns),
        Collected::NotAsked => return incomplete("AGENT011", "leader", "not asked", ns),
    };
    let holder = lease
        .as_ref()
        .and_then(|l| l.holder.as_deref().filter(|h| !h.is_empty()));
    let valid = lease
        .as_ref()
        .and_then(|l| l.valid_until)
        .is_some_and(|t| t > now);
    match holder {
        Some(holder) if valid => {
            let mut f = finding("AGENT011", Severity::Info, Status::Pass, "leader", ns);
            f.message = format!("{holder} leads (keys, unsealing and syncs run)");
            f
        }
        _ => {
            let mut f = finding("AGENT011", Severity::High, Status::Fail, "leader", ns);
            f.message =
                "no agent replica holds the leader Lease: nothing is unsealed or synced".to_owned();
            f.hint = format!(
                "kubectl -n {ns} get lease secrets-agent-leader; kubectl -n {ns} logs deploy/secrets-agent"
            );
            f
        }
    }
}

/// AGENT030: objects of one kind that are not Ready, counted, the first few named.
fn not_ready(objects: &Collected<NotReady>, ns: &str) -> Option<Finding> {
    let objects = match objects {
        Collected::Got(objects) => objects,
        Collected::Unavailable(why) => return Some(incomplete("AGENT030", "objects", why, ns)),
        Collected::NotAsked => return None,
    };
    let failing = objects.failing.len();
    let mut f = if failing == 0 {
        let mut f = finding("AGENT030", Severity::Info, Status::Pass, &objects.kind, ns);
        f.message = format!("all {} {}(s) are Ready", objects.total, objects.kind);
        f
    } else {
        let mut f = finding(
            "AGENT030",
            Severity::Medium,
            Status::Fail,
            &objects.kind,
            ns,
        );
        let mut names: Vec<String> = objects
            .failing
            .iter()
            .take(NAMES_SHOWN)
            .map(|(name, reason)| format!("{name} ({reason})"))
            .collect();
        if failing > NAMES_SHOWN {
            names.push(format!("and {} more", failing - NAMES_SHOWN));
        }
        f.message = format!(
            "{failing} of {} {}(s) are not Ready: {}",
            objects.total,
            objects.kind,
            names.join(", ")
        );
        f.hint =
            "kubectl secrets status -A shows each one's reason; kubectl describe names the cause"
                .to_owned();
        f
    };
    f.subject = Subject::new("Kind", objects.kind.as_str());
    f.scope = Scope::Cluster;
    Some(f)
}

/// AGENT040: mounts are used, so the CSI provider must run on every node.
fn provider(provider: &Collected<Option<ProviderFacts>>, ns: &str) -> Finding {
    let provider = match provider {
        Collected::Got(p) => p,
        Collected::Unavailable(why) => return incomplete("AGENT040", "csi-provider", why, ns),
        Collected::NotAsked => return incomplete("AGENT040", "csi-provider", "not asked", ns),
    };
    match provider {
        Some(p) if p.ready >= p.desired && p.desired as usize >= p.nodes => {
            let mut f = finding("AGENT040", Severity::Info, Status::Pass, "csi-provider", ns);
            f.message = format!(
                "the CSI provider runs on {} of {} node(s)",
                p.ready, p.nodes
            );
            f
        }
        Some(p) => {
            let mut f = finding("AGENT040", Severity::High, Status::Fail, "csi-provider", ns);
            f.message = format!(
                "the CSI provider is ready on {} of {} node(s) ({} scheduled): pods there cannot mount",
                p.ready, p.nodes, p.desired
            );
            f.hint = "kubectl get ds -A -l app.kubernetes.io/component=csi-provider; check node taints against the chart's csiProvider.tolerations".to_owned();
            f
        }
        None => {
            let mut f = finding("AGENT040", Severity::High, Status::Fail, "csi-provider", ns);
            f.message =
                "SecretProviderClasses use our provider, but no provider DaemonSet is installed"
                    .to_owned();
            f.hint = "helm upgrade … --set csiProvider.enabled=true".to_owned();
            f
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::keys::{KeyEntry, KeyOrigin, SecretRef};

    fn now() -> OffsetDateTime {
        crate::rfc3339::parse("2026-12-01T00:00:00Z").unwrap()
    }

    fn key(created: &str, not_after: &str) -> KeyEntry {
        KeyEntry {
            fingerprint: "SHA256:00".to_owned(),
            created: created.to_owned(),
            not_before: created.to_owned(),
            not_after: not_after.to_owned(),
            newest: true,
            secret: SecretRef {
                namespace: "kubectl-secrets".to_owned(),
                name: "sealing-key-x".to_owned(),
            },
            origin: KeyOrigin::Ours,
        }
    }

    fn facts(keys: Collected<KeyList>) -> AgentFacts {
        AgentFacts {
            namespace: "kubectl-secrets".to_owned(),
            keys,
            lease: Collected::Got(Some(LeaseFacts {
                holder: Some("agent-0".to_owned()),
                valid_until: Some(now() + Duration::seconds(10)),
            })),
            renew_period: Duration::days(30),
            objects: Vec::new(),
            provider: Collected::NotAsked,
            mounts_used: false,
        }
    }

    fn by_id<'f>(findings: &'f [Finding], id: &str) -> &'f Finding {
        findings
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("{id} in {findings:#?}"))
    }

    #[test]
    fn a_stale_key_and_a_certificate_close_to_expiry_fail() {
        let list = KeyList {
            keys: vec![key("2026-09-01T00:00:00Z", "2026-12-20T00:00:00Z")],
        };
        let findings = audit(&facts(Collected::Got(list)), now());
        let age = by_id(&findings, "AGENT020");
        assert_eq!((age.severity, age.status), (Severity::Medium, Status::Fail));
        assert!(age.message.contains("91 days old"), "{}", age.message);
        let cert = by_id(&findings, "AGENT021");
        assert_eq!((cert.severity, cert.status), (Severity::High, Status::Fail));
        assert_eq!(by_id(&findings, "AGENT011").status, Status::Pass);

        let fresh = KeyList {
            keys: vec![key("2026-11-20T00:00:00Z", "2036-11-20T00:00:00Z")],
        };
        let findings = audit(&facts(Collected::Got(fresh)), now());
        assert_eq!(by_id(&findings, "AGENT020").status, Status::Pass);
        assert_eq!(by_id(&findings, "AGENT021").status, Status::Pass);
    }

    #[test]
    fn an_agent_that_does_not_answer_or_lead_fails_and_unreadable_objects_are_incomplete() {
        let mut facts = facts(Collected::Unavailable(
            "503 from the service proxy".to_owned(),
        ));
        facts.lease = Collected::Got(Some(LeaseFacts {
            holder: Some("agent-0".to_owned()),
            valid_until: Some(now() - Duration::seconds(1)),
        }));
        facts.objects = vec![Collected::Unavailable(
            "list sealedsecrets: forbidden".to_owned(),
        )];
        let findings = audit(&facts, now());
        let down = by_id(&findings, "AGENT010");
        assert_eq!((down.severity, down.status), (Severity::High, Status::Fail));
        assert!(down.message.contains("503"), "{}", down.message);
        assert_eq!(
            by_id(&findings, "AGENT011").status,
            Status::Fail,
            "expired lease"
        );
        assert_eq!(by_id(&findings, "AGENT030").status, Status::Incomplete);
    }

    #[test]
    fn objects_not_ready_are_counted_with_the_first_few_named() {
        let mut facts = facts(Collected::NotAsked);
        facts.objects = vec![Collected::Got(NotReady {
            kind: "SealedSecret".to_owned(),
            total: 9,
            failing: (0..7)
                .map(|i| (format!("app/s{i}"), "DecryptionFailed".to_owned()))
                .collect(),
        })];
        facts.mounts_used = true;
        facts.provider = Collected::Got(Some(ProviderFacts {
            desired: 2,
            ready: 2,
            nodes: 3,
        }));
        let findings = audit(&facts, now());
        let objects = by_id(&findings, "AGENT030");
        assert_eq!(objects.status, Status::Fail);
        assert!(
            objects
                .message
                .starts_with("7 of 9 SealedSecret(s) are not Ready: app/s0 (DecryptionFailed)"),
            "{}",
            objects.message
        );
        assert!(
            objects.message.ends_with("and 2 more"),
            "{}",
            objects.message
        );
        assert!(!objects.message.contains("app/s5"));
        assert_eq!(
            by_id(&findings, "AGENT040").status,
            Status::Fail,
            "2 of 3 nodes"
        );
    }
}
