//! The krew plugin manifest: the checks krew's `validate-krew-manifest` makes (no krew binary
//! can be had here, so they are re-implemented from its rules), and `cargo xtask
//! release-manifest`, which writes a release's manifest from the committed one.
//!
//! Data flow of a release: `krew-manifest/secrets.yaml` (URIs for its `spec.version`,
//! placeholder digests) + `--version` + a sha256sum-format checksum file → [`fill`] rewrites
//! the version line, each URI's version and the `sha256` after it, line by line so comments
//! and layout survive → [`validate`] must find nothing wrong → stdout or `--output`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::Value;

/// Operating systems and architectures krew knows; each selector must match one of these and
/// no two platforms may match the same one.
const KNOWN: [(&str, &str); 11] = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// Names Windows cannot use for a file, so krew refuses them as plugin names.
const WINDOWS_RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Everything wrong with a manifest called `file_name`, empty when krew would accept it.
pub(crate) fn validate(file_name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(stem) = file_name.strip_suffix(".yaml") else {
        return vec![format!("{file_name}: the file name must end in .yaml")];
    };
    let doc: Value = match serde_yaml_ng::from_str(text) {
        Ok(doc) => doc,
        Err(err) => return vec![format!("not YAML: {err}")],
    };
    let text_at = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    if text_at(&doc, "apiVersion").as_deref()
        != Some("krew.googlecontainertools.github.com/v1alpha2")
    {
        problems.push("apiVersion must be krew.googlecontainertools.github.com/v1alpha2".into());
    }
    if text_at(&doc, "kind").as_deref() != Some("Plugin") {
        problems.push("kind must be Plugin".into());
    }
    let name = doc
        .get("metadata")
        .and_then(|m| text_at(m, "name"))
        .unwrap_or_default();
    if name != stem {
        problems.push(format!(
            "metadata.name {name:?} differs from the file name {stem:?}"
        ));
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        problems.push(format!("plugin name {name:?} must match ^[\\w-]+$"));
    }
    if WINDOWS_RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        problems.push(format!("plugin name {name:?} is reserved on Windows"));
    }
    let spec = doc.get("spec").cloned().unwrap_or(Value::Null);
    match text_at(&spec, "shortDescription") {
        Some(s) if !s.is_empty() && !s.contains(['\r', '\n']) => {}
        _ => problems.push("spec.shortDescription must be one non-empty line".into()),
    }
    let version = text_at(&spec, "version").unwrap_or_default();
    if !is_version(&version) {
        problems.push(format!(
            "spec.version {version:?} must be v and a semantic version"
        ));
    }
    let platforms = spec
        .get("platforms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if platforms.is_empty() {
        problems.push("spec.platforms is empty".into());
    }
    let mut claimed: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, platform) in platforms.iter().enumerate() {
        let at = format!("spec.platforms[{i}]");
        let uri = text_at(platform, "uri").unwrap_or_default();
        if !uri.starts_with("https://") {
            problems.push(format!("{at}.uri {uri:?} must be an https URL"));
        }
        if !(uri.ends_with(".tar.gz") || uri.ends_with(".zip")) {
            problems.push(format!(
                "{at}.uri {uri:?} must name a .tar.gz or .zip archive"
            ));
        }
        // A digest YAML reads as a number (all digits, or digits `e` digits) fails in krew.
        let sha = text_at(platform, "sha256").unwrap_or_default();
        if !is_digest(&sha) {
            problems.push(format!(
                "{at}.sha256 must be 64 lowercase hex digits, as a string"
            ));
        }
        let bin = text_at(platform, "bin").unwrap_or_default();
        if bin.is_empty() {
            problems.push(format!("{at}.bin is empty"));
        }
        problems.extend(files_problems(&at, platform.get("files")));
        let labels = match selector_labels(platform.get("selector")) {
            Ok(labels) => labels,
            Err(problem) => {
                problems.push(format!("{at}.selector: {problem}"));
                continue;
            }
        };
        let matches = |os: &str, arch: &str| {
            labels.get("os").is_none_or(|v| v == os) && labels.get("arch").is_none_or(|v| v == arch)
        };
        let mut matched_any = false;
        for (os, arch) in KNOWN {
            if matches(os, arch) {
                matched_any = true;
                if let Some(other) = claimed.insert((os, arch), i) {
                    problems.push(format!(
                        "{at}.selector overlaps spec.platforms[{other}] on {os}/{arch}"
                    ));
                }
            }
        }
        if !matched_any {
            problems.push(format!("{at}.selector matches no os/arch krew knows"));
        }
        if labels.get("os").is_some_and(|os| os == "windows") && !bin.ends_with(".exe") {
            problems.push(format!("{at}.bin {bin:?} on Windows must end in .exe"));
        }
    }
    problems
}

/// `files` is optional; when present every entry has `from` and `to`, and a licence is
/// among them (krew-index requires one in the installed files).
fn files_problems(at: &str, files: Option<&Value>) -> Vec<String> {
    let Some(files) = files else {
        return Vec::new();
    };
    let Some(files) = files.as_array().filter(|f| !f.is_empty()) else {
        return vec![format!("{at}.files must be absent or a non-empty list")];
    };
    let mut problems = Vec::new();
    let mut licence = false;
    for (j, file) in files.iter().enumerate() {
        let from = file.get("from").and_then(Value::as_str).unwrap_or_default();
        let to = file.get("to").and_then(Value::as_str).unwrap_or_default();
        if from.is_empty() || to.is_empty() {
            problems.push(format!("{at}.files[{j}] needs both from and to"));
        }
        let base = from
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        licence |= ["license", "license.txt", "license.md"].contains(&base.as_str())
            || base.starts_with("licenses")
            || base.starts_with("copying");
    }
    if !licence {
        problems.push(format!("{at}.files installs no LICENSE"));
    }
    problems
}

/// The `os`/`arch` match labels of a selector; anything else is refused.
fn selector_labels(selector: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    let selector = selector.and_then(Value::as_object).ok_or("missing")?;
    if selector.keys().any(|k| k != "matchLabels") {
        return Err("only matchLabels (with os and arch) is used".into());
    }
    let labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .filter(|l| !l.is_empty())
        .ok_or("matchLabels is empty")?;
    let mut out = BTreeMap::new();
    for (key, value) in labels {
        if key != "os" && key != "arch" {
            return Err(format!("label {key:?}: only os and arch are allowed"));
        }
        let value = value
            .as_str()
            .ok_or(format!("label {key:?} is not a string"))?;
        out.insert(key.clone(), value.to_owned());
    }
    Ok(out)
}

fn is_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `v` then a semantic version: MAJOR.MINOR.PATCH without leading zeros, optional
/// `-pre.release` and `+build` of `[0-9A-Za-z-]` dot-separated identifiers.
fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let number = |n: &&str| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && (n.len() == 1 || !n.starts_with('0'))
    };
    let identifiers = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    numbers.len() == 3
        && numbers.iter().all(number)
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}

/// A sha256sum-format file (`<digest>  <name>` or `<digest> *<name>`) as name → digest.
fn parse_checksums(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (digest, name) = line
            .split_once(' ')
            .with_context(|| format!("checksum line {}: expected `<sha256>  <file>`", n + 1))?;
        let digest = digest.to_ascii_lowercase();
        if !is_digest(&digest) {
            bail!("checksum line {}: {digest:?} is not a sha256 digest", n + 1);
        }
        let name = name.trim_start_matches([' ', '*']).trim_end();
        let name = name.rsplit('/').next().unwrap_or(name);
        out.insert(name.to_owned(), digest);
    }
    Ok(out)
}

/// The manifest for `version`: the template with its version replaced (in `spec.version` and
/// in every URI) and each URI's `sha256` taken from `checksums` by archive file name.
pub(crate) fn fill(template: &str, version: &str, checksums: &str) -> anyhow::Result<String> {
    if !is_version(version) {
        bail!("--version {version:?} must be v and a semantic version, e.g. v1.2.3");
    }
    let doc: Value = serde_yaml_ng::from_str(template).context("parsing the manifest")?;
    let old = doc["spec"]["version"]
        .as_str()
        .context("the manifest has no spec.version")?
        .to_owned();
    let checksums = parse_checksums(checksums)?;
    let mut out = String::with_capacity(template.len());
    let mut pending: Option<String> = None;
    for line in template.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let content = line.trim_start();
        let rewritten = if content.starts_with("version: ") && indent == "  " {
            format!("{indent}version: {version}")
        } else if let Some(uri) = content.strip_prefix("uri: ") {
            let uri = uri.replace(&old, version);
            let archive = uri.rsplit('/').next().unwrap_or_default().to_owned();
            if pending.replace(archive).is_some() {
                bail!("a uri without a sha256 line after it");
            }
            format!("{indent}uri: {uri}")
        } else if content.starts_with("sha256: ") {
            let archive = pending
                .take()
                .context("a sha256 line without a uri before it")?;
            let digest = checksums
                .get(&archive)
                .with_context(|| format!("the checksum file has no line for {archive}"))?;
            // Quoted: an all-digit digest (or digits, `e`, digits) would read as a number.
            format!("{indent}sha256: \"{digest}\"")
        } else {
            line.to_owned()
        };
        out.push_str(&rewritten);
        out.push('\n');
    }
    if pending.is_some() {
        bail!("the last uri has no sha256 line after it");
    }
    Ok(out)
}

/// `cargo xtask release-manifest --version vX.Y.Z --checksums FILE [--output FILE]`.
pub(crate) fn release_manifest(args: &[String]) -> anyhow::Result<()> {
    const USAGE: &str =
        "usage: cargo xtask release-manifest --version vX.Y.Z --checksums FILE [--output FILE]";
    let mut version = None;
    let mut checksums = None;
    let mut output = None;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value; {USAGE}"))?;
        match flag.as_str() {
            "--version" => version = Some(value.clone()),
            "--checksums" => checksums = Some(value.clone()),
            "--output" => output = Some(value.clone()),
            other => bail!("unknown flag {other}; {USAGE}"),
        }
    }
    let (Some(version), Some(checksums)) = (version, checksums) else {
        bail!("{USAGE}");
    };
    let template_path = crate::util::root()
        .join("krew-manifest")
        .join("secrets.yaml");
    let template = std::fs::read_to_string(&template_path)
        .with_context(|| format!("reading {}", template_path.display()))?;
    let sums = std::fs::read_to_string(&checksums)
        .with_context(|| format!("reading the checksum file {checksums}"))?;
    let manifest = fill(&template, &version, &sums)?;
    let problems = validate("secrets.yaml", &manifest);
    if !problems.is_empty() {
        bail!("the filled manifest is not valid: {}", problems.join("; "));
    }
    match output {
        Some(path) => {
            std::fs::write(Path::new(&path), manifest).with_context(|| format!("writing {path}"))?
        }
        None => print!("{manifest}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
