//! The service proxy: `/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH` goes to
//! an address of the Service's Endpoints, as kube-apiserver does. Tests point Endpoints at
//! loopback ports. The caller's address is appended to `X-Forwarded-For`, as kube-apiserver
//! appends it. Plain HTTP only (`https:` services are refused, see the README).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use serde_json::Value;

use super::{Body, BoxError, Peer, State, read_body};
use crate::api::ApiError;

pub(super) async fn forward(
    state: &State,
    ns: &str,
    service: &str,
    path: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let (scheme, name, port) = match service.split(':').collect::<Vec<_>>().as_slice() {
        [name] => ("http", *name, None),
        [name, port] => ("http", *name, Some(*port).filter(|p| !p.is_empty())),
        [scheme, name, port] => (*scheme, *name, Some(*port).filter(|p| !p.is_empty())),
        _ => {
            return Err(ApiError::bad_request(format!(
                "invalid service proxy target {service:?}"
            )));
        }
    };
    if scheme != "http" && !scheme.is_empty() {
        return Err(ApiError::service_unavailable(format!(
            "scheme {scheme:?} is not supported by kube-standin's proxy"
        )));
    }
    let (services, endpoints) = match (
        state.store.def("", "v1", "services"),
        state.store.def("", "v1", "endpoints"),
    ) {
        (Some(s), Some(e)) => (s, e),
        _ => return Err(ApiError::internal("services are not served")),
    };
    let svc = state.store.get(&services, Some(ns), name)?;
    let target = pick(&svc, port, name)?;
    let eps = state.store.get(&endpoints, Some(ns), name).map_err(|_| {
        ApiError::service_unavailable(format!("no endpoints available for service \"{name}\""))
    })?;
    let address = endpoint(&eps, &target).ok_or_else(|| {
        ApiError::service_unavailable(format!("no endpoints available for service \"{name}\""))
    })?;

    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let uri: Uri = format!("http://{address}{path}{query}")
        .parse()
        .map_err(|e| ApiError::bad_request(format!("building the proxied URL: {e}")))?;
    let method = request.method().clone();
    let mut headers = request.headers().clone();
    if let Some(Peer(peer)) = request.extensions().get::<Peer>() {
        forwarded_for(&mut headers, peer.ip())?;
    }
    let body = read_body(request).await?;
    let mut out = Request::builder().method(method).uri(uri);
    for (key, value) in &headers {
        // Our credentials stay here; hop-by-hop headers are for this hop.
        if key != header::AUTHORIZATION && key != header::HOST && key != header::CONNECTION {
            out = out.header(key, value);
        }
    }
    let out = out
        .body(Full::new(body))
        .map_err(|e| ApiError::internal(format!("building the proxied request: {e}")))?;
    let response = state.proxy_client.request(out).await.map_err(|e| {
        ApiError::service_unavailable(format!("error trying to reach service: {e}"))
    })?;
    Ok(response.map(|b: Incoming| b.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()))
}

/// Append the caller's address to `X-Forwarded-For` as kube-apiserver's proxy does (Go's
/// reverse proxy): `existing, caller`, several header lines joined first; IPv6 without
/// brackets.
fn forwarded_for(headers: &mut HeaderMap, caller: std::net::IpAddr) -> Result<(), ApiError> {
    let caller = match caller {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        v4 => v4.to_string(),
    };
    let prior: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = if prior.is_empty() {
        caller
    } else {
        format!("{}, {caller}", prior.join(", "))
    };
    let value = HeaderValue::from_str(&value)
        .map_err(|e| ApiError::bad_request(format!("building X-Forwarded-For: {e}")))?;
    headers.insert("x-forwarded-for", value);
    Ok(())
}

/// The Service port addressed: by name, by number, or the first.
struct Target {
    name: Option<String>,
    target_port: Option<Value>,
}

fn pick(svc: &Value, port: Option<&str>, name: &str) -> Result<Target, ApiError> {
    let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    let chosen = match port {
        None => ports.first(),
        Some(p) => ports.iter().find(|sp| {
            sp["name"].as_str() == Some(p)
                || sp["port"].as_u64().is_some_and(|n| n.to_string() == p)
        }),
    };
    let chosen = chosen.ok_or_else(|| {
        ApiError::service_unavailable(format!(
            "no service port {:?} found for service \"{name}\"",
            port.unwrap_or("")
        ))
    })?;
    Ok(Target {
        name: chosen["name"].as_str().map(str::to_owned),
        target_port: Some(
            chosen
                .get("targetPort")
                .cloned()
                .unwrap_or_else(|| chosen["port"].clone()),
        ),
    })
}

fn endpoint(eps: &Value, target: &Target) -> Option<String> {
    for subset in eps["subsets"].as_array()? {
        let Some(ip) = subset["addresses"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|a| a["ip"].as_str())
        else {
            continue;
        };
        let ports = subset["ports"].as_array().cloned().unwrap_or_default();
        let by_name = ports
            .iter()
            .find(|p| p["name"].as_str().is_some() && p["name"].as_str() == target.name.as_deref());
        let port = match (by_name, &target.target_port) {
            (Some(p), _) => p["port"].as_u64(),
            (None, Some(Value::Number(n))) => n.as_u64(),
            (None, _) => ports.first().and_then(|p| p["port"].as_u64()),
        };
        if let Some(port) = port {
            return Some(if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            });
        }
    }
    None
}

/// The client used to reach proxied services.
pub type ProxyClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// A new proxy client.
pub fn client() -> ProxyClient {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}
