//! kube-standin: a stateful stand-in for the Kubernetes API server, for our tests and demo.
//! Test equipment only: never part of the chart or the agent image. See the README for what
//! it does and where it differs from kube-apiserver.
//!
//! Data flow: [`StandIn::start`] binds a loopback port, makes a CA and serving certificate
//! ([`pki`]) and a token signer ([`tokens`]), and serves every connection with [`http`]; the
//! handlers read and write the [`store`], which keeps objects, the resourceVersion counter and
//! the event log watches read. A background task collects garbage (owners gone, namespaces
//! terminating) whenever a delete asks for it.

pub mod api;
pub mod canned;
pub mod control;
pub mod http;
pub mod managed_fields;
pub mod patch;
pub mod pki;
pub mod registry;
pub mod selectors;
pub mod store;
pub mod tokens;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use canned::{AuthzRule, AuthzTable, HealthCheck};
pub use control::{Control, Fault};
pub use store::Store;

/// How to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (port 0: a free one).
    pub listen: SocketAddr,
    /// Serve HTTPS with a self-signed CA (otherwise plain HTTP).
    pub tls: bool,
    /// Watch events kept for resumption.
    pub history: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            history: store::DEFAULT_HISTORY,
        }
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    addr: SocketAddr,
    tls: bool,
    ca_pem: String,
    state: Arc<http::State>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl StandIn {
    /// Start serving in this tokio runtime.
    pub async fn start(config: Config) -> anyhow::Result<StandIn> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let pki = pki::Pki::generate(&["127.0.0.1", "localhost", "::1"])
            .context("making the serving certificate")?;
        let tls = if config.tls {
            Some(tokio_rustls::TlsAcceptor::from(pki.server_config()?))
        } else {
            None
        };
        let scheme = if config.tls { "https" } else { "http" };
        let mut admin = [0u8; 24];
        aws_lc_rs::rand::fill(&mut admin)
            .map_err(|_| anyhow::anyhow!("drawing the admin token"))?;
        let admin_token: String = admin.iter().map(|b| format!("{b:02x}")).collect();
        let state = Arc::new(http::State {
            store: Store::new(config.history),
            control: Arc::new(Control::default()),
            tokens: tokens::TokenSigner::new("https://kubernetes.default.svc.cluster.local")
                .context("making the token signer")?,
            admin_token,
            address: format!("{scheme}://{addr}"),
            proxy_client: http::proxy::client(),
        });
        let (stop, stopped) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, tls, state.clone(), stopped.clone()));
        let gc = tokio::spawn(background(state.store.clone(), stopped));
        Ok(StandIn {
            addr,
            tls: config.tls,
            ca_pem: pki.ca_pem,
            state,
            stop,
            tasks: vec![accept, gc],
        })
    }

    /// `https://127.0.0.1:PORT` (or `http://`).
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The admin bearer token.
    pub fn admin_token(&self) -> &str {
        &self.state.admin_token
    }

    /// The object store, for assertions and setup without HTTP.
    pub fn store(&self) -> &Arc<Store> {
        &self.state.store
    }

    /// Faults and request counts.
    pub fn control(&self) -> &Arc<Control> {
        &self.state.control
    }

    /// The service-account token signer (its public key, for verifiers).
    pub fn tokens(&self) -> &tokens::TokenSigner {
        &self.state.tokens
    }

    /// A kubeconfig (context `standin`, namespace `default`) that kube-rs and kubectl accept.
    pub fn kubeconfig_yaml(&self) -> String {
        use base64::Engine as _;
        let cluster = if self.tls {
            let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
            format!(
                "    server: {}\n    certificate-authority-data: {ca}\n",
                self.url()
            )
        } else {
            format!("    server: {}\n", self.url())
        };
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: standin\nclusters:\n- name: standin\n  cluster:\n{cluster}\
             users:\n- name: admin\n  user:\n    token: {}\ncontexts:\n- name: standin\n  context:\n    cluster: standin\n    user: admin\n    namespace: default\npreferences: {{}}\n",
            self.admin_token()
        )
    }

    /// Write the kubeconfig with mode 0600 (it holds the admin token).
    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.write_all(self.kubeconfig_yaml().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Stop accepting, end the background task, and wait for both.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<http::State>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let state = state.clone();
        let tls = tls.clone();
        let mut stop = stopped.clone();
        connections.spawn(async move {
            // The caller's address rides with each request, for the service proxy's
            // X-Forwarded-For.
            let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                request.extensions_mut().insert(http::Peer(peer));
                http::handle(state.clone(), request)
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::select! { _ = conn => {}, _ = stop.changed() => {} }
                }
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::select! { _ = conn => {}, _ = stop.changed() => {} }
                }
            }
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

/// Garbage collection and namespace cleanup, after every delete (kube-controller-manager's
/// job in a real cluster, asynchronous there too).
async fn background(store: Arc<Store>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = store.background_wanted() => { store.collect_garbage(); }
            _ = stopped.changed() => return,
        }
    }
}
