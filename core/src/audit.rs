//! The pure half of `kubectl secrets doctor`: checks over objects someone else collected, and
//! the findings they produce. Nothing here talks to a cluster or reads a file.
//!
//! Data flow, left to right:
//!
//! ```text
//!  collected objects ──▶ pure checks ──────────────▶ Vec<Finding> ──[Report::new]──▶ Report
//!  (RBAC objects from     (rbac::audit, one           (id, severity,     sorted, counted;
//!   the API or Git)        finding per subject         status, via,       exit_code(fail_on)
//!                          and scope)                  hint)              for the command
//! ```
//!
//! - [`finding`]: the finding model and the report, serialized in the stable JSON shape the
//!   plugin's `-o json` prints and CI scripts read (issue 13).
//! - [`rbac`]: who can read Secrets, directly or by an indirect path, evaluated the way the RBAC
//!   authorizer evaluates (aggregation, RoleBinding → ClusterRole, `resourceNames`, …).
//! - [`agent`]: our own install (agent answering and leading, key and certificate age, objects
//!   not Ready, the CSI provider on every node).
//! - [`encryption`]: is etcd encrypted: the platform, `--encryption-provider-config` on every
//!   apiserver, the EncryptionConfiguration's content, and runtime evidence (readyz, metrics).
//! - [`Collected`]: what the plugin could collect for a check (got it, could not, not asked).
//! - [`git`]: plaintext Secrets in a checkout and its history (Secret manifests, Kustomize
//!   generators, Helm values, half-encrypted SOPS files, private keys), and the `--fix`
//!   rewrite of Secret documents into SealedSecrets.
//! - [`suppress`]: the suppression file, `.kubectl-secrets-doctor.yaml`: accepted findings,
//!   each with a reason, and findings about entries without one, expired or matching nothing.
//! - [`sarif`]: the findings in files as a SARIF 2.1.0 log, for code-scanning upload.
//!
//! Collection (and whatever it could not see, reported as `incomplete`) happens in the plugin;
//! the checks only judge what they are given, so they are tested from YAML fixtures.

pub mod agent;
mod collected;
pub mod encryption;
pub mod finding;
pub mod git;
pub mod rbac;
pub mod sarif;
pub mod suppress;

pub use collected::Collected;
pub use finding::{Category, Finding, Location, Report, Scope, Severity, Status, Subject, Summary};
pub use sarif::to_sarif;
pub use suppress::{SuppressError, Suppressions};

/// Every check id `doctor` knows, with what it is about (for `--check`/`--skip` validation
/// and the docs).
pub const CHECKS: &[(&str, &str)] = &[
    ("RBAC001", "the RBAC checks could see every RBAC object"),
    ("RBAC010", "broad groups can read Secrets"),
    ("RBAC011", "cluster-wide Secret readers"),
    ("RBAC012", "Secret readers in a namespace"),
    ("RBAC013", "sealing-key readers"),
    ("RBAC020", "indirect paths to Secret values"),
    ("RBAC030", "wildcards in roles"),
    ("RBAC031", "legacy service-account token Secrets"),
    (
        "RBAC032",
        "bindings to missing roles or unmatchable subjects",
    ),
    ("ENC001", "platform"),
    ("ENC010", "encryption configured on every API server"),
    ("ENC020", "EncryptionConfiguration content"),
    ("ENC030", "runtime evidence of encryption"),
    ("GIT010", "plaintext Secret manifests"),
    ("GIT011", "Kustomize generators and Helm values with values"),
    ("GIT012", "half-encrypted SOPS files"),
    ("GIT020", "plaintext Secrets in Git history"),
    ("GIT030", "committed private keys"),
    ("GIT040", "a secret-scanning guard rail"),
    ("AGENT010", "the agent answers"),
    ("AGENT011", "an agent replica leads"),
    ("AGENT020", "newest sealing key age"),
    ("AGENT021", "sealing certificate expiry"),
    ("AGENT030", "our objects are Ready"),
    ("AGENT040", "the CSI provider runs on every node"),
    ("DOC001", "suppression entries have a reason"),
    ("DOC002", "suppression entries have not expired"),
    ("DOC003", "suppression entries match something"),
];
