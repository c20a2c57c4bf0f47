//! `/version`, legacy discovery (`/api`, `/apis`, group and resource lists), aggregated
//! discovery v2 when the client asks for it, and the OpenAPI answer.

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::{Body, State, json};
use crate::api::ApiError;
use crate::http::routes::Route;

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub(super) fn version() -> Value {
    json!({
        "major": "1", "minor": "37", "gitVersion": "v1.37.0-standin", "gitCommit": "kube-standin",
        "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.25",
        "compiler": "gc", "platform": "linux/amd64",
    })
}

pub(super) fn serve(
    state: &State,
    route: &Route,
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let wants_aggregated = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.contains("as=APIGroupDiscoveryList") && accept.contains("v=v2")
        });
    if matches!(route, Route::OpenApi(path) if path == "v2") {
        return Ok(openapi_v2());
    }
    let registry = state.store.registry();
    let found = match route {
        Route::CoreVersions if wants_aggregated => {
            return Ok(aggregated(registry.aggregated(true)));
        }
        Route::Groups if wants_aggregated => return Ok(aggregated(registry.aggregated(false))),
        Route::CoreVersions => Some(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": state.address}],
        })),
        Route::Groups => Some(registry.api_group_list()),
        Route::Group(group) => registry.api_group(group),
        Route::Resources { group, version } => registry.resource_list(group, version),
        Route::OpenApi(path) => openapi(&registry, path),
        _ => None,
    };
    found
        .map(|value| json(StatusCode::OK, &value))
        .ok_or_else(|| ApiError::no_route(request.uri().path()))
}

fn aggregated(value: Value) -> Response<Body> {
    let mut response = json(StatusCode::OK, &value);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(AGGREGATED));
    response
}

/// OpenAPI v2, asked for by kubectl only to validate a `v1` `List` on the client (OpenAPI v3
/// has no List kind, so kubectl falls back to v2 for it): an empty protobuf document (no
/// definitions), on which kubectl's validator finds no schema and skips, so each item is then
/// validated by the server like any object.
fn openapi_v2() -> Response<Body> {
    let mut response = Response::new(super::full(bytes::Bytes::new()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
    );
    response
}

/// OpenAPI v3, just enough for kubectl: the root lists one document per group/version, and
/// each document declares, per kind, a PATCH operation taking `fieldValidation`. That tells
/// kubectl to validate on the server (which accepts any field) instead of downloading schemas.
/// There are no schemas, and OpenAPI v2 is an empty document; see the README.
fn openapi(registry: &crate::registry::Registry, path: &str) -> Option<Value> {
    let prefix = |group: &str, version: &str| {
        if group.is_empty() {
            format!("api/{version}")
        } else {
            format!("apis/{group}/{version}")
        }
    };
    match path {
        "v3" | "v3/" => {
            let mut paths = serde_json::Map::new();
            for def in registry.all() {
                let gv = prefix(&def.group, &def.version);
                paths.insert(gv.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={}", registry.all().len())}));
            }
            Some(json!({"paths": paths}))
        }
        _ => {
            let gv = path.strip_prefix("v3/")?;
            let defs: Vec<_> = registry
                .all()
                .iter()
                .filter(|d| prefix(&d.group, &d.version) == gv)
                .collect();
            if defs.is_empty() {
                return None;
            }
            let mut paths = serde_json::Map::new();
            for def in defs {
                let scope = if def.namespaced {
                    "namespaces/{namespace}/"
                } else {
                    ""
                };
                let gvk = json!({"group": def.group, "version": def.version, "kind": def.kind});
                let param = json!([{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}]);
                paths.insert(
                    format!("/{gv}/{scope}{}/{{name}}", def.plural),
                    json!({"patch": {"x-kubernetes-group-version-kind": gvk, "parameters": param, "responses": {}}}),
                );
            }
            Some(json!({
                "openapi": "3.0.0",
                "info": {"title": "kube-standin", "version": "v1.37.0"},
                "paths": paths,
                "components": {"schemas": {}},
            }))
        }
    }
}
