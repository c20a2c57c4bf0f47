//! What a mount answers: one file per object with its explicit mode, and one object version
//! per object whose id is the file's path.
//!
//! Data flow: the provider reads each object (store or controller) → [`MountedFile`] (value
//! zeroized on drop, [`ObjectVersion`] beside it) → [`check_total`] against the driver's
//! limit ([`super::MAX_RESPONSE_BYTES`]) on the encoded size → the gRPC answer.
//!
//! A version is stable while the value is unchanged (across provider restarts too), changes
//! when it changes, and never reveals it:
//! - the store's own version where it has one ([`store_version`]: KV v2's number, with the
//!   remote key and property it was selected by, so an SPC edit that picks another key or
//!   property at the same number still shows a new version);
//! - otherwise [`hmac_version`]: base64url(HMAC-SHA256(cluster key, path ‖ 0 ‖ content)), the
//!   key being the controller's (the same on every node and after restarts), so nobody without
//!   it can test a guess of the value against the version.

use std::fmt;

use aws_lc_rs::hmac;
use base64::Engine as _;
use zeroize::Zeroizing;

/// One file of the answer. `Debug` never shows the contents.
pub struct MountedFile {
    /// Its path in the volume (already checked by `params::check_path`).
    pub path: String,
    /// Its mode, 0..=0o777.
    pub mode: u32,
    /// The value.
    pub contents: Zeroizing<Vec<u8>>,
    /// Its version.
    pub version: String,
}

impl fmt::Debug for MountedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MountedFile")
            .field("path", &self.path)
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("bytes", &self.contents.len())
            .field("version", &self.version)
            .finish()
    }
}

/// The version of a value a store versions itself: `key[#property]@v<version>`.
pub fn store_version(key: &str, property: Option<&str>, version: &str) -> String {
    match property {
        Some(property) => format!("{key}#{property}@v{version}"),
        None => format!("{key}@v{version}"),
    }
}

/// The version of a value without a store version: base64url (no padding) of
/// HMAC-SHA256(`key`, `path` ‖ 0x00 ‖ `content`). The path is in it so two files with the same
/// value do not show equal versions.
pub fn hmac_version(key: &[u8], path: &str, content: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    context.update(path.as_bytes());
    context.update(&[0]);
    context.update(content);
    let tag = context.sign();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// The answer would be larger than the driver accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the mount's files total {total} bytes encoded, over the driver's limit of {limit} bytes \
     (--max-call-recv-msg-size); mount fewer or smaller objects"
)]
pub struct TooLarge {
    /// The encoded size.
    pub total: usize,
    /// The limit.
    pub limit: usize,
}

/// Refuse an answer of `total` encoded bytes over `limit`.
pub fn check_total(total: usize, limit: usize) -> Result<(), TooLarge> {
    if total > limit {
        return Err(TooLarge { total, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_versions_depend_on_key_path_and_content_only() {
        let a = hmac_version(b"key-1", "db/password", b"s3cr3t");
        assert_eq!(a, hmac_version(b"key-1", "db/password", b"s3cr3t"));
        assert_ne!(a, hmac_version(b"key-2", "db/password", b"s3cr3t"));
        assert_ne!(a, hmac_version(b"key-1", "db/other", b"s3cr3t"));
        assert_ne!(a, hmac_version(b"key-1", "db/password", b"s3cr3u"));
        // The separator keeps path and content apart.
        assert_ne!(
            hmac_version(b"k", "ab", b"c"),
            hmac_version(b"k", "a", b"bc")
        );
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        // A known answer: HMAC-SHA256("key", "p\0v").
        let expected = {
            let key = hmac::Key::new(hmac::HMAC_SHA256, b"key");
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(hmac::sign(&key, b"p\0v").as_ref())
        };
        assert_eq!(hmac_version(b"key", "p", b"v"), expected);
    }

    #[test]
    fn store_versions_name_key_property_and_number() {
        assert_eq!(store_version("app/db", None, "3"), "app/db@v3");
        assert_eq!(
            store_version("app/db", Some("password"), "3"),
            "app/db#password@v3"
        );
    }

    #[test]
    fn the_limit_is_inclusive() {
        assert_eq!(check_total(10, 10), Ok(()));
        let err = check_total(11, 10).unwrap_err();
        assert!(err.to_string().contains("11 bytes"), "{err}");
        let debug = format!(
            "{:?}",
            MountedFile {
                path: "a".into(),
                mode: 0o440,
                contents: Zeroizing::new(b"hunter2".to_vec()),
                version: "v".into(),
            }
        );
        assert!(
            !debug.contains("hunter2") && debug.contains("0440"),
            "{debug}"
        );
    }
}
