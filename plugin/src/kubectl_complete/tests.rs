use super::*;

fn answer(words: &[&str]) -> Answer {
    let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    complete(crate::cli::command(), &words)
}

fn names(answer: &Answer) -> Vec<&str> {
    answer.candidates.iter().map(|(c, _)| c.as_str()).collect()
}

#[test]
fn a_prefix_offers_the_matching_commands_only() {
    let got = answer(&["se"]);
    assert_eq!(names(&got), ["seal"]);
    assert_eq!(got.directive, NO_FILE_COMP);
    assert_eq!(
        got.render(),
        "seal\tEncrypt Secrets into SealedSecrets that only the cluster can open\n:4\n"
    );
}

#[test]
fn an_empty_word_offers_every_command() {
    let got = answer(&[""]);
    for name in [
        "seal",
        "unseal",
        "reseal",
        "verify",
        "fetch",
        "status",
        "keys",
        "sync",
        "mount",
        "completion",
    ] {
        assert!(names(&got).contains(&name), "{name} missing: {got:?}");
    }
    // No words at all (a caller that drops the empty one) means the same.
    assert_eq!(answer(&[]), got);
}

#[test]
fn nested_commands_complete_after_their_group() {
    let keys = answer(&["keys", ""]);
    for name in ["generate", "list", "rotate", "backup", "restore"] {
        assert!(names(&keys).contains(&name), "{name} missing: {keys:?}");
    }
    assert!(!names(&keys).contains(&"seal"));
    let sync = answer(&["sync", ""]);
    for name in ["create", "now", "status"] {
        assert!(names(&sync).contains(&name), "{name} missing: {sync:?}");
    }
    assert_eq!(names(&answer(&["fetch", "se"])), ["secret"]);
    assert_eq!(names(&answer(&["mount", "st"])), ["status"]);
}

#[test]
fn mount_completes_its_flags_and_values_but_never_local_files() {
    let flags = answer(&["mount", "deployment/web", "--"]);
    for flag in [
        "--store",
        "--key",
        "--property",
        "--file",
        "--sealed-secret",
        "--spc",
        "--remove",
    ] {
        assert!(names(&flags).contains(&flag), "{flag} missing: {flags:?}");
    }
    assert_eq!(
        names(&answer(&["mount", "deploy/web", "--store-kind", ""])),
        ["SecretStore", "ClusterSecretStore"]
    );
    // The key is in the store and the mount path in the container: not files here.
    for flag in ["--key", "--mount-path"] {
        assert_eq!(
            answer(&["mount", "deploy/web", flag, ""]).directive,
            NO_FILE_COMP,
            "{flag}"
        );
    }
    let status = answer(&["mount", "status", "-"]);
    for flag in ["-A", "--all-namespaces", "-o"] {
        assert!(names(&status).contains(&flag), "{flag} missing: {status:?}");
    }
}

#[test]
fn global_flags_before_the_command_are_skipped_with_their_values() {
    let got = answer(&["--kubeconfig", "x", "-n", "prod", "keys", "r"]);
    assert_eq!(names(&got), ["rotate", "restore"]);
    assert_eq!(names(&answer(&["-nprod", "keys", "l"])), ["list"]);
}

#[test]
fn long_flags_include_the_commands_own_and_the_global_ones() {
    let got = answer(&["seal", "--"]);
    let flags = names(&got);
    for flag in [
        "--filename",
        "--cert",
        "--scope",
        "--kubeconfig",
        "--namespace",
        "--context",
    ] {
        assert!(flags.contains(&flag), "{flag} missing: {flags:?}");
    }
    let own = flags.iter().position(|f| *f == "--filename");
    let global = flags.iter().position(|f| *f == "--kubeconfig");
    assert!(own < global, "{flags:?}");
    assert_eq!(got.directive, NO_FILE_COMP);
    assert_eq!(names(&answer(&["seal", "--output-"])), ["--output-file"]);
    assert_eq!(names(&answer(&["sync", "now", "--w"])), ["--wait"]);
}

#[test]
fn a_single_dash_offers_short_flags_too() {
    let flags = answer(&["seal", "-"]);
    for flag in ["-f", "--filename", "-o", "-n", "--namespace"] {
        assert!(names(&flags).contains(&flag), "{flag} missing: {flags:?}");
    }
}

#[test]
fn commands_without_the_cluster_offer_no_cluster_flags() {
    let flags = answer(&["unseal", "--"]);
    assert!(names(&flags).contains(&"--private-key"), "{flags:?}");
    assert!(!names(&flags).contains(&"--kubeconfig"), "{flags:?}");
}

#[test]
fn flag_values_are_their_possible_values_or_files() {
    let output = answer(&["seal", "-o", ""]);
    assert_eq!(names(&output), ["yaml", "json"]);
    assert_eq!(output.directive, NO_FILE_COMP);
    assert_eq!(
        names(&answer(&["seal", "--scope", "n"])),
        ["namespace-wide"]
    );
    assert_eq!(names(&answer(&["seal", "--format=b"])), ["bitnami"]);
    // A path: no candidates, and the shell completes file names.
    let cert = answer(&["seal", "--cert", ""]);
    assert_eq!(cert.candidates, []);
    assert_eq!(cert.directive, DEFAULT);
    assert_eq!(answer(&["seal", "-f", "se"]).directive, DEFAULT);
    // A name in the cluster is never looked up.
    let ns = answer(&["status", "-n", ""]);
    assert_eq!(ns.candidates, []);
    assert_eq!(ns.directive, NO_FILE_COMP);
}

#[test]
fn positionals_complete_files_only_where_files_are_taken() {
    assert_eq!(answer(&["verify", ""]).directive, DEFAULT);
    assert_eq!(answer(&["keys", "restore", ""]).directive, DEFAULT);
    let name = answer(&["sync", "now", ""]);
    assert_eq!((name.candidates.len(), name.directive), (0, NO_FILE_COMP));
    assert_eq!(names(&answer(&["completion", ""])), ["bash", "zsh", "fish"]);
}

#[test]
fn a_leading_dunder_complete_is_the_cobra_calling_convention() {
    assert_eq!(answer(&["__complete", "se"]), answer(&["se"]));
}
