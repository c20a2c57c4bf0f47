//! Where the store's requests go: the overrides the SDKs honour (`AWS_ENDPOINT_URL_SECRETS_MANAGER`
//! and `AWS_ENDPOINT_URL_STS` before `AWS_ENDPOINT_URL`), else the public regional endpoints
//! (`https://secretsmanager.<region>.amazonaws.com`, `.amazonaws.com.cn` in the China regions),
//! and the EKS Pod Identity agent. Pure: the caller checks the results with the shared
//! client's `check_endpoint` (https, or http only to loopback: SigV4 signs, it does not
//! encrypt) — except the Pod Identity agent, which is plain http on its link-local address by
//! design and is allowed there ([`pod_identity_host_ok`]).

use crate::error::AwsError;

/// The EKS Pod Identity agent's credentials endpoint.
pub const POD_IDENTITY_URL: &str = "http://169.254.170.23/v1/credentials";

/// Endpoint overrides, as read from the environment.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overrides<'a> {
    /// `AWS_ENDPOINT_URL`.
    pub(crate) any: Option<&'a str>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
    pub(crate) secrets_manager: Option<&'a str>,
    /// `AWS_ENDPOINT_URL_STS`.
    pub(crate) sts: Option<&'a str>,
    /// The Pod Identity agent URL.
    pub(crate) pod_identity: Option<&'a str>,
}

/// The endpoints for one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// Secrets Manager, ending in `/`.
    pub(crate) secrets_manager: String,
    /// STS, ending in `/`.
    pub(crate) sts: String,
    /// The Pod Identity agent's credentials URL.
    pub(crate) pod_identity: String,
}

/// Whether `region` is a region name (it becomes part of a host name).
pub(crate) fn region_ok(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 64
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

fn set(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn base(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// The endpoints for `region` with `overrides`.
pub(crate) fn resolve(region: &str, overrides: Overrides<'_>) -> Result<Resolved, AwsError> {
    if !region_ok(region) {
        return Err(AwsError::invalid_config(format!(
            "spec.provider.aws.region {region:?} is not a region name (such as eu-west-1)"
        )));
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let any = set(overrides.any);
    let secrets_manager = set(overrides.secrets_manager)
        .or(any)
        .map(base)
        .unwrap_or_else(|| format!("https://secretsmanager.{region}.{suffix}/"));
    let sts = set(overrides.sts)
        .or(any)
        .map(base)
        .unwrap_or_else(|| format!("https://sts.{region}.{suffix}/"));
    let pod_identity = set(overrides.pod_identity)
        .unwrap_or(POD_IDENTITY_URL)
        .to_owned();
    Ok(Resolved {
        secrets_manager,
        sts,
        pod_identity,
    })
}

/// Whether plain http may go to `host` for the Pod Identity agent: its link-local addresses
/// (IPv4 and IPv6), or loopback.
pub(crate) fn pod_identity_host_ok(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if matches!(host, "169.254.170.23" | "fd00:ec2::23" | "localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_endpoints_by_region() {
        let r = resolve("eu-west-1", Overrides::default()).unwrap();
        assert_eq!(
            r.secrets_manager,
            "https://secretsmanager.eu-west-1.amazonaws.com/"
        );
        assert_eq!(r.sts, "https://sts.eu-west-1.amazonaws.com/");
        assert_eq!(r.pod_identity, POD_IDENTITY_URL);
        let cn = resolve("cn-north-1", Overrides::default()).unwrap();
        assert_eq!(cn.sts, "https://sts.cn-north-1.amazonaws.com.cn/");
    }

    #[test]
    fn service_specific_overrides_win() {
        let r = resolve(
            "us-east-1",
            Overrides {
                any: Some("http://127.0.0.1:5000"),
                secrets_manager: Some("https://vpce.example/"),
                sts: None,
                pod_identity: Some("http://127.0.0.1:9/creds"),
            },
        )
        .unwrap();
        assert_eq!(r.secrets_manager, "https://vpce.example/");
        assert_eq!(r.sts, "http://127.0.0.1:5000/");
        assert_eq!(r.pod_identity, "http://127.0.0.1:9/creds");
        let blank = resolve(
            "us-east-1",
            Overrides {
                any: Some(" "),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(blank.sts, "https://sts.us-east-1.amazonaws.com/");
    }

    #[test]
    fn regions_are_checked() {
        for bad in ["", "EU-WEST-1", "eu-west-1.evil.com/", "-a", "a b"] {
            assert!(resolve(bad, Overrides::default()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pod_identity_hosts() {
        for ok in [
            "169.254.170.23",
            "[fd00:ec2::23]",
            "127.0.0.1",
            "[::1]",
            "localhost",
        ] {
            assert!(pod_identity_host_ok(ok), "{ok}");
        }
        for bad in ["169.254.169.254", "example.com", "10.0.0.1"] {
            assert!(!pod_identity_host_ok(bad), "{bad}");
        }
    }
}
