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
            // secrets_core's writer: strings any YAML 1.1 reader (kubectl) would misread are
            // quoted.
            let body = secrets_core::yaml::to_string(value).context("rendering YAML")?;
            let mut text = String::with_capacity(body.len() + 4); // no reallocation
            text.push_str("---\n");
            text.push_str(&body);
            text
        }
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(value).context("rendering JSON")?;
            text.push('\n');
            text
        }
    }))
}

/// Render several objects: YAML as a stream of documents; JSON as the one object, or as a
/// `v1` `List` of them (what kubectl prints and reads), never as concatenated objects.
pub(crate) fn render_all<T: Serialize>(
    objects: &[T],
    format: OutputFormat,
) -> anyhow::Result<Zeroizing<String>> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a, T> {
        api_version: &'static str,
        kind: &'static str,
        items: &'a [T],
    }
    match (format, objects) {
        (OutputFormat::Json, [one]) => render(one, format),
        (OutputFormat::Json, items) => render(
            &List {
                api_version: "v1",
                kind: "List",
                items,
            },
            format,
        ),
        (OutputFormat::Yaml, items) => {
            let parts = items
                .iter()
                .map(|item| render(item, format))
                .collect::<anyhow::Result<Vec<_>>>()?;
            // Sized up front: a growing String would leave unwiped copies of unsealed values.
            let mut text =
                Zeroizing::new(String::with_capacity(parts.iter().map(|p| p.len()).sum()));
            for part in &parts {
                text.push_str(part);
            }
            Ok(text)
        }
    }
}

/// Replace `path` with `bytes` atomically: a temporary file in the same directory, flushed and
/// renamed over the target, so readers see the old file or the new one, never a partial write.
/// A symlink is written through: the file it points to is replaced and the link stays.
/// The temporary file is 0600 while it fills; then it takes `mode` (for private keys), else an
/// existing file's own. Errors name `path`, never the temporary file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> anyhow::Result<()> {
    let target = crate::paths::link_target(path)
        .map_err(crate::report::plain_io)
        .with_context(|| format!("resolving {}", path.display()))?;
    let path = target.as_path();
    let mode = mode.or_else(|| existing_mode(path));
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // tempfile creates the file 0600: nobody else can read it while it fills.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".kubectl-secrets-").suffix(".tmp");
    #[cfg(not(unix))]
    let _ = mode;
    // tempfile's errors carry the temporary file's path: keep only the kind of failure.
    let plain = crate::report::plain_io;
    let mut file = builder.tempfile_in(dir).map_err(plain).with_context(|| {
        format!(
            "writing {}: creating a file in {}",
            path.display(),
            dir.display()
        )
    })?;
    file.write_all(bytes)
        .map_err(plain)
        .with_context(|| format!("writing {}", path.display()))?;
    // Only once the content is complete does the file get its final mode: a replaced file
    // keeps exactly its own, a new private key stays 0600.
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(plain)
            .with_context(|| format!("writing {}: setting its mode", path.display()))?;
    }
    file.as_file()
        .sync_all()
        .map_err(plain)
        .with_context(|| format!("flushing {}", path.display()))?;
    file.persist(path)
        .map_err(|err| plain(err.error))
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// The permission bits of an existing file (to keep them when it is replaced).
#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .ok()
        .filter(|meta| meta.is_file())
        .map(|meta| meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_: &Path) -> Option<u32> {
    None
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

/// Manifests (`-o`, `--output-file`, `--dry-run`): rendered one after the other, to the file
/// (atomically, then a note on stderr) or stdout.
pub(crate) fn emit_manifests<T: Serialize>(
    objects: &[T],
    how: &crate::cli::ManifestOutput,
) -> anyhow::Result<()> {
    let format = how.format().unwrap_or_default();
    let text = render_all(objects, format)?;
    emit(&text, how.output_file.as_deref())?;
    if let Some(path) = &how.output_file {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
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
/// trailing blanks. The first row is the header; rows may be arrays or vectors.
pub(crate) fn table<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.as_ref().iter().zip(&widths) {
            line.push_str(&format!("{cell:<width$}   "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// kubectl's short age: `42s`, `5m`, `3h`, `12d`.
pub(crate) fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// One secret value on stdout: with `reveal` the raw bytes (for piping) after a warning on
/// stderr, else only its key and size.
pub(crate) fn emit_value(key: &str, value: &[u8], reveal: bool) -> anyhow::Result<()> {
    if reveal {
        eprintln!("warning: printing a secret value");
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(value)?;
        stdout.flush()?;
    } else {
        println!("{key}\t{} bytes", value.len());
    }
    Ok(())
}

/// What a secret holds, on stdout: KEY and SIZE per key, and VALUE (escaped) only with
/// `reveal`, after a warning on stderr. The rendered text is zeroized.
pub(crate) fn emit_entries<'a>(
    entries: impl Iterator<Item = (&'a str, &'a [u8])> + Clone,
    reveal: bool,
) -> anyhow::Result<()> {
    let width = entries
        .clone()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(3)
        .max(3);
    let mut out = Zeroizing::new(String::new());
    if reveal {
        eprintln!("warning: the output holds plaintext secret values; do not share it");
        out.push_str(&format!("{:<width$}  {:>8}  VALUE\n", "KEY", "SIZE"));
    } else {
        out.push_str(&format!("{:<width$}  {:>8}\n", "KEY", "SIZE"));
    }
    for (key, value) in entries {
        let size = format!("{}B", value.len());
        if reveal {
            let shown = String::from_utf8_lossy(value);
            out.push_str(&format!("{key:<width$}  {size:>8}  "));
            escape_controls(&shown, &mut out);
            out.push('\n');
        } else {
            out.push_str(&format!("{key:<width$}  {size:>8}\n"));
        }
    }
    emit(&out, None)
}

/// `text` with control characters escaped (`\n`, `\t`, `\r`, else `\u{..}`) so one value
/// stays on one line; quotes and everything printable are shown as they are.
fn escape_controls(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
}

/// The READY, REASON and MESSAGE columns from a `Ready` condition's status, reason and message:
/// `Unknown Pending` while the controller has not yet observed the newest generation,
/// `Unknown NotObserved` before it wrote any condition.
pub(crate) fn ready_columns(
    condition: Option<(&str, Option<&str>, Option<&str>)>,
    observed: Option<i64>,
    generation: Option<i64>,
) -> (String, String, String) {
    let stale = matches!((observed, generation), (Some(o), Some(g)) if o < g);
    match condition {
        Some(_) if stale => ("Unknown".to_owned(), "Pending".to_owned(), String::new()),
        Some((status, reason, message)) => (
            status.to_owned(),
            reason.unwrap_or_default().to_owned(),
            message.unwrap_or_default().to_owned(),
        ),
        None => (
            "Unknown".to_owned(),
            "NotObserved".to_owned(),
            String::new(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn revealed_values_escape_only_control_characters() {
        let mut out = String::new();
        super::escape_controls("say \"hi\" it's\n\tdone\u{7}é", &mut out);
        assert_eq!(out, "say \"hi\" it's\\n\\tdone\\u{7}é");
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(super::age(5), "5s");
        assert_eq!(super::age(300), "5m");
        assert_eq!(super::age(3 * 3600), "3h");
        assert_eq!(super::age(5 * 86_400), "5d");
        assert_eq!(super::age(-3), "0s");
    }

    #[test]
    fn tables_pad_columns_and_trim_lines() {
        let rows = vec![
            vec!["NAME".to_owned(), "READY".to_owned()],
            vec!["a-long-name".to_owned(), String::new()],
        ];
        assert_eq!(super::table(&rows), "NAME          READY\na-long-name\n");
    }
}
