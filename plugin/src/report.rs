//! How errors read on stderr: the chain of causes joined by `: `, each in words, once.
//!
//! Data flow: an `anyhow::Error` → each cause in order → I/O errors become their kind in
//! words (`is a directory`, not `Is a directory (os error 21)`, and never the temporary file's
//! path some libraries attach) → a cause whose text the previous message already holds is
//! dropped (HTTP stacks repeat their source in their own message) → one line.

use std::error::Error as _;
use std::io::{self, ErrorKind};

/// One line for `err`: `what: why: deeper why`.
pub(crate) fn render(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = match cause.downcast_ref::<io::Error>() {
            Some(io) => io_words(io),
            None => strip_os_error(&cause.to_string()),
        };
        let text = text.trim().to_owned();
        if text.is_empty() {
            continue;
        }
        if let Some(last) = parts.last()
            && last.to_lowercase().contains(&text.to_lowercase())
        {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// An I/O error reduced to its kind in words, so no path or code of the failing call leaks
/// into the message (the caller's context names the file the person gave).
pub(crate) fn plain_io(err: io::Error) -> io::Error {
    let words = io_words(&err);
    io::Error::new(err.kind(), words)
}

/// The words for an I/O error: its kind when that is specific, else the system's text
/// without ` (os error N)`.
fn io_words(err: &io::Error) -> String {
    let known = match err.kind() {
        ErrorKind::NotFound => "no such file or directory",
        ErrorKind::PermissionDenied => "permission denied",
        ErrorKind::IsADirectory => "is a directory",
        ErrorKind::NotADirectory => "not a directory",
        ErrorKind::AlreadyExists => "already exists",
        ErrorKind::ReadOnlyFilesystem => "read-only file system",
        ErrorKind::StorageFull => "no space left on device",
        ErrorKind::DirectoryNotEmpty => "directory not empty",
        ErrorKind::ConnectionRefused => "connection refused",
        ErrorKind::ConnectionReset => "connection reset",
        ErrorKind::TimedOut => "timed out",
        ErrorKind::InvalidFilename => "file name too long or invalid",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    if let Some(code) = err.raw_os_error() {
        return strip_os_error(&io::Error::from_raw_os_error(code).to_string());
    }
    // A wrapper (tempfile's adds the temporary path): the underlying error, if any.
    if let Some(inner) = err.source().and_then(|s| s.downcast_ref::<io::Error>()) {
        return io_words(inner);
    }
    strip_os_error(&err.to_string())
}

/// `Foo (os error 21)` → `Foo`, wherever it appears.
fn strip_os_error(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " (os error ".len()..];
        match after.find(')') {
            Some(end) if after[..end].chars().all(|c| c.is_ascii_digit() || c == '-') => {
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(" (os error ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_causes_are_said_once() {
        let io = io::Error::from_raw_os_error(111);
        let err = anyhow::Error::new(io)
            .context("tcp connect error: Connection refused (os error 111)")
            .context("client error (Connect)")
            .context("client error (Connect)")
            .context("reaching the agent");
        assert_eq!(
            render(&err),
            "reaching the agent: client error (Connect): tcp connect error: Connection refused"
        );
    }

    #[test]
    fn io_errors_read_in_words() {
        let err = anyhow::Error::new(io::Error::from_raw_os_error(21)).context("reading x");
        assert_eq!(render(&err), "reading x: is a directory");
        let wrapped = plain_io(io::Error::new(
            ErrorKind::PermissionDenied,
            "Permission denied (os error 13) at path \"/d/.kubectl-secrets-XyZ.tmp\"",
        ));
        assert_eq!(wrapped.to_string(), "permission denied");
        assert_eq!(strip_os_error("a (os error 2) b"), "a b");
        assert_eq!(strip_os_error("a (os error x)"), "a (os error x)");
    }
}
