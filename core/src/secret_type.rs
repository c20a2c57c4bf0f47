//! The keys each built-in Secret type must hold, as the API server's validation demands, so a
//! SealedSecret that the agent could never turn into a Secret is refused when it is sealed
//! rather than failing later in the cluster.
//!
//! Data flow: a type and the key names (never values) → [`check_required_keys`] → `Ok` or the
//! keys missing, named.

/// A Secret type whose required keys are missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Secret of type {type_} needs {needs}; it has {}", has_keys(.has))]
pub struct MissingKeys {
    /// The Secret type.
    pub type_: String,
    /// What it needs, in words.
    pub needs: &'static str,
    /// The keys it has.
    pub has: Vec<String>,
}

fn has_keys(keys: &[String]) -> String {
    if keys.is_empty() {
        "no keys".to_owned()
    } else {
        format!("keys {}", keys.join(", "))
    }
}

/// Check the keys required by `type_` (`kubernetes.io/tls`: `tls.crt` and `tls.key`;
/// `kubernetes.io/dockerconfigjson`: `.dockerconfigjson`; `kubernetes.io/dockercfg`:
/// `.dockercfg`; `kubernetes.io/basic-auth`: `username` or `password`;
/// `kubernetes.io/ssh-auth`: `ssh-privatekey`). Other types need nothing.
pub fn check_required_keys<'a>(
    type_: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<(), MissingKeys> {
    let keys: Vec<&str> = keys.into_iter().collect();
    let has = |k: &str| keys.contains(&k);
    let (ok, needs) = match type_ {
        "kubernetes.io/tls" => (has("tls.crt") && has("tls.key"), "keys tls.crt and tls.key"),
        "kubernetes.io/dockerconfigjson" => (has(".dockerconfigjson"), "the key .dockerconfigjson"),
        "kubernetes.io/dockercfg" => (has(".dockercfg"), "the key .dockercfg"),
        "kubernetes.io/basic-auth" => (
            has("username") || has("password"),
            "the key username or password (or both)",
        ),
        "kubernetes.io/ssh-auth" => (has("ssh-privatekey"), "the key ssh-privatekey"),
        _ => (true, ""),
    };
    if ok {
        return Ok(());
    }
    Err(MissingKeys {
        type_: type_.to_owned(),
        needs,
        has: keys.iter().map(|k| (*k).to_owned()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::check_required_keys;

    #[test]
    fn built_in_types_need_their_keys() {
        assert!(check_required_keys("kubernetes.io/tls", ["tls.crt", "tls.key"]).is_ok());
        let err = check_required_keys("kubernetes.io/tls", ["tls.crt"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a Secret of type kubernetes.io/tls needs keys tls.crt and tls.key; it has keys tls.crt"
        );
        assert!(check_required_keys("kubernetes.io/basic-auth", ["password"]).is_ok());
        assert!(check_required_keys("kubernetes.io/basic-auth", ["user"]).is_err());
        assert!(check_required_keys("kubernetes.io/ssh-auth", []).is_err());
        assert!(check_required_keys("kubernetes.io/dockerconfigjson", [".dockercfg"]).is_err());
        assert!(check_required_keys("Opaque", []).is_ok());
        assert!(check_required_keys("example.com/custom", ["x"]).is_ok());
    }
}
