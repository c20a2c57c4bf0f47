//! The person's own AWS credentials, found where the AWS CLI and SDKs look, for reading a
//! `spec.provider.aws` store from this machine (never the store's `auth`).
//!
//! Data flow: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) in the
//! environment → else the profile `AWS_PROFILE` (default `default`) in the shared credentials
//! file (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`, sections `[NAME]`) and
//! the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`, sections `[profile NAME]`,
//! except `[default]`), the credentials file winning key by key → [`Credentials::Keys`]
//! named `accessKeyID`, `secretAccessKey`, `sessionToken`. The region is the store's.
//! Profiles that need a login flow (roles, SSO, a credential process, web identity) are
//! refused by name: this build reads static keys only. Parsing is pure ([`parse_ini`],
//! [`from_files`]) and tested on temp files with a fake environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use secrets_core::store::Credentials;
use zeroize::Zeroizing;

use super::Person;

/// Profile settings that need a flow this build does not run.
const UNSUPPORTED: [&str; 8] = [
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "web_identity_token_file",
];

/// From this process's environment and home directory.
pub(crate) fn from_env() -> anyhow::Result<Person> {
    discover(
        &|name| std::env::var(name).ok(),
        dirs::home_dir().as_deref(),
    )
}

fn var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

/// `~/x` → `$HOME/x`, as the SDKs expand the file variables.
fn expand(path: String, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

pub(crate) fn discover(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> anyhow::Result<Person> {
    let id = var(env, "AWS_ACCESS_KEY_ID");
    let secret = var(env, "AWS_SECRET_ACCESS_KEY").map(Zeroizing::new);
    match (id, secret) {
        (Some(id), Some(secret)) => {
            let mut keys = BTreeMap::new();
            keys.insert(
                "accessKeyID".to_owned(),
                Zeroizing::new(id.trim().to_owned()),
            );
            keys.insert(
                "secretAccessKey".to_owned(),
                Zeroizing::new(secret.trim().to_owned()),
            );
            if let Some(token) = var(env, "AWS_SESSION_TOKEN").map(Zeroizing::new) {
                keys.insert(
                    "sessionToken".to_owned(),
                    Zeroizing::new(token.trim().to_owned()),
                );
            }
            return Ok(Person {
                credentials: Credentials::Keys(keys),
                source: "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".to_owned(),
            });
        }
        (Some(_), None) => bail!("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"),
        (None, Some(_)) => bail!("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
        (None, None) => {}
    }
    let profile = var(env, "AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let file = |var_name: &str, default: &str| {
        var(env, var_name)
            .map(|p| expand(p, home))
            .or_else(|| home.map(|h| h.join(".aws").join(default)))
    };
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config = file("AWS_CONFIG_FILE", "config");
    from_files(&profile, credentials.as_deref(), config.as_deref())
}

/// Read one file, a missing one being empty.
fn read(path: Option<&Path>) -> anyhow::Result<Option<Zeroizing<String>>> {
    let Some(path) = path else { return Ok(None) };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(Zeroizing::new(text))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// The profile's static keys from the two files.
pub(crate) fn from_files(
    profile: &str,
    credentials: Option<&Path>,
    config: Option<&Path>,
) -> anyhow::Result<Person> {
    let cred_text = read(credentials)?;
    let config_text = read(config)?;
    let mut merged: BTreeMap<String, Zeroizing<String>> = BTreeMap::new();
    let mut found_in = Vec::new();
    let config_section = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    if let (Some(text), Some(path)) = (&config_text, config) {
        let sections = parse_ini(text);
        if let Some(section) = sections.get(&config_section) {
            found_in.push(path.display().to_string());
            merged.extend(section.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    if let (Some(text), Some(path)) = (&cred_text, credentials) {
        let sections = parse_ini(text);
        if let Some(section) = sections.get(profile) {
            found_in.push(path.display().to_string());
            merged.extend(section.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let looked = [credentials, config]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    if found_in.is_empty() {
        bail!(
            "no AWS credentials of yours: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set \
             and profile {profile:?} (AWS_PROFILE) is not in {looked}; set them, or run `aws \
             configure` (the store's own credentials are never used here)"
        );
    }
    let unsupported: Vec<&str> = UNSUPPORTED
        .iter()
        .copied()
        .filter(|k| merged.contains_key(*k))
        .collect();
    if !unsupported.is_empty() {
        bail!(
            "AWS profile {profile:?} uses {}: this build reads static keys only \
             (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or \
             aws_access_key_id / aws_secret_access_key / aws_session_token in the profile); \
             export temporary keys, e.g. with `aws configure export-credentials --profile \
             {profile} --format env`",
            unsupported.join(", ")
        );
    }
    let mut keys = BTreeMap::new();
    for (name, setting, required) in [
        ("accessKeyID", "aws_access_key_id", true),
        ("secretAccessKey", "aws_secret_access_key", true),
        ("sessionToken", "aws_session_token", false),
    ] {
        match merged.remove(setting).filter(|v| !v.is_empty()) {
            Some(value) => {
                keys.insert(name.to_owned(), value);
            }
            None if required => bail!(
                "AWS profile {profile:?} in {} has no {setting}",
                found_in.join(" and ")
            ),
            None => {}
        }
    }
    Ok(Person {
        credentials: Credentials::Keys(keys),
        source: format!("profile {profile} in {}", found_in.join(" and ")),
    })
}

/// INI sections → their `key = value` settings (names lowercased, values trimmed). Lines
/// starting with `#` or `;` are comments; indented lines (nested `s3 =` blocks) are skipped.
pub(crate) fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, Zeroizing<String>>> {
    let mut sections: BTreeMap<String, BTreeMap<String, Zeroizing<String>>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            // `[profile  x]` and `[ x ]` name the same profile as the SDKs read them.
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            sections.entry(section.clone()).or_default().insert(
                key.trim().to_lowercase(),
                Zeroizing::new(value.trim().to_owned()),
            );
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::tests::{env, keys};

    #[test]
    fn environment_keys_win_over_the_files() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".aws")).unwrap();
        std::fs::write(
            home.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = FILE\naws_secret_access_key = f\n",
        )
        .unwrap();
        let p = discover(
            &env(&[
                ("AWS_ACCESS_KEY_ID", "AKIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
                ("AWS_SESSION_TOKEN", "tok"),
            ]),
            Some(home.path()),
        )
        .unwrap();
        assert_eq!(
            keys(&p.credentials),
            vec![
                ("accessKeyID", "AKIAENV"),
                ("secretAccessKey", "s3cr3t"),
                ("sessionToken", "tok")
            ]
        );
        let err = discover(&env(&[("AWS_ACCESS_KEY_ID", "AKIA")]), Some(home.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("AWS_SECRET_ACCESS_KEY is not"), "{err}");
        let p = discover(&env(&[]), Some(home.path())).unwrap();
        assert_eq!(keys(&p.credentials)[0], ("accessKeyID", "FILE"));
        assert!(p.source.starts_with("profile default in "), "{}", p.source);
    }

    #[test]
    fn profiles_come_from_both_files_the_credentials_file_winning() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        let config = dir.path().join("conf");
        std::fs::write(
            &creds,
            "# mine\n[default]\naws_access_key_id=D\naws_secret_access_key=d\n\n[dev]\naws_secret_access_key = from-creds\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[default]\nregion = eu-west-1\n[profile dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = from-config\naws_session_token = t\ns3 =\n  max_concurrent_requests = 2\n[dev]\naws_access_key_id = NOT-A-CONFIG-PROFILE\n",
        )
        .unwrap();
        let p = discover(
            &env(&[
                ("AWS_PROFILE", "dev"),
                ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
                ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(
            keys(&p.credentials),
            vec![
                ("accessKeyID", "AKIADEV"),
                ("secretAccessKey", "from-creds"),
                ("sessionToken", "t")
            ]
        );
        // `[dev]` in the config file is not profile dev; `[profile default]` is not default.
        let err = from_files("other", Some(&creds), Some(&config))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("profile \"other\" (AWS_PROFILE) is not in"),
            "{err}"
        );
        assert!(err.contains("aws configure"), "{err}");
    }

    #[test]
    fn login_flow_profiles_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n[profile sso]\nsso_session = corp\n[profile proc]\ncredential_process = /bin/creds\n[profile half]\naws_access_key_id = A\n",
        )
        .unwrap();
        let err = |profile| {
            from_files(profile, None, Some(&config))
                .unwrap_err()
                .to_string()
        };
        let role = err("role");
        assert!(role.contains("uses role_arn, source_profile"), "{role}");
        assert!(role.contains("static keys only"), "{role}");
        assert!(err("sso").contains("uses sso_session"));
        assert!(err("proc").contains("uses credential_process"));
        assert!(err("half").contains("has no aws_secret_access_key"));
    }

    #[test]
    fn the_files_default_under_home_and_tilde_expands() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("c"),
            "[default]\naws_access_key_id=A\naws_secret_access_key=B\n",
        )
        .unwrap();
        let p = discover(
            &env(&[("AWS_SHARED_CREDENTIALS_FILE", "~/c")]),
            Some(home.path()),
        )
        .unwrap();
        assert_eq!(keys(&p.credentials).len(), 2);
        let err = discover(&env(&[]), Some(home.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(".aws/credentials and "), "{err}");
        assert!(err.contains(".aws/config"), "{err}");
    }
}
