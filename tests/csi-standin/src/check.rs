//! Judging the provider's MountResponse before anything is written (pure: no IO).
//!
//! In the driver's order: a non-empty `error.code` fails the mount with that code; then
//! `object_version` must be non-empty; then every file path must be what the driver's atomic
//! writer accepts and every mode a permission (0..=0777). Stricter than driver v1.6, as our
//! provider's contract (reference §5): each version non-empty, object ids unique, file paths
//! unique (the driver keeps the last of a duplicate id or path silently).

use std::collections::BTreeSet;

use csi_provider_proto::v1alpha1::MountResponse;
use zeroize::Zeroizing;

use crate::MountFailure;

/// kubelet's atomic writer limits.
const MAX_PATH_LENGTH: usize = 4096;
const MAX_FILE_NAME_LENGTH: usize = 255;

/// One file of the volume, as the provider returned it (contents wiped on drop; `Debug`
/// shows the size only).
#[derive(Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    /// Permission bits, 0..=0o777.
    pub mode: u32,
    pub contents: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("size", &self.contents.len())
            .finish()
    }
}

/// A response that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub files: Vec<File>,
    /// `(id, version)` in the provider's order.
    pub versions: Vec<(String, String)>,
}

/// Checks `response` as the driver does (plus the stricter rules above).
pub fn check_response(response: MountResponse) -> Result<Checked, MountFailure> {
    let MountResponse {
        object_version,
        error,
        files,
    } = response;
    if let Some(code) = error.map(|e| e.code).filter(|code| !code.is_empty()) {
        return Err(MountFailure::ProviderError(code));
    }
    if object_version.is_empty() {
        return Err(MountFailure::MissingObjectVersions);
    }
    let mut ids = BTreeSet::new();
    let mut versions = Vec::with_capacity(object_version.len());
    for v in object_version {
        if v.version.is_empty() {
            return Err(MountFailure::EmptyObjectVersion { id: v.id });
        }
        if !ids.insert(v.id.clone()) {
            return Err(MountFailure::DuplicateObjectId { id: v.id });
        }
        versions.push((v.id, v.version));
    }
    let mut paths = BTreeSet::new();
    let mut checked = Vec::with_capacity(files.len());
    for file in files {
        let contents = Zeroizing::new(file.contents);
        check_path(&file.path)?;
        let mode = u32::try_from(file.mode)
            .ok()
            .filter(|mode| *mode <= 0o777)
            .ok_or_else(|| MountFailure::InvalidMode {
                path: file.path.clone(),
                mode: file.mode,
            })?;
        if !paths.insert(file.path.clone()) {
            return Err(MountFailure::DuplicatePath { path: file.path });
        }
        checked.push(File {
            path: file.path,
            mode,
            contents,
        });
    }
    Ok(Checked {
        files: checked,
        versions,
    })
}

/// The driver's path rules: `filepath.Clean(p) == p`, relative, no `..` element, not
/// starting with `..` (which would collide with the writer's `..data`), within kubelet's
/// length limits. `.` (the volume root itself) is no file either.
pub fn check_path(path: &str) -> Result<(), MountFailure> {
    let invalid = |why| {
        Err(MountFailure::InvalidPath {
            path: path.to_owned(),
            why,
        })
    };
    if path.is_empty() {
        return invalid("must not be empty");
    }
    if path.starts_with('/') {
        return invalid("must be relative path");
    }
    if clean(path) != path {
        return invalid("must be a clean path");
    }
    if path == "." {
        return invalid("must name a file");
    }
    if path.len() > MAX_PATH_LENGTH {
        return invalid("must be less than or equal to 4096 characters");
    }
    let items: Vec<&str> = path.split('/').collect();
    if items.contains(&"..") {
        return invalid("must not contain '..'");
    }
    if items.iter().any(|item| item.len() > MAX_FILE_NAME_LENGTH) {
        return invalid("filenames must be less than or equal to 255 characters");
    }
    if items[0].starts_with("..") {
        return invalid("must not start with '..'");
    }
    Ok(())
}

/// Go's `path/filepath.Clean` on Unix: collapse `//`, drop `.`, resolve `..` lexically.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(last) if *last != ".." => {
                    parts.pop();
                }
                // `/..` is `/`; a relative path keeps leading `..`.
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

    use super::*;
    use csi_provider_proto::v1alpha1::{Error, File as WireFile, ObjectVersion};

    fn version(id: &str, v: &str) -> ObjectVersion {
        ObjectVersion {
            id: id.into(),
            version: v.into(),
        }
    }

    fn file(path: &str, mode: i32) -> WireFile {
        WireFile {
            path: path.into(),
            mode,
            contents: b"x".to_vec(),
        }
    }

    fn response(files: Vec<WireFile>) -> MountResponse {
        MountResponse {
            object_version: vec![version("secret/a", "v1")],
            error: None,
            files,
        }
    }

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("a/b", "a/b"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/b/", "a/b"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("/", "/"),
            ("./a", "a"),
            ("..data", "..data"),
        ] {
            assert_eq!(clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn paths_the_driver_refuses() {
        for (path, why) in [
            ("", "must not be empty"),
            ("/etc/passwd", "must be relative path"),
            ("a//b", "must be a clean path"),
            ("./a", "must be a clean path"),
            ("a/", "must be a clean path"),
            ("a/../b", "must be a clean path"),
            ("..", "must not contain '..'"),
            ("../a", "must not contain '..'"),
            ("..data", "must not start with '..'"),
            ("..2026_01_01/x", "must not start with '..'"),
            (".", "must name a file"),
        ] {
            match check_path(path) {
                Err(MountFailure::InvalidPath { why: got, .. }) => assert_eq!(got, why, "{path}"),
                other => panic!("{path:?}: {other:?}"),
            }
        }
        let long = "a".repeat(256);
        assert!(check_path(&long).is_err());
        assert!(check_path(&"a/".repeat(2100)).is_err());
        for ok in ["a", "a/b/c", ".hidden", "a..b", "a/..b", "x.."] {
            check_path(ok).unwrap();
        }
    }

    #[test]
    fn error_code_wins_over_everything() {
        let mut r = response(vec![file("/abs", 420)]);
        r.error = Some(Error {
            code: "AuthFailed".into(),
        });
        r.object_version.clear();
        let err = check_response(r).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mount request failed with provider error code AuthFailed"
        );
        // An empty code is no error.
        let mut r = response(vec![file("a", 420)]);
        r.error = Some(Error {
            code: String::new(),
        });
        check_response(r).unwrap();
    }

    #[test]
    fn versions_must_be_present_non_empty_and_unique() {
        let mut r = response(vec![]);
        r.object_version.clear();
        assert_eq!(
            check_response(r).unwrap_err().to_string(),
            "missing object versions"
        );
        let mut r = response(vec![]);
        r.object_version.push(version("secret/b", ""));
        assert!(matches!(
            check_response(r).unwrap_err(),
            MountFailure::EmptyObjectVersion { id } if id == "secret/b"
        ));
        let mut r = response(vec![]);
        r.object_version.push(version("secret/a", "v2"));
        assert!(matches!(
            check_response(r).unwrap_err(),
            MountFailure::DuplicateObjectId { .. }
        ));
    }

    #[test]
    fn modes_and_duplicate_paths() {
        for bad in [-1, 512, 0o1777] {
            assert!(matches!(
                check_response(response(vec![file("a", bad)])).unwrap_err(),
                MountFailure::InvalidMode { mode, .. } if mode == bad
            ));
        }
        let checked = check_response(response(vec![file("a", 0), file("b/c", 511)])).unwrap();
        assert_eq!(
            checked.files.iter().map(|f| f.mode).collect::<Vec<_>>(),
            [0, 0o777]
        );
        assert_eq!(checked.versions, [("secret/a".into(), "v1".into())]);
        assert!(matches!(
            check_response(response(vec![file("a", 420), file("a", 420)])).unwrap_err(),
            MountFailure::DuplicatePath { .. }
        ));
    }

    #[test]
    fn debug_shows_no_contents() {
        let f = File {
            path: "db".into(),
            mode: 0o440,
            contents: Zeroizing::new(b"hunter2".to_vec()),
        };
        let shown = format!("{f:?}");
        assert!(
            shown.contains("0o440") && shown.contains("size: 7"),
            "{shown}"
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("104"),
            "{shown}"
        );
    }
}
