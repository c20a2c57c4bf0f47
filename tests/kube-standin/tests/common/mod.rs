//! Start a stand-in and a kube-rs client for it.
#![allow(dead_code, unreachable_pub)]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: failing loudly is the point"
)]

use std::future::Future;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_standin::{Config, StandIn};

pub async fn start() -> (StandIn, kube::Client) {
    let standin = StandIn::start(Config::default()).await.unwrap();
    let client = client_for(&standin).await;
    (standin, client)
}

pub async fn client_for(standin: &StandIn) -> kube::Client {
    let kubeconfig = Kubeconfig::from_yaml(&standin.kubeconfig_yaml()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Poll `check` until it returns true, failing after `timeout` with `what`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
