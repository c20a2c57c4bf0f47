//! What is not a real value: placeholders people commit on purpose, and encrypted forms.
//!
//! Decided on the trimmed text, case-insensitively. A value is *not real* when it is:
//! - empty or only whitespace;
//! - a template: it contains `{{` (Helm, Go templates);
//! - a substitution: it contains `${NAME}` or `$(NAME)` (envsubst, Flux post-build, Kubernetes
//!   env expansion) — the real value arrives later;
//! - a bracketed hint: `<…>` as the whole value (`<your-password>`);
//! - a word people write instead of a value: `changeme`, `change-me`, `change_me`, `changeit`,
//!   `replaceme`, `replace-me`, `replace_me`, `todo`, `tbd`, `fixme`, `placeholder`,
//!   `redacted`, `dummy`, `example`, `null`, `none`, `nil`;
//! - a mask: three or more of one of `x`, `*`, `.` or `#` and nothing else (`xxxx`, `***`);
//! - SOPS ciphertext: `ENC[AES256_GCM,…]` (or any `ENC[…]`), see [`is_sops_encrypted`].
//!
//! Anything else, including text that is not UTF-8, is a real value. The list leans to
//! reporting: a real password that happens to be `changeme` is reported by nobody, and is
//! a finding of its own kind.

/// The words of the list above, lowercase.
const WORDS: [&str; 17] = [
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "replaceme",
    "replace-me",
    "replace_me",
    "todo",
    "tbd",
    "fixme",
    "placeholder",
    "redacted",
    "dummy",
    "example",
    "null",
    "none",
    "nil",
];

/// Whether `value` holds a real secret value (not a placeholder, not encrypted, not empty).
pub fn is_real(value: &[u8]) -> bool {
    match std::str::from_utf8(value) {
        Ok(text) => is_real_text(text),
        // Binary data (a keystore, a DER key) is real.
        Err(_) => !value.is_empty(),
    }
}

/// [`is_real`] for text.
pub fn is_real_text(text: &str) -> bool {
    !(is_placeholder(text) || is_sops_encrypted(text))
}

/// Whether `text` is a placeholder by the module's list.
pub fn is_placeholder(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.contains("{{") || has_substitution(trimmed) {
        return true;
    }
    if trimmed.len() >= 2 && trimmed.starts_with('<') && trimmed.ends_with('>') {
        return true;
    }
    if WORDS.iter().any(|w| trimmed.eq_ignore_ascii_case(w)) {
        return true;
    }
    let mut chars = trimmed.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase());
    matches!(first, Some('x' | '*' | '.' | '#'))
        && trimmed.chars().count() >= 3
        && trimmed
            .chars()
            .all(|c| Some(c.to_ascii_lowercase()) == first)
}

/// A SOPS-encrypted scalar: `ENC[` … `]`.
pub fn is_sops_encrypted(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with("ENC[") && trimmed.ends_with(']')
}

/// `${NAME}` or `$(NAME)` anywhere, NAME of letters, digits and `_` (envsubst also allows
/// `${NAME:-default}`-style forms: anything up to the closing brace counts).
fn has_substitution(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(2).enumerate().any(|(at, pair)| {
        let close = match pair {
            b"${" => b'}',
            b"$(" => b')',
            _ => return false,
        };
        let rest = bytes.get(at + 2..).unwrap_or_default();
        match rest.iter().position(|&b| b == close) {
            Some(end) => {
                let name = rest.get(..end).unwrap_or_default();
                let ident_len = name
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                ident_len > 0 && (close == b'}' || ident_len == name.len())
            }
            None => false,
        }
    })
}
