//! Writing the volume with kubelet's atomic-writer layout, as the driver does into its tmpfs.
//!
//! Data flow: the checked files go into a fresh timestamped directory
//! `..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN` (0755, every file chmod-ed to its mode, subdirectories
//! 0755); a `..data_tmp` symlink to it is renamed over `..data` (the one atomic step readers
//! see); each top-level entry gets a `name -> ..data/name` symlink; top-level links the new
//! payload no longer has, and the old timestamped directory, are removed. A payload equal to
//! what is mounted (same paths, contents and modes) writes nothing. A failure before the
//! rename removes the new directory, so readers only ever see a whole old or new payload.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::check::File;

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";
const DIR_MODE: u32 = 0o755;

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The timestamped directory `..data` points to now.
    pub data_dir: String,
    /// False when the payload equalled the mounted one and nothing was written.
    pub changed: bool,
}

/// Writes `files` into `target` (created if missing).
pub fn write_payload(target: &Path, files: &[File]) -> io::Result<Written> {
    fs::create_dir_all(target)?;
    let old = current_data_dir(target)?;
    if let Some(old) = &old
        && payload_matches(&target.join(old), files)?
    {
        return Ok(Written {
            data_dir: old.clone(),
            changed: false,
        });
    }
    let new = new_timestamped_dir(target)?;
    let new_path = target.join(&new);
    if let Err(err) = fill(&new_path, files).and_then(|()| swap_data_link(target, &new)) {
        // Nothing points at the new directory yet: take it away whole.
        let _ = fs::remove_dir_all(&new_path);
        return Err(err);
    }
    let wanted = top_level(files.iter().map(|f| f.path.as_str()));
    for name in &wanted {
        let link = target.join(name);
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new(DATA).join(name), &link)?;
        }
    }
    if let Some(old) = old {
        let old_path = target.join(&old);
        let old_names = top_level_of_dir(&old_path)?;
        for stale in old_names.difference(&wanted) {
            remove_link(&target.join(stale))?;
        }
        fs::remove_dir_all(&old_path)?;
    }
    Ok(Written {
        data_dir: new,
        changed: true,
    })
}

/// The timestamped directory `..data` points to, if the target holds a mount.
pub fn current_data_dir(target: &Path) -> io::Result<Option<String>> {
    match fs::read_link(target.join(DATA)) {
        Ok(dest) => Ok(Some(dest.to_string_lossy().into_owned())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

fn new_timestamped_dir(target: &Path) -> io::Result<String> {
    let format = time::macros::format_description!(
        "..[year]_[month]_[day]_[hour]_[minute]_[second].[subsecond digits:9]"
    );
    // Two writes within a nanosecond cannot both create the directory: retry with a new time.
    for _ in 0..16 {
        let name = OffsetDateTime::now_utc()
            .format(&format)
            .map_err(io::Error::other)?;
        match fs::create_dir(target.join(&name)) {
            Ok(()) => {
                fs::set_permissions(target.join(&name), fs::Permissions::from_mode(DIR_MODE))?;
                return Ok(name);
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a fresh timestamped directory",
    ))
}

fn fill(dir: &Path, files: &[File]) -> io::Result<()> {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            make_dirs(dir, parent)?;
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        out.write_all(&file.contents)?;
        out.sync_all()?;
        // Explicit: the umask must not decide what a non-root container can read.
        fs::set_permissions(&path, fs::Permissions::from_mode(file.mode))?;
    }
    Ok(())
}

/// `mkdir -p` below `root`, each new directory 0755.
fn make_dirs(root: &Path, dir: &Path) -> io::Result<()> {
    let mut current = PathBuf::from(root);
    let rest = dir.strip_prefix(root).map_err(io::Error::other)?;
    for part in rest.components() {
        current.push(part);
        match fs::create_dir(&current) {
            Ok(()) => fs::set_permissions(&current, fs::Permissions::from_mode(DIR_MODE))?,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && current.is_dir() => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

fn swap_data_link(target: &Path, new: &str) -> io::Result<()> {
    let tmp = target.join(DATA_TMP);
    // A `..data_tmp` left by an interrupted write is stale.
    if fs::symlink_metadata(&tmp).is_ok() {
        fs::remove_file(&tmp)?;
    }
    std::os::unix::fs::symlink(new, &tmp)?;
    fs::rename(&tmp, target.join(DATA))
}

fn top_level<'a>(paths: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    paths
        .filter_map(|p| p.split('/').next())
        .map(str::to_owned)
        .collect()
}

fn top_level_of_dir(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir)? {
        names.insert(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

fn remove_link(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::remove_file(path),
        // Not ours (not a link into ..data): leave it.
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// True when `dir` holds exactly `files`: the same regular files with the same contents and
/// modes, and nothing else.
fn payload_matches(dir: &Path, files: &[File]) -> io::Result<bool> {
    let mut on_disk = BTreeSet::new();
    collect_files(dir, dir, &mut on_disk)?;
    let wanted: BTreeSet<PathBuf> = files.iter().map(|f| PathBuf::from(&f.path)).collect();
    if on_disk != wanted {
        return Ok(false);
    }
    for file in files {
        let path = dir.join(&file.path);
        let meta = fs::metadata(&path)?;
        if meta.permissions().mode() & 0o777 != file.mode {
            return Ok(false);
        }
        let current = match fs::read(&path) {
            Ok(bytes) => zeroize::Zeroizing::new(bytes),
            // A mode-0 file is unreadable unless we are root: call it changed and rewrite.
            Err(err) if err.kind() == io::ErrorKind::PermissionDenied => return Ok(false),
            Err(err) => return Err(err),
        };
        if current.as_slice() != file.contents.as_slice() {
            return Ok(false);
        }
    }
    Ok(true)
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(root, &entry.path(), out)?;
        } else {
            let relative = entry.path();
            out.insert(
                relative
                    .strip_prefix(root)
                    .map_err(io::Error::other)?
                    .to_path_buf(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

    use super::*;
    use zeroize::Zeroizing;

    fn file(path: &str, mode: u32, contents: &str) -> File {
        File {
            path: path.into(),
            mode,
            contents: Zeroizing::new(contents.as_bytes().to_vec()),
        }
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn entries(dir: &Path) -> BTreeSet<String> {
        top_level_of_dir(dir).unwrap()
    }

    #[test]
    fn layout_modes_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("mount");
        let written = write_payload(
            &target,
            &[
                file("db/password", 0o440, "s3cr3t"),
                file("token", 0o644, "t"),
            ],
        )
        .unwrap();
        assert!(written.changed);
        let ts = &written.data_dir;
        assert!(ts.starts_with("..") && ts.len() == "..2026_12_01_17_00_00.123456789".len());
        assert_eq!(
            entries(&target),
            BTreeSet::from([DATA.into(), ts.clone(), "db".into(), "token".into()])
        );
        assert_eq!(fs::read_link(target.join(DATA)).unwrap(), Path::new(ts));
        assert_eq!(
            fs::read_link(target.join("db")).unwrap(),
            Path::new("..data/db")
        );
        assert_eq!(
            fs::read_to_string(target.join("db/password")).unwrap(),
            "s3cr3t"
        );
        assert_eq!(mode_of(&target.join(ts).join("db/password")), 0o440);
        assert_eq!(mode_of(&target.join(ts).join("token")), 0o644);
        assert_eq!(mode_of(&target.join(ts).join("db")), 0o755);
        assert_eq!(mode_of(&target.join(ts)), 0o755);
    }

    #[test]
    fn rotation_swaps_whole_payloads_and_drops_stale_links() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path();
        let first = write_payload(target, &[file("a", 0o644, "1"), file("b", 0o644, "1")]).unwrap();
        // Same payload: nothing written.
        let same = write_payload(target, &[file("a", 0o644, "1"), file("b", 0o644, "1")]).unwrap();
        assert_eq!(same.data_dir, first.data_dir);
        assert!(!same.changed);
        // A mode change alone is a change.
        let chmod = write_payload(target, &[file("a", 0o600, "1"), file("b", 0o644, "1")]).unwrap();
        assert!(chmod.changed);
        // New contents, "b" gone, "c" new.
        let second =
            write_payload(target, &[file("a", 0o644, "2"), file("c", 0o400, "x")]).unwrap();
        assert!(second.changed);
        assert_ne!(second.data_dir, chmod.data_dir);
        assert_eq!(
            entries(target),
            BTreeSet::from([DATA.into(), second.data_dir.clone(), "a".into(), "c".into()])
        );
        assert_eq!(fs::read_to_string(target.join("a")).unwrap(), "2");
        assert!(fs::symlink_metadata(target.join("b")).is_err());
        assert!(!target.join(DATA_TMP).exists());
    }

    #[test]
    fn failed_write_leaves_the_old_payload() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path();
        let first = write_payload(target, &[file("a", 0o644, "1")]).unwrap();
        // "x" as a file and as a directory cannot both be written.
        let err = write_payload(target, &[file("x", 0o644, "1"), file("x/y", 0o644, "2")]);
        assert!(err.is_err());
        assert_eq!(
            entries(target),
            BTreeSet::from([DATA.into(), first.data_dir.clone(), "a".into()])
        );
        assert_eq!(fs::read_to_string(target.join("a")).unwrap(), "1");
        assert_eq!(
            current_data_dir(target).unwrap(),
            Some(first.data_dir.clone())
        );
    }

    #[test]
    fn mode_zero_is_applied_not_defaulted() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_payload(dir.path(), &[file("locked", 0, "z")]).unwrap();
        assert_eq!(
            mode_of(&dir.path().join(&written.data_dir).join("locked")),
            0
        );
    }
}
