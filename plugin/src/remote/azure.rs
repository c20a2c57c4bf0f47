//! The person's own Azure credentials, for reading a `spec.provider.azurekv` store from this
//! machine (never the store's `authSecretRef`).
//!
//! Data flow: `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET` + `AZURE_TENANT_ID` (the SDKs'
//! environment credential) → [`Credentials::Keys`] `clientId`, `clientSecret`, `tenantId` (the
//! store logs in to Entra with them) → else `az account get-access-token --resource
//! <the vault's cloud> -o json` (`--tenant` the store's `tenantId` when it has one), the
//! token taken from its JSON ([`parse_az`]) → [`Credentials::Token`] for the vault. The
//! resource follows `environmentType`: `https://vault.azure.net` (public),
//! `https://vault.usgovcloudapi.net` (US Gov), `https://vault.azure.cn` (China).

use std::collections::BTreeMap;

use anyhow::bail;
use secrets_core::api::secret_store::AzureKvProvider;
use secrets_core::store::Credentials;
use zeroize::Zeroizing;

use super::Person;
use super::cli::{self, CliError};

const ENV: [&str; 3] = ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"];

/// The Key Vault resource (token audience) of the store's cloud.
pub(crate) fn resource(provider: &AzureKvProvider) -> anyhow::Result<&'static str> {
    Ok(
        match provider
            .environment_type
            .as_deref()
            .unwrap_or("PublicCloud")
        {
            "PublicCloud" => "https://vault.azure.net",
            "USGovernmentCloud" => "https://vault.usgovcloudapi.net",
            "ChinaCloud" => "https://vault.azure.cn",
            other => bail!(
                "spec.provider.azurekv.environmentType {other:?} is not supported here \
                 (PublicCloud, USGovernmentCloud or ChinaCloud)"
            ),
        },
    )
}

/// A service principal from the environment, when all three variables are set.
pub(crate) fn from_environment(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<Person>> {
    let values: Vec<Option<Zeroizing<String>>> = ENV
        .iter()
        .map(|name| {
            env(name)
                .map(Zeroizing::new)
                .filter(|v| !v.trim().is_empty())
        })
        .collect();
    let set: Vec<&str> = ENV
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_some())
        .map(|(n, _)| *n)
        .collect();
    // A client id alone is common (managed identity, workload identity): not ours to refuse.
    if values[1].is_none() {
        return Ok(None);
    }
    if set.len() < ENV.len() {
        let missing: Vec<&str> = ENV.iter().copied().filter(|n| !set.contains(n)).collect();
        bail!(
            "AZURE_CLIENT_SECRET is set but {} is not: set all of {} for a service principal, \
             or unset it to use `az login`",
            missing.join(" and "),
            ENV.join(", ")
        );
    }
    let mut keys = BTreeMap::new();
    for (name, value) in ["clientId", "clientSecret", "tenantId"].iter().zip(values) {
        if let Some(value) = value {
            keys.insert((*name).to_owned(), Zeroizing::new(value.trim().to_owned()));
        }
    }
    Ok(Some(Person {
        credentials: Credentials::Keys(keys),
        source: ENV.join(" / "),
    }))
}

/// The access token in `az account get-access-token -o json`'s output.
pub(crate) fn parse_az(stdout: &[u8]) -> anyhow::Result<Zeroizing<String>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AzToken {
        access_token: Option<Zeroizing<String>>,
    }
    let parsed: AzToken = serde_json::from_slice(stdout).map_err(|err| {
        // serde's message names a line and column, never the text.
        anyhow::anyhow!("`az account get-access-token` printed no JSON object ({err})")
    })?;
    match parsed.access_token.filter(|t| !t.trim().is_empty()) {
        Some(token) => Ok(Zeroizing::new(token.trim().to_owned())),
        None => bail!("`az account get-access-token` printed no accessToken"),
    }
}

/// The person's credentials for `provider`'s vault: the environment, else the az CLI.
pub(crate) async fn discover(
    provider: &AzureKvProvider,
    env: &dyn Fn(&str) -> Option<String>,
    az: &str,
) -> anyhow::Result<Person> {
    if let Some(person) = from_environment(env)? {
        return Ok(person);
    }
    let resource = resource(provider)?;
    let mut args = vec![
        "account",
        "get-access-token",
        "--resource",
        resource,
        "-o",
        "json",
    ];
    let tenant = provider.tenant_id.as_deref().filter(|t| !t.is_empty());
    if let Some(tenant) = tenant {
        args.extend(["--tenant", tenant]);
    }
    let stdout = match cli::run(az, &args, cli::TIMEOUT).await {
        Ok(out) => out,
        Err(CliError::Missing(_)) => bail!(
            "no Azure credentials of yours: {} are not set and the Azure CLI (`{az}`) is not \
             installed; set them, or install the Azure CLI and run `az login` (the store's own \
             credentials are never used here)",
            ENV.join(", ")
        ),
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!(
                "getting a token for {resource} from the Azure CLI (run `az login`{})",
                tenant.map_or_else(String::new, |t| format!(" --tenant {t}"))
            )));
        }
    };
    Ok(Person {
        credentials: Credentials::Token(parse_az(&stdout)?),
        source: format!("`az account get-access-token` for {resource}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::tests::{env, keys};

    fn provider(environment: Option<&str>) -> AzureKvProvider {
        AzureKvProvider {
            vault_url: "https://v.vault.azure.net".into(),
            environment_type: environment.map(str::to_owned),
            ..AzureKvProvider::default()
        }
    }

    #[test]
    fn a_service_principal_in_the_environment_becomes_keys() {
        let p = from_environment(&env(&[
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_SECRET", "s3cr3t"),
            ("AZURE_TENANT_ID", "t"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            keys(&p.credentials),
            vec![
                ("clientId", "app"),
                ("clientSecret", "s3cr3t"),
                ("tenantId", "t")
            ]
        );
        assert!(
            from_environment(&env(&[("AZURE_CLIENT_ID", "app")]))
                .unwrap()
                .is_none()
        );
        let err = from_environment(&env(&[("AZURE_CLIENT_SECRET", "s")]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("AZURE_CLIENT_ID and AZURE_TENANT_ID is not"),
            "{err}"
        );
        assert!(!err.contains("\"s\""), "{err}");
    }

    #[test]
    fn the_resource_follows_the_cloud() {
        assert_eq!(
            resource(&provider(None)).unwrap(),
            "https://vault.azure.net"
        );
        assert_eq!(
            resource(&provider(Some("USGovernmentCloud"))).unwrap(),
            "https://vault.usgovcloudapi.net"
        );
        assert_eq!(
            resource(&provider(Some("ChinaCloud"))).unwrap(),
            "https://vault.azure.cn"
        );
        assert!(resource(&provider(Some("AzureStackCloud"))).is_err());
    }

    #[test]
    fn az_output_gives_the_token_and_errors_never_show_it() {
        let out = br#"{"accessToken": "eyJ0.tok", "expiresOn": "2026-12-01 22:00:00.000000",
            "expires_on": 1795000000, "subscription": "s", "tenant": "t", "tokenType": "Bearer"}"#;
        assert_eq!(parse_az(out).unwrap().as_str(), "eyJ0.tok");
        let err = parse_az(br#"{"tokenType": "Bearer"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no accessToken"), "{err}");
        let err = parse_az(b"eyJ0.not-json").unwrap_err().to_string();
        assert!(!err.contains("eyJ0"), "{err}");
    }

    fn script(dir: &std::path::Path, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("az");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_str().unwrap().to_owned()
    }

    #[test]
    fn the_cli_is_asked_for_the_vault_resource_and_its_tenant() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The fake az echoes its arguments back as the token.
        let az = script(dir.path(), r#"printf '{"accessToken": "%s"}' "$*""#);
        let mut gov = provider(Some("USGovernmentCloud"));
        gov.tenant_id = Some("tid".into());
        let p = rt.block_on(discover(&gov, &env(&[]), &az)).unwrap();
        let Credentials::Token(token) = &p.credentials else {
            panic!("a token expected")
        };
        assert_eq!(
            token.as_str(),
            "account get-access-token --resource https://vault.usgovcloudapi.net -o json --tenant tid"
        );
        let failing = script(
            dir.path(),
            "echo 'Please run az login to setup account.' >&2; exit 1",
        );
        let err = format!(
            "{:#}",
            rt.block_on(discover(&provider(None), &env(&[]), &failing))
                .unwrap_err()
        );
        assert!(err.contains("Please run az login"), "{err}");
        let err = rt
            .block_on(discover(&provider(None), &env(&[]), "/nonexistent/az"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID"),
            "{err}"
        );
        assert!(err.contains("Azure CLI"), "{err}");
    }
}
