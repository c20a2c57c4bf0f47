//! Which calls turn a store's credentials into the keys it reads with, without IO: a
//! [`Plan`] is a first link ([`Base`]: static keys, a web identity, or EKS Pod Identity) and
//! then one `AssumeRole` per `additionalRoles` entry and finally `role` (with `externalID`), as
//! ESO chains them. The store runs the plan and caches its end result for the whole chain.
//!
//! Data flow:
//!
//! ```text
//!  Given::Keys (accessKeyID, secretAccessKey, sessionToken?) ──▶ Base::Static
//!  Given::Federated (token, SA annotations)  ──▶ Base::WebIdentity (role from eks.amazonaws.com/role-arn)
//!  Given::Federated with pod_identity         ──▶ Base::PodIdentity
//!  + ChainSpec { additionalRoles, role, externalID } ──▶ Plan { base, roles: [RoleStep] }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::error::AwsError;
use crate::keys::AwsKeys;

/// The service-account annotation naming the role IRSA assumes.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The roles a store chains through (ESO's `additionalRoles`, `role`, `externalID`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainSpec {
    /// Assumed in order, before `role`.
    pub additional_roles: Vec<String>,
    /// Assumed last.
    pub role: Option<String>,
    /// Passed on the `role` AssumeRole only.
    pub external_id: Option<String>,
}

/// What the caller gave the store to log in with.
pub(crate) enum Given<'a> {
    /// Named values from Secret keys.
    Keys(&'a BTreeMap<String, Zeroizing<String>>),
    /// A service account's token and annotations.
    Federated {
        token: &'a Zeroizing<String>,
        namespace: &'a str,
        service_account: &'a str,
        annotations: &'a BTreeMap<String, String>,
        pod_identity: bool,
    },
}

/// The first link of a chain.
pub(crate) enum Base {
    /// Static keys, used as they are.
    Static(AwsKeys),
    /// `AssumeRoleWithWebIdentity` as `role_arn` with the service account's token.
    WebIdentity {
        role_arn: String,
        token: Zeroizing<String>,
        account: String,
    },
    /// The EKS Pod Identity agent, with the pod's token.
    PodIdentity {
        token: Zeroizing<String>,
        account: String,
    },
}

/// One `AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleStep {
    pub(crate) role_arn: String,
    pub(crate) external_id: Option<String>,
}

/// A whole chain.
pub(crate) struct Plan {
    pub(crate) base: Base,
    pub(crate) roles: Vec<RoleStep>,
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("base", &self.base.describe())
            .field("roles", &self.roles)
            .finish()
    }
}

impl Base {
    /// Who this link acts as, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Base::Static(_) => "the store's static access keys".to_owned(),
            Base::WebIdentity {
                role_arn, account, ..
            } => format!("role {role_arn} (web identity of service account {account})"),
            Base::PodIdentity { account, .. } => {
                format!("the EKS Pod Identity role of service account {account}")
            }
        }
    }
}

impl Plan {
    /// Who the chain's keys act as in the end: the last role, else the base.
    pub(crate) fn principal(&self) -> String {
        match self.roles.last() {
            Some(step) => format!("role {}", step.role_arn),
            None => self.base.describe(),
        }
    }

    /// Who acts at step `i` of [`Plan::roles`] (the link before it).
    pub(crate) fn acting_before(&self, i: usize) -> String {
        match i.checked_sub(1).and_then(|prev| self.roles.get(prev)) {
            Some(step) => format!("role {}", step.role_arn),
            None => self.base.describe(),
        }
    }
}

/// The plan for `given` and `spec`.
pub(crate) fn plan(given: Given<'_>, spec: &ChainSpec) -> Result<Plan, AwsError> {
    let base = match given {
        Given::Keys(keys) => Base::Static(AwsKeys::from_named(
            keys,
            "spec.provider.aws.auth.secretRef",
        )?),
        Given::Federated {
            token,
            namespace,
            service_account,
            annotations,
            pod_identity,
        } => {
            let account = format!("{namespace}/{service_account}");
            if pod_identity {
                Base::PodIdentity {
                    token: token.clone(),
                    account,
                }
            } else {
                let role_arn = annotations
                    .get(ROLE_ARN_ANNOTATION)
                    .map(|r| r.trim())
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| {
                        AwsError::invalid_config(format!(
                            "service account {account} has no {ROLE_ARN_ANNOTATION} annotation, \
                             so there is no IAM role to assume with its token (IRSA); annotate it \
                             with the role's ARN"
                        ))
                    })?;
                Base::WebIdentity {
                    role_arn: role_arn.to_owned(),
                    token: token.clone(),
                    account,
                }
            }
        }
    };
    let mut roles: Vec<RoleStep> = spec
        .additional_roles
        .iter()
        .map(|arn| arn.trim())
        .filter(|arn| !arn.is_empty())
        .map(|arn| RoleStep {
            role_arn: arn.to_owned(),
            external_id: None,
        })
        .collect();
    if let Some(role) = spec
        .role
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        roles.push(RoleStep {
            role_arn: role.to_owned(),
            external_id: spec.external_id.clone().filter(|id| !id.trim().is_empty()),
        });
    }
    Ok(Plan { base, roles })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(role: Option<&str>) -> BTreeMap<String, String> {
        role.map(|r| (ROLE_ARN_ANNOTATION.to_owned(), r.to_owned()))
            .into_iter()
            .collect()
    }

    #[test]
    fn irsa_then_additional_roles_then_role_with_external_id() {
        let token = Zeroizing::new("jwt".to_owned());
        let ann = annotations(Some("arn:aws:iam::1:role/irsa"));
        let spec = ChainSpec {
            additional_roles: vec!["arn:aws:iam::2:role/hop".into()],
            role: Some("arn:aws:iam::3:role/final".into()),
            external_id: Some("ext".into()),
        };
        let plan = plan(
            Given::Federated {
                token: &token,
                namespace: "ns",
                service_account: "app",
                annotations: &ann,
                pod_identity: false,
            },
            &spec,
        )
        .unwrap();
        match &plan.base {
            Base::WebIdentity { role_arn, .. } => assert_eq!(role_arn, "arn:aws:iam::1:role/irsa"),
            _ => panic!("web identity expected"),
        }
        assert_eq!(
            plan.roles,
            [
                RoleStep {
                    role_arn: "arn:aws:iam::2:role/hop".into(),
                    external_id: None
                },
                RoleStep {
                    role_arn: "arn:aws:iam::3:role/final".into(),
                    external_id: Some("ext".into())
                },
            ]
        );
        assert_eq!(plan.principal(), "role arn:aws:iam::3:role/final");
        assert!(plan.acting_before(0).contains("arn:aws:iam::1:role/irsa"));
        assert_eq!(plan.acting_before(1), "role arn:aws:iam::2:role/hop");
        assert!(!format!("{plan:?}").contains("jwt"));
    }

    #[test]
    fn a_missing_role_annotation_names_the_account() {
        let token = Zeroizing::new("jwt".to_owned());
        let err = plan(
            Given::Federated {
                token: &token,
                namespace: "ns",
                service_account: "app",
                annotations: &annotations(None),
                pod_identity: false,
            },
            &ChainSpec::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("ns/app") && text.contains(ROLE_ARN_ANNOTATION),
            "{text}"
        );
    }

    #[test]
    fn pod_identity_needs_no_annotation_and_static_keys_chain_too() {
        let token = Zeroizing::new("jwt".to_owned());
        let p = plan(
            Given::Federated {
                token: &token,
                namespace: "ns",
                service_account: "app",
                annotations: &annotations(None),
                pod_identity: true,
            },
            &ChainSpec::default(),
        )
        .unwrap();
        assert!(matches!(p.base, Base::PodIdentity { .. }));
        assert!(p.principal().contains("ns/app"));
        let mut keys = BTreeMap::new();
        keys.insert("accessKeyID".to_owned(), Zeroizing::new("AKIA".to_owned()));
        keys.insert(
            "secretAccessKey".to_owned(),
            Zeroizing::new("sk".to_owned()),
        );
        let spec = ChainSpec {
            role: Some("arn:aws:iam::3:role/r".into()),
            external_id: Some(" ".into()),
            ..ChainSpec::default()
        };
        let p = plan(Given::Keys(&keys), &spec).unwrap();
        assert!(matches!(p.base, Base::Static(_)));
        assert_eq!(p.roles[0].external_id, None);
        assert_eq!(p.acting_before(0), "the store's static access keys");
    }
}
