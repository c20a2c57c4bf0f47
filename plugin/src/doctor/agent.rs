//! Collecting for the AGENT checks: the agent's key list (through the service proxy, public
//! facts only), its leader Lease, the key renewal period from its Deployment, our objects'
//! Ready conditions, and the CSI provider DaemonSet when SecretProviderClasses use it.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::api::{ClusterSecretStore, ExternalSecret, SecretStore};
use secrets_core::audit::Collected;
use secrets_core::audit::agent::{AgentFacts, LeaseFacts, NotReady, ProviderFacts};
use secrets_core::mount::PROVIDER_NAME;
use serde::de::DeserializeOwned;
use time::Duration;

use super::short_error;
use crate::agent::Agent;
use crate::cli::GlobalFlags;
use crate::cluster::{Cluster, is_not_found};

/// The agent's leader Lease (agent `run::controller::LEASE_NAME`).
const LEASE_NAME: &str = "secrets-agent-leader";
/// The agent's default `--key-renew-period`.
const DEFAULT_RENEW: Duration = Duration::days(30);
const RENEW_ENV: &str = "SECRETS_AGENT_KEY_RENEW_PERIOD";

pub(crate) async fn facts(cluster: &Cluster, global: &GlobalFlags) -> AgentFacts {
    let ns = global.agent_namespace.clone();
    let keys = match Agent::new(cluster, global).key_list().await {
        Ok(list) => Collected::Got(list),
        Err(err) => Collected::Unavailable(format!("{err:#}")),
    };
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), &ns);
    let lease = match leases.get_opt(LEASE_NAME).await {
        Ok(lease) => Collected::Got(lease.map(|l| lease_facts(&l))),
        Err(err) => {
            Collected::Unavailable(format!("get lease {LEASE_NAME}: {}", short_error(&err)))
        }
    };
    let objects = vec![
        not_ready::<SealedSecret>(cluster, "SealedSecret", conditions_sealed).await,
        not_ready::<ExternalSecret>(cluster, "ExternalSecret", |o| {
            o.status.as_ref().and_then(|s| ready(&s.conditions))
        })
        .await,
        not_ready::<SecretStore>(cluster, "SecretStore", |o| {
            o.status.as_ref().and_then(|s| ready(&s.conditions))
        })
        .await,
        not_ready::<ClusterSecretStore>(cluster, "ClusterSecretStore", |o| {
            o.status.as_ref().and_then(|s| ready(&s.conditions))
        })
        .await,
    ];
    let mounts_used = mounts_used(cluster).await;
    let provider = if mounts_used {
        provider(cluster).await
    } else {
        Collected::NotAsked
    };
    AgentFacts {
        renew_period: renew_period(cluster, &ns).await,
        namespace: ns,
        keys,
        lease,
        objects,
        provider,
        mounts_used,
    }
}

fn lease_facts(lease: &Lease) -> LeaseFacts {
    let spec = lease.spec.as_ref();
    let valid_until = spec.and_then(|s| {
        let renewed = s.renew_time.as_ref()?.0;
        let seconds = i64::from(s.lease_duration_seconds?);
        let renewed = time::OffsetDateTime::from_unix_timestamp(renewed.as_second()).ok()?;
        Some(renewed + Duration::seconds(seconds))
    });
    LeaseFacts {
        holder: spec.and_then(|s| s.holder_identity.clone()),
        valid_until,
    }
}

/// `(status, reason)` of a Ready condition.
fn ready(conditions: &[secrets_core::api::Condition]) -> Option<(String, String)> {
    secrets_core::api::ready_condition(conditions)
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
}

fn conditions_sealed(object: &SealedSecret) -> Option<(String, String)> {
    let status = object.status.as_ref()?;
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
}

async fn not_ready<K>(
    cluster: &Cluster,
    kind: &str,
    condition: impl Fn(&K) -> Option<(String, String)>,
) -> Collected<NotReady>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::all(cluster.client.clone());
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        // Not served: that part of the tool is not installed; nothing to judge.
        Err(err) if is_not_found(&err) => return Collected::NotAsked,
        Err(err) => return Collected::Unavailable(format!("list {kind}s: {}", short_error(&err))),
    };
    let mut facts = NotReady {
        kind: kind.to_owned(),
        total: list.items.len(),
        failing: Vec::new(),
    };
    for object in &list.items {
        let (status, reason) =
            condition(object).unwrap_or(("Unknown".to_owned(), "NoStatus".to_owned()));
        if status != "True" {
            let meta = object.meta();
            let name = match &meta.namespace {
                Some(ns) => format!("{ns}/{}", meta.name.as_deref().unwrap_or_default()),
                None => meta.name.clone().unwrap_or_default(),
            };
            facts.failing.push((name, reason));
        }
    }
    facts.failing.sort();
    Collected::Got(facts)
}

/// The agent Deployment's `--key-renew-period` (flag or environment), else the default.
async fn renew_period(cluster: &Cluster, ns: &str) -> Duration {
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let params = ListParams::default().labels("app.kubernetes.io/component=agent");
    let Ok(list) = api.list(&params).await else {
        return DEFAULT_RENEW;
    };
    let containers = list
        .items
        .into_iter()
        .filter_map(|d| d.spec?.template.spec)
        .flat_map(|s| s.containers);
    for container in containers {
        let from_env = container
            .env
            .iter()
            .flatten()
            .find(|e| e.name == RENEW_ENV)
            .and_then(|e| e.value.clone());
        let args = container.args.unwrap_or_default();
        let from_args = args.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix("--key-renew-period=")
                .map(str::to_owned)
                .or_else(|| {
                    (a == "--key-renew-period")
                        .then(|| args.get(i + 1).cloned())
                        .flatten()
                })
        });
        if let Some(period) = from_args.or(from_env).and_then(|t| parse_period(&t)) {
            return period;
        }
    }
    DEFAULT_RENEW
}

/// `30d`, `720h`, `90m`, `0`: the forms the agent's flag takes most often.
fn parse_period(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    match unit {
        "d" => Some(Duration::days(n)),
        "h" => Some(Duration::hours(n)),
        "m" => Some(Duration::minutes(n)),
        "s" => Some(Duration::seconds(n)),
        _ => None,
    }
}

/// Whether any SecretProviderClass names our provider.
async fn mounts_used(cluster: &Cluster) -> bool {
    let resource = crate::mount::spc::resource();
    let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &resource);
    let Ok(list) = api.list(&ListParams::default()).await else {
        return false;
    };
    list.items.iter().any(|spc| {
        spc.data
            .pointer("/spec/provider")
            .and_then(serde_json::Value::as_str)
            == Some(PROVIDER_NAME)
    })
}

async fn provider(cluster: &Cluster) -> Collected<Option<ProviderFacts>> {
    let api: Api<DaemonSet> = Api::all(cluster.client.clone());
    let params = ListParams::default().labels("app.kubernetes.io/component=csi-provider");
    let sets = match api.list(&params).await {
        Ok(list) => list.items,
        Err(err) => {
            return Collected::Unavailable(format!("list daemonsets: {}", short_error(&err)));
        }
    };
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let nodes = match nodes.list_metadata(&ListParams::default()).await {
        Ok(list) => list.items.len(),
        Err(err) => return Collected::Unavailable(format!("list nodes: {}", short_error(&err))),
    };
    Collected::Got(sets.first().map(|ds| {
        let status = ds.status.clone().unwrap_or_default();
        ProviderFacts {
            desired: status.desired_number_scheduled,
            ready: status.number_ready,
            nodes,
        }
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renewal_periods_read_in_the_agent_flag_forms() {
        use time::Duration;
        assert_eq!(super::parse_period("30d"), Some(Duration::days(30)));
        assert_eq!(super::parse_period("720h"), Some(Duration::hours(720)));
        assert_eq!(super::parse_period("0"), Some(Duration::ZERO));
        assert_eq!(super::parse_period("soon"), None);
        assert_eq!(super::parse_period("5w"), None);
    }
}
