//! URL paths of the Kubernetes API, parsed into what they address.

use std::collections::HashMap;

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/readyz`, `/livez` (the endpoint's name), and their per-check paths
    Health(String),
    /// `/metrics`
    Metrics,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/GROUP`
    Group(String),
    /// `/api/v1`, `/apis/GROUP/VERSION`
    Resources { group: String, version: String },
    /// `/openapi/v2`, `/openapi/v3[/...]`
    OpenApi(String),
    /// A resource, collection or subresource.
    Object(ObjectRoute),
    /// `/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH`
    ServiceProxy {
        namespace: String,
        service: String,
        path: String,
    },
    /// `/_standin/...`
    Control(String),
}

/// A path under `/api/v1` or `/apis/GROUP/VERSION` that names a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRoute {
    /// API group.
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespace segment, if the path had one.
    pub namespace: Option<String>,
    /// Plural resource.
    pub plural: String,
    /// Object name; `None` for the collection.
    pub name: Option<String>,
    /// Subresource (`status`, `token`).
    pub subresource: Option<String>,
}

/// Parse a request path.
pub fn parse(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let route = match segments.as_slice() {
        ["version"] => Route::Version,
        [endpoint @ ("healthz" | "readyz" | "livez"), ..] => Route::Health((*endpoint).to_owned()),
        ["metrics"] => Route::Metrics,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["openapi", rest @ ..] => Route::OpenApi(rest.join("/")),
        ["_standin", rest @ ..] => Route::Control(rest.join("/")),
        ["api", version] => Route::Resources {
            group: String::new(),
            version: (*version).to_owned(),
        },
        ["apis", group] => Route::Group((*group).to_owned()),
        ["apis", group, version] => Route::Resources {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
        },
        ["api", version, rest @ ..] => object("", version, rest, path)?,
        ["apis", group, version, rest @ ..] => object(group, version, rest, path)?,
        _ => return None,
    };
    Some(route)
}

fn object(group: &str, version: &str, rest: &[&str], path: &str) -> Option<Route> {
    let owned = |s: &&str| (*s).to_owned();
    let (namespace, rest) = match rest {
        // `namespaces/NAME/status` is the namespace's own subresource, not a resource "status".
        ["namespaces", _, "status" | "finalize"] => (None, rest),
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some((*ns).to_owned()), tail),
        _ => (None, rest),
    };
    if group.is_empty()
        && let (Some(ns), ["services", service, "proxy", ..]) = (&namespace, rest)
    {
        let prefix = format!("/api/{version}/namespaces/{ns}/services/{service}/proxy");
        let tail = path.strip_prefix(&prefix).unwrap_or("/");
        return Some(Route::ServiceProxy {
            namespace: ns.clone(),
            service: (*service).to_owned(),
            path: if tail.is_empty() {
                "/".to_owned()
            } else {
                tail.to_owned()
            },
        });
    }
    let (plural, name, subresource) = match rest {
        [plural] => (owned(plural), None, None),
        [plural, name] => (owned(plural), Some(owned(name)), None),
        [plural, name, sub] => (owned(plural), Some(owned(name)), Some(owned(sub))),
        _ => return None,
    };
    Some(Route::Object(ObjectRoute {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        plural,
        name,
        subresource,
    }))
}

/// Decode `a=b&c=d` (percent-decoding `+`, `%XX`).
pub fn query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(path: &str) -> ObjectRoute {
        match parse(path) {
            Some(Route::Object(o)) => o,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn paths() {
        let o = obj("/api/v1/namespaces/default/secrets/db");
        assert_eq!(
            (o.namespace.as_deref(), o.plural.as_str(), o.name.as_deref()),
            (Some("default"), "secrets", Some("db"))
        );
        let o = obj("/api/v1/namespaces/team");
        assert_eq!(
            (o.plural.as_str(), o.name.as_deref()),
            ("namespaces", Some("team"))
        );
        let o = obj("/api/v1/namespaces/team/status");
        assert_eq!(
            (o.plural.as_str(), o.subresource.as_deref()),
            ("namespaces", Some("status"))
        );
        let o = obj("/apis/apps/v1/namespaces/x/deployments/web/status");
        assert_eq!(
            (o.group.as_str(), o.subresource.as_deref()),
            ("apps", Some("status"))
        );
        let o = obj("/api/v1/namespaces/x/serviceaccounts/sa/token");
        assert_eq!(o.subresource.as_deref(), Some("token"));
        let o = obj("/apis/kubectl-secrets.io/v1alpha1/sealedsecrets");
        assert_eq!((o.namespace, o.name), (None, None));
        assert_eq!(
            parse("/api/v1/namespaces/ns/services/http:agent:http/proxy/v1/cert.pem"),
            Some(Route::ServiceProxy {
                namespace: "ns".into(),
                service: "http:agent:http".into(),
                path: "/v1/cert.pem".into()
            })
        );
        assert_eq!(
            parse("/apis/apps/v1"),
            Some(Route::Resources {
                group: "apps".into(),
                version: "v1".into()
            })
        );
        assert_eq!(parse("/nope"), None);
    }

    #[test]
    fn query_decoding() {
        let q = query(Some("labelSelector=app%3Dweb%2Ctier+in+(a)&watch=1"));
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
        assert_eq!(q["watch"], "1");
    }
}
