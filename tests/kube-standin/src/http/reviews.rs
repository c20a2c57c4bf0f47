//! SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectAccessReview: the request's
//! shape checked as kube-apiserver checks it, the answer taken from the test's table
//! ([`crate::canned::AuthzTable`]), since kube-standin has no authorizer.
//!
//! Data flow: body (JSON, or the protobuf kubectl's typed client sends for `kubectl auth
//! can-i`, decoded by [`protobuf`]) → spec → attributes (for a self review: the impersonated
//! user when `Impersonate-User` is set, else the token's identity) → table → `spec` echoed
//! back with `status: {allowed, denied?, reason}`.

mod protobuf;

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::{Body, State, json, read_body};
use crate::api::ApiError;
use crate::canned::Attributes;
use crate::registry::ResourceDef;
use crate::tokens::DEFAULT_AUDIENCE;

/// The user the admin token stands for.
const ADMIN_USER: &str = "kube-standin:admin";

pub(super) async fn access_review(
    state: &State,
    def: &ResourceDef,
    namespace: Option<&str>,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let requester = requester(state, &request);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = read_body(request).await?;
    let body: Value = if content_type.contains("protobuf") {
        protobuf::review(&bytes, def.plural == "selfsubjectaccessreviews")
            .ok_or_else(|| ApiError::bad_request("decoding the protobuf access review"))?
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("decoding the request body as JSON: {e}")))?
    };
    let mut spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let (user, groups) = match def.plural.as_str() {
        "selfsubjectaccessreviews" => requester,
        _ => {
            let user = spec["user"].as_str().unwrap_or_default().to_owned();
            let groups: Vec<String> = strings(&spec["groups"]);
            if user.is_empty() && groups.is_empty() {
                return Err(invalid(
                    def,
                    "spec.user",
                    "\"\": at least one of user or group must be specified",
                ));
            }
            (user, groups)
        }
    };
    if let Some(ns) = namespace {
        let given = spec["resourceAttributes"]["namespace"]
            .as_str()
            .unwrap_or_default();
        if spec["resourceAttributes"].is_object() && given.is_empty() {
            spec["resourceAttributes"]["namespace"] = json!(ns);
        } else if given != ns {
            return Err(invalid(
                def,
                "spec.resourceAttributes.namespace",
                &format!("\"{given}\": must match metadata.namespace"),
            ));
        }
    }
    let resource = &spec["resourceAttributes"];
    let non_resource = &spec["nonResourceAttributes"];
    let field = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    let attributes = match (resource.is_object(), non_resource.is_object()) {
        (true, false) => {
            let plural = field(resource, "resource");
            let sub = field(resource, "subresource");
            Attributes {
                user,
                groups,
                verb: field(resource, "verb"),
                resource: if sub.is_empty() {
                    plural
                } else {
                    format!("{plural}/{sub}")
                },
                namespace: field(resource, "namespace"),
                name: field(resource, "name"),
            }
        }
        (false, true) => Attributes {
            user,
            groups,
            verb: field(non_resource, "verb"),
            resource: field(non_resource, "path"),
            namespace: String::new(),
            name: String::new(),
        },
        _ => {
            return Err(invalid(
                def,
                "spec.resourceAttributes",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
    };
    let decision = state.control.authz().decide(&attributes);
    let mut status = json!({"allowed": decision.allowed, "reason": decision.reason});
    if decision.denied {
        status["denied"] = json!(true);
    }
    let mut metadata = json!({"creationTimestamp": null});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    Ok(json(
        StatusCode::CREATED,
        &json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": def.kind,
            "metadata": metadata, "spec": spec, "status": status,
        }),
    ))
}

/// Who is asking: the impersonated user and groups when `Impersonate-User` is set (kubectl's
/// `--as`; kube-standin checks no impersonate permission), else the bearer token's identity.
fn requester(state: &State, request: &Request<Incoming>) -> (String, Vec<String>) {
    let headers = request.headers();
    if let Some(user) = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    {
        let mut groups: Vec<String> = headers
            .get_all("impersonate-group")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        // kube-apiserver adds this group to every impersonated user but system:anonymous.
        if user != "system:anonymous" && !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".to_owned());
        }
        return (user.to_owned(), groups);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if super::constant_time_eq(token.as_bytes(), state.admin_token.as_bytes()) {
        return (
            ADMIN_USER.to_owned(),
            vec![
                "system:masters".to_owned(),
                "system:authenticated".to_owned(),
            ],
        );
    }
    let review = state.tokens.review(
        token,
        &[DEFAULT_AUDIENCE.to_owned()],
        time::OffsetDateTime::now_utc(),
        &super::tokens::StoreObjects(&state.store),
    );
    match review.user {
        Some(user) => (user.username, user.groups),
        None => (
            "system:anonymous".to_owned(),
            vec!["system:unauthenticated".to_owned()],
        ),
    }
}

fn invalid(def: &ResourceDef, field: &str, why: &str) -> ApiError {
    ApiError::invalid(def.target(), "", field, why)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
