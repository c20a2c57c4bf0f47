//! Connections and dispatch: TLS accept, HTTP/1.1 or h2 per connection, every request read
//! whole (bodies are small forms) and routed to the token endpoint or the vault routes.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::state::State;
use crate::{entra, vault};

/// Largest request body read: a form with a service-account token fits many times over.
const MAX_BODY: usize = 64 * 1024;

pub(crate) async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let state = state.clone();
        let acceptor = acceptor.clone();
        let mut stop = stopped.clone();
        connections.spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! { _ = conn => {}, _ = stop.changed() => {} }
        });
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

async fn handle(
    state: Arc<State>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(respond(
                400,
                &serde_json::json!({"error": "body too large"}),
                &[],
            ));
        }
    };
    let path = parts.uri.path();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(ToString::to_string))
        .unwrap_or_default();
    let base = format!("https://{host}");
    let token_tenant = path
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix("/oauth2/v2.0/token"))
        .filter(|t| !t.is_empty() && !t.contains('/'));
    if let Some(tenant) = token_tenant {
        if parts.method != Method::POST {
            return Ok(respond(
                405,
                &serde_json::json!({"error": "method not allowed"}),
                &[],
            ));
        }
        let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let (status, answer) = entra::token(&mut state.lock(), tenant, &form);
        return Ok(respond(status, &answer, &[]));
    }
    if parts.method != Method::GET {
        let (status, answer) = vault::error(405, "BadParameter", None, "Only reads are served.");
        return Ok(respond(status, &answer, &[]));
    }
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let call = vault::Call {
        base: base.clone(),
        path,
        query,
        bearer,
    };
    // The challenge names the authority with the vault's tenant; the stand-in has no tenant
    // of its own, so it names its own host (clients use their configured tenant).
    let authority = format!("{base}/common");
    let answer = vault::handle(&mut state.lock(), &call, &authority);
    let (status, body) = answer.answer;
    Ok(respond(status, &body, &answer.headers))
}

fn respond(
    status: u16,
    body: &serde_json::Value,
    headers: &[(&'static str, String)],
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    map.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    for (name, value) in headers {
        if let Ok(value) = header::HeaderValue::from_str(value) {
            map.insert(*name, value);
        }
    }
    response
}
