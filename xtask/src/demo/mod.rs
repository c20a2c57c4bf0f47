//! `cargo xtask demo`: the seal, sync and mount patterns end to end on a local stand-in cluster.
//!
//! kube-standin (the test API server) + the real `secrets-agent` + the real `kubectl secrets`
//! and kubectl: the agent makes its key; the plugin fetches the certificate through the API
//! server's service proxy and seals a Secret; kubectl applies it; the agent unseals it; then
//! verify, rotate keys, reseal, and check again. Then the sync pattern with a real OpenBao
//! (`sync.rs`), one value synced from AWS Secrets Manager on moto (`aws.rs`; moto starts before
//! the agent, which gets `AWS_ENDPOINT_URL`), and the mount pattern with the node provider and csi-standin (`mount.rs`).
//! Values are never printed.

mod aws;
mod mount;
mod service;
mod sync;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use self::service::Service;
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

/// What a server's ready line is called, and how to pick what we need out of it.
type ReadyLine<'a> = (&'a str, fn(&str) -> Option<String>);

struct Demo {
    dir: tempfile::TempDir,
    bin: PathBuf,
    tools: PathBuf,
    /// The servers started so far; stopped (SIGTERM, then kill) when the demo ends, however
    /// it ends, and checked on by every wait.
    services: RefCell<Vec<Service>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        for service in self.services.get_mut().iter_mut().rev() {
            service.stop();
        }
    }
}

impl Demo {
    /// Start a server (a [`Demo::command`]) with its output in `NAME.log` in the demo's
    /// folder, keep it until the demo ends, and wait for its ready line if it has one.
    fn start(
        &self,
        name: &'static str,
        command: Command,
        ready: Option<ReadyLine<'_>>,
    ) -> anyhow::Result<String> {
        let mut service = Service::spawn(name, command, &self.path(&format!("{name}.log")))?;
        let found = match ready {
            Some((what, pick)) => service.wait_for_line(what, Duration::from_secs(60), pick),
            None => Ok(String::new()),
        };
        // Kept even when it failed to come up, so that it is stopped.
        self.services.borrow_mut().push(service);
        found
    }

    /// An error naming the first server that has died, with its status and log.
    fn check_services(&self) -> anyhow::Result<()> {
        self.services
            .borrow_mut()
            .iter_mut()
            .try_for_each(Service::check_alive)
    }

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
            // A failed command is often a server that died under it: say so.
            self.check_services().with_context(|| {
                format!("{program} {} failed ({})", args.join(" "), output.status)
            })?;
            bail!("{program} {} failed ({})", args.join(" "), output.status);
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Poll `check` until it holds (a condition with a deadline, not a fixed sleep).
    fn wait(&self, what: &str, mut check: impl FnMut() -> bool) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check() {
            self.check_services()
                .with_context(|| format!("waiting for {what}"))?;
            if Instant::now() > deadline {
                let tails: Vec<String> = self
                    .services
                    .borrow()
                    .iter()
                    .map(|s| format!("{} log ends:\n{}", s.name(), s.tail()))
                    .collect();
                bail!("timed out waiting for {what}\n{}", tails.join("\n"));
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
    let all_tools = tools::ensure()?;
    let tools = all_tools
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
        "-p",
        "csi-standin",
    ])?;
    let demo = Demo {
        dir: tempfile::tempdir()?,
        bin: target_dir().join("debug"),
        tools,
        services: RefCell::new(Vec::new()),
    };

    step("1. start kube-standin, a local stand-in for the Kubernetes API server");
    let kubeconfig = demo.path("kubeconfig");
    let mut standin = demo.command("kube-standin");
    standin.args([
        "--listen",
        "127.0.0.1:0",
        "--write-kubeconfig",
        s(&kubeconfig),
    ]);
    let ready = demo.start(
        "kube-standin",
        standin,
        Some(("its ready line", |l| {
            l.starts_with("kube-standin ready").then(|| l.to_owned())
        })),
    )?;
    println!("{}", ready.trim());
    let agent_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mount_port = std::net::TcpListener::bind("127.0.0.1:0")?
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

    let moto = aws::start_moto(&demo, &all_tools.moto_bin)?;

    step("2. start the agent: it makes its sealing key and serves the certificate");
    let mut agent = demo.command("secrets-agent");
    agent
        // AWS calls go to moto, as the SDKs' endpoint override sends them.
        .env("AWS_ENDPOINT_URL", &moto)
        .args(["controller", "--namespace", "kubectl-secrets"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .args(["--http-addr", &format!("127.0.0.1:{agent_port}")])
        // The mount endpoint the node provider asks for mount-only SealedSecrets.
        .args(["--mount-addr", &format!("127.0.0.1:{mount_port}")])
        .args([
            "--csi-provider-service-account",
            "kubectl-secrets-csi/secrets-agent-csi-provider",
        ]);
    demo.start("agent", agent, None)?;
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
    let openbao = sync::run(&demo)?;
    aws::run(&demo, &all_tools.moto_bin, &moto)?;
    mount::run(&demo, &openbao, mount_port)?;
    step(
        "done: sealed → applied → unsealed → verified → keys rotated → resealed; synced from OpenBao → changed → re-synced; synced from AWS (moto); mounted into a pod from OpenBao and a mount-only SealedSecret → changed → re-mounted, no Secret made; no value printed or logged",
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
