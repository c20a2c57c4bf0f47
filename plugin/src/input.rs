//! Reading what the person gives us: manifests from files or stdin, values from `--from-*`
//! flags, and the sealing certificate from a file or a URL. Values go straight into
//! zeroizing buffers.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use secrets_core::seal::keys::Certificate;
use secrets_core::secret::{self, PlainSecret, Value};
use zeroize::Zeroizing;

/// Most bytes read from a manifest, key or env file: several Secrets at the 1 MiB limit,
/// base64-encoded, fit; `-f /dev/zero` stops here instead of exhausting memory.
pub(crate) const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Read a manifest from `FILE` or `-` (stdin). Text only: manifests are YAML or JSON. A
/// UTF-8 byte-order mark at the start is dropped (editors on Windows write one).
pub(crate) fn read_text(spec: &str) -> anyhow::Result<Zeroizing<String>> {
    let bytes = read_bytes(spec)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("reading {}: not UTF-8 text", describe(spec)))?;
    Ok(Zeroizing::new(
        text.strip_prefix('\u{feff}').unwrap_or(text).to_owned(),
    ))
}

/// Read raw bytes from `FILE` or `-` (stdin), at most [`MAX_INPUT_BYTES`].
pub(crate) fn read_bytes(spec: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    read_limited(spec, MAX_INPUT_BYTES, "the 16 MiB input limit")
}

/// Read `spec` (a path or `-`), refusing more than `limit` bytes: only `limit + 1` are ever
/// read, so a device or a pipe that never ends cannot exhaust memory.
fn read_limited(spec: &str, limit: u64, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    if spec == "-" {
        let stdin = std::io::stdin().lock();
        if stdin.is_terminal() {
            // kubeseal's hint: a person may not realise we are waiting for them.
            eprintln!("(reading a manifest from the terminal; finish with Ctrl-D)");
        }
        stdin
            .take(limit + 1)
            .read_to_end(&mut buf)
            .context("reading standard input")?;
    } else {
        let file = std::fs::File::open(spec).with_context(|| format!("reading {spec}"))?;
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {spec}"))?;
    }
    if buf.len() as u64 > limit {
        bail!("reading {}: over {what}", describe(spec));
    }
    Ok(buf)
}

/// The files `-f` names: each path as given (any extension), `-` for stdin, and for a
/// directory its `.yaml`, `.yml` and `.json` files in name order, not descending, as kubectl
/// does without `-R`.
pub(crate) fn manifest_files(specs: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for spec in specs {
        if spec == "-" || !Path::new(spec).is_dir() {
            out.push(spec.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(spec).with_context(|| format!("reading {spec}"))? {
            let path = entry.with_context(|| format!("reading {spec}"))?.path();
            let manifest = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
            if manifest && path.is_file() {
                found.push(path.to_string_lossy().into_owned());
            }
        }
        if found.is_empty() {
            bail!("{spec}: no .yaml, .yml or .json file in the directory");
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

pub(crate) fn describe(spec: &str) -> &str {
    if spec == "-" { "standard input" } else { spec }
}

/// Values from `--from-literal`, `--from-file` and `--from-env-file`, in that order; a key
/// given twice is an error, as with `kubectl create secret`.
pub(crate) fn values_from_flags(
    literals: &[String],
    files: &[String],
    env_files: &[String],
) -> anyhow::Result<BTreeMap<String, Value>> {
    let mut data = BTreeMap::new();
    let mut insert = |key: String, value: Value, source: &str| -> anyhow::Result<()> {
        secret::validate_key(&key).with_context(|| source.to_owned())?;
        if data.insert(key.clone(), value).is_some() {
            bail!("{source}: key {key:?} is given more than once");
        }
        Ok(())
    };
    for literal in literals {
        let Some((key, value)) = literal.split_once('=') else {
            bail!("--from-literal expects KEY=VALUE, got a value without '='");
        };
        insert(
            key.to_owned(),
            Zeroizing::new(value.as_bytes().to_vec()),
            "--from-literal",
        )?;
    }
    for spec in files {
        let source = format!("--from-file {spec}");
        let (key, path) = match spec.split_once('=') {
            Some((key, path)) => (Some(key.to_owned()), path),
            None => (None, spec.as_str()),
        };
        if Path::new(path).is_dir() {
            if key.is_some() {
                bail!("{source}: a key name cannot be given for a directory");
            }
            for (name, file) in directory_files(path).with_context(|| source.clone())? {
                let value = read_value(&file).with_context(|| source.clone())?;
                insert(name, value, &source)?;
            }
            continue;
        }
        let key = key.unwrap_or_else(|| {
            let name = Path::new(path).file_name().and_then(|n| n.to_str());
            name.unwrap_or_default().to_owned()
        });
        let value = read_value(path).with_context(|| source.clone())?;
        insert(key, value, &source)?;
    }
    for path in env_files {
        let text = read_text(path).with_context(|| format!("--from-env-file {path}"))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                bail!(
                    "--from-env-file {path}: line {}: expected KEY=VALUE",
                    number + 1
                );
            };
            let source = format!("--from-env-file {path}: line {}", number + 1);
            insert(
                key.trim_end().to_owned(),
                Zeroizing::new(value.as_bytes().to_vec()),
                &source,
            )?;
        }
    }
    Ok(data)
}

/// One `--from-file` value, refused past the 1 MiB Secret limit (reading at most one byte
/// more, so `/dev/zero` is refused too).
fn read_value(path: &str) -> anyhow::Result<Value> {
    read_limited(
        path,
        secret::MAX_SECRET_BYTES as u64,
        "the 1 MiB Secret limit",
    )
}

/// `--from-file DIR`, as kubectl: one key per regular file, named after it, in name order;
/// subdirectories, symbolic links and special files are skipped.
fn directory_files(dir: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {dir}"))? {
        let entry = entry.with_context(|| format!("reading {dir}"))?;
        // The entry's own type: a symbolic link is not followed.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            bail!(
                "{}: the file name is not UTF-8, so it cannot be a key",
                entry.path().display()
            );
        };
        out.push((name, entry.path().to_string_lossy().into_owned()));
    }
    out.sort();
    Ok(out)
}

/// Build a Secret from flag values.
pub(crate) fn secret_from_values(
    name: &str,
    type_: Option<&str>,
    data: BTreeMap<String, Value>,
) -> PlainSecret {
    let mut secret = PlainSecret::default();
    secret.metadata.name = Some(name.to_owned());
    secret.type_ = Some(type_.unwrap_or("Opaque").to_owned());
    secret.data = data;
    secret
}

/// Load and check the sealing certificate: a path, `file://` or `http(s)://` URL.
pub(crate) fn load_certificate(spec: &str) -> anyhow::Result<Certificate> {
    if spec.starts_with("http://") {
        // A certificate is public, but not its authenticity: over plain HTTP anyone on the
        // path can hand us theirs, and every value sealed to it is theirs to open.
        eprintln!(
            "warning: fetching the certificate over plain http: anyone on the network path can \
             swap it for their own; use https or a file"
        );
    }
    let pem = if spec.starts_with("http://") || spec.starts_with("https://") {
        fetch_url(spec).with_context(|| format!("fetching certificate {spec}"))?
    } else {
        let path = spec.strip_prefix("file://").unwrap_or(spec);
        std::fs::read(path).with_context(|| format!("reading certificate {path}"))?
    };
    let cert =
        Certificate::from_pem(&pem).with_context(|| format!("loading certificate {spec}"))?;
    cert.ensure_valid_at(time::OffsetDateTime::now_utc())
        .with_context(|| format!("loading certificate {spec}"))?;
    Ok(cert)
}

fn fetch_url(url: &str) -> anyhow::Result<Vec<u8>> {
    // aws-lc-rs is already our crypto; install it as rustls' provider (ignore "already set").
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut response = ureq::get(url)
        .header("Accept", "application/x-pem-file, */*")
        .call()
        .context("HTTP request failed")?;
    let body = response
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_vec()
        .context("reading the response")?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_keys_follow_kube_apiservers_rule() {
        let literal = |kv: &str| values_from_flags(&[kv.to_owned()], &[], &[]);
        assert!(literal("ok-key_1.x=v").is_ok());
        for bad in ["..data", "..", ".", "a/b", &"k".repeat(254)] {
            let err = literal(&format!("{bad}=v")).unwrap_err();
            assert!(format!("{err:#}").contains("is invalid"), "{bad}: {err:#}");
        }
    }
}
