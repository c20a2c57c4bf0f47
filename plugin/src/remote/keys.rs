//! What a `remoteRef.key` and `remoteRef.version` look like in each store, checked before an
//! ExternalSecret is written (`sync create`, the wizards) so a typo fails here, not later in
//! the agent's status. Pure; the store crates check the same again when they read.
//!
//! - vault: a path (`app/db`), a KV v2 version number;
//! - aws: a secret name (`[A-Za-z0-9/_+=.@-]`, ≤ 512) or an ARN, a version `uuid/<id>`
//!   (VersionId) or a stage (`AWSCURRENT`, `AWSPREVIOUS`, a custom label);
//! - azurekv: `secret/NAME` (the default when there is no `type/`), `cert/NAME`, `key/NAME`,
//!   `certkey/NAME`, NAME 1–127 of `[0-9A-Za-z-]`, a version of 32 hex digits;
//! - gcpsm: a secret name (`[A-Za-z0-9_-]`, ≤ 255), a version number or `latest`.

/// Check `key` and `version` for the store type `store` (`vault`, `aws`, `azurekv`, `gcpsm`).
pub(crate) fn check(store: &str, key: &str, version: Option<&str>) -> Result<(), String> {
    if key.trim_matches('/').is_empty() {
        return Err("the remote key is empty".to_owned());
    }
    match store {
        "vault" => {
            if let Some(v) = version
                && !(is_number(v))
            {
                return Err(format!(
                    "version {v:?}: a vault KV v2 version is a number (1, 2, …)"
                ));
            }
        }
        "aws" => aws(key, version)?,
        "azurekv" => azure(key, version)?,
        "gcpsm" => gcp(key, version)?,
        _ => {}
    }
    Ok(())
}

fn is_number(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v != "0"
}

fn aws(key: &str, version: Option<&str>) -> Result<(), String> {
    if !key.starts_with("arn:") {
        let ok = key.len() <= 512
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
        if !ok {
            return Err(format!(
                "key {key:?}: an AWS secret name is up to 512 of A-Z a-z 0-9 / _ + = . @ - \
                 (or give its ARN)"
            ));
        }
    } else if key.split(':').count() < 7 || !key.contains(":secretsmanager:") {
        return Err(format!(
            "key {key:?}: not a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        ));
    }
    if let Some(v) = version {
        let ok = match v.strip_prefix("uuid/") {
            Some(id) => !id.is_empty() && id.len() <= 64,
            None => !v.is_empty() && v.len() <= 256 && !v.contains(char::is_whitespace),
        };
        if !ok {
            return Err(format!(
                "version {v:?}: uuid/<VersionId> or a staging label (AWSCURRENT, AWSPREVIOUS)"
            ));
        }
    }
    Ok(())
}

fn azure(key: &str, version: Option<&str>) -> Result<(), String> {
    let (kind, name) = match key.split_once('/') {
        Some((kind, name)) => (kind, name),
        None => ("secret", key),
    };
    if !["secret", "cert", "key", "certkey"].contains(&kind) {
        return Err(format!(
            "key {key:?}: {kind:?} is not an Azure Key Vault object type (secret/, cert/, key/, \
             certkey/)"
        ));
    }
    let ok = (1..=127).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        return Err(format!(
            "key {key:?}: an Azure Key Vault name is 1 to 127 of 0-9 A-Z a-z -"
        ));
    }
    if let Some(v) = version
        && !(v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "version {v:?}: an Azure Key Vault version is 32 hex digits"
        ));
    }
    Ok(())
}

fn gcp(key: &str, version: Option<&str>) -> Result<(), String> {
    let ok = key.len() <= 255
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(format!(
            "key {key:?}: a GCP secret name is up to 255 of A-Z a-z 0-9 _ -"
        ));
    }
    if let Some(v) = version
        && v != "latest"
        && !is_number(v)
    {
        return Err(format!(
            "version {v:?}: a GCP version is a number (1, 2, …) or latest"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn each_store_accepts_its_own_forms() {
        for (store, key, version) in [
            ("vault", "app/db", Some("3")),
            ("aws", "prod/db-credentials", None),
            (
                "aws",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
                None,
            ),
            ("aws", "db", Some("AWSPREVIOUS")),
            (
                "aws",
                "db",
                Some("uuid/EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"),
            ),
            ("azurekv", "db-password", None),
            (
                "azurekv",
                "secret/db-password",
                Some("0123456789abcdef0123456789ABCDEF"),
            ),
            ("azurekv", "cert/tls", None),
            ("azurekv", "certkey/tls", None),
            ("azurekv", "key/signing", None),
            ("gcpsm", "db_password", Some("latest")),
            ("gcpsm", "db-password", Some("7")),
        ] {
            assert_eq!(
                check(store, key, version),
                Ok(()),
                "{store} {key} {version:?}"
            );
        }
    }

    #[test]
    fn wrong_forms_are_named() {
        for (store, key, version, says) in [
            (
                "vault",
                "app/db",
                Some("latest"),
                "a vault KV v2 version is a number",
            ),
            ("aws", "db password", None, "an AWS secret name"),
            (
                "aws",
                "arn:aws:s3:::bucket",
                None,
                "not a Secrets Manager ARN",
            ),
            ("aws", "db", Some("uuid/"), "uuid/<VersionId>"),
            (
                "azurekv",
                "secrets/db",
                None,
                "not an Azure Key Vault object type",
            ),
            ("azurekv", "secret/db_password", None, "1 to 127 of"),
            ("azurekv", "secret/db", Some("3"), "32 hex digits"),
            ("gcpsm", "app/db", None, "a GCP secret name"),
            (
                "gcpsm",
                "db",
                Some("AWSCURRENT"),
                "a number (1, 2, …) or latest",
            ),
            ("gcpsm", "/", None, "the remote key is empty"),
        ] {
            let err = check(store, key, version).unwrap_err();
            assert!(err.contains(says), "{store} {key}: {err}");
        }
    }
}
