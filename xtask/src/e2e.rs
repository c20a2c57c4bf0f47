//! `cargo xtask e2e`: the end-to-end suite (`tests/e2e`) against the cluster in `KUBECONFIG`
//! (kind or k3d; never run by `cargo xtask test`, as no cluster can be had on our build
//! machines).
//!
//! Steps: install the test tools (helm-python-sdk, kubectl) → build the agent image with the
//! Dockerfile (`docker build`, or take `KUBECTL_SECRETS_E2E_IMAGE` as already built and
//! pushed) → load it into the cluster (`kind load docker-image` / `k3d image import`, chosen
//! from the context name `kind-<name>` / `k3d-<name>`, or `KUBECTL_SECRETS_E2E_LOAD=
//! kind:<name>|k3d:<name>|none`) → build the plugin → `cargo test -p e2e-tests -- --ignored`.

use std::ffi::OsStr;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::util::{build_plugin, cargo_with_env, root, run};

const LOCAL_IMAGE: &str = "kubectl-secrets/secrets-agent:e2e";

pub(crate) fn run_e2e() -> anyhow::Result<()> {
    let kubeconfig = std::env::var_os("KUBECONFIG").context(
        "KUBECONFIG is not set: point it at a disposable kind or k3d cluster (the suite \
         installs the chart into fresh namespaces and deletes them)",
    )?;
    let tools = crate::tools::ensure()?;
    let image = match std::env::var("KUBECTL_SECRETS_E2E_IMAGE") {
        Ok(image) => image,
        Err(_) => {
            let root = root();
            let context = root.to_string_lossy().into_owned();
            run("docker", &["build", "-t", LOCAL_IMAGE, &context], &[])
                .context("building the agent image (needs a Docker engine)")?;
            load(LOCAL_IMAGE, &current_context(&tools.bin.join("kubectl"))?)?;
            LOCAL_IMAGE.to_owned()
        }
    };
    let plugin = build_plugin(false)?;
    cargo_with_env(
        &[
            "test",
            "-p",
            "e2e-tests",
            "--",
            "--ignored",
            "--test-threads=1",
        ],
        &[
            ("KUBECONFIG", kubeconfig.as_os_str()),
            ("KUBECTL_SECRETS_E2E_IMAGE", OsStr::new(&image)),
            ("KUBECTL_SECRETS_E2E_PLUGIN", plugin.as_os_str()),
            ("KUBECTL_SECRETS_TEST_PYTHON", tools.python.as_os_str()),
            ("KUBECTL_SECRETS_TOOLS_BIN", tools.bin.as_os_str()),
        ],
    )
}

fn current_context(kubectl: &std::path::Path) -> anyhow::Result<String> {
    let out = Command::new(kubectl)
        .args(["config", "current-context"])
        .output()
        .context("running kubectl config current-context")?;
    if !out.status.success() {
        bail!(
            "reading the current context: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Put the image where the cluster's nodes find it without a registry.
fn load(image: &str, context: &str) -> anyhow::Result<()> {
    let how = std::env::var("KUBECTL_SECRETS_E2E_LOAD").ok();
    let how = how.as_deref().map(|h| h.split_once(':').unwrap_or((h, "")));
    let (tool, cluster) = match how {
        Some(("none", _)) => return Ok(()),
        Some((tool, cluster)) => (tool.to_owned(), cluster.to_owned()),
        None => match context.split_once('-') {
            Some((tool @ ("kind" | "k3d"), cluster)) => (tool.to_owned(), cluster.to_owned()),
            _ => bail!(
                "cannot tell how to load the image into context {context:?}: set \
                 KUBECTL_SECRETS_E2E_LOAD to kind:<cluster>, k3d:<cluster> or none (then push \
                 the image and set KUBECTL_SECRETS_E2E_IMAGE)"
            ),
        },
    };
    match tool.as_str() {
        "kind" => run(
            "kind",
            &["load", "docker-image", image, "--name", &cluster],
            &[],
        ),
        "k3d" => run("k3d", &["image", "import", image, "-c", &cluster], &[]),
        other => bail!("KUBECTL_SECRETS_E2E_LOAD: unknown loader {other:?} (kind, k3d or none)"),
    }
    .with_context(|| format!("loading {image} into the {tool} cluster {cluster}"))
}
