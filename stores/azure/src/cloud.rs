//! The Azure clouds a store can name (`spec.provider.azurekv.environmentType`) and what each
//! fixes: the Entra authority host, the Key Vault DNS suffix and the Key Vault resource the
//! access tokens are for. Pure checks of the vault URL and of a 401 challenge against the
//! cloud: tokens are only ever asked for the cloud's Key Vault resource and only sent to a
//! host under its Key Vault suffix (loopback hosts aside, for tests), and a challenge naming
//! another resource is refused, so a store cannot be pointed at a service to harvest tokens.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// An Azure cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// `PublicCloud` (the default).
    Public,
    /// `USGovernmentCloud`.
    UsGovernment,
    /// `ChinaCloud`.
    China,
}

impl Cloud {
    /// The cloud an `environmentType` names (unset: public). `GermanCloud` (retired) and
    /// `AzureStackCloud` (needs `customCloudConfig`) are refused by name.
    pub fn from_spec(environment_type: Option<&str>) -> Result<Cloud, String> {
        match environment_type.unwrap_or("PublicCloud") {
            "" | "PublicCloud" => Ok(Cloud::Public),
            "USGovernmentCloud" => Ok(Cloud::UsGovernment),
            "ChinaCloud" => Ok(Cloud::China),
            other @ ("GermanCloud" | "AzureStackCloud") => Err(format!(
                "environmentType {other} is not supported (PublicCloud, USGovernmentCloud and ChinaCloud are)"
            )),
            other => Err(format!(
                "environmentType {other:?} is not one of PublicCloud, USGovernmentCloud, ChinaCloud"
            )),
        }
    }

    /// The spec's name of the cloud.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "PublicCloud",
            Cloud::UsGovernment => "USGovernmentCloud",
            Cloud::China => "ChinaCloud",
        }
    }

    /// Entra's authority host (overridden by `AZURE_AUTHORITY_HOST`).
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::UsGovernment => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The DNS suffix of the cloud's vaults, with its leading dot.
    pub fn vault_suffix(self) -> &'static str {
        match self {
            Cloud::Public => ".vault.azure.net",
            Cloud::UsGovernment => ".vault.usgovcloudapi.net",
            Cloud::China => ".vault.azure.cn",
        }
    }

    /// The Key Vault resource (audience) of the cloud's access tokens.
    pub fn vault_resource(self) -> &'static str {
        match self {
            Cloud::Public => "https://vault.azure.net",
            Cloud::UsGovernment => "https://vault.usgovcloudapi.net",
            Cloud::China => "https://vault.azure.cn",
        }
    }

    /// The OAuth scope asked of Entra: the resource's `.default`.
    pub fn vault_scope(self) -> String {
        format!("{}/.default", self.vault_resource())
    }
}

/// A checked vault URL: `scheme://host[:port]`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultUrl {
    base: String,
    authority: String,
}

impl VaultUrl {
    /// `https://NAME.vault.azure.net` (as checked, trailing slash removed).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `host[:port]`: a `nextLink` must point here.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

/// Whether `host` (as in a URL, IPv6 in brackets) is a loopback address or `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `vaultUrl` checked against `cloud`: https, a host `NAME` + the cloud's Key Vault suffix (or
/// a loopback host, for tests), nothing after the host but an optional `/`.
pub fn check_vault_url(url: &str, cloud: Cloud) -> Result<VaultUrl, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("vaultUrl {url:?} is not a URL: {e}"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("vaultUrl {url:?} has no host"))?;
    if authority.as_str().contains('@') {
        return Err(format!("vaultUrl {url:?} must not carry credentials"));
    }
    let host = authority.host();
    let loopback = is_loopback_host(host);
    if uri.scheme_str() != Some("https") {
        return Err(format!("vaultUrl {url:?} must use https"));
    }
    let path_ok = matches!(uri.path(), "" | "/") && uri.query().is_none();
    if !path_ok {
        return Err(format!(
            "vaultUrl {url:?} must be the vault's address alone (https://NAME{})",
            cloud.vault_suffix()
        ));
    }
    if !loopback {
        let lower = host.to_ascii_lowercase();
        let name = lower.strip_suffix(cloud.vault_suffix());
        if !name.is_some_and(|n| !n.is_empty() && !n.contains('.')) {
            return Err(format!(
                "vaultUrl {url:?} is not a {} Key Vault: its host must be NAME{}",
                cloud.name(),
                cloud.vault_suffix()
            ));
        }
    }
    Ok(VaultUrl {
        base: format!("https://{}", authority.as_str().to_ascii_lowercase()),
        authority: authority.as_str().to_ascii_lowercase(),
    })
}

/// The parameters of a `WWW-Authenticate: Bearer k="v", k2="v2"` challenge (keys
/// lowercased); `None` when the header is not a Bearer challenge.
pub fn parse_challenge(header: &str) -> Option<BTreeMap<String, String>> {
    let rest = header.trim();
    let (scheme, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim(), &after[end..])
            }
        };
        params.insert(key, value.to_owned());
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(params)
}

/// Check a vault's 401 challenge: it must name the cloud's Key Vault resource (as `resource`,
/// or as `scope` = resource + `/.default`). Anything else means the URL does not lead to a
/// Key Vault of this cloud, and no token is asked for or sent.
pub fn check_challenge(header: Option<&str>, cloud: Cloud) -> Result<(), String> {
    let Some(header) = header else {
        return Err("the vault answered 401 without a WWW-Authenticate challenge".to_owned());
    };
    let params = parse_challenge(header)
        .ok_or_else(|| "the vault's 401 challenge is not a Bearer challenge".to_owned())?;
    let named = params.get("resource").map(String::as_str).or_else(|| {
        params
            .get("scope")
            .map(|s| s.strip_suffix("/.default").unwrap_or(s))
    });
    let Some(named) = named else {
        return Err("the vault's 401 challenge names no resource".to_owned());
    };
    if named.trim_end_matches('/') != cloud.vault_resource() {
        return Err(format!(
            "the vault's 401 challenge asks for a token for {named:?}, not for {} ({}): \
             refusing to send it one",
            cloud.vault_resource(),
            cloud.name()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_types_map_to_clouds() {
        assert_eq!(Cloud::from_spec(None), Ok(Cloud::Public));
        assert_eq!(
            Cloud::from_spec(Some("USGovernmentCloud")),
            Ok(Cloud::UsGovernment)
        );
        assert_eq!(
            Cloud::from_spec(Some("ChinaCloud")).map(Cloud::vault_suffix),
            Ok(".vault.azure.cn")
        );
        assert!(
            Cloud::from_spec(Some("GermanCloud"))
                .unwrap_err()
                .contains("not supported")
        );
        assert!(Cloud::from_spec(Some("public")).is_err());
        assert_eq!(
            Cloud::UsGovernment.vault_scope(),
            "https://vault.usgovcloudapi.net/.default"
        );
        assert_eq!(
            Cloud::China.authority_host(),
            "https://login.chinacloudapi.cn"
        );
    }

    #[test]
    fn vault_urls_must_carry_the_clouds_suffix() {
        let ok = check_vault_url("https://My-Vault.vault.azure.net/", Cloud::Public).unwrap();
        assert_eq!(ok.base(), "https://my-vault.vault.azure.net");
        assert!(check_vault_url("https://v.vault.usgovcloudapi.net", Cloud::UsGovernment).is_ok());
        for (url, cloud) in [
            ("https://v.vault.azure.net", Cloud::China),
            ("https://v.vault.azure.cn", Cloud::Public),
            ("https://evil.example.com", Cloud::Public),
            ("https://vault.azure.net", Cloud::Public),
            ("https://a.b.vault.azure.net", Cloud::Public),
            ("https://v.vault.azure.net.evil.com", Cloud::Public),
            ("http://v.vault.azure.net", Cloud::Public),
            ("https://v.vault.azure.net/secrets/x", Cloud::Public),
            ("https://user:pw@v.vault.azure.net", Cloud::Public),
            ("http://127.0.0.1:8443", Cloud::Public),
        ] {
            assert!(
                check_vault_url(url, cloud).is_err(),
                "{url} accepted for {cloud:?}"
            );
        }
        for url in [
            "https://127.0.0.1:8443",
            "https://localhost:1",
            "https://[::1]:9",
        ] {
            assert!(check_vault_url(url, Cloud::Public).is_ok(), "{url}");
        }
    }

    #[test]
    fn challenges_are_parsed_and_checked() {
        let header = r#"Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net""#;
        let params = parse_challenge(header).unwrap();
        assert_eq!(
            params["authorization"],
            "https://login.microsoftonline.com/t"
        );
        assert!(check_challenge(Some(header), Cloud::Public).is_ok());
        let err = check_challenge(Some(header), Cloud::UsGovernment).unwrap_err();
        assert!(err.contains("https://vault.usgovcloudapi.net"), "{err}");
        let scoped = r#"Bearer authorization_uri="x", scope="https://vault.azure.cn/.default""#;
        assert!(check_challenge(Some(scoped), Cloud::China).is_ok());
        let foreign = r#"Bearer authorization="x", resource="https://management.azure.com/""#;
        assert!(
            check_challenge(Some(foreign), Cloud::Public)
                .unwrap_err()
                .contains("management")
        );
        assert!(check_challenge(Some("Basic realm=x"), Cloud::Public).is_err());
        assert!(check_challenge(Some(r#"Bearer authorization="x""#), Cloud::Public).is_err());
        assert!(check_challenge(None, Cloud::Public).is_err());
    }
}
