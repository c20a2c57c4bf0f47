//! AWS in the demo: the real moto server (Secrets Manager and STS on loopback, from
//! `.tools/moto-venv`) started before the agent, so the agent gets `AWS_ENDPOINT_URL` as an SDK
//! would; then one value synced from it with static keys. The value goes to moto from a file
//! through boto3 (moto's venv has it), and the Secret is shown masked.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::bail;

use super::{Demo, s, step};

const VALUE: &str = "aws-demo-api-key-0c41";

/// Start `moto_server` on a free port and wait until it answers; its URL.
pub(super) fn start_moto(demo: &Demo, moto_bin: &Path) -> anyhow::Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut moto = std::process::Command::new(moto_bin.join("moto_server"));
    moto.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .current_dir(demo.dir.path());
    demo.start("moto", moto, None)?;
    let url = format!("http://127.0.0.1:{port}");
    demo.wait("moto", || answers(port))?;
    println!("moto (AWS Secrets Manager and STS) at {url}");
    Ok(url)
}

/// `GET /moto-api/` answers 200.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut answer = String::new();
    stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: moto\r\n\r\n")
        .and_then(|()| stream.read_to_string(&mut answer))
        .is_ok()
        && answer.split_whitespace().nth(1) == Some("200")
}

/// Create the secret `billing/api` in moto with boto3, the value read from a file.
fn create_secret(demo: &Demo, moto_bin: &Path, url: &str) -> anyhow::Result<()> {
    let file = demo.path("aws-value.json");
    std::fs::write(&file, serde_json::json!({ "api_key": VALUE }).to_string())?;
    let script = "import sys, boto3\n\
        c = boto3.client('secretsmanager', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                         aws_access_key_id='demo', aws_secret_access_key='demo')\n\
        c.create_secret(Name='billing/api', SecretString=open(sys.argv[2]).read())\n";
    println!(
        "$ python -c '<boto3: secretsmanager.create_secret(Name=\"billing/api\", SecretString=@aws-value.json)>'"
    );
    let out = std::process::Command::new(moto_bin.join("python"))
        .args(["-c", script, url, s(&file)])
        .output()?;
    std::fs::remove_file(&file)?;
    if !out.status.success() {
        bail!(
            "creating the secret in moto failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub(super) fn run(demo: &Demo, moto_bin: &Path, url: &str) -> anyhow::Result<()> {
    step(
        "10. AWS: a secret in Secrets Manager (moto), a SecretStore with static keys, an ExternalSecret",
    );
    create_secret(demo, moto_bin, url)?;
    // moto takes any keys; these stand for an IAM user's (IRSA needs a cluster's OIDC issuer).
    let manifests = "apiVersion: v1\nkind: Secret\nmetadata: {name: aws-keys, namespace: demo}\nstringData: {access-key: AKIADEMODEMODEMO0000, secret-key: demo-secret-key}\n---\n\
        apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: aws, namespace: demo}\nspec:\n  provider:\n    aws:\n      service: SecretsManager\n      region: us-east-1\n      auth:\n        secretRef:\n          accessKeyIDSecretRef: {name: aws-keys, key: access-key}\n          secretAccessKeySecretRef: {name: aws-keys, key: secret-key}\n---\n\
        apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {name: billing-api, namespace: demo}\nspec:\n  secretStoreRef: {name: aws}\n  refreshInterval: 1h\n  data:\n  - secretKey: API_KEY\n    remoteRef: {key: billing/api, property: api_key}\n";
    std::fs::write(demo.path("aws.yaml"), manifests)?;
    println!("{manifests}");
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("aws.yaml"))])?
    );
    demo.wait("the Secret synced from AWS", || {
        demo.quiet_ok("kubectl", &["get", "secret", "billing-api", "-n", "demo"])
    })?;
    print!(
        "{}",
        demo.run("kubectl-secrets", &["sync", "status", "-n", "demo"])?
    );
    let shown = demo.run(
        "kubectl-secrets",
        &["fetch", "secret", "billing-api", "-n", "demo"],
    )?;
    print!("{shown}");
    if !shown
        .lines()
        .any(|l| l.starts_with("API_KEY") && l.trim_end().ends_with(&format!("{}B", VALUE.len())))
    {
        bail!("the Secret synced from AWS does not hold the expected value length");
    }
    let logs = std::fs::read_to_string(demo.path("agent.log")).unwrap_or_default();
    if logs.contains(VALUE) || logs.contains("demo-secret-key") {
        bail!("a secret value reached the agent's log");
    }
    Ok(())
}
