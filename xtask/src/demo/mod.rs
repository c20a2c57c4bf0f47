//! `cargo xtask demo`: the seal and sync patterns end to end on a local stand-in cluster.
//!
//! kube-standin (the test API server) + the real `secrets-agent` + the real `kubectl secrets`
//! and kubectl: the agent makes its key; the plugin fetches the certificate through the API
//! server's service proxy and seals a Secret; kubectl applies it; the agent unseals it; then
//! verify, rotate keys, reseal, and check again. Then the sync pattern with a real OpenBao
//! (`sync.rs`). Values are never printed.

mod sync;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::tools;
use crate::util::{cargo, target_dir};

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
";

/// Children are stopped (SIGTERM, then kill) when the demo ends, however it ends.
struct Guard(Vec<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Demo {
    dir: tempfile::TempDir,
    bin: PathBuf,
    tools: PathBuf,
}

impl Demo {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, program: &str) -> Command {
        let program = if program == "kubectl" || program == "bao" {
            self.tools.join(program)
        } else {
            self.bin.join(program)
        };
        let mut command = Command::new(program);
        let path = std::env::join_paths([self.bin.clone(), self.tools.clone()].into_iter().chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap_or_default();
        command
            .env("KUBECONFIG", self.path("kubeconfig"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("PATH", path)
            .env_remove("KUBECTL_SECRETS_CERT");
        command
    }

    /// Run, echo the command, require success, return stdout.
    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<String> {
        println!(
            "$ {} {}",
            if program == "kubectl-secrets" {
                "kubectl secrets"
            } else {
                program
            },
            args.join(" ")
        );
        let output = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()?;
        if !output.status.success() {
            bail!("{program} {} failed ({})", args.join(" "), output.status);
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Poll `check` until it holds (a condition with a deadline, not a fixed sleep).
    fn wait(&self, what: &str, mut check: impl FnMut() -> bool) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check() {
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    fn quiet_ok(&self, program: &str, args: &[&str]) -> bool {
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

pub(crate) fn run() -> anyhow::Result<()> {
    let tools = tools::ensure()?
        .python
        .parent()
        .map(Path::to_path_buf)
        .context("locating the tools")?;
    cargo(&[
        "build",
        "--quiet",
        "-p",
        "kube-standin",
        "-p",
        "secrets-agent",
        "-p",
        "kubectl-secrets",
    ])?;
    let demo = Demo {
        dir: tempfile::tempdir()?,
        bin: target_dir().join("debug"),
        tools,
    };
    let mut guard = Guard(Vec::new());

    step("1. start kube-standin, a local stand-in for the Kubernetes API server");
    let kubeconfig = demo.path("kubeconfig");
    let mut standin = demo
        .command("kube-standin")
        .args(["--listen", "127.0.0.1:0", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting kube-standin")?;
    let mut ready = String::new();
    BufReader::new(standin.stdout.take().context("kube-standin stdout")?).read_line(&mut ready)?;
    guard.0.push(standin);
    println!("{}", ready.trim());
    let agent_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let setup = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: kubectl-secrets}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: demo}}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {{name: secrets-agent, namespace: kubectl-secrets}}\nspec: {{ports: [{{name: http, port: 8080}}]}}\n---\n\
         apiVersion: v1\nkind: Endpoints\nmetadata: {{name: secrets-agent, namespace: kubectl-secrets}}\nsubsets: [{{addresses: [{{ip: 127.0.0.1}}], ports: [{{name: http, port: {agent_port}}}]}}]\n"
    );
    std::fs::write(demo.path("setup.yaml"), setup)?;
    std::fs::write(
        demo.path("crds.yaml"),
        demo.run("secrets-agent", &["crds"])?,
    )?;
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("crds.yaml"))])?
    );
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&demo.path("setup.yaml"))])?
    );

    step("2. start the agent: it makes its sealing key and serves the certificate");
    let log = std::fs::File::create(demo.path("agent.log"))?;
    let agent = demo
        .command("secrets-agent")
        .args([
            "controller",
            "--namespace",
            "kubectl-secrets",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .args(["--http-addr", &format!("127.0.0.1:{agent_port}")])
        .stdout(log)
        .spawn()
        .context("starting secrets-agent")?;
    guard.0.push(agent);
    demo.wait("the agent's certificate", || {
        demo.quiet_ok("kubectl-secrets", &["fetch", "cert"])
    })?;
    print!("{}", demo.run("kubectl-secrets", &["keys", "list"])?);

    step("3. seal a Secret with the cluster's certificate: this is what goes to Git");
    std::fs::write(demo.path("secret.yaml"), SAMPLE)?;
    let sealed_path = demo.path("sealed.yaml");
    demo.run(
        "kubectl-secrets",
        &[
            "seal",
            "-f",
            s(&demo.path("secret.yaml")),
            "--output-file",
            s(&sealed_path),
        ],
    )?;
    show_sealed(&std::fs::read_to_string(&sealed_path)?);

    step("4. apply it; the agent unseals it into a Secret");
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&sealed_path)])?
    );
    demo.wait("the Secret", || {
        demo.quiet_ok(
            "kubectl",
            &["get", "secret", "db-credentials", "-n", "demo"],
        )
    })?;
    print!(
        "{}",
        demo.run(
            "kubectl-secrets",
            &["fetch", "secret", "db-credentials", "-n", "demo"]
        )?
    );
    print!(
        "{}",
        demo.run("kubectl-secrets", &["status", "-n", "demo"])?
    );

    step("5. verify the file against the agent (it never returns plaintext)");
    print!(
        "{}",
        demo.run("kubectl-secrets", &["verify", s(&sealed_path)])?
    );

    step("6. rotate keys, then reseal the file to the newest key");
    demo.run("kubectl-secrets", &["keys", "rotate"])?;
    demo.wait("a second key", || {
        demo.command("kubectl-secrets")
            .args(["keys", "list"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .matches("SHA256:")
                    .count()
                    >= 2
            })
    })?;
    print!("{}", demo.run("kubectl-secrets", &["keys", "list"])?);
    print!(
        "{}",
        demo.run("kubectl-secrets", &["reseal", s(&sealed_path)])?
    );
    print!(
        "{}",
        demo.run("kubectl", &["apply", "-f", s(&sealed_path)])?
    );
    print!(
        "{}",
        demo.run("kubectl-secrets", &["verify", s(&sealed_path)])?
    );
    let want_password = b"correct-horse-battery-staple".len();
    demo.wait("the Secret to be re-made from the resealed file", || {
        demo.command("kubectl-secrets")
            .args(["status", "-n", "demo"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.contains("db-credentials") && l.contains("True"))
            })
    })?;
    let shown = demo.run(
        "kubectl-secrets",
        &["fetch", "secret", "db-credentials", "-n", "demo"],
    )?;
    print!("{shown}");
    if !shown
        .lines()
        .any(|l| l.starts_with("password") && l.trim_end().ends_with(&format!("{want_password}B")))
    {
        bail!("the Secret does not hold the expected password length after the rotation");
    }
    let logs = std::fs::read_to_string(demo.path("agent.log")).unwrap_or_default();
    if logs.contains("correct-horse-battery-staple") {
        bail!("a secret value reached the agent's log");
    }
    sync::run(&demo, &mut guard)?;
    step(
        "done: sealed → applied → unsealed → verified → keys rotated → resealed; synced from OpenBao → changed → re-synced; no value printed or logged",
    );
    Ok(())
}

fn step(text: &str) {
    println!("\n== {text}");
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

fn show_sealed(text: &str) {
    for line in text.lines() {
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
}
