//! `kubectl_complete-secrets`: kubectl's plugin completion (kubectl ≥ 1.26) runs this from
//! `PATH` with the words typed after `kubectl secrets`; it prints Cobra's `__complete` answer
//! (see `kubectl_complete`). It builds the same clap command tree `kubectl-secrets` parses
//! with, never reads the cluster, and always exits 0: a failed completion must not make the
//! shell print errors.

use std::io::Write as _;

#[allow(
    dead_code,
    unused_imports,
    reason = "shared with kubectl-secrets; this binary only needs the command tree"
)]
#[path = "../cli/mod.rs"]
mod cli;
#[path = "../kubectl_complete.rs"]
mod kubectl_complete;

fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let answer = kubectl_complete::complete(cli::command(), &words);
    let mut stdout = std::io::stdout().lock();
    // Nothing useful can be done when the shell stopped reading.
    let _ = stdout
        .write_all(answer.render().as_bytes())
        .and_then(|()| stdout.flush());
}
