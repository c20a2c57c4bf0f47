//! `cargo xtask demo`: the seal pattern end to end, offline, with the built plugin.
//! Generates a key pair, seals a sample Secret, shows the SealedSecret (what goes to Git),
//! unseals it and checks every value came back, printing values masked.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use base64::Engine as _;

use crate::util::build_plugin;

const SAMPLE: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: demo
  labels: {app: billing}
type: kubernetes.io/basic-auth
stringData:
  username: billing-app
  password: correct-horse-battery-staple
data:
  blob: AAEC/f7/
";

pub(crate) fn run() -> anyhow::Result<()> {
    let plugin = build_plugin(false)?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("secret.yaml"), SAMPLE)?;

    step("1. generate a sealing key pair (offline; the agent does this in a cluster)");
    plugin_ok(
        &plugin,
        &[
            "keys",
            "generate",
            "--cert-out",
            p(&path("cert.pem")),
            "--key-out",
            p(&path("key.pem")),
        ],
    )?;

    step("2. seal the Secret with the public certificate: this is what you commit to Git");
    let sealed = plugin_ok(
        &plugin,
        &[
            "seal",
            "-f",
            p(&path("secret.yaml")),
            "--cert",
            p(&path("cert.pem")),
        ],
    )?;
    std::fs::write(path("sealed.yaml"), &sealed)?;
    for line in sealed.lines() {
        // Ciphertext lines are long: shorten them, they are noise to a reader.
        match line.split_once(": Ag") {
            Some((key, rest)) => println!(
                "{key}: Ag{}… ({} base64 chars)",
                &rest[..24.min(rest.len())],
                rest.len() + 2
            ),
            None => println!("{line}"),
        }
    }

    step("3. unseal it with the private key (offline recovery) and compare");
    let unsealed = plugin_ok(
        &plugin,
        &[
            "unseal",
            "-f",
            p(&path("sealed.yaml")),
            "--private-key",
            p(&path("key.pem")),
            "-o",
            "json",
        ],
    )?;
    let secret: serde_json::Value =
        serde_json::from_str(&unsealed).context("parsing unseal output")?;
    let expected = [
        ("blob", vec![0x00, 0x01, 0x02, 0xfd, 0xfe, 0xff]),
        ("password", b"correct-horse-battery-staple".to_vec()),
        ("username", b"billing-app".to_vec()),
    ];
    let mut all_good = true;
    for (key, want) in expected {
        let got = secret["data"][key]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        let ok = got.as_deref() == Some(&want[..]);
        all_good &= ok;
        println!(
            "  {key:<10} {} ({} bytes)  {}",
            "•".repeat(8),
            want.len(),
            if ok { "round trip ok" } else { "MISMATCH" }
        );
    }
    println!(
        "  type: {}, labels kept: {}",
        secret["type"], secret["metadata"]["labels"]
    );
    if !all_good {
        bail!("the round trip did not hold");
    }
    step("done: sealed → unsealed, every value identical");
    Ok(())
}

fn step(text: &str) {
    println!("\n== {text}");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// Run the plugin, pass its stderr through, return stdout.
fn plugin_ok(plugin: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(plugin)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", plugin.display()))?;
    if !output.status.success() {
        bail!(
            "kubectl-secrets {} failed ({})",
            args.join(" "),
            output.status
        );
    }
    String::from_utf8(output.stdout).context("plugin output is not UTF-8")
}
