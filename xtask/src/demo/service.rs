//! The servers the demo starts (kube-standin, the agent, OpenBao), each with its stdout and
//! stderr going to one log file for its whole life.
//!
//! Why a file and not a pipe: a pipe whose reader is dropped after a ready line kills the
//! next write (SIGPIPE for a Go server such as `bao`, a failed print for a Rust one), and a
//! pipe nobody drains blocks its writer once the buffer fills. A file has neither problem,
//! and it is what the demo shows when something goes wrong: every wait checks that each
//! server is still alive, and a dead one is reported with its exit status and its log's end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How much of a log to show when its server failed.
const TAIL_LINES: usize = 15;

pub(super) struct Service {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Service {
    /// Start `command` with its output in `log` (created or truncated) and no stdin.
    pub(super) fn spawn(
        name: &'static str,
        mut command: Command,
        log: &Path,
    ) -> anyhow::Result<Service> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("creating {name}'s log {}", log.display()))?;
        let err = out
            .try_clone()
            .with_context(|| format!("sharing {name}'s log handle"))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Service {
            name,
            child,
            log: log.to_owned(),
        })
    }

    /// An error if the server has exited: its status and the end of its log.
    pub(super) fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!(
                "{} exited ({}); its log {} ends:\n{}",
                self.name,
                describe(status),
                self.log.display(),
                self.tail()
            ),
            Err(err) => bail!("checking on {}: {err}", self.name),
        }
    }

    /// Wait until a line of the log satisfies `pick`, and return what it picked.
    pub(super) fn wait_for_line(
        &mut self,
        what: &str,
        timeout: Duration,
        pick: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(found) = text.lines().find_map(&pick) {
                return Ok(found);
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "timed out after {timeout:?} waiting for {what} from {}; its log {} ends:\n{}",
                    self.name,
                    self.log.display(),
                    self.tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(super) fn name(&self) -> &'static str {
        self.name
    }

    pub(super) fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }

    /// SIGTERM, up to 10 s to exit, then SIGKILL.
    pub(super) fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `exit code 1`, or `killed by signal 13 (SIGPIPE)`.
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            let name = match signal {
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                13 => " (SIGPIPE)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn a_server_that_writes_after_its_ready_line_keeps_running() {
        // The defect: the demo read a pipe up to the ready line, dropped it, and the server
        // died of SIGPIPE at its next write. Here it writes a lot after the line.
        let dir = tempfile::tempdir().unwrap();
        let mut service = Service::spawn(
            "chatty",
            shell("echo ready at 42; i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; echo done >&2; sleep 30"),
            &dir.path().join("chatty.log"),
        )
        .unwrap();
        let port = service
            .wait_for_line("its ready line", Duration::from_secs(10), |l| {
                l.strip_prefix("ready at ").map(str::to_owned)
            })
            .unwrap();
        assert_eq!(port, "42");
        service
            .wait_for_line("its last line", Duration::from_secs(10), |l| {
                (l == "done").then(String::new)
            })
            .unwrap();
        service.check_alive().unwrap();
        service.stop();
    }

    #[test]
    fn a_dead_server_is_reported_with_its_status_and_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut service = Service::spawn(
            "doomed",
            shell("echo starting; echo broken config >&2; kill -PIPE $$"),
            &dir.path().join("doomed.log"),
        )
        .unwrap();
        let err = service
            .wait_for_line("a line that never comes", Duration::from_secs(10), |l| {
                (l == "never").then(String::new)
            })
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("doomed exited (killed by signal 13 (SIGPIPE))"),
            "{err}"
        );
        assert!(err.contains("broken config"), "{err}");
    }
}
