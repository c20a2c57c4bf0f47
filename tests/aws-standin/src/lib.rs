//! aws-standin: test equipment in front of a real moto server. It forwards AWS Secrets
//! Manager and STS calls to moto unchanged while counting them per action, can inject
//! throttling, IAM denials and an outage, enforces the 20-id `BatchGetSecretValue` limit moto
//! lacks, and serves an EKS Pod Identity credentials endpoint. Never shipped; see the README
//! for where it differs from AWS.
//!
//! Data flow: [`AwsStandin::start`] starts a small tokio runtime of its own (so tests may block
//! without starving it, as `test_support::Cluster` does), binds a loopback port, and serves
//! every connection with `server::handle`. Tests point the agent's `AWS_ENDPOINT_URL` at
//! [`AwsStandin::url`] and steer and read it through [`AwsStandin::control`] (the
//! [`Control`]: counts, calls, faults, Pod Identity associations and token trust).

mod control;
pub mod pod_identity;
mod server;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use control::{Control, Decision, STATIC_PRINCIPAL, Throttle};
pub use wire::{
    ASSUME_ROLE, ASSUME_ROLE_FOR_POD_IDENTITY, ASSUME_ROLE_WITH_WEB_IDENTITY,
    BATCH_GET_SECRET_VALUE, BATCH_LIMIT, Call, GET_SECRET_VALUE, Outcome,
};

/// Failures of the stand-in itself.
#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    #[error("starting the AWS stand-in: {0}")]
    Start(String),
    #[error("serving a request: {0}")]
    Serve(String),
    /// An injected outage: the connection is closed without an answer.
    #[error("outage injected: connection closed")]
    Outage,
}

/// A running stand-in; dropping it stops serving.
pub struct AwsStandin {
    addr: SocketAddr,
    control: Arc<Control>,
    stop: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl AwsStandin {
    /// Forward to moto at `moto_url` (`http://127.0.0.1:PORT`) from a free loopback port.
    /// Works from plain and from async tests alike.
    pub fn start(moto_url: &str) -> Result<AwsStandin, StandinError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("aws-standin")
            .enable_all()
            .build()
            .map_err(|err| StandinError::Start(format!("building the runtime: {err}")))?;
        let control = Arc::new(Control::default());
        let state = Arc::new(server::State::new(control.clone(), moto_url));
        let (stop, stopped) = watch::channel(false);
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            match TcpListener::bind(("127.0.0.1", 0)).await {
                Ok(listener) => {
                    let _ = tx.send(listener.local_addr().map_err(|err| err.to_string()));
                    accept_loop(listener, state, stopped).await;
                }
                Err(err) => {
                    let _ = tx.send(Err(err.to_string()));
                }
            }
        });
        let addr = rx
            .recv()
            .map_err(|_| StandinError::Start("the runtime stopped".to_owned()))?
            .map_err(|err| StandinError::Start(format!("binding 127.0.0.1: {err}")))?;
        Ok(AwsStandin {
            addr,
            control,
            stop,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:PORT`: what `AWS_ENDPOINT_URL` takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Pod Identity credentials endpoint, `http://127.0.0.1:PORT/v1/credentials`.
    pub fn pod_identity_url(&self) -> String {
        format!("{}{}", self.url(), pod_identity::PATH)
    }

    /// Counts, calls and faults.
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }
}

impl std::fmt::Debug for AwsStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsStandin")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for AwsStandin {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        // Without blocking: a test may drop us from inside its own runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<server::State>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let state = state.clone();
        connections.spawn(async move {
            let service =
                hyper::service::service_fn(move |request| server::handle(state.clone(), request));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // An outage answer is an error from the service: hyper closes the connection.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}
