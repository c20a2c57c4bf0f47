//! Remote keys as ESO's Azure provider reads them: `TYPE/NAME`, where the text before the
//! first `/` names the object type (`secret`, the default when there is no `/`; `cert`, the
//! DER certificate; `key`, the public JWK; and ours, `certkey`, the certificate chain with its
//! private key as PEM), and versions (Key Vault's 32-hex-digit ids). Pure parsing; names are
//! checked against Key Vault's rule so that nothing else reaches a URL path.

/// What a remote key reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// `secret/NAME`: the secret's value.
    Secret,
    /// `cert/NAME`: the certificate's DER (ESO's meaning), no private key.
    Cert,
    /// `key/NAME`: the key's public JWK as JSON.
    Key,
    /// `certkey/NAME`: the chain and the private key, as PEM, from the backing secret.
    CertKey,
}

impl ObjectKind {
    /// The prefix in a remote key.
    pub fn prefix(self) -> &'static str {
        match self {
            ObjectKind::Secret => "secret",
            ObjectKind::Cert => "cert",
            ObjectKind::Key => "key",
            ObjectKind::CertKey => "certkey",
        }
    }
}

/// A parsed remote key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub name: String,
}

/// `key` as `TYPE/NAME` (or a bare secret name).
pub fn parse_key(key: &str) -> Result<ObjectRef, String> {
    let (kind, name) = match key.split_once('/') {
        None => (ObjectKind::Secret, key),
        Some((prefix, name)) => {
            let kind = match prefix {
                "secret" => ObjectKind::Secret,
                "cert" => ObjectKind::Cert,
                "key" => ObjectKind::Key,
                "certkey" => ObjectKind::CertKey,
                other => {
                    return Err(format!(
                        "remote key {key:?} names the object type {other:?}; azure key vault keys are \
                         secret/NAME, cert/NAME, key/NAME or certkey/NAME"
                    ));
                }
            };
            (kind, name)
        }
    };
    check_name(name).map_err(|why| format!("remote key {key:?}: {why}"))?;
    Ok(ObjectRef {
        kind,
        name: name.to_owned(),
    })
}

/// Key Vault object names: 1 to 127 characters of `0-9`, `a-z`, `A-Z` and `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 127 {
        return Err(format!("the name {name:?} must have 1 to 127 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "the name {name:?} may hold only letters, digits and '-'"
        ));
    }
    Ok(())
}

/// Key Vault version ids: 32 hexadecimal digits.
pub fn check_version(version: &str) -> Result<(), String> {
    if version.len() == 32 && version.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "{version:?} is not an azure key vault version (32 hexadecimal digits)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_type() {
        let parsed = |k| parse_key(k).map(|r| (r.kind, r.name));
        assert_eq!(parsed("db"), Ok((ObjectKind::Secret, "db".into())));
        assert_eq!(
            parsed("secret/db-1"),
            Ok((ObjectKind::Secret, "db-1".into()))
        );
        assert_eq!(parsed("cert/web"), Ok((ObjectKind::Cert, "web".into())));
        assert_eq!(parsed("key/sign"), Ok((ObjectKind::Key, "sign".into())));
        assert_eq!(
            parsed("certkey/web"),
            Ok((ObjectKind::CertKey, "web".into()))
        );
        assert!(parse_key("blob/x").unwrap_err().contains("\"blob\""));
        for bad in [
            "secret/",
            "secret/a/b",
            "a_b",
            "secret/../x",
            &"x".repeat(128),
        ] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_are_32_hex_digits() {
        assert!(check_version("0123456789abcdef0123456789ABCDEF").is_ok());
        assert!(check_version("3").is_err());
        assert!(check_version(&"g".repeat(32)).is_err());
    }
}
