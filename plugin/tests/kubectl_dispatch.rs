//! The real kubectl finds and runs the plugin the way a user's does once krew (or
//! `cargo install`) put `kubectl-secrets` on `PATH`: `kubectl plugin list` lists it without a
//! warning, `kubectl secrets …` runs it with the arguments passed through, and kubectl's
//! plugin completion (`kubectl __complete secrets …`, what a shell's TAB runs) gets its answer
//! from `kubectl_complete-secrets`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests: a failed step fails the test"
)]

use std::path::Path;
use std::process::{Command, Output};

/// kubectl with only `dir` (holding the plugin) and the test tools on `PATH`, so plugins
/// installed elsewhere on the machine can neither answer nor add warnings.
fn kubectl(dir: &Path, args: &[&str]) -> Output {
    let path = std::env::join_paths([dir.to_path_buf(), test_support::tools_bin()]).unwrap();
    Command::new(test_support::tools_bin().join("kubectl"))
        .args(args)
        .env("PATH", path)
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .output()
        .unwrap()
}

fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // A link named as krew installs it; the build's own folder holds other kubectl-* files
    // (dep-info) that kubectl would warn about.
    for (bin, name) in [
        (env!("CARGO_BIN_EXE_kubectl-secrets"), "kubectl-secrets"),
        (
            env!("CARGO_BIN_EXE_kubectl_complete-secrets"),
            "kubectl_complete-secrets",
        ),
    ] {
        std::os::unix::fs::symlink(bin, dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn kubectl_plugin_list_finds_the_plugin_without_warnings() {
    let dir = plugin_dir();
    let out = kubectl(dir.path(), &["plugin", "list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubectl plugin list failed: {stderr}");
    assert!(
        stdout.contains(&dir.path().join("kubectl-secrets").display().to_string()),
        "{stdout}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn kubectl_secrets_runs_the_plugin() {
    let dir = plugin_dir();
    let out = kubectl(dir.path(), &["secrets", "--help"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Usage: kubectl secrets"), "{stdout}");
    // Subcommands and their flags pass through unchanged.
    let out = kubectl(dir.path(), &["secrets", "seal", "--help"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("--scope"));
}

/// What a shell's TAB after `kubectl secrets se` gets: kubectl runs `kubectl_complete-secrets`
/// and passes its Cobra answer through, ending in the no-file-completion directive.
#[test]
fn kubectl_completes_the_plugins_commands_and_flags() {
    let dir = plugin_dir();
    let out = kubectl(dir.path(), &["__complete", "secrets", "se"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l.split('\t').next() == Some("seal")),
        "{stdout}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("sync")), "{stdout}");
    assert_eq!(lines.last(), Some(&":4"), "{stdout}");

    // Nested commands, and flags (the global ones too) of the command typed.
    let out = kubectl(dir.path(), &["__complete", "secrets", "keys", ""]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("rotate\t")),
        "{stdout}"
    );
    let out = kubectl(dir.path(), &["__complete", "secrets", "seal", "--"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for flag in ["--filename\t", "--cert\t", "--kubeconfig\t"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(flag)),
            "{flag}: {stdout}"
        );
    }
    assert_eq!(stdout.lines().last(), Some(":4"), "{stdout}");
}
