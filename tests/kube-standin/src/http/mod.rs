//! The HTTP front: TLS (or plain HTTP), bearer-token authentication, fault injection and
//! request counting, then dispatch to discovery, resources, watches, tokens or the service
//! proxy. Every failure leaves as a Kubernetes `Status` object.

mod discovery;
pub mod proxy;
mod resources;
mod reviews;
pub mod routes;
mod table;
mod tokens;
mod watch;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use serde_json::Value;

use crate::api::ApiError;
use crate::control::Control;
use crate::store::Store;
use crate::tokens::{DEFAULT_AUDIENCE, TokenSigner};
use routes::Route;

/// Error type of response bodies (proxied bodies can fail mid-stream).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Response body: full JSON or a stream (watch, proxy).
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Largest request body accepted (kube-apiserver's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// What every handler shares.
pub struct State {
    /// Objects.
    pub store: Arc<Store>,
    /// Faults and counters.
    pub control: Arc<Control>,
    /// Service-account tokens.
    pub tokens: TokenSigner,
    /// The admin bearer token.
    pub admin_token: String,
    /// Server URL, for discovery's serverAddressByClientCIDRs.
    pub address: String,
    /// Client for the service proxy.
    pub proxy_client: proxy::ProxyClient,
}

/// The address a request came from (a request extension set by the accept loop).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Handle one request end to end.
pub async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let response = match serve(&state, request).await {
        Ok(response) => response,
        Err(err) => status_response(&err),
    };
    Ok(response)
}

async fn serve(state: &State, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path().to_owned();
    let route = routes::parse(&path).ok_or_else(|| ApiError::no_route(&path))?;
    if !matches!(route, Route::Version | Route::Health(_)) {
        authenticate(state, &request)?;
    }
    // The control paths are exempt from fault rules (and not counted): a rule without a
    // resource must not make `/_standin/faults` itself fail, or it could never be cleared.
    if !matches!(route, Route::Control(_)) {
        let (resource, verb) = describe(&route, request.method(), request.uri().query());
        let decision = state.control.on_request(&resource, &verb);
        if !decision.delay.is_zero() {
            tokio::time::sleep(decision.delay).await;
        }
        if let Some(code) = decision.fail_with {
            return Err(ApiError::injected(code));
        }
    }
    match route {
        Route::Version => Ok(json(StatusCode::OK, &discovery::version())),
        Route::Health(endpoint) => {
            let verbose = routes::query(request.uri().query()).contains_key("verbose");
            let checks = state.control.health_checks();
            let (ok, body) = crate::canned::health(&endpoint, &checks, verbose);
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            Ok(text(status, body, "text/plain; charset=utf-8"))
        }
        Route::Metrics => Ok(text(
            StatusCode::OK,
            crate::canned::metrics(&state.control.metrics()),
            "text/plain; version=0.0.4; charset=utf-8",
        )),
        Route::CoreVersions
        | Route::Groups
        | Route::Group(_)
        | Route::Resources { .. }
        | Route::OpenApi(_) => discovery::serve(state, &route, &request),
        Route::Control(action) => {
            let method = request.method().clone();
            let body = read_body(request).await?;
            control(state, &method, &action, &body)
        }
        Route::ServiceProxy {
            namespace,
            service,
            path,
        } => proxy::forward(state, &namespace, &service, &path, request).await,
        Route::Object(object) => resources::serve(state, object, request).await,
    }
}

/// Admin token, or a service-account token this server issued for its default audience.
fn authenticate(state: &State, request: &Request<Incoming>) -> Result<(), ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    if constant_time_eq(token.as_bytes(), state.admin_token.as_bytes()) {
        return Ok(());
    }
    let review = state.tokens.review(
        token,
        &[DEFAULT_AUDIENCE.to_owned()],
        time::OffsetDateTime::now_utc(),
        &tokens::StoreObjects(&state.store),
    );
    if review.authenticated {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The (resource, verb) a request counts as, in kube-apiserver's audit vocabulary.
fn describe(route: &Route, method: &Method, query: Option<&str>) -> (String, String) {
    match route {
        Route::Object(o) => {
            let resource = match &o.subresource {
                Some(sub) => format!("{}/{sub}", o.plural),
                None => o.plural.clone(),
            };
            let watch = routes::query(query)
                .get("watch")
                .is_some_and(|w| w == "true" || w == "1");
            let verb = match (method.as_str(), o.name.is_some()) {
                ("GET", true) => "get",
                ("GET", false) if watch => "watch",
                ("GET", false) => "list",
                ("POST", _) => "create",
                ("PUT", _) => "update",
                ("PATCH", _) => "patch",
                ("DELETE", true) => "delete",
                ("DELETE", false) => "deletecollection",
                _ => "unknown",
            };
            (resource, verb.to_owned())
        }
        Route::ServiceProxy { .. } => ("services/proxy".to_owned(), method.as_str().to_lowercase()),
        _ => ("discovery".to_owned(), "get".to_owned()),
    }
}

fn control(
    state: &State,
    method: &Method,
    action: &str,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let ok = |value: Value| Ok(json(StatusCode::OK, &value));
    match (method.as_str(), action) {
        ("GET", "faults") => ok(serde_json::to_value(state.control.faults()).unwrap_or_default()),
        ("POST", "faults") => {
            let fault = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("decoding fault: {e}")))?;
            state.control.inject(fault);
            ok(serde_json::json!({"injected": true}))
        }
        ("DELETE", "faults") => {
            state.control.clear_faults();
            ok(serde_json::json!({"cleared": true}))
        }
        ("GET", "requests") => ok(serde_json::to_value(state.control.counts()).unwrap_or_default()),
        ("DELETE", "requests") => {
            state.control.reset_counts();
            ok(serde_json::json!({"reset": true}))
        }
        ("GET", "authz") => ok(serde_json::to_value(state.control.authz()).unwrap_or_default()),
        ("PUT", "authz") => {
            let decoded: AuthzBody = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("decoding the authz table: {e}")))?;
            let table = match decoded {
                AuthzBody::Table(table) => table,
                // A bare list replaces the rules and keeps the default.
                AuthzBody::Rules(rules) => crate::canned::AuthzTable {
                    rules,
                    ..state.control.authz()
                },
            };
            state.control.set_authz(table);
            ok(serde_json::json!({"set": true}))
        }
        ("DELETE", "authz") => {
            state
                .control
                .set_authz(crate::canned::AuthzTable::default());
            ok(serde_json::json!({"reset": true}))
        }
        ("GET", "healthchecks") => {
            ok(serde_json::to_value(state.control.health_checks()).unwrap_or_default())
        }
        ("PUT", "healthchecks") => {
            let checks = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("decoding health checks: {e}")))?;
            state.control.set_health_checks(checks);
            ok(serde_json::json!({"set": true}))
        }
        ("PUT", "metrics") => {
            let text = std::str::from_utf8(body)
                .map_err(|e| ApiError::bad_request(format!("metrics are not UTF-8: {e}")))?;
            state.control.set_metrics(text);
            ok(serde_json::json!({"set": true}))
        }
        ("POST", "compact") => {
            state.store.compact();
            ok(serde_json::json!({"compactedAt": state.store.resource_version()}))
        }
        _ => Err(ApiError::no_route(&format!("/_standin/{action}"))),
    }
}

/// `PUT /_standin/authz` takes the whole table or just its rules.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum AuthzBody {
    Table(crate::canned::AuthzTable),
    Rules(Vec<crate::canned::AuthzRule>),
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(request.into_body(), MAX_BODY);
    limited
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn status_response(err: &ApiError) -> Response<Body> {
    json(
        StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &err.to_status(),
    )
}
