//! Collecting for `kubectl secrets doctor`: the impure half. Each submodule reads what one
//! family of core checks (`secrets_core::audit`) needs and hands it over; the checks decide.
//!
//! ```text
//!  cluster ──[rbac]────────▶ RBAC objects, key and token Secret names ─▶ rbac::audit + SARs
//!          ──[encryption]──▶ version, nodes, mirror pods, /readyz, /metrics ─▶ encryption::audit
//!          ──[agent]───────▶ key list, Lease, Ready conditions, DaemonSet ─▶ agent::audit
//!  --git ───[git]──────────▶ wanted files (and history blobs) ─▶ git::scan_tree / scan_blob
//!                                                       │
//!                    --check/--skip, -n, suppressions ──┴─▶ Report ─▶ [render] text | json | sarif
//! ```
//!
//! Nothing collected here is a Secret's value: Secrets are listed as metadata only.

pub(crate) mod agent;
pub(crate) mod encryption;
pub(crate) mod fix;
pub(crate) mod git;
pub(crate) mod rbac;
pub(crate) mod render;

/// An API error in a few words (`403 Forbidden`, or the transport's error), for `incomplete`
/// reasons: the server's message can be long and names the request, which we say ourselves.
pub(crate) fn short_error(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) if !status.reason.is_empty() => {
            format!("{} {}", status.code, status.reason)
        }
        kube::Error::Api(status) => status.code.to_string(),
        other => other.to_string(),
    }
}
