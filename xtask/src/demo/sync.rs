//! The sync pattern in the demo: a real OpenBao dev server with kubernetes auth reviewing
//! tokens against kube-standin; a SecretStore that logs in as a service account; an
//! ExternalSecret whose Secret follows a change in OpenBao. Values are never printed: they go
//! to OpenBao from a file, and the Secret is shown masked.

use std::process::Stdio;

use anyhow::{Context as _, bail};
use base64::Engine as _;

use super::{Demo, s, step};

const DB_PASSWORD: &str = "sync-demo-password-1";
const ROTATED: &str = "sync-demo-password-rotated";

/// Start OpenBao with a root token of our choosing (through the environment, so no process
/// listing shows it, and never written to a file) and wait until it answers.
fn start_openbao(demo: &Demo) -> anyhow::Result<(String, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("http://127.0.0.1:{port}");
    let root = random_token()?;
    let home = demo.path("bao-home");
    std::fs::create_dir_all(&home)?;
    let mut bao = demo.command("bao");
    bao.args([
        "server",
        "-dev",
        // Without this the dev server writes the root token to ~/.vault-token.
        "-dev-no-store-token",
        &format!("-dev-listen-address=127.0.0.1:{port}"),
    ])
    .env("BAO_DEV_ROOT_TOKEN_ID", &root)
    .env("HOME", &home);
    demo.start("bao", bao, None)?;
    println!("OpenBao dev server at {addr} (root token kept in the environment, not shown)");
    Ok((addr, root))
}

/// 128 random bits, hex.
fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?,
        &mut bytes,
    )
    .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The OpenBao the sync part started, kept for the mount part.
pub(super) struct OpenBao {
    /// Its address.
    pub(super) addr: String,
    /// Its root token (never printed).
    pub(super) root: String,
}

impl OpenBao {
    /// Run `bao ARGS` against it, echoing the command (the token is in the environment).
    pub(super) fn run(&self, demo: &Demo, args: &[&str]) -> anyhow::Result<String> {
        println!("$ bao {}", args.join(" "));
        let out = demo
            .command("bao")
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", &self.root)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            bail!(
                "bao {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Write `data` to the KV v2 path `secret/PATH` from a file, so no value is in a
    /// process argument.
    pub(super) fn put(
        &self,
        demo: &Demo,
        path: &str,
        data: serde_json::Value,
    ) -> anyhow::Result<()> {
        let file = demo.path("value.json");
        std::fs::write(&file, data.to_string())?;
        let done = self.run(
            demo,
            &[
                "kv",
                "put",
                "-mount=secret",
                path,
                &format!("@{}", s(&file)),
            ],
        );
        std::fs::remove_file(file)?;
        done.map(drop)
    }
}

pub(super) fn run(demo: &Demo) -> anyhow::Result<OpenBao> {
    step("7. sync: start OpenBao and let it check Kubernetes service-account tokens");
    let (addr, root) = start_openbao(demo)?;
    let openbao = OpenBao { addr, root };
    let (addr, root) = (&openbao.addr, &openbao.root);
    let bao = |args: &[&str]| openbao.run(demo, args);
    demo.wait("OpenBao", || bao(&["status"]).is_ok())?;
    let server = demo.run(
        "kubectl",
        &[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ],
    )?;
    let ca_b64 = demo.run(
        "kubectl",
        &[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.clusters[0].cluster.certificate-authority-data}",
        ],
    )?;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(ca_b64.trim())
        .context("decoding the stand-in's CA")?;
    std::fs::write(demo.path("ca.pem"), ca)?;
    std::fs::write(
        demo.path("accounts.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: openbao-reviewer, namespace: kube-system}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: billing-reader, namespace: demo}\n",
    )?;
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("accounts.yaml"))])?
    );
    std::fs::write(
        demo.path("token-request.json"),
        r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":86400}}"#,
    )?;
    let answer = demo.run(
        "kubectl",
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/kube-system/serviceaccounts/openbao-reviewer/token",
            "-f",
            s(&demo.path("token-request.json")),
        ],
    )?;
    let reviewer: serde_json::Value =
        serde_json::from_str(&answer).context("reading the TokenRequest answer")?;
    let reviewer = reviewer["status"]["token"]
        .as_str()
        .context("no reviewer token")?;
    std::fs::write(demo.path("reviewer.jwt"), reviewer)?;
    bao(&["auth", "enable", "kubernetes"])?;
    bao(&[
        "write",
        "auth/kubernetes/config",
        &format!("kubernetes_host={}", server.trim()),
        &format!("kubernetes_ca_cert=@{}", s(&demo.path("ca.pem"))),
        &format!("token_reviewer_jwt=@{}", s(&demo.path("reviewer.jwt"))),
        "disable_local_ca_jwt=true",
    ])?;
    std::fs::write(
        demo.path("reader.hcl"),
        "path \"secret/data/billing/*\" { capabilities = [\"read\"] }\n",
    )?;
    bao(&[
        "policy",
        "write",
        "billing-reader",
        s(&demo.path("reader.hcl")),
    ])?;
    bao(&[
        "write",
        "auth/kubernetes/role/billing",
        "bound_service_account_names=billing-reader",
        "bound_service_account_namespaces=demo",
        "policies=billing-reader",
        "audience=openbao",
        "ttl=1h",
    ])?;
    let put = |value: &str| {
        openbao.put(
            demo,
            "billing/db",
            serde_json::json!({"username": "billing-app", "password": value}),
        )
    };
    put(DB_PASSWORD)?;

    step("8. a SecretStore that logs in as the service account, and an ExternalSecret");
    let manifests = format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: openbao, namespace: demo}}\nspec:\n  provider:\n    vault:\n      server: {addr}\n      path: secret\n      version: v2\n      auth:\n        kubernetes:\n          role: billing\n          serviceAccountRef: {{name: billing-reader, audiences: [openbao]}}\n---\n\
         apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {{name: billing-db, namespace: demo}}\nspec:\n  secretStoreRef: {{name: openbao}}\n  refreshInterval: 1h\n  target:\n    template:\n      data:\n        DATABASE_URL: 'postgres://{{{{ .username }}}}:{{{{ .password }}}}@db:5432/billing'\n  dataFrom:\n  - extract: {{key: billing/db}}\n"
    );
    std::fs::write(demo.path("sync.yaml"), &manifests)?;
    println!("{manifests}");
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("sync.yaml"))])?
    );
    demo.wait("the synced Secret", || {
        demo.quiet_ok("kubectl", &["get", "secret", "billing-db", "-n", "demo"])
    })?;
    print!(
        "{}",
        demo.run(
            "kubectl",
            &["get", "secretstores,externalsecrets", "-n", "demo"]
        )?
    );
    print!(
        "{}",
        demo.run("kubectl-secrets", &["sync", "status", "-n", "demo"])?
    );
    let first = demo.run(
        "kubectl-secrets",
        &["fetch", "secret", "billing-db", "-n", "demo"],
    )?;
    print!("{first}");

    step("9. the password changes in OpenBao; a forced sync brings it in");
    put(ROTATED)?;
    print!(
        "{}",
        demo.run(
            "kubectl-secrets",
            &["sync", "now", "billing-db", "-n", "demo"]
        )?
    );
    let want = format!("postgres://billing-app:{ROTATED}@db:5432/billing").len();
    demo.wait("the Secret to follow OpenBao", || {
        demo.command("kubectl-secrets")
            .args(["fetch", "secret", "billing-db", "-n", "demo"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).lines().any(|l| {
                    l.starts_with("DATABASE_URL") && l.trim_end().ends_with(&format!("{want}B"))
                })
            })
    })?;
    print!(
        "{}",
        demo.run(
            "kubectl-secrets",
            &["fetch", "secret", "billing-db", "-n", "demo"]
        )?
    );
    let logs = std::fs::read_to_string(demo.path("agent.log")).unwrap_or_default();
    if logs.contains(DB_PASSWORD) || logs.contains(ROTATED) || logs.contains(root.as_str()) {
        bail!("a secret value reached the agent's log");
    }
    Ok(openbao)
}
