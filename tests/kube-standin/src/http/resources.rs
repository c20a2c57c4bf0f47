//! Handlers for resource paths: get, list, watch, create, update, patch (four types),
//! delete, the `/status` subresource; TokenRequest and TokenReview go to `tokens`, the
//! access reviews to `reviews`.

use std::collections::HashMap;

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::routes::{self, ObjectRoute};
use super::{Body, State, json, read_body, reviews, table, tokens, watch};
use crate::api::{ApiError, Target, success_status};
use crate::managed_fields;
use crate::patch;
use crate::registry::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{DeleteOptions, Manager, Store, Subresource};

pub(super) async fn serve(
    state: &State,
    o: ObjectRoute,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path().to_owned();
    let def = state
        .store
        .def(&o.group, &o.version, &o.plural)
        .ok_or_else(|| ApiError::no_route(&path))?;
    if def.namespaced != o.namespace.is_some()
        && (o.name.is_some() || request.method() != Method::GET)
    {
        return Err(ApiError::no_route(&path));
    }
    let query = routes::query(request.uri().query());
    let accept = header_str(&request, header::ACCEPT);
    let content_type = header_str(&request, header::CONTENT_TYPE).unwrap_or_default();
    let user_agent = header_str(&request, header::USER_AGENT).unwrap_or_default();
    let method = request.method().clone();
    let ns = o.namespace.as_deref();
    let sub = match o.subresource.as_deref() {
        None => Subresource::Main,
        Some("status") if def.status_subresource => Subresource::Status,
        Some("token") if def.plural == "serviceaccounts" && method == Method::POST => {
            let body = read_json(request).await?;
            return tokens::token_request(
                state,
                ns.unwrap_or_default(),
                o.name.as_deref().unwrap_or_default(),
                &body,
            );
        }
        Some(_) => return Err(ApiError::no_route(&path)),
    };
    let store = &state.store;
    match (method.as_str(), o.name.as_deref()) {
        ("GET", None) if flag(&query, "watch") => watch::serve(store, &def, ns, &query),
        ("GET", None) => list(store, &def, ns, &query, accept.as_deref()),
        ("GET", Some(name)) => {
            let object = store.get(&def, ns, name)?;
            if table::wanted(accept.as_deref()) {
                let rv = object["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                return Ok(json(StatusCode::OK, &table::render(&def, &[&object], &rv)));
            }
            Ok(json(StatusCode::OK, &object))
        }
        ("POST", None) if def.group == "authorization.k8s.io" => {
            reviews::access_review(state, &def, ns, request).await
        }
        ("POST", None) if def.plural == "tokenreviews" => {
            let body = read_json(request).await?;
            Ok(tokens::token_review(state, &body))
        }
        ("POST", None) => {
            let manager = field_manager(&query, &user_agent, "CreateOptions")?;
            let body = read_json(request).await?;
            Ok(json(
                StatusCode::CREATED,
                &store.create_as(&def, ns, body, Manager::Update(&manager))?,
            ))
        }
        ("PUT", Some(name)) => {
            let manager = field_manager(&query, &user_agent, "UpdateOptions")?;
            let body = read_json(request).await?;
            Ok(json(
                StatusCode::OK,
                &store.update_as(&def, ns, name, body, sub, Manager::Update(&manager))?,
            ))
        }
        ("PATCH", Some(name)) => {
            let given = query.get("fieldManager").filter(|m| !m.is_empty()).cloned();
            let manager = field_manager(&query, &user_agent, "PatchOptions")?;
            let body = read_body(request).await?;
            let request = PatchRequest {
                content_type: &content_type,
                given,
                manager,
                body: &body,
            };
            patch_object(store, &def, ns, name, sub, &request)
        }
        ("DELETE", Some(name)) if sub == Subresource::Main => {
            let body = read_body(request).await?;
            let options = delete_options(&body)?;
            Ok(json(
                StatusCode::OK,
                &store.delete(&def, ns, name, &options)?,
            ))
        }
        ("DELETE", None) => {
            let filter = selectors(&query)?;
            let all = store.list(
                &def,
                ns,
                &|obj| filter.0.matches(obj) && filter.1.matches(obj),
                None,
                None,
            )?;
            for item in &all.items {
                let name = item["metadata"]["name"].as_str().unwrap_or_default();
                let item_ns = item["metadata"]["namespace"].as_str();
                // Gone in the meantime is fine: that is what we wanted.
                let _ = store.delete(&def, item_ns, name, &DeleteOptions::default());
            }
            Ok(json(StatusCode::OK, &success_status()))
        }
        (other, _) => Err(ApiError::method_not_allowed(other)),
    }
}

fn header_str(request: &Request<Incoming>, name: header::HeaderName) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn flag(query: &HashMap<String, String>, key: &str) -> bool {
    query.get(key).is_some_and(|v| v == "true" || v == "1")
}

pub(super) fn selectors(
    query: &HashMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(
        query
            .get("labelSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = FieldSelector::parse(
        query
            .get("fieldSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((labels, fields))
}

async fn read_json(request: Request<Incoming>) -> Result<Value, ApiError> {
    let content_type = header_str(&request, header::CONTENT_TYPE).unwrap_or_default();
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        // kubectl's typed generators (`kubectl create secret ...`) send protobuf; we only
        // speak JSON, and say so rather than fail to decode.
        return Err(ApiError::unsupported_media_type(&format!(
            "{content_type}: kube-standin accepts JSON only (use kubectl apply -f, or kube-rs)"
        )));
    }
    let body = read_body(request).await?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("decoding the request body as JSON: {e}")))
}

fn list(
    store: &Store,
    def: &ResourceDef,
    ns: Option<&str>,
    query: &HashMap<String, String>,
    accept: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let (labels, fields) = selectors(query)?;
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        Some(Ok(0)) | None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Err(ApiError::bad_request(
                "limit must be a non-negative integer",
            ));
        }
    };
    let result = store.list(
        def,
        ns,
        &|obj| labels.matches(obj) && fields.matches(obj),
        limit,
        query
            .get("continue")
            .map(String::as_str)
            .filter(|c| !c.is_empty()),
    )?;
    let rv = result.resource_version.to_string();
    if table::wanted(accept) {
        let items: Vec<&Value> = result.items.iter().map(|i| &**i).collect();
        return Ok(json(StatusCode::OK, &table::render(def, &items, &rv)));
    }
    let mut metadata = json!({"resourceVersion": rv});
    if let Some(token) = result.continue_token {
        metadata["continue"] = json!(token);
    }
    let items: Vec<&Value> = result.items.iter().map(|i| &**i).collect();
    Ok(json(
        StatusCode::OK,
        &json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(), "metadata": metadata, "items": items}),
    ))
}

/// The manager of a create, update or patch: `fieldManager` when given (refused, as
/// kube-apiserver does, when too long or unprintable; the 422 names `options`, the kind of the
/// request's options), else derived from the User-Agent.
fn field_manager(
    query: &HashMap<String, String>,
    user_agent: &str,
    options: &str,
) -> Result<String, ApiError> {
    match query.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(manager) => match managed_fields::invalid_field_manager(manager) {
            Some(why) => {
                let kind = format!("{options}.meta.k8s.io");
                let target = Target {
                    resource: options,
                    group: "meta.k8s.io",
                    kind: &kind,
                };
                Err(ApiError::invalid(target, "", "fieldManager", &why))
            }
            None => Ok(manager.clone()),
        },
        None => Ok(managed_fields::manager_from_user_agent(user_agent)),
    }
}

/// A PATCH as received.
struct PatchRequest<'a> {
    content_type: &'a str,
    /// `fieldManager` as given (an apply needs one).
    given: Option<String>,
    /// The manager of a non-apply patch (given, or from the User-Agent).
    manager: String,
    body: &'a [u8],
}

fn patch_object(
    store: &Store,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    sub: Subresource,
    request: &PatchRequest<'_>,
) -> Result<Response<Body>, ApiError> {
    let body = request.body;
    let writer = Manager::Update(&request.manager);
    let media = request
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let invalid = |e: patch::PatchError| ApiError::unprocessable(e.to_string());
    let decode_json = || {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("decoding the patch as JSON: {e}")))
    };
    let existed = store.get(def, ns, name).is_ok();
    let result = match media {
        "application/merge-patch+json" => {
            let p = decode_json()?;
            store.modify(def, ns, name, sub, writer, |current| {
                let mut target = current.cloned().unwrap_or_default();
                patch::merge_patch(&mut target, &p);
                Ok(target)
            })?
        }
        "application/json-patch+json" => {
            let p = decode_json()?;
            store.modify(def, ns, name, sub, writer, |current| {
                let mut target = current.cloned().unwrap_or_default();
                patch::json_patch(&mut target, &p).map_err(invalid)?;
                Ok(target)
            })?
        }
        "application/strategic-merge-patch+json" if def.crd.is_some() => {
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json (strategic merge patch is not supported for custom resources)",
            ));
        }
        "application/strategic-merge-patch+json" => {
            let p = decode_json()?;
            store.modify(def, ns, name, sub, writer, |current| {
                let mut target = current.cloned().unwrap_or_default();
                patch::strategic_merge_patch(&mut target, &p).map_err(invalid)?;
                Ok(target)
            })?
        }
        "application/apply-patch+yaml" | "application/apply-patch+json" => {
            let manager = request.given.as_deref().ok_or_else(|| {
                ApiError::bad_request("PATCH: fieldManager is required for apply requests")
            })?;
            let applied: Value = serde_yaml_ng::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("decoding the apply patch as YAML: {e}"))
            })?;
            let (now, api_version) = (now(), def.api_version());
            let write = managed_fields::Write {
                manager,
                subresource: sub.name(),
                status_subresource: def.status_subresource,
                api_version: &api_version,
                now: &now,
            };
            store.modify(def, ns, name, sub, Manager::Apply, |current| {
                patch::apply(current, &applied, &write).map_err(invalid)
            })?
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json(status, &result))
}

fn delete_options(body: &[u8]) -> Result<DeleteOptions, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DeleteOptions::default());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("decoding DeleteOptions: {e}")))?;
    let pre = &value["preconditions"];
    Ok(DeleteOptions {
        uid: pre["uid"].as_str().map(str::to_owned),
        resource_version: pre["resourceVersion"].as_str().map(str::to_owned),
    })
}

fn now() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
