//! Writing results: YAML/JSON rendering (kubeseal's shapes) and atomic file writes.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::OutputFormat;

/// Render one object: YAML starts with `---`, JSON is pretty-printed; both end in a newline,
/// so several objects concatenate into a valid stream.
/// Zeroized on drop: unsealed Secrets are rendered through here.
pub(crate) fn render<T: Serialize>(
    value: &T,
    format: OutputFormat,
) -> anyhow::Result<Zeroizing<String>> {
    Ok(Zeroizing::new(match format {
        OutputFormat::Yaml => {
            format!(
                "---\n{}",
                serde_yaml_ng::to_string(value).context("rendering YAML")?
            )
        }
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(value).context("rendering JSON")?;
            text.push('\n');
            text
        }
    }))
}

/// Replace `path` with `bytes` atomically: a temporary file in the same directory, flushed and
/// renamed over the target, so readers see the old file or the new one, never a partial write.
/// `mode` sets Unix permissions before any byte is written (for private keys).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".kubectl-secrets-").suffix(".tmp");
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = builder
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    file.as_file()
        .sync_all()
        .with_context(|| format!("flushing {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Send `text` to `--output-file` (atomically) or stdout.
pub(crate) fn emit(text: &str, output_file: Option<&Path>) -> anyhow::Result<()> {
    match output_file {
        Some(path) => write_atomic(path, text.as_bytes(), None),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
    }
}

/// A closed pipe downstream (`| head`) is not an error worth reporting.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A kubectl-style table: columns padded to their widest cell, three spaces apart, no
/// trailing blanks. The first row is the header.
pub(crate) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}   "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
