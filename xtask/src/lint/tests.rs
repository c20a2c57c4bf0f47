use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::*;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A temp repository with `files` written and tracked, and `untracked` written only.
fn repo(files: &[(&str, &[u8])], untracked: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "--quiet"]);
    for (name, text) in files.iter().chain(untracked) {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    for (name, _) in files {
        git(dir.path(), &["add", name]);
    }
    dir
}

#[test]
fn a_planted_marker_fails_naming_file_and_line() {
    let dir = repo(
        &[
            ("README.md", b"# Title\n\nintro\n"),
            (
                "docs/a.md",
                b"one\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n",
            ),
            ("src/crlf.rs", b"fn a() {}\r\n=======\r\n"),
        ],
        &[],
    );
    let err = no_conflict_markers(dir.path()).unwrap_err().to_string();
    for hit in [
        "docs/a.md:2: <<<<<<< HEAD",
        "docs/a.md:4: =======",
        "docs/a.md:6: >>>>>>> branch",
        "src/crlf.rs:2: =======",
    ] {
        assert!(err.contains(hit), "{hit} not in {err}");
    }
    assert!(!err.contains("README.md"), "{err}");
}

#[test]
fn lookalikes_binary_and_untracked_files_pass() {
    let dir = repo(
        &[
            // A Markdown setext underline, a divider inside a line, a marker not at the start.
            (
                "doc.md",
                b"Title\n==========\n\na ======= b\n  =======\n<<<<<<<no-space\n",
            ),
            ("blob.bin", b"\0\0binary\n=======\n"),
        ],
        &[("notes.txt", b"=======\n")],
    );
    no_conflict_markers(dir.path()).unwrap();
}

#[test]
fn the_workspace_has_no_markers() {
    no_conflict_markers(&crate::util::root()).unwrap();
}

#[test]
fn crd_comparison_names_missing_changed_and_stale_files() {
    let files = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect()
    };
    let generated = files(&[("a.yaml", "a"), ("b.yaml", "b2"), ("new.yaml", "n")]);
    let committed = files(&[("a.yaml", "a"), ("b.yaml", "b1"), ("old.yaml", "o")]);
    assert_eq!(
        compare(&generated, &committed),
        [
            ("b.yaml".to_owned(), "differs from the code"),
            ("new.yaml".to_owned(), "missing (the code makes it)"),
            ("old.yaml".to_owned(), "stale (the code no longer makes it)"),
        ]
    );
    assert_eq!(compare(&committed, &committed), []);
}
