//! Ownership of the Secrets the controllers write, shared by both decisions
//! ([`crate::seal::decide`] and [`crate::sync::decide`]): an [`Owner`] names the object
//! (SealedSecret or ExternalSecret) by kind and uid; [`Owner::reference`] is the controller
//! owner reference put on a Secret it creates, so garbage collection removes the Secret with
//! its owner; [`controlled_by`] answers whether an existing Secret already belongs to it (by
//! uid, as the garbage collector matches owners, so a re-created object of the same name does
//! not own its predecessor's Secret).

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;

/// Who owns the Secret we write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner's `apiVersion`.
    pub api_version: String,
    /// Its kind (`SealedSecret`, `ExternalSecret`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
}

impl Owner {
    /// The owner as `object` names itself (its type's apiVersion and kind).
    pub fn of<K: Resource<DynamicType = ()>>(object: &K) -> Owner {
        let meta = object.meta();
        Owner {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
        }
    }

    /// The controller owner reference to put on the Secret.
    pub fn reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: None,
        }
    }
}

/// Whether `owner` is the Secret's controller.
pub fn controlled_by(secret: &Secret, owner: &Owner) -> bool {
    secret
        .metadata
        .owner_references
        .as_ref()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.controller == Some(true) && r.uid == owner.uid)
        })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::api::ExternalSecret;

    fn owner(uid: &str) -> Owner {
        Owner {
            api_version: "kubectl-secrets.io/v1alpha1".into(),
            kind: "ExternalSecret".into(),
            name: "db".into(),
            uid: uid.into(),
        }
    }

    #[test]
    fn an_owner_names_its_type_and_uid() {
        let es: ExternalSecret = serde_json::from_value(serde_json::json!({
            "apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ExternalSecret",
            "metadata": {"name": "db", "namespace": "team", "uid": "u1"},
            "spec": {"secretStoreRef": {"name": "vault"}, "target": {"name": "db"}}
        }))
        .unwrap();
        assert_eq!(Owner::of(&es), owner("u1"));
    }

    #[test]
    fn only_a_controller_reference_with_the_uid_counts() {
        let mut secret = Secret {
            metadata: ObjectMeta {
                owner_references: Some(vec![owner("u1").reference()]),
                ..ObjectMeta::default()
            },
            ..Secret::default()
        };
        assert!(controlled_by(&secret, &owner("u1")));
        assert!(!controlled_by(&secret, &owner("u2")), "another uid");
        if let Some(refs) = secret.metadata.owner_references.as_mut() {
            refs[0].controller = None;
        }
        assert!(!controlled_by(&secret, &owner("u1")), "not the controller");
    }
}
