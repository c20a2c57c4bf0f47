//! Status writes: by server-side apply on the status subresource, as field manager
//! [`FIELD_MANAGER`], with `force` (the agent is the only writer of these statuses, and a
//! conflict with a stale writer — a merge patch from an older agent, `kubectl edit` — must not
//! leave an object's status stale). The apply body holds only the object's identity and the
//! status, so the managed fields the agent owns are exactly the status fields it sets, and a
//! field it stops setting is removed by the API server. Nothing is sent when the status did not
//! change.

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;

use super::{Error, FIELD_MANAGER};

/// The apply body for `status` of `obj`: apiVersion, kind, name (and namespace), status.
pub fn apply_body<K: Resource<DynamicType = ()>>(
    obj: &K,
    status: &impl Serialize,
) -> serde_json::Value {
    let meta = obj.meta();
    let mut metadata = serde_json::json!({ "name": meta.name });
    if let Some(namespace) = &meta.namespace {
        metadata["namespace"] = namespace.as_str().into();
    }
    serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": metadata,
        "status": status,
    })
}

/// Apply `next` as the status of `obj` unless it equals `previous`; whether it was written.
pub async fn write<K, S>(api: &Api<K>, obj: &K, previous: &S, next: &S) -> Result<bool, Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if next == previous {
        return Ok(false);
    }
    let name = obj.meta().name.as_deref().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(apply_body(obj, next)))
        .await
        .map_err(Error::api("writing the status"))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    #[test]
    fn the_body_names_the_object_and_holds_only_the_status() {
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db", "namespace": "team", "uid": "u", "labels": {"a": "b"}},
            "data": {"k": "v"}
        }))
        .unwrap();
        let body = apply_body(&cm, &serde_json::json!({"ready": true}));
        assert_eq!(
            body,
            serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "db", "namespace": "team"},
                "status": {"ready": true}
            })
        );
    }
}
