//! Running a cloud's own CLI (`az`, `gcloud`) for a token the person already holds: the CLI
//! keeps the login, we only ask it for an access token.
//!
//! Data flow: program + args → spawned with no stdin, stdout and stderr piped → both read to
//! the end while we wait, under one timeout (the child is killed when it runs out) → exit 0:
//! stdout in a [`Zeroizing`] buffer (it holds the token) | not found: [`CliError::Missing`] |
//! anything else: an error carrying the CLI's stderr (which names the problem, never the
//! token: a CLI writes its token to stdout only).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use zeroize::Zeroizing;

/// How long a CLI may take (az can be slow on a cold start; a browser login is not awaited).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// Output larger than this is refused (an access token is a few KiB).
const MAX_OUTPUT: usize = 1 << 20;

/// Why the CLI gave no token.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Not installed (not on PATH).
    #[error("`{0}` is not installed or not on PATH")]
    Missing(String),
    /// It ran but failed; the text is its stderr, trimmed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// It took longer than the timeout and was stopped.
    #[error("`{command}` did not answer within {seconds} s and was stopped")]
    Timeout { command: String, seconds: u64 },
    /// Starting or reading it failed.
    #[error("running `{command}`: {source}")]
    Io {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// Run `program args…` and return its stdout.
pub(crate) async fn run(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let command = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let io = |source| CliError::Io {
        command: command.clone(),
        source,
    };
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::Missing(program.to_owned()));
        }
        Err(err) => return Err(io(err)),
    };
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io(std::io::Error::other("no pipes to the child")));
    };
    let collect = async {
        // Reserved up front so the token is not left behind in reallocated buffers.
        let mut out = Zeroizing::new(Vec::with_capacity(64 * 1024));
        let mut err = Vec::new();
        let read_out = async {
            (&mut stdout)
                .take(MAX_OUTPUT as u64 + 1)
                .read_to_end(&mut out)
                .await
        };
        let read_err = async { (&mut stderr).take(64 * 1024).read_to_end(&mut err).await };
        let (a, b) = tokio::join!(read_out, read_err);
        a.and(b)?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out, err))
    };
    let (status, out, err) = match tokio::time::timeout(timeout, collect).await {
        Ok(done) => done.map_err(io)?,
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => {
            return Err(CliError::Timeout {
                command,
                seconds: timeout.as_secs(),
            });
        }
    };
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err).trim().to_owned();
        return Err(CliError::Failed {
            command,
            status: status.to_string(),
            stderr: if stderr.is_empty() {
                "no message on stderr".to_owned()
            } else {
                stderr
            },
        });
    }
    if out.len() > MAX_OUTPUT {
        return Err(io(std::io::Error::other("more than 1 MiB of output")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn stdout_is_returned_and_stderr_shown_on_failure() {
        let rt = rt();
        let out = rt
            .block_on(run("sh", &["-c", "printf tok; echo noise >&2"], TIMEOUT))
            .unwrap();
        assert_eq!(out.as_slice(), b"tok");
        let err = rt
            .block_on(run(
                "sh",
                &[
                    "-c",
                    // The value is assembled at run time, so only stdout could carry it whole
                    // (the error names the command line).
                    "printf 's%s' ecret-on-stdout; echo 'please run az login' >&2; exit 3",
                ],
                TIMEOUT,
            ))
            .unwrap_err()
            .to_string();
        assert!(err.contains("please run az login"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(!err.contains("secret-on-stdout"), "{err}");
    }

    #[test]
    fn a_missing_program_and_a_slow_one_are_told_apart() {
        let rt = rt();
        let err = rt
            .block_on(run("no-such-cli-kubectl-secrets", &[], TIMEOUT))
            .unwrap_err();
        assert!(matches!(err, CliError::Missing(ref p) if p == "no-such-cli-kubectl-secrets"));
        let started = std::time::Instant::now();
        let err = rt
            .block_on(run("sleep", &["30"], Duration::from_millis(200)))
            .unwrap_err();
        assert!(matches!(err, CliError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
