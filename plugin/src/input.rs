//! Reading what the person gives us: manifests from files or stdin, values from `--from-*`
//! flags, and the sealing certificate from a file or a URL. Values go straight into
//! zeroizing buffers.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use secrets_core::keys::Certificate;
use secrets_core::secret::{self, PlainSecret, Value};
use zeroize::Zeroizing;

/// Read a manifest from `FILE` or `-` (stdin). Text only: manifests are YAML or JSON.
pub(crate) fn read_text(spec: &str) -> anyhow::Result<Zeroizing<String>> {
    let bytes = read_bytes(spec)?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| anyhow::anyhow!("reading {}: not UTF-8 text", describe(spec)))?;
    Ok(Zeroizing::new(text))
}

/// Read raw bytes from `FILE` or `-` (stdin).
pub(crate) fn read_bytes(spec: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    if spec == "-" {
        let mut stdin = std::io::stdin().lock();
        if stdin.is_terminal() {
            // kubeseal's hint: a person may not realise we are waiting for them.
            eprintln!("(reading a manifest from the terminal; finish with Ctrl-D)");
        }
        stdin
            .read_to_end(&mut buf)
            .context("reading standard input")?;
    } else {
        let mut file = std::fs::File::open(spec).with_context(|| format!("reading {spec}"))?;
        file.read_to_end(&mut buf)
            .with_context(|| format!("reading {spec}"))?;
    }
    Ok(buf)
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
        let (key, path) = match spec.split_once('=') {
            Some((key, path)) => (key.to_owned(), path),
            None => {
                let name = Path::new(spec).file_name().and_then(|n| n.to_str());
                (name.unwrap_or_default().to_owned(), spec.as_str())
            }
        };
        let value = read_bytes(path).with_context(|| format!("--from-file {spec}"))?;
        insert(key, value, &format!("--from-file {spec}"))?;
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
