//! The HTTP/1.1 server: one task per connection, each request read whole (bounded), routed by
//! host-independent path to Secret Manager, STS or IAM Credentials, answered with a [`Reply`].

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::reply::Reply;
use crate::{Config, Control, iam, secrets, sts};

/// Largest request body read.
const MAX_BODY: usize = 1 << 20;

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) control: Arc<Control>,
}

/// What a handler sees of a request.
pub(crate) struct Req {
    pub(crate) method: http::Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) bearer: Option<String>,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

impl Req {
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, request).await) }
            });
            // A client that hangs up mid-request is its own business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = match read(request).await {
        Ok(incoming) => route(shared, &incoming),
        Err(reply) => reply,
    };
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    response
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn read(request: Request<Incoming>) -> Result<Req, Reply> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|_| Reply::google(413, "INVALID_ARGUMENT", "request body too large"))?
        .to_bytes();
    let header = |name: http::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let authorization = header(http::header::AUTHORIZATION);
    let bearer = authorization
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned());
    let query = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    Ok(Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        bearer,
        content_type: header(http::header::CONTENT_TYPE),
        body,
    })
}

fn route(shared: &Shared, request: &Req) -> Reply {
    let path = request.path.as_str();
    if path == "/v1/token" {
        return sts::token(shared, request);
    }
    if let Some(rest) = path.strip_prefix("/v1/projects/-/serviceAccounts/") {
        return iam::generate_access_token(shared, request, rest);
    }
    if let Some(rest) = path.strip_prefix("/v1/projects/") {
        return secrets::handle(shared, request, rest);
    }
    Reply::not_route()
}
