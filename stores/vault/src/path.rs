//! API paths from a store's mount and an ExternalSecret's key, the way ESO builds them, made
//! safe to put in a URL.
//!
//! Data flow: `(mount, KvVersion, key)` → the mount prefix removed from the key if the key
//! already carries it (ESO's `buildPath`: `secret/app` under mount `secret` means `app`, and
//! for KV v2 also `secret/data/app`) → segments checked (no empty, `.` or `..` segment, so a
//! key cannot climb to another endpoint) and percent-encoded → `secret/data/app`.
//!
//! ESO's known ambiguity is kept on purpose, for compatibility: under mount `secret` a key
//! `secret/x` always means `x`, so a secret literally stored at `secret/secret/x` must be
//! addressed as `secret/secret/x`.

use super::VaultError;
use super::kv::KvVersion;

/// Which KV v2 sub-tree a path goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tree {
    /// `<mount>/data/<key>`: secret data.
    Data,
    /// `<mount>/metadata/<key>`: versions and listing.
    Metadata,
}

/// The encoded API path of `key` under `mount`. An empty `key` is allowed only when `listing`
/// (the mount's root).
pub(super) fn kv_path(
    mount: &str,
    version: KvVersion,
    tree: Tree,
    key: &str,
    listing: bool,
) -> Result<String, VaultError> {
    let mount = mount.trim_matches('/');
    let mount_path = encode_path(mount, "mount")?;
    let key = strip_mount(mount, version, key.trim_start_matches('/'));
    let key = if listing {
        key.trim_end_matches('/')
    } else {
        key
    };
    let key_path = if key.is_empty() && listing {
        String::new()
    } else {
        encode_path(key, "key")?
    };
    let mut path = mount_path;
    if version == KvVersion::V2 {
        path.push_str(match tree {
            Tree::Data => "/data",
            Tree::Metadata => "/metadata",
        });
    }
    if !key_path.is_empty() {
        path.push('/');
        path.push_str(&key_path);
    }
    Ok(path)
}

/// The path of an auth method's endpoint: `auth/<mount>/<endpoint>`.
pub(super) fn auth_path(mount: &str, endpoint: &str) -> Result<String, VaultError> {
    let mount = encode_path(mount.trim_matches('/'), "auth mount")?;
    Ok(format!("auth/{mount}/{endpoint}"))
}

/// ESO's `buildPath`: drop `<mount>/` from the front of the key, and for KV v2 a `data/` after
/// it, so keys copied from the Vault UI or CLI (`secret/data/app`) work.
fn strip_mount<'k>(mount: &str, version: KvVersion, key: &'k str) -> &'k str {
    let Some(rest) = key
        .strip_prefix(mount)
        .and_then(|rest| rest.strip_prefix('/'))
    else {
        return key;
    };
    match version {
        KvVersion::V2 => rest.strip_prefix("data/").unwrap_or(rest),
        KvVersion::V1 => rest,
    }
}

/// Check each `/`-separated segment and percent-encode it. `what` names the input in errors.
pub(super) fn encode_path(path: &str, what: &'static str) -> Result<String, VaultError> {
    let invalid = |reason| VaultError::InvalidPath {
        what,
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut encoded = String::with_capacity(path.len());
    for (index, segment) in path.split('/').enumerate() {
        if segment.is_empty() {
            return Err(invalid("it has an empty segment (\"//\")"));
        }
        if segment == "." || segment == ".." {
            return Err(invalid("it has a \".\" or \"..\" segment"));
        }
        if index > 0 {
            encoded.push('/');
        }
        encode_segment(segment, &mut encoded);
    }
    Ok(encoded)
}

/// RFC 3986 unreserved characters pass; every other byte becomes `%XX`.
fn encode_segment(segment: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in segment.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(mount: &str, version: KvVersion, key: &str) -> String {
        kv_path(mount, version, Tree::Data, key, false).unwrap()
    }

    #[test]
    fn reads_build_esos_paths() {
        use KvVersion::{V1, V2};
        let cases = [
            // v2 reads go to the data tree; slashes around mount and key do not matter.
            ("secret", V2, "app/db", "secret/data/app/db"),
            ("/secret/", V2, "/app/db", "secret/data/app/db"),
            ("kv/team-a", V2, "db", "kv/team-a/data/db"),
            // v1 reads go straight under the mount.
            ("kv", V1, "app/db", "kv/app/db"),
            // The mount prefix is not doubled (and for v2 neither is data/).
            ("secret", V2, "secret/app", "secret/data/app"),
            ("secret", V2, "secret/data/app", "secret/data/app"),
            ("kv", V1, "kv/app", "kv/app"),
            // KV v1 has no data/ tree: a key data/x is a real path.
            ("kv", V1, "kv/data/x", "kv/data/x"),
            // Only a whole leading segment counts as the mount.
            ("secret", V2, "secrets/app", "secret/data/secrets/app"),
        ];
        for (mount, version, key, expected) in cases {
            assert_eq!(
                read(mount, version, key),
                expected,
                "{mount} {version:?} {key}"
            );
        }
    }

    #[test]
    fn listing_uses_the_metadata_tree_and_allows_the_root() {
        let list = |key| kv_path("secret", KvVersion::V2, Tree::Metadata, key, true).unwrap();
        assert_eq!(list(""), "secret/metadata");
        assert_eq!(list("app/"), "secret/metadata/app");
        let v1 = kv_path("kv", KvVersion::V1, Tree::Metadata, "", true).unwrap();
        assert_eq!(v1, "kv");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(
            read("secret", KvVersion::V2, "a b/c?d#e%"),
            "secret/data/a%20b/c%3Fd%23e%25"
        );
        assert_eq!(read("secret", KvVersion::V2, "é"), "secret/data/%C3%A9");
    }

    #[test]
    fn traversal_and_empty_segments_are_refused() {
        for key in ["", "../sys/seal", "a/../b", "a//b", "a/./b", "a/"] {
            let err = kv_path("secret", KvVersion::V2, Tree::Data, key, false).unwrap_err();
            assert!(
                matches!(&err, VaultError::InvalidPath { what: "key", .. }),
                "{key:?}: {err:?}"
            );
            assert!(err.to_string().starts_with("the vault key "), "{err}");
        }
        assert!(kv_path("", KvVersion::V2, Tree::Data, "a", false).is_err());
        assert!(auth_path("..", "login").is_err());
        assert_eq!(
            auth_path("/kubernetes/", "login").unwrap(),
            "auth/kubernetes/login"
        );
    }
}
