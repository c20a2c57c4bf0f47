//! Equipment for the end-to-end suite (`tests/*.rs`): the released pieces against a real
//! cluster, as a user runs them. `cargo xtask e2e` builds and loads the image, builds the
//! plugin and runs the `#[ignore]`d tests here with:
//!
//! - `KUBECONFIG`: the cluster (kind or k3d);
//! - `KUBECTL_SECRETS_E2E_IMAGE`: the agent image the cluster can run (`repo:tag`);
//! - `KUBECTL_SECRETS_E2E_PLUGIN`: the `kubectl-secrets` binary to drive;
//! - `KUBECTL_SECRETS_E2E_KEEP=1` (optional): leave the namespace and release for a look.
//!
//! Data flow of a test: [`Install::new`] makes a fresh namespace and installs the chart into it
//! with helm-python-sdk (`helm.py`: CRDs first, then the release, waiting for the rollout)
//! under a unique name (its cluster-wide RBAC objects must not collide with another install)
//! → the test drives `kubectl` and `kubectl secrets` ([`Install::kubectl`],
//! [`Install::plugin`]) → on drop, when the test failed, the agent's pods, logs and the
//! namespace's events are printed; then the release and the namespace are deleted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test equipment: a failed step must fail the calling test with a panic"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::json;

/// A variable `cargo xtask e2e` sets; a clear failure when it is missing.
pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the e2e suite with `cargo xtask e2e`"))
}

/// The chart installed in its own namespace, torn down on drop.
pub struct Install {
    /// Namespace of the agent (and of the test's objects).
    pub namespace: String,
    /// Release and object name (the Service the plugin talks to).
    pub release: String,
    kubeconfig: PathBuf,
    /// The plugin's certificate cache, kept out of the user's.
    cache: tempfile::TempDir,
}

impl Install {
    /// Install the chart with `values` (merged over the image the suite built).
    pub fn new(values: serde_json::Value) -> Install {
        Install::with_values(|_| values)
    }

    /// Install the chart with values made from the namespace it goes into.
    pub fn with_values(values: impl FnOnce(&str) -> serde_json::Value) -> Install {
        let suffix = random_suffix();
        let install = Install {
            namespace: format!("secrets-e2e-{suffix}"),
            release: format!("secrets-agent-e2e-{suffix}"),
            kubeconfig: PathBuf::from(env("KUBECONFIG")),
            cache: tempfile::tempdir().unwrap(),
        };
        let image = env("KUBECTL_SECRETS_E2E_IMAGE");
        let (repository, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("KUBECTL_SECRETS_E2E_IMAGE {image:?} needs a :tag"));
        let mut merged = json!({
            "image": {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"},
        });
        merge(&mut merged, values(&install.namespace));
        eprintln!(
            "e2e: installing {} into {}",
            install.release, install.namespace
        );
        install.helm(
            "install",
            json!({
                "chart": test_support::workspace_root().join("charts/secrets-agent"),
                "release": install.release,
                "namespace": install.namespace,
                "values": merged,
            }),
        );
        install
    }

    fn helm(&self, action: &str, job: serde_json::Value) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("helm.py");
        let env = [("KUBECONFIG", self.kubeconfig.as_os_str())];
        test_support::run_python(&script, &[action], &env, &job, &format!("helm {action}"));
    }

    /// kubectl against the cluster; the output whatever the exit status.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        test_support::kubectl(&self.kubeconfig, args)
    }

    /// kubectl, required to succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        test_support::kubectl_ok(&self.kubeconfig, args)
    }

    /// `kubectl-secrets` pointed at this install's agent.
    pub fn plugin(&self, args: &[&str]) -> Output {
        Command::new(env("KUBECTL_SECRETS_E2E_PLUGIN"))
            .args(args)
            .args([
                "--agent-namespace",
                &self.namespace,
                "--agent-service",
                &self.release,
            ])
            .env("KUBECONFIG", &self.kubeconfig)
            .env("XDG_CACHE_HOME", self.cache.path())
            .output()
            .unwrap()
    }

    /// The plugin, required to succeed; its stdout.
    pub fn plugin_ok(&self, args: &[&str]) -> String {
        let out = self.plugin(args);
        assert!(
            out.status.success(),
            "kubectl secrets {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Wait until `kind/name` in the install's namespace reports `Ready=True`.
    pub fn wait_ready(&self, kind: &str, name: &str, timeout: Duration) {
        let ready = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
        wait_for(&format!("{kind} {name} to be Ready"), timeout, || {
            let out = self.kubectl(&["get", kind, name, "-n", &self.namespace, "-o", ready]);
            (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
        });
    }

    /// Print what helps find out why a test failed: pods, the agent's logs, events.
    fn dump(&self) {
        let selector = format!("app.kubernetes.io/instance={}", self.release);
        let ns = self.namespace.as_str();
        for args in [
            vec!["get", "pods", "-n", ns, "-o", "wide"],
            vec!["describe", "deployment", "-n", ns, &self.release],
            vec![
                "logs",
                "-n",
                ns,
                "-l",
                &selector,
                "--all-containers",
                "--prefix",
                "--tail=200",
            ],
            vec!["get", "events", "-n", ns, "--sort-by=.lastTimestamp"],
            vec!["get", "sealedsecrets", "-n", ns, "-o", "wide"],
            vec![
                "get",
                "secretstores,externalsecrets",
                "-n",
                ns,
                "-o",
                "wide",
            ],
        ] {
            let out = self.kubectl(&args);
            eprintln!(
                "--- kubectl {}\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump();
        }
        if std::env::var_os("KUBECTL_SECRETS_E2E_KEEP").is_some() {
            eprintln!("e2e: kept release {} in {}", self.release, self.namespace);
            return;
        }
        // Never panic while unwinding: report and go on.
        let job = json!({"release": self.release, "namespace": self.namespace});
        let uninstall =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.helm("uninstall", job)));
        if uninstall.is_err() {
            eprintln!("e2e: uninstalling {} failed", self.release);
        }
        let out = self.kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]);
        if !out.status.success() {
            eprintln!(
                "e2e: deleting namespace {}: {}",
                self.namespace,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Poll `check` every second until it returns `Some`, failing after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Merge `overlay` into `base`, objects key by key, anything else replaced.
fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Eight lowercase hex digits, different per run (names must be DNS labels).
fn random_suffix() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("reading the system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
