//! The person's own Google credentials, for reading a `spec.provider.gcpsm` store from this
//! machine (never the store's `auth`).
//!
//! Data flow: `GOOGLE_APPLICATION_CREDENTIALS` names a JSON file → its `type`
//! ([`from_file_text`]): `service_account` → [`Credentials::Keys`] `secretAccessKey` (the
//! whole key JSON, as a store's Secret would hold it); `authorized_user`, `external_account`
//! and anything else → refused by name (use `gcloud` instead) → without the variable,
//! `gcloud auth print-access-token` → [`Credentials::Token`].

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use secrets_core::store::Credentials;
use zeroize::Zeroizing;

use super::Person;
use super::cli::{self, CliError};

const ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// A credentials file's text → the credentials it gives, `file` naming it in errors.
pub(crate) fn from_file_text(text: Zeroizing<String>, file: &Path) -> anyhow::Result<Person> {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        type_: Option<String>,
    }
    let kind: Kind = serde_json::from_str(&text).map_err(|err| {
        anyhow::anyhow!(
            "{} ({ENV}) is not a JSON credentials file ({err})",
            file.display()
        )
    })?;
    match kind.type_.as_deref() {
        Some("service_account") => Ok(Person {
            credentials: Credentials::Keys(BTreeMap::from([("secretAccessKey".to_owned(), text)])),
            source: format!("the service-account key {} ({ENV})", file.display()),
        }),
        other => bail!(
            "{} ({ENV}) holds {} credentials: only a service-account key file (\"type\": \
             \"service_account\") is read here; unset {ENV} to use your `gcloud auth login` \
             account instead",
            file.display(),
            other.map_or_else(|| "untyped".to_owned(), |t| format!("{t:?}"))
        ),
    }
}

/// The person's credentials: the key file, else the gcloud CLI's token.
pub(crate) async fn discover(
    env: &dyn Fn(&str) -> Option<String>,
    gcloud: &str,
) -> anyhow::Result<Person> {
    if let Some(file) = env(ENV).filter(|v| !v.trim().is_empty()) {
        let path = Path::new(&file);
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .with_context(|| format!("reading {} ({ENV})", path.display()))?;
        return from_file_text(text, path);
    }
    let stdout = match cli::run(gcloud, &["auth", "print-access-token"], cli::TIMEOUT).await {
        Ok(out) => out,
        Err(CliError::Missing(_)) => bail!(
            "no Google credentials of yours: {ENV} is not set and the Google Cloud CLI \
             (`{gcloud}`) is not installed; set {ENV} to a service-account key file, or install \
             gcloud and run `gcloud auth login` (the store's own credentials are never used here)"
        ),
        Err(err) => {
            return Err(anyhow::Error::new(err)
                .context("getting a token from the Google Cloud CLI (run `gcloud auth login`)"));
        }
    };
    let token = std::str::from_utf8(&stdout)
        .map(str::trim)
        .ok()
        .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
        .map(|t| Zeroizing::new(t.to_owned()));
    let Some(token) = token else {
        bail!("`gcloud auth print-access-token` printed no token");
    };
    Ok(Person {
        credentials: Credentials::Token(token),
        source: "`gcloud auth print-access-token`".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::tests::{env, keys};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_service_account_key_file_becomes_the_key_json() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sa.json");
        let json = r#"{"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nhunter2\n"}"#;
        std::fs::write(&file, json).unwrap();
        let p = rt()
            .block_on(discover(
                &env(&[(ENV, file.to_str().unwrap())]),
                "/nonexistent",
            ))
            .unwrap();
        assert_eq!(keys(&p.credentials), vec![("secretAccessKey", json)]);
        assert!(p.source.contains("sa.json"), "{}", p.source);
    }

    #[test]
    fn other_credential_files_are_refused_by_type_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, body) in [
            (
                "\"authorized_user\"",
                r#"{"type": "authorized_user", "refresh_token": "hunter2"}"#,
            ),
            (
                "\"external_account\"",
                r#"{"type": "external_account", "audience": "hunter2"}"#,
            ),
            ("untyped", r#"{"refresh_token": "hunter2"}"#),
        ] {
            let file = dir.path().join("c.json");
            std::fs::write(&file, body).unwrap();
            let err = rt()
                .block_on(discover(
                    &env(&[(ENV, file.to_str().unwrap())]),
                    "/nonexistent",
                ))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("holds {kind} credentials")), "{err}");
            assert!(err.contains("service_account"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        std::fs::write(dir.path().join("bad.json"), "hunter2").unwrap();
        let err = from_file_text(
            Zeroizing::new("hunter2".into()),
            &dir.path().join("bad.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not a JSON credentials file"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn gcloud_gives_a_token_and_its_absence_names_both_sources() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let gcloud = dir.path().join("gcloud");
        std::fs::write(
            &gcloud,
            "#!/bin/sh\n[ \"$*\" = 'auth print-access-token' ] && echo ya29.tok\n",
        )
        .unwrap();
        std::fs::set_permissions(&gcloud, std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = rt()
            .block_on(discover(&env(&[]), gcloud.to_str().unwrap()))
            .unwrap();
        assert!(matches!(&p.credentials, Credentials::Token(t) if t.as_str() == "ya29.tok"));
        let err = rt()
            .block_on(discover(&env(&[]), "/nonexistent/gcloud"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GOOGLE_APPLICATION_CREDENTIALS is not set"),
            "{err}"
        );
        assert!(err.contains("gcloud auth login"), "{err}");
    }
}
