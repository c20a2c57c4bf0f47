//! Locating the installed test tools and running the real `kubectl`.
//!
//! Data flow: `KUBECTL_SECRETS_TOOLS_BIN` (set by `cargo xtask test`) or the workspace's
//! `.tools/venv/bin` → [`tools_bin`] checks that `bao` and `kubectl` are there → [`kubectl`]
//! runs that directory's kubectl with the directory first on `PATH` (so the plugin dispatch it
//! performs finds the same tools, and a kubectl from elsewhere on the machine never answers)
//! and `KUBECONFIG` pointing at the test's kubeconfig.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The environment variable `cargo xtask test` sets to the venv's `bin/` directory.
const TOOLS_BIN_ENV: &str = "KUBECTL_SECRETS_TOOLS_BIN";

/// The tools every caller of this crate expects; checked together so one message lists all.
const REQUIRED_TOOLS: [&str; 2] = ["bao", "kubectl"];

/// The workspace root. This crate lives at `<root>/tests/support`, and the path is fixed at
/// compile time, which is what we want: tests run from the checkout they were built from.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// The directory holding the real `bao` and `kubectl`: `$KUBECTL_SECRETS_TOOLS_BIN`, else
/// `<workspace>/.tools/venv/bin`.
///
/// # Panics
/// When either tool is missing there. Tests must not skip silently, so the message says how
/// to install them.
pub fn tools_bin() -> PathBuf {
    let (dir, source) = match std::env::var_os(TOOLS_BIN_ENV) {
        Some(dir) if !dir.is_empty() => (PathBuf::from(dir), TOOLS_BIN_ENV),
        _ => (
            workspace_root().join(".tools").join("venv").join("bin"),
            "the default location",
        ),
    };
    let missing: Vec<&str> = REQUIRED_TOOLS
        .into_iter()
        .filter(|tool| !dir.join(tool).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "test tools missing: {} not found in {} ({source}); run `cargo xtask test`, which \
         installs them from xtask/requirements-test.txt into .tools/venv and sets \
         {TOOLS_BIN_ENV}, or set {TOOLS_BIN_ENV} to a directory holding them",
        missing.join(" and "),
        dir.display(),
    );
    dir
}

/// A `PATH` value with `first` (in order), then [`tools_bin`], then the inherited `PATH`.
/// Tests that run the plugin through kubectl put the plugin's directory in `first`.
pub fn tools_path(first: &[&Path]) -> OsString {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let dirs = first
        .iter()
        .map(|dir| dir.to_path_buf())
        .chain(std::iter::once(tools_bin()))
        .chain(std::env::split_paths(&inherited));
    std::env::join_paths(dirs).expect("a PATH entry contains the path separator")
}

/// A `Command` for the venv's kubectl with `KUBECONFIG` set and the tools first on `PATH`;
/// callers add arguments, more environment or a different `PATH` before running it.
pub fn kubectl_command(kubeconfig: &Path) -> Command {
    let mut command = Command::new(tools_bin().join("kubectl"));
    command
        .env("KUBECONFIG", kubeconfig)
        .env("PATH", tools_path(&[]));
    command
}

/// Run the venv's kubectl with `args` against `kubeconfig` and return its output, whatever
/// the exit status (for tests that expect failures).
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    kubectl_command(kubeconfig)
        .args(args)
        .output()
        .expect("running kubectl")
}

/// Run kubectl like [`kubectl`], assert it succeeded, and return its stdout.
///
/// # Panics
/// On a non-zero exit. The message carries kubectl's stderr but not its stdout, which may hold
/// secret values (`get secret -o yaml`), and hides every `=value` in the arguments
/// (`--from-literal=key=value`, `--token=...`).
pub fn kubectl_ok(kubeconfig: &Path, args: &[&str]) -> String {
    let output = kubectl(kubeconfig, args);
    assert!(
        output.status.success(),
        "kubectl {} failed ({}): {}",
        redacted_args(args),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim_end(),
    );
    String::from_utf8(output.stdout).expect("kubectl printed non-UTF-8 output")
}

/// The venv's python (with kubesealpy and helm-python-sdk): `KUBECTL_SECRETS_TEST_PYTHON`, which
/// `cargo xtask` sets, else `python` in [`tools_bin`].
pub fn python() -> PathBuf {
    std::env::var_os("KUBECTL_SECRETS_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_bin().join("python"))
}

/// Run a Python script with [`python`], `input` as JSON on its stdin, and return its stdout.
///
/// # Panics
/// When it cannot start or exits non-zero; the message names `what` and carries its stderr.
pub fn run_python(
    script: &Path,
    args: &[&str],
    env: &[(&str, &OsStr)],
    input: &serde_json::Value,
    what: &str,
) -> Vec<u8> {
    let mut command = Command::new(python());
    command
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("{what}: starting {}: {err}", script.display()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("writing the script's input");
    let out = child.wait_with_output().expect("waiting for the script");
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The arguments for a message, each cut at its first `=` so inline values stay out of logs.
fn redacted_args(args: &[&str]) -> String {
    args.iter()
        .map(|arg| match arg.split_once('=') {
            Some((name, _)) => format!("{name}=<hidden>"),
            None => (*arg).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::redacted_args;

    #[test]
    fn inline_values_are_hidden() {
        assert_eq!(
            redacted_args(&[
                "create",
                "secret",
                "generic",
                "db",
                "--from-literal=pw=s3cr3t"
            ]),
            "create secret generic db --from-literal=<hidden>"
        );
    }
}
