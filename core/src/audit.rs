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
//! - [`suppress`]: the suppression file, `.kubectl-secrets-doctor.yaml`: accepted findings,
//!   each with a reason, and findings about entries without one, expired or matching nothing.
//! - [`sarif`]: the findings in files as a SARIF 2.1.0 log, for code-scanning upload.
//!
//! Collection (and whatever it could not see, reported as `incomplete`) happens in the plugin;
//! the checks only judge what they are given, so they are tested from YAML fixtures.

pub mod finding;
pub mod rbac;
pub mod sarif;
pub mod suppress;

pub use finding::{Category, Finding, Location, Report, Scope, Severity, Status, Subject, Summary};
pub use sarif::to_sarif;
pub use suppress::{SuppressError, Suppressions};
