//! The accept loop the servers (API, metrics, and the mount endpoint over TLS) run on, with a
//! bounded graceful shutdown.
//!
//! Data flow: accept a TCP connection (at most [`MAX_CONNECTIONS`] open at once), complete the
//! TLS handshake when the server has an acceptor (within [`HEADER_TIMEOUT`]), serve it with
//! hyper (HTTP/1.1 or HTTP/2, headers within [`HEADER_TIMEOUT`]), and hand each request with
//! the peer address to the caller's handler. When `shutdown` resolves the listener is closed,
//! every connection is told to finish its in-flight requests and close, and the loop waits up
//! to [`GRACE`] for them before dropping whatever is left.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::rt::{Read, Write};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// What every handler answers with.
pub(super) type Reply = Response<Full<Bytes>>;

/// Most connections served at once; further clients wait in the listen backlog.
const MAX_CONNECTIONS: usize = 1024;
/// Time a client has to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Most concurrent HTTP/2 streams per connection.
const MAX_STREAMS: u32 = 32;
/// How long in-flight requests get to finish after shutdown.
pub(super) const GRACE: Duration = Duration::from_secs(10);

/// Serve `listener` with `handler` until `shutdown` resolves, then drain (bounded by [`GRACE`]).
pub(super) async fn run<H, F>(
    listener: TcpListener,
    name: &'static str,
    handler: H,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    run_with(listener, name, None, handler, shutdown).await
}

/// [`run`], every connection through TLS with `tls` first.
pub(super) async fn run_with<H, F>(
    listener: TcpListener,
    name: &'static str,
    tls: Option<TlsAcceptor>,
    handler: H,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS);
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => permit?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(server = name, error = %crate::telemetry::error_chain(&err), "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let builder = Arc::clone(&builder);
        let handler = handler.clone();
        let stop = stop_rx.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            let Some(tls) = tls else {
                return serve(&builder, TokioIo::new(stream), name, peer, handler, stop).await;
            };
            match tokio::time::timeout(HEADER_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    serve(&builder, TokioIo::new(stream), name, peer, handler, stop).await;
                }
                Ok(Err(err)) => {
                    tracing::debug!(server = name, error = %crate::telemetry::error_chain(&err), "tls handshake failed");
                }
                Err(_) => tracing::debug!(server = name, "tls handshake timed out"),
            }
        });
    }

    drop(listener);
    // Nobody may be listening any more: that only means no connection is open.
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            server = name,
            open = connections.len(),
            "connections still open after the shutdown grace period; closing them"
        );
        connections.shutdown().await;
    }
    tracing::info!(server = name, "http server stopped");
    Ok(())
}

/// Serve one connection until it ends, or finish its in-flight requests on shutdown.
async fn serve<I, H, F>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    name: &'static str,
    peer: SocketAddr,
    handler: H,
    mut stop: watch::Receiver<bool>,
) where
    I: Read + Write + Unpin + Send + 'static,
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let service = service_fn(move |request| {
        let answer = handler(request, peer);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = outcome {
        tracing::debug!(server = name, error = %crate::telemetry::error_chain(&*err), "connection ended with an error");
    }
}

/// Resolves once shutdown is signalled (or the signal can no longer come).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
