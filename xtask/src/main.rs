//! `cargo xtask <task>`: the project's developer tasks, one entry point for people and CI.
//!
//! - `lint`: no merge-conflict markers in tracked text files (named `file:line`), fmt check,
//!   clippy `-D warnings`, CRD drift against `charts/secrets-agent/crds/`.
//! - `test`: `lint`, then install the test tools (`.tools/`) and run every test.
//! - `demo`: the seal and sync patterns end to end with the built plugin, values masked.
//! - `bench`: criterion benchmarks plus the CLI comparison; report in `target/bench/`.
//! - `gen`: regenerate committed generated files (the chart's CRDs).
//! - `release-manifest`: the krew manifest of a release, from its checksum file.
//! - `e2e`: build and load the image, then the end-to-end suite against `KUBECONFIG`.

use std::process::ExitCode;

mod bench;
mod demo;
mod e2e;
mod generate;
mod krew;
mod lint;
mod tools;
mod util;

const USAGE: &str = "usage: cargo xtask <lint|test|demo|bench|gen|release-manifest|e2e>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("lint") => lint::run(),
        Some("test") => test(),
        Some("demo") => demo::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("gen") => generate::run(),
        Some("e2e") => e2e::run_e2e(),
        Some("release-manifest") => krew::release_manifest(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> anyhow::Result<()> {
    lint::run()?;
    let tools = tools::ensure()?;
    // --all-features turns on the RustCrypto backend, so the differential test sees both.
    util::cargo_with_env(
        &["test", "--workspace", "--all-features"],
        &tools.test_env(),
    )?;
    Ok(())
}
