//! Object metadata rules: names, system fields a client cannot change, what counts as a
//! spec change (generation) or no change at all, immutable Secrets, CRD status.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::registry::ResourceDef;

pub(super) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system RNG failing is not something a test server can recover from meaningfully;
    // zeros still give a syntactically valid id.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes
}

/// A random version-4 UUID.
pub(super) fn uid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Five characters from kube's generateName alphabet (no vowels, no confusable digits).
pub(super) fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    random_bytes::<5>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

pub(super) fn encode_continue(last: &Value) -> String {
    let token = json!([
        last["metadata"]["namespace"].as_str().unwrap_or_default(),
        last["metadata"]["name"]
    ]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

pub(super) fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let bad = || ApiError::bad_request("continue key is not valid");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok((
        value[0].as_str().ok_or_else(bad)?.to_owned(),
        value[1].as_str().ok_or_else(bad)?.to_owned(),
    ))
}

/// apiVersion and kind, when given, must be this resource's.
pub(super) fn check_type(def: &ResourceDef, body: &Value) -> Result<(), ApiError> {
    if let Some(kind) = body["kind"].as_str()
        && kind != def.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind {kind:?} does not match the resource {} (kind {})",
            def.plural, def.kind
        )));
    }
    if let Some(api_version) = body["apiVersion"].as_str() {
        let group = api_version
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or_default();
        if group != def.group {
            return Err(ApiError::bad_request(format!(
                "the apiVersion {api_version:?} does not match the resource's group {:?}",
                def.group
            )));
        }
    }
    Ok(())
}

/// DNS-1123 subdomain (most kinds) or label (namespaces).
pub(super) fn validate_name(def: &ResourceDef, name: &str) -> Result<(), ApiError> {
    let label = |s: &str| {
        let b = s.as_bytes();
        let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && b.len() <= 63
            && b.first().is_some_and(edge)
            && b.last().is_some_and(edge)
            && b.iter().all(|c| edge(c) || *c == b'-')
    };
    let ok = if def.plural == "namespaces" {
        label(name)
    } else {
        name.len() <= 253 && name.split('.').all(label)
    };
    if ok {
        Ok(())
    } else {
        let rule = if def.plural == "namespaces" {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        };
        Err(ApiError::invalid(
            def.target(),
            name,
            "metadata.name",
            &format!("Invalid value: {name:?}: {rule}"),
        ))
    }
}

/// Fields only the server sets survive any update as they were.
pub(super) fn keep_system_fields(desired: &mut Value, current: &Value, def: &ResourceDef) {
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "name",
        "namespace",
    ] {
        match current["metadata"].get(field) {
            Some(value) => desired["metadata"][field] = value.clone(),
            None => {
                if let Some(m) = desired["metadata"].as_object_mut() {
                    m.remove(field);
                }
            }
        }
    }
    if desired["metadata"]["managedFields"].is_null()
        && !current["metadata"]["managedFields"].is_null()
    {
        desired["metadata"]["managedFields"] = current["metadata"]["managedFields"].clone();
    }
    if def.plural == "namespaces" {
        desired["spec"] = current["spec"].clone();
        if desired["status"].is_null() {
            desired["status"] = current["status"].clone();
        }
    }
    desired["apiVersion"] = current["apiVersion"].clone();
    desired["kind"] = current["kind"].clone();
    if let Some(object) = desired.as_object_mut() {
        object.retain(|_, v| !v.is_null());
    }
}

/// Anything outside metadata and status changed: that is what bumps `generation`.
pub(super) fn spec_changed(current: &Value, desired: &Value) -> bool {
    strip(current, &["metadata", "status"]) != strip(desired, &["metadata", "status"])
}

/// Equal apart from resourceVersion and managedFields timestamps: a no-op update (a change of
/// ownership alone is a write, as in kube-apiserver).
pub(super) fn same_content(current: &Value, desired: &Value) -> bool {
    let clean = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v["metadata"].as_object_mut() {
            m.remove("resourceVersion");
            if let Some(Value::Array(entries)) = m.get_mut("managedFields") {
                for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
                    entry.remove("time");
                }
            }
        }
        v
    };
    clean(current) == clean(desired)
}

fn strip(value: &Value, keys: &[&str]) -> Value {
    let mut v = value.clone();
    if let Some(m) = v.as_object_mut() {
        for key in keys {
            m.remove(*key);
        }
    }
    v
}

/// Secrets and ConfigMaps marked `immutable: true` keep their data.
pub(super) fn check_immutable(
    def: &ResourceDef,
    current: &Value,
    desired: &Value,
) -> Result<(), ApiError> {
    if !(def.group.is_empty() && (def.plural == "secrets" || def.plural == "configmaps")) {
        return Ok(());
    }
    if current["immutable"] != json!(true) {
        return Ok(());
    }
    let name = current["metadata"]["name"].as_str().unwrap_or_default();
    for field in ["data", "binaryData", "immutable"] {
        if current.get(field) != desired.get(field) {
            return Err(ApiError::invalid(
                def.target(),
                name,
                field,
                "Forbidden: field is immutable when `immutable` is set",
            ));
        }
    }
    Ok(())
}

/// A registered CRD reports itself established, as the apiextensions controller would.
pub(super) fn crd_status(crd: &mut Value) {
    let now = now_rfc3339();
    let storage: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .filter(|v| v["storage"] == json!(true))
                .map(|v| v["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    crd["status"] = json!({
        "acceptedNames": crd["spec"]["names"].clone(),
        "storedVersions": storage,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    });
}

/// Defaulting the API server does on every write: Secrets get `type: Opaque` and their
/// `stringData` folded into base64 `data` (stringData wins), never stored as such; Pods
/// without `spec.serviceAccountName` run as `default` (the ServiceAccount admission plugin's
/// default, which TokenRequests bound to the pod check against).
pub(super) fn apply_defaults(def: &ResourceDef, body: &mut Value) {
    if def.group.is_empty() && def.plural == "pods" {
        let named = body["spec"]["serviceAccountName"]
            .as_str()
            .is_some_and(|sa| !sa.is_empty());
        let spec_is_object = body["spec"].is_object() || body["spec"].is_null();
        if !named && spec_is_object {
            body["spec"]["serviceAccountName"] = json!(crate::tokens::DEFAULT_SERVICE_ACCOUNT);
        }
        return;
    }
    if !(def.group.is_empty() && def.plural == "secrets") {
        return;
    }
    if body["type"].is_null() {
        body["type"] = json!("Opaque");
    }
    if let Some(Value::Object(string_data)) =
        body.as_object_mut().and_then(|o| o.remove("stringData"))
    {
        if !body["data"].is_object() {
            body["data"] = json!({});
        }
        for (key, value) in string_data {
            let text = value.as_str().unwrap_or_default();
            body["data"][key] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
}
