use super::*;

fn committed() -> String {
    std::fs::read_to_string(crate::util::root().join("krew-manifest/secrets.yaml")).unwrap()
}

const TARGETS: [&str; 6] = [
    "x86_64-unknown-linux-musl.tar.gz",
    "aarch64-unknown-linux-musl.tar.gz",
    "x86_64-apple-darwin.tar.gz",
    "aarch64-apple-darwin.tar.gz",
    "x86_64-pc-windows-msvc.zip",
    "aarch64-pc-windows-msvc.zip",
];

/// A checksum file for `version` as `sha256sum` prints it, digest `n` repeated.
fn checksums(version: &str) -> String {
    TARGETS
        .iter()
        .enumerate()
        .map(|(n, target)| {
            let digit = char::from_digit(n as u32 + 1, 16).unwrap();
            format!(
                "{}  dist/kubectl-secrets-{version}-{target}\n",
                digit.to_string().repeat(64)
            )
        })
        .collect()
}

#[test]
fn the_committed_manifest_passes_krews_checks() {
    let problems = validate("secrets.yaml", &committed());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_committed_manifest_is_for_this_version_and_every_platform() {
    let doc: Value = serde_yaml_ng::from_str(&committed()).unwrap();
    assert_eq!(
        doc["spec"]["version"],
        format!("v{}", env!("CARGO_PKG_VERSION"))
    );
    let mut platforms: Vec<String> = doc["spec"]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let labels = &p["selector"]["matchLabels"];
            format!(
                "{}/{}",
                labels["os"].as_str().unwrap(),
                labels["arch"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(
        platforms,
        [
            "darwin/amd64",
            "darwin/arm64",
            "linux/amd64",
            "linux/arm64",
            "windows/amd64",
            "windows/arm64"
        ]
    );
    // What the archives' LICENSE is made from.
    assert!(crate::util::root().join("LICENSE").is_file());
}

/// Every archive ships the plugin and its completion binary (kubectl's plugin completion runs
/// `kubectl_complete-secrets`), and krew installs both.
#[test]
fn the_committed_manifest_installs_both_binaries_on_every_platform() {
    let doc: Value = serde_yaml_ng::from_str(&committed()).unwrap();
    for platform in doc["spec"]["platforms"].as_array().unwrap() {
        let exe = if platform["selector"]["matchLabels"]["os"] == "windows" {
            ".exe"
        } else {
            ""
        };
        let from: Vec<&str> = platform["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["from"].as_str().unwrap())
            .collect();
        for bin in ["kubectl-secrets", "kubectl_complete-secrets"] {
            let file = format!("{bin}{exe}");
            assert!(from.contains(&file.as_str()), "{file} not in {from:?}");
        }
        assert_eq!(platform["bin"], format!("kubectl-secrets{exe}"));
    }
    let caveats = doc["spec"]["caveats"].as_str().unwrap();
    assert!(caveats.contains("kubectl_complete-secrets"), "{caveats}");
    // `sync` ships; only mounts are still to come.
    let description = doc["spec"]["description"].as_str().unwrap();
    assert!(
        !description.contains("stores and CSI mounts come"),
        "{description}"
    );
}

#[test]
fn release_manifest_fills_version_uris_and_digests() {
    let filled = fill(&committed(), "v1.2.3-rc.1", &checksums("v1.2.3-rc.1")).unwrap();
    let problems = validate("secrets.yaml", &filled);
    assert!(problems.is_empty(), "{problems:#?}");
    let doc: Value = serde_yaml_ng::from_str(&filled).unwrap();
    assert_eq!(doc["spec"]["version"], "v1.2.3-rc.1");
    let platforms = doc["spec"]["platforms"].as_array().unwrap();
    for (n, target) in TARGETS.iter().enumerate() {
        let platform = platforms
            .iter()
            .find(|p| p["uri"].as_str().unwrap().ends_with(target))
            .unwrap();
        assert!(platform["uri"].as_str().unwrap().ends_with(&format!(
            "/v1.2.3-rc.1/kubectl-secrets-v1.2.3-rc.1-{target}"
        )));
        let digit = char::from_digit(n as u32 + 1, 16).unwrap();
        assert_eq!(platform["sha256"], digit.to_string().repeat(64));
    }
    assert!(!filled.contains("v0.1.0"), "{filled}");
    // Comments and layout survive.
    assert_eq!(filled.lines().count(), committed().lines().count());
    assert!(filled.starts_with("# krew plugin manifest"));
}

#[test]
fn release_manifest_refuses_missing_digests_and_bad_versions() {
    let mut sums = checksums("v1.0.0");
    sums = sums.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let err = fill(&committed(), "v1.0.0", &sums).unwrap_err().to_string();
    assert_eq!(
        err,
        "the checksum file has no line for kubectl-secrets-v1.0.0-x86_64-unknown-linux-musl.tar.gz"
    );
    for bad in ["1.0.0", "v1.0", "v01.0.0", "v1.0.0-", "latest"] {
        assert!(fill(&committed(), bad, &checksums(bad)).is_err(), "{bad}");
    }
    let err = fill(&committed(), "v1.0.0", "not-a-digest  file.zip\n").unwrap_err();
    assert!(err.to_string().contains("is not a sha256 digest"), "{err}");
}

#[test]
fn validation_catches_what_krew_refuses() {
    let good = committed();
    let zeros = "0".repeat(64);
    let unquoted = good.replacen(&format!("\"{zeros}\""), &"1".repeat(64), 1);
    let cases: [(&str, String, &str); 10] = [
        ("secrets.yaml", unquoted, "as a string"),
        ("other.yaml", good.clone(), "differs from the file name"),
        ("secrets.yml", good.clone(), "must end in .yaml"),
        (
            "secrets.yaml",
            good.replacen(&zeros, &"A".repeat(64), 1),
            "64 lowercase hex",
        ),
        (
            "secrets.yaml",
            good.replacen(&zeros, "abc", 1),
            "64 lowercase hex",
        ),
        (
            "secrets.yaml",
            good.replace("version: v0.1.0", "version: 0.1.0"),
            "semantic version",
        ),
        (
            "secrets.yaml",
            good.replacen("uri: https://", "uri: http://", 1),
            "https",
        ),
        (
            "secrets.yaml",
            good.replacen("arch: arm64", "arch: amd64", 1),
            "overlaps spec.platforms[0] on linux/amd64",
        ),
        (
            "secrets.yaml",
            good.replacen(
                "          arch: amd64\n",
                "          arch: amd64\n          libc: musl\n",
                1,
            ),
            "only os and arch",
        ),
        (
            "secrets.yaml",
            good.replace("        - from: LICENSE\n          to: .\n", ""),
            "installs no LICENSE",
        ),
    ];
    for (file, text, expected) in cases {
        let problems = validate(file, &text);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{file} / {expected}: {problems:#?}"
        );
    }
    let no_exe = good.replace("bin: kubectl-secrets.exe", "bin: kubectl-secrets");
    assert!(
        validate("secrets.yaml", &no_exe)
            .iter()
            .any(|p| p.contains(".exe"))
    );
    let all_os = good.replacen("          os: linux\n", "", 1);
    assert!(
        validate("secrets.yaml", &all_os)
            .iter()
            .any(|p| p.contains("overlaps"))
    );
}

#[test]
fn versions_are_checked_as_semver() {
    for good in [
        "v0.1.0",
        "v1.2.3",
        "v10.20.30-rc.1",
        "v1.0.0+build.5",
        "v1.0.0-alpha-1+x",
    ] {
        assert!(is_version(good), "{good}");
    }
    for bad in [
        "", "v", "1.2.3", "v1.2", "v1.2.3.4", "v01.2.3", "v1.2.3-", "v1.2.3+", "v1.2.x",
    ] {
        assert!(!is_version(bad), "{bad}");
    }
}
