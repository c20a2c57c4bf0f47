//! ENC030: runtime evidence from the apiserver itself (reference §2.3).
//!
//! - `/readyz?verbose` lists one line per check: `[+]kms-provider-0 ok` (KMS v1, or no
//!   auto-reload), `[+]kms-providers ok` (KMS v2 only, or auto-reload on), `[-]… failed: …`.
//!   A failing KMS check means writes (and reads of new data) fail or fall back.
//! - `/metrics`: `apiserver_storage_transformation_operations_total` with
//!   `transformation_type="to_storage"` and an empty `transformer_prefix` counts identity
//!   writes under a config (the metric has no resource label, so it names no resource);
//!   `k8s:enc:…` prefixes are encrypted writes; reload failures of the config controller.
//!
//! Both endpoints answer one apiserver each: behind a load balancer another may differ.

use super::prom::{Sample, samples};
use super::{Collected, Draft};
use crate::audit::{Finding, Severity, Status, Subject};

const READYZ: &str = "/readyz?verbose";
const METRICS: &str = "/metrics";
const TRANSFORMATIONS: &str = "apiserver_storage_transformation_operations_total";
const RELOADS: &str = "apiserver_encryption_config_controller_automatic_reloads_total";
/// The name before 1.30 split success and failure into one counter with a status label.
const RELOAD_FAILURES: &str =
    "apiserver_encryption_config_controller_automatic_reload_failures_total";

fn draft(severity: Severity, status: Status, endpoint: &str) -> Draft<'static> {
    Draft {
        id: "ENC030",
        severity,
        status,
        subject: Subject::new("Endpoint", endpoint),
    }
}

pub(super) fn evidence(readyz: &Collected<String>, metrics: &Collected<String>) -> Vec<Finding> {
    let mut findings = Vec::new();
    match readyz {
        Collected::Got(body) => findings.extend(from_readyz(body)),
        Collected::Unavailable(reason) => findings.push(unavailable(
            READYZ,
            reason,
            "get on nonResourceURL /readyz (granted to system:authenticated by default)",
        )),
        Collected::NotAsked => {}
    }
    match metrics {
        Collected::Got(body) => findings.extend(from_metrics(body)),
        Collected::Unavailable(reason) => findings.push(unavailable(
            METRICS,
            reason,
            "get on nonResourceURL /metrics (e.g. group system:monitoring)",
        )),
        Collected::NotAsked => {}
    }
    findings
}

fn unavailable(endpoint: &str, reason: &str, needs: &str) -> Finding {
    draft(Severity::High, Status::Incomplete, endpoint).finding(
        vec![format!("GET {endpoint}: {reason}")],
        format!("could not read {endpoint}: no runtime evidence of encryption"),
        format!("run doctor as someone with {needs}"),
    )
}

fn from_readyz(body: &str) -> Vec<Finding> {
    let checks: Vec<(bool, &str, &str)> = body
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (ok, rest) = if let Some(rest) = line.strip_prefix("[+]") {
                (true, rest)
            } else {
                (false, line.strip_prefix("[-]")?)
            };
            let (name, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            Some((ok, name, detail.trim()))
        })
        .collect();
    if checks.is_empty() {
        return vec![draft(Severity::Medium, Status::Incomplete, READYZ).finding(
            Vec::new(),
            format!("{READYZ} listed no checks"),
            "ask for /readyz?verbose (doctor does), or read it with kubectl get --raw",
        )];
    }
    let kms: Vec<&(bool, &str, &str)> = checks
        .iter()
        .filter(|(_, name, _)| name.starts_with("kms-provider"))
        .collect();
    let failing: Vec<String> = kms
        .iter()
        .filter(|(ok, _, _)| !ok)
        .map(|(_, name, detail)| format!("{name} {detail}").trim_end().to_owned())
        .collect();
    if !failing.is_empty() {
        return vec![
            draft(Severity::High, Status::Fail, READYZ).finding(
                failing,
                "a KMS provider health check fails: encrypted writes and reads of new data fail"
                    .to_owned(),
                "check the KMS plugin on every control-plane node (its socket, logs and key \
             permissions); `kubectl get --raw '/readyz/kms-providers'` shows it again",
            ),
        ];
    }
    if kms.is_empty() {
        return Vec::new(); // no KMS: readyz says nothing about aescbc or secretbox
    }
    let via = kms
        .iter()
        .map(|(_, name, _)| format!("{name} ok"))
        .collect();
    vec![draft(Severity::Info, Status::Pass, READYZ).finding(
        via,
        "KMS providers are configured and healthy".to_owned(),
        "nothing to do",
    )]
}

fn from_metrics(body: &str) -> Vec<Finding> {
    let all = samples(body, &[TRANSFORMATIONS, RELOADS, RELOAD_FAILURES]);
    let writes: Vec<&Sample> = all
        .iter()
        .filter(|s| s.name == TRANSFORMATIONS && s.label("transformation_type") == "to_storage")
        .collect();
    let mut findings = Vec::new();
    let identity: f64 = writes
        .iter()
        .filter(|s| s.label("transformer_prefix").is_empty())
        .map(|s| s.value)
        .filter(|v| v.is_finite())
        .sum();
    let mut prefixes: Vec<&str> = writes
        .iter()
        .filter(|s| s.value > 0.0)
        .map(|s| s.label("transformer_prefix"))
        .filter(|p| p.starts_with("k8s:enc:"))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    if identity > 0.0 {
        findings.push(draft(Severity::High, Status::Fail, METRICS).finding(
            vec![format!(
                "{TRANSFORMATIONS}{{transformation_type=\"to_storage\",transformer_prefix=\"\"}} = {identity}"
            )],
            "this apiserver writes objects with identity (plaintext) under its encryption config"
                .to_owned(),
            "find the resources entry whose first provider is identity (pass the file with \
             --encryption-config) and put kms v2 or secretbox first",
        ));
    } else if !prefixes.is_empty() {
        findings.push(
            draft(Severity::Info, Status::Pass, METRICS).finding(
                prefixes
                    .iter()
                    .map(|p| format!("to_storage prefix {p}"))
                    .collect(),
                "this apiserver writes encrypted objects only".to_owned(),
                "nothing to do",
            ),
        );
    } else {
        findings.push(draft(Severity::Info, Status::Warn, METRICS).finding(
            Vec::new(),
            "no storage writes counted: no encryption config, or no writes since start".to_owned(),
            "check ENC010; after a Secret write, read /metrics again",
        ));
    }
    let failures: f64 = all
        .iter()
        .filter(|s| {
            (s.name == RELOADS && s.label("status") == "failure") || s.name == RELOAD_FAILURES
        })
        .map(|s| s.value)
        .filter(|v| v.is_finite())
        .sum();
    if failures > 0.0 {
        findings.push(
            draft(Severity::Medium, Status::Fail, METRICS).finding(
                vec![format!("{RELOADS}{{status=\"failure\"}} = {failures}")],
                "reloading the encryption config failed: the apiserver still runs an older one"
                    .to_owned(),
                "fix the file on every control-plane node (the apiserver log names the error); \
             it is reloaded on the next change",
            ),
        );
    }
    findings
}
