//! The kubectl harness: the venv's kubectl runs (no cluster needed for these commands) and
//! is the one found first on the `PATH` it gets.

use std::path::Path;

use test_support::{kubectl, kubectl_ok, tools_bin, tools_path};

#[test]
fn kubectl_client_version_is_the_pinned_one() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    let out = kubectl_ok(&kubeconfig, &["version", "--client", "-o", "json"]);
    let version: serde_json::Value = serde_json::from_str(&out).expect("kubectl printed JSON");
    let git_version = version["clientVersion"]["gitVersion"]
        .as_str()
        .expect("clientVersion.gitVersion");
    assert!(
        git_version.starts_with("v1.37."),
        "unexpected kubectl {git_version}"
    );
}

#[test]
fn kubectl_failure_is_reported_not_hidden() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = kubectl(&dir.path().join("kubeconfig"), &["no-such-command"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown command"));
}

#[test]
fn tools_path_puts_extra_dirs_then_tools_first() {
    let extra = Path::new("/nonexistent/plugin-dir");
    let path = tools_path(&[extra]);
    let mut dirs = std::env::split_paths(&path);
    assert_eq!(dirs.next().as_deref(), Some(extra));
    assert_eq!(dirs.next(), Some(tools_bin()));
}
