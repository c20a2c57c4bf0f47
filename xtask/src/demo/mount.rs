//! The mount pattern in the demo: the node provider (`secrets-agent csi-provider`) on a unix
//! socket, csi-standin playing the Secrets Store CSI Driver and the kubelet for one pod, a
//! SecretProviderClass written by `kubectl secrets mount` over OpenBao and a mount-only
//! SealedSecret. The pod's files are listed by path, mode, size and version (never values),
//! and `kubectl get secrets` shows that no Secret was made.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::sync::OpenBao;
use super::{Demo, s, step};
use crate::util::root;

const DB_PASSWORD: &str = "mount-demo-db-password-1";
const ROTATED: &str = "mount-demo-db-password-2";
const API_TOKEN: &str = "mount-demo-api-token";

const ACCOUNTS: &str = "\
apiVersion: v1
kind: Namespace
metadata: {name: kubectl-secrets-csi}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: secrets-agent-csi-provider, namespace: kubectl-secrets-csi}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: demo}
";

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
      - {name: app, image: registry.example/web:1.0}
";

/// A short-lived token of `namespace/account` for `audience`, through the TokenRequest API.
fn token(demo: &Demo, namespace: &str, account: &str, audience: &str) -> anyhow::Result<String> {
    let request = demo.path("token-request.json");
    std::fs::write(
        &request,
        serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": [audience], "expirationSeconds": 86400}
        })
        .to_string(),
    )?;
    let answer = demo.run(
        "kubectl",
        &[
            "create",
            "--raw",
            &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"),
            "-f",
            s(&request),
        ],
    )?;
    let answer: serde_json::Value =
        serde_json::from_str(&answer).context("reading the TokenRequest answer")?;
    answer["status"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("the TokenRequest answer has no token")
}

/// The pod the Deployment's ReplicaSet would make (kube-standin runs no controllers).
fn pod_from_template(deployment: &str, name: &str) -> anyhow::Result<String> {
    let deployment: serde_json::Value =
        serde_json::from_str(deployment).context("reading the Deployment")?;
    let template = &deployment["spec"]["template"];
    let pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "demo", "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    });
    Ok(pod.to_string())
}

pub(super) fn run(demo: &Demo, openbao: &OpenBao, mount_port: u16) -> anyhow::Result<()> {
    step("11. mount: the Secrets Store CSI CRDs and the node provider on its unix socket");
    let crds = root().join("tests/csi-standin/crds");
    print!("{}", demo.run("kubectl", &["apply", "-f", s(&crds)])?);
    std::fs::write(demo.path("csi-accounts.yaml"), ACCOUNTS)?;
    print!(
        "{}",
        demo.run(
            "kubectl",
            &["apply", "-f", s(&demo.path("csi-accounts.yaml"))]
        )?
    );
    // The provider proves who it is to the controller with its own token (in the chart, a
    // projected token with this audience).
    let identity = demo.path("provider-token");
    std::fs::write(
        &identity,
        token(
            demo,
            "kubectl-secrets-csi",
            "secrets-agent-csi-provider",
            "kubectl-secrets",
        )?,
    )?;
    let providers = demo.path("providers");
    std::fs::create_dir_all(&providers)?;
    let socket = providers.join("kubectl-secrets.sock");
    let mut provider = demo.command("secrets-agent");
    provider
        .args(["csi-provider", "--socket", s(&socket)])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .args(["--agent-url", &format!("https://127.0.0.1:{mount_port}")])
        .args(["--agent-namespace", "kubectl-secrets"])
        .args(["--identity-token-file", s(&identity)])
        // Debug level, so the check below that no value is logged means something.
        .args(["--log-filter", "secrets_agent=debug,info"]);
    demo.start("csi-provider", provider, None)?;
    demo.wait("the provider's socket", || socket.exists())?;
    println!("provider listening on {}", socket.display());

    step("12. OpenBao lets the pod's own service account read web/*; a mount-only SealedSecret");
    let policy = demo.path("web.hcl");
    std::fs::write(
        &policy,
        "path \"secret/data/web/*\" { capabilities = [\"read\"] }\n",
    )?;
    openbao.run(demo, &["policy", "write", "web-reader", s(&policy)])?;
    openbao.run(
        demo,
        &[
            "write",
            "auth/kubernetes/role/web",
            "bound_service_account_names=web",
            "bound_service_account_namespaces=demo",
            "policies=web-reader",
            "audience=vault",
            "ttl=10m",
        ],
    )?;
    openbao.put(
        demo,
        "web/config",
        serde_json::json!({"db-password": DB_PASSWORD, "log-level": "info"}),
    )?;
    let store = format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: openbao-web, namespace: demo}}\nspec:\n  provider:\n    vault:\n      server: {}\n      path: secret\n      version: v2\n      auth:\n        kubernetes:\n          role: web\n          serviceAccountRef: {{name: web, audiences: [vault]}}\n",
        openbao.addr
    );
    std::fs::write(demo.path("web-store.yaml"), &store)?;
    println!("{store}");
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("web-store.yaml"))])?
    );
    let secret = demo.path("api-secret.yaml");
    std::fs::write(
        &secret,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: web-api, namespace: demo}}\nstringData:\n  token: {API_TOKEN}\n"
        ),
    )?;
    let sealed = demo.path("web-api-sealed.yaml");
    demo.run(
        "kubectl-secrets",
        &["seal", "-f", s(&secret), "--output-file", s(&sealed)],
    )?;
    std::fs::remove_file(&secret)?;
    // kubectl's own offline annotate: the object goes to the cluster already mount-only, so the
    // controller never makes a Secret of it.
    let annotated = demo.run(
        "kubectl",
        &[
            "annotate",
            "--local",
            "-f",
            s(&sealed),
            "kubectl-secrets.io/mount-only=true",
            "-o",
            "yaml",
        ],
    )?;
    std::fs::write(&sealed, &annotated)?;
    print!("{}", demo.run("kubectl", &["apply", "-f", s(&sealed)])?);
    demo.wait("the SealedSecret to be served by mounts", || {
        demo.command("kubectl")
            .args(["get", "sealedsecret", "web-api", "-n", "demo"])
            .args([
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}",
            ])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "ServedByMounts")
    })?;
    print!(
        "{}",
        demo.run("kubectl-secrets", &["status", "-n", "demo"])?
    );

    step("13. kubectl secrets mount: a SecretProviderClass and the CSI volume in the Deployment");
    std::fs::write(demo.path("web.yaml"), DEPLOYMENT)?;
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("web.yaml"))])?
    );
    let mount = [
        "mount",
        "deployment/web",
        "-n",
        "demo",
        "--store",
        "openbao-web",
        "--key",
        "web/config",
        "--property",
        "db-password",
        "--file",
        "db/password",
        "--mode",
        "0440",
        "--sealed-secret",
        "web-api",
        "--property",
        "token",
        "--file",
        "api/token",
        "--mount-path",
        "/run/secrets/app",
    ];
    print!("{}", demo.run("kubectl-secrets", &mount)?);
    print!(
        "{}",
        demo.run(
            "kubectl",
            &[
                "get",
                "secretproviderclass",
                "web-secrets",
                "-n",
                "demo",
                "-o",
                "yaml"
            ]
        )?
    );

    step(
        "13. a pod of the Deployment mounts it: csi-standin calls the provider as the driver does",
    );
    let deployment = demo.run(
        "kubectl",
        &["get", "deployment", "web", "-n", "demo", "-o", "json"],
    )?;
    std::fs::write(
        demo.path("web-pod.json"),
        pod_from_template(&deployment, "web-0")?,
    )?;
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("web-pod.json"))])?
    );
    let volume = demo.path("pod-volume");
    let standin = [
        "web-0",
        "-n",
        "demo",
        "--socket",
        s(&socket),
        "--target-dir",
        s(&volume),
        "--token-audience",
        "vault",
        "--token-audience",
        "kubectl-secrets",
    ];
    let first = demo.run("csi-standin", &standin)?;
    print!("{first}");
    list_volume(&volume)?;
    let secrets = demo.run("kubectl", &["get", "secrets", "-n", "demo"])?;
    print!("{secrets}");
    if secrets
        .lines()
        .any(|l| l.starts_with("web-api ") || l.starts_with("web-"))
    {
        bail!("a Secret was made for the mount");
    }
    println!("no Secret named web-* exists: the mount-only values never reached etcd");
    print!(
        "{}",
        demo.run("kubectl-secrets", &["mount", "status", "-n", "demo"])?
    );

    step(
        "14. the password changes in OpenBao; the driver's next mount brings it, with a new version",
    );
    openbao.put(
        demo,
        "web/config",
        serde_json::json!({"db-password": ROTATED, "log-level": "info"}),
    )?;
    let mut again = standin.to_vec();
    again.push("--remount");
    let second = demo.run("csi-standin", &again)?;
    print!("{second}");
    let version = |out: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with("object db/password "))
            .map(str::to_owned)
    };
    if version(&first).is_none() || version(&first) == version(&second) {
        bail!("the object version of db/password did not change with its value");
    }
    let size = std::fs::metadata(volume.join("db/password"))?.len();
    if usize::try_from(size).ok() != Some(ROTATED.len()) {
        bail!("db/password does not hold the rotated value's length");
    }
    for log in ["csi-provider.log", "agent.log"] {
        let text = std::fs::read_to_string(demo.path(log)).unwrap_or_default();
        if [DB_PASSWORD, ROTATED, API_TOKEN]
            .iter()
            .any(|v| text.contains(v))
        {
            bail!("a secret value reached {log}");
        }
    }
    Ok(())
}

/// The pod's volume as its containers see it: paths, modes and sizes, never contents.
fn list_volume(volume: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    println!(
        "$ ls -lR {} (sizes only; values are not shown)",
        volume.display()
    );
    for file in ["db/password", "api/token"] {
        let meta =
            std::fs::metadata(volume.join(file)).with_context(|| format!("reading {file}"))?;
        println!(
            "  {:04o} {:>4}B {file}",
            meta.permissions().mode() & 0o777,
            meta.len()
        );
    }
    Ok(())
}
