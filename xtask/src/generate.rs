//! `cargo xtask gen`: regenerate the committed files that come from code. Today that is the
//! chart's CRDs: `secrets-agent crds --output-dir` writes what `secrets_core::api::crds::all()`
//! builds, after the old files are removed so a dropped kind leaves no stale file behind.
//! A secrets-core test fails, naming this command, when the committed files differ.

use anyhow::Context as _;

use crate::util::{self, cargo, root, target_dir};

pub(crate) fn run() -> anyhow::Result<()> {
    // Build first: a failed build must not leave the folder emptied.
    cargo(&["build", "--quiet", "-p", "secrets-agent"])?;
    let dir = root().join("charts").join("secrets-agent").join("crds");
    if dir.exists() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    let agent = target_dir().join("debug").join("secrets-agent");
    let dir_arg = dir.to_string_lossy().into_owned();
    util::run(&agent, &["crds", "--output-dir", &dir_arg], &[])?;
    eprintln!("xtask: wrote the CRDs into {}", dir.display());
    Ok(())
}
