//! Which file a path really names: through symlinks (for writing through a link instead of
//! replacing it) and across spellings (`./x` and `x`, links, hard links) so two outputs that
//! are one file are refused before anything is written.
//!
//! Data flow: a path given by the person → [`link_target`] follows symlinks one hop at a time
//! (the last target may not exist yet) → [`same_file`] compares the canonical parent plus the
//! file name, and the (device, inode) pair when both files exist.

use std::path::{Path, PathBuf};

/// More hops than this is a loop (Linux stops at 40 too).
const MAX_LINKS: usize = 40;

/// The file `path` ends at once every symlink is followed; `path` itself when it is not a
/// link or does not exist. A dangling link gives its (missing) target, so a write creates the
/// file the link points to, as a shell redirection would.
pub(crate) fn link_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::other(format!(
        "{} is a loop of symbolic links",
        path.display()
    )))
}

/// `path` with its directory made canonical: for a file that may not exist yet.
fn canonical(path: &Path) -> PathBuf {
    let target = link_target(path).unwrap_or_else(|_| path.to_path_buf());
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = std::fs::canonicalize(&parent).unwrap_or(parent);
    match target.file_name() {
        Some(name) => parent.join(name),
        None => parent,
    }
}

/// Do `a` and `b` name the same file, however spelled?
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    if canonical(a) == canonical(b) {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return (ma.dev(), ma.ino()) == (mb.dev(), mb.ino());
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_links_and_hard_links_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pem");
        let cwd_spelling = dir.path().join(".").join("a.pem");
        assert!(same_file(&a, &cwd_spelling), "not existing yet");
        std::fs::write(&a, b"x").unwrap();
        let hard = dir.path().join("hard.pem");
        std::fs::hard_link(&a, &hard).unwrap();
        assert!(same_file(&a, &hard));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.pem");
            std::os::unix::fs::symlink("a.pem", &link).unwrap();
            assert!(same_file(&link, &a));
            assert_eq!(link_target(&link).unwrap(), dir.path().join("a.pem"));
            let dangling = dir.path().join("dangling.pem");
            std::os::unix::fs::symlink("new.pem", &dangling).unwrap();
            assert!(same_file(&dangling, &dir.path().join("new.pem")));
            let loop_a = dir.path().join("loop");
            std::os::unix::fs::symlink("loop", &loop_a).unwrap();
            assert!(link_target(&loop_a).is_err());
        }
        assert!(!same_file(&a, &dir.path().join("b.pem")));
    }
}
