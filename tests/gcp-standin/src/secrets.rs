//! Secret Manager v1 REST, the read side: access a version, list versions, get a secret's
//! metadata, list secrets; global (`projects/P/…`) and regional (`projects/P/locations/L/…`)
//! alike. Requests may name the project by id or number; answers name it by number, as GCP
//! does.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::crc32c::crc32c;
use crate::reply::Reply;
use crate::server::{Req, Shared};
use crate::state::{Inner, Route, Secret, VersionState};

/// A parsed resource path.
struct Path<'a> {
    project: &'a str,
    location: Option<&'a str>,
    secret: Option<&'a str>,
    versions: bool,
    version: Option<&'a str>,
}

fn parse(rest: &str) -> Option<Path<'_>> {
    let mut parts = rest.split('/');
    let project = parts.next().filter(|p| !p.is_empty())?;
    let mut next = parts.next()?;
    let mut location = None;
    if next == "locations" {
        location = Some(parts.next().filter(|l| !l.is_empty())?);
        next = parts.next()?;
    }
    if next != "secrets" {
        return None;
    }
    let secret = parts.next().filter(|s| !s.is_empty());
    let versions = match parts.next() {
        None => false,
        Some("versions") => true,
        Some(_) => return None,
    };
    let version = parts.next();
    if parts.next().is_some() || (versions && secret.is_none()) {
        return None;
    }
    Some(Path {
        project,
        location,
        secret,
        versions,
        version,
    })
}

pub(crate) fn handle(shared: &Shared, request: &Req, rest: &str) -> Reply {
    if request.method != http::Method::GET {
        return Reply::google(405, "INVALID_ARGUMENT", "only reads are implemented");
    }
    let Some(path) = parse(rest) else {
        return Reply::not_route();
    };
    let route = match (path.secret, path.versions, path.version) {
        (None, _, _) => Route::ListSecrets,
        (Some(_), false, _) => Route::GetSecret,
        (Some(_), true, None) => Route::ListVersions,
        (Some(_), true, Some(_)) => Route::Access,
    };
    let config = &shared.config;
    let number = config.project_number.to_string();
    let parent = match path.location {
        None => format!("projects/{number}"),
        Some(l) => format!("projects/{number}/locations/{l}"),
    };
    let resource = match (path.secret, path.version) {
        (Some(s), Some(v)) => format!(
            "{parent}/secrets/{s}/versions/{}",
            v.trim_end_matches(":access")
        ),
        (Some(s), None) => format!("{parent}/secrets/{s}"),
        (None, _) => parent.clone(),
    };
    let mut inner = shared.control.lock();
    if let Some(fault) = inner.enter(route, path.secret) {
        return Reply::fault(fault, &resource);
    }
    let Some(principal) = crate::auth::principal(config, &mut inner, request.bearer.as_deref())
    else {
        return Reply::unauthenticated();
    };
    inner.principals_seen.push(principal.clone());
    let permission = match route {
        Route::Access => "secretmanager.versions.access",
        Route::ListVersions => "secretmanager.versions.list",
        Route::GetSecret => "secretmanager.secrets.get",
        _ => "secretmanager.secrets.list",
    };
    let allowed = inner
        .readers
        .as_ref()
        .is_none_or(|r| r.contains(&principal));
    if !allowed || (path.project != config.project_id && path.project != number) {
        return Reply::google(
            403,
            "PERMISSION_DENIED",
            &format!(
                "Permission '{permission}' denied for resource '{resource}' (or it may not exist)."
            ),
        );
    }
    let location = path.location.map(str::to_owned);
    let Some(name) = path.secret else {
        return list_secrets(&inner, request, &location, &parent);
    };
    let Some(secret) = inner.secrets.get(&(location, name.to_owned())) else {
        let what = if route == Route::Access {
            " or has no versions"
        } else {
            ""
        };
        return Reply::google(
            404,
            "NOT_FOUND",
            &format!("Secret [{parent}/secrets/{name}] not found{what}."),
        );
    };
    let secret_name = format!("{parent}/secrets/{name}");
    match path.version {
        None if path.versions => list_versions(&inner, request, secret, &secret_name),
        None => Reply::ok(&metadata(secret, &secret_name, path.location.is_none())),
        Some(version) => access(&inner, secret, &secret_name, version),
    }
}

fn rfc3339(t: std::time::SystemTime) -> String {
    OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default()
}

fn metadata(secret: &Secret, name: &str, global: bool) -> Value {
    let mut body = json!({
        "name": name,
        "createTime": secret.created.map(rfc3339),
        "labels": secret.labels,
        "annotations": secret.annotations,
        "etag": format!("\"{}\"", secret.versions.len()),
    });
    // Regional secrets carry no replication policy.
    if global {
        body["replication"] = json!({"automatic": {}});
    }
    if secret.labels.is_empty() {
        body.as_object_mut().map(|o| o.remove("labels"));
    }
    if secret.annotations.is_empty() {
        body.as_object_mut().map(|o| o.remove("annotations"));
    }
    body
}

fn access(inner: &Inner, secret: &Secret, secret_name: &str, asked: &str) -> Reply {
    let Some(asked) = asked.strip_suffix(":access") else {
        return Reply::not_route();
    };
    let number = if asked == "latest" {
        match secret.versions.len() {
            0 => {
                return Reply::google(
                    404,
                    "NOT_FOUND",
                    &format!("Secret [{secret_name}] not found or has no versions."),
                );
            }
            n => n,
        }
    } else {
        match asked.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Reply::google(
                    400,
                    "INVALID_ARGUMENT",
                    &format!("Invalid resource field value in the request: version {asked:?}."),
                );
            }
        }
    };
    let name = format!("{secret_name}/versions/{number}");
    let Some(version) = secret.versions.get(number - 1) else {
        return Reply::google(
            404,
            "NOT_FOUND",
            &format!("Secret Version [{name}] not found."),
        );
    };
    if version.state != VersionState::Enabled {
        return Reply::google(
            400,
            "FAILED_PRECONDITION",
            &format!(
                "Secret Version [{name}] is in {} state.",
                version.state.as_str()
            ),
        );
    }
    let mut crc = crc32c(&version.data);
    if inner.corrupt_crc {
        crc ^= 0x0000_0001;
    }
    Reply::ok(&json!({
        "name": name,
        "payload": {"data": STANDARD.encode(&version.data), "dataCrc32c": crc.to_string()},
    }))
}

/// A page of `items`: the `pageToken` is the index to start at.
fn page<T>(inner: &Inner, request: &Req, items: Vec<T>) -> Result<(Vec<T>, Option<String>), Reply> {
    let start = match request.query("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| Reply::google(400, "INVALID_ARGUMENT", "Invalid page token."))?,
    };
    let asked = request
        .query("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(25_000)
        .min(25_000);
    let size = inner.max_page_size.map_or(asked, |max| asked.min(max));
    let total = items.len();
    let end = start.saturating_add(size).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok((items.into_iter().skip(start).take(size).collect(), next))
}

fn list_versions(inner: &Inner, request: &Req, secret: &Secret, secret_name: &str) -> Reply {
    let wanted = match request.query("filter") {
        None | Some("") => None,
        Some(filter) => match filter.strip_prefix("state:") {
            Some("ENABLED") => Some(VersionState::Enabled),
            Some("DISABLED") => Some(VersionState::Disabled),
            Some("DESTROYED") => Some(VersionState::Destroyed),
            _ => {
                return Reply::google(
                    400,
                    "INVALID_ARGUMENT",
                    "the stand-in implements only the filter state:ENABLED|DISABLED|DESTROYED",
                );
            }
        },
    };
    // Newest first, as GCP lists them.
    let items: Vec<Value> = secret
        .versions
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, v)| wanted.is_none_or(|w| v.state == w))
        .map(|(i, v)| {
            json!({
                "name": format!("{secret_name}/versions/{}", i + 1),
                "createTime": rfc3339(v.created),
                "state": v.state.as_str(),
            })
        })
        .collect();
    let total = items.len();
    match page(inner, request, items) {
        Ok((versions, next)) => {
            let mut body = json!({"versions": versions, "totalSize": total});
            if let Some(next) = next {
                body["nextPageToken"] = json!(next);
            }
            Reply::ok(&body)
        }
        Err(reply) => reply,
    }
}

fn list_secrets(inner: &Inner, request: &Req, location: &Option<String>, parent: &str) -> Reply {
    if request.query("filter").is_some_and(|f| !f.is_empty()) {
        return Reply::google(
            400,
            "INVALID_ARGUMENT",
            "the stand-in implements no secret filter",
        );
    }
    let items: Vec<Value> = inner
        .secrets
        .iter()
        .filter(|((l, _), _)| l == location)
        .map(|((_, name), secret)| {
            metadata(
                secret,
                &format!("{parent}/secrets/{name}"),
                location.is_none(),
            )
        })
        .collect();
    let total = items.len();
    match page(inner, request, items) {
        Ok((secrets, next)) => {
            let mut body = json!({"secrets": secrets, "totalSize": total});
            if let Some(next) = next {
                body["nextPageToken"] = json!(next);
            }
            Reply::ok(&body)
        }
        Err(reply) => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn paths() {
        let p = parse("p/secrets/s/versions/3:access").unwrap();
        assert_eq!(
            (p.project, p.location, p.secret, p.version),
            ("p", None, Some("s"), Some("3:access"))
        );
        let p = parse("p/locations/eu/secrets").unwrap();
        assert_eq!(
            (p.location, p.secret, p.versions),
            (Some("eu"), None, false)
        );
        assert!(parse("p/secrets/s/versions").unwrap().versions);
        assert!(parse("p/topics/s").is_none());
        assert!(parse("p/secrets/s/versions/1/x").is_none());
    }
}
