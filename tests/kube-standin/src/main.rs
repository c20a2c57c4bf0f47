//! `kube-standin`: run the stand-in API server by hand.
//!
//! ```text
//! kube-standin --listen 127.0.0.1:6443 --write-kubeconfig ./kubeconfig [--http]
//! KUBECONFIG=./kubeconfig kubectl get namespaces
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

struct Args {
    listen: SocketAddr,
    kubeconfig: Option<PathBuf>,
    http: bool,
}

const USAGE: &str = "usage: kube-standin [--listen ADDR:PORT] [--write-kubeconfig PATH] [--http]";

fn parse() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        kubeconfig: None,
        http: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--listen" => {
                args.listen = it
                    .next()
                    .context("--listen needs ADDR:PORT")?
                    .parse()
                    .context("parsing --listen")?
            }
            "--write-kubeconfig" => {
                args.kubeconfig = Some(it.next().context("--write-kubeconfig needs a path")?.into())
            }
            "--http" => args.http = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kube-standin: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args = parse()?;
    let config = kube_standin::Config {
        listen: args.listen,
        tls: !args.http,
        ..Default::default()
    };
    let standin = kube_standin::StandIn::start(config).await?;
    if let Some(path) = &args.kubeconfig {
        standin.write_kubeconfig(path)?;
    }
    // The ready line: scripts wait for it before using the server.
    println!("kube-standin ready on {}", standin.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    standin.shutdown().await;
    eprintln!("kube-standin stopped");
    Ok(())
}
