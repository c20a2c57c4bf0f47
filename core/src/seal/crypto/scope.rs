//! Sealing scopes and the OAEP label each one binds a value to.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Annotation that marks a namespace-wide SealedSecret (value exactly `"true"`).
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// Annotation that marks a cluster-wide SealedSecret (value exactly `"true"`).
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";

/// Where a sealed value may be unsealed: the OAEP label ties it to a name and namespace,
/// a namespace, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Scope {
    /// Only as this name in this namespace (label `namespace/name`).
    #[default]
    Strict,
    /// Under any name in this namespace (label `namespace`).
    NamespaceWide,
    /// Anywhere (empty label).
    ClusterWide,
}

impl Scope {
    /// The OAEP label bytes for a value of the SealedSecret `namespace/name`.
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }

    /// The label as people read it in error messages (never secret).
    pub fn describe_label(self, namespace: &str, name: &str) -> String {
        match self {
            Scope::Strict => format!("\"{namespace}/{name}\" (strict)"),
            Scope::NamespaceWide => format!("\"{namespace}\" (namespace-wide)"),
            Scope::ClusterWide => "\"\" (cluster-wide)".to_owned(),
        }
    }

    /// Scope of a SealedSecret from its top-level annotations, as the Bitnami controller reads
    /// it: the value must be exactly `"true"` and cluster-wide wins when both are set.
    pub fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Scope {
        let is_true = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .is_some_and(|value| value == "true")
        };
        if is_true(CLUSTER_WIDE_ANNOTATION) {
            Scope::ClusterWide
        } else if is_true(NAMESPACE_WIDE_ANNOTATION) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// The annotation kubeseal writes for this scope, if any.
    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(NAMESPACE_WIDE_ANNOTATION),
            Scope::ClusterWide => Some(CLUSTER_WIDE_ANNOTATION),
        }
    }

    /// Set this scope's annotation on a map, removing the other scope's.
    pub fn apply_annotations(self, annotations: &mut BTreeMap<String, String>) {
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        if let Some(key) = self.annotation() {
            annotations.insert(key.to_owned(), "true".to_owned());
        }
    }

    /// The `--scope` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--scope` value that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected strict, namespace-wide or cluster-wide")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(UnknownScope(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn labels_match_bitnami() {
        assert_eq!(Scope::Strict.label("ns", "name"), b"ns/name");
        assert_eq!(Scope::NamespaceWide.label("ns", "name"), b"ns");
        assert!(Scope::ClusterWide.label("ns", "name").is_empty());
    }

    #[test]
    fn scope_detection_is_exact_and_cluster_wide_wins() {
        assert_eq!(Scope::from_annotations(None), Scope::Strict);
        let both = annotations(&[
            (NAMESPACE_WIDE_ANNOTATION, "true"),
            (CLUSTER_WIDE_ANNOTATION, "true"),
        ]);
        assert_eq!(Scope::from_annotations(Some(&both)), Scope::ClusterWide);
        let ns = annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true")]);
        assert_eq!(Scope::from_annotations(Some(&ns)), Scope::NamespaceWide);
        // Go compares with == "true": "True" and "yes" mean strict.
        let upper = annotations(&[(CLUSTER_WIDE_ANNOTATION, "True")]);
        assert_eq!(Scope::from_annotations(Some(&upper)), Scope::Strict);
    }

    #[test]
    fn apply_replaces_the_other_scope() {
        let mut map = annotations(&[(CLUSTER_WIDE_ANNOTATION, "true"), ("keep", "me")]);
        Scope::NamespaceWide.apply_annotations(&mut map);
        assert_eq!(
            map,
            annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true"), ("keep", "me")])
        );
        Scope::Strict.apply_annotations(&mut map);
        assert_eq!(map, annotations(&[("keep", "me")]));
    }

    #[test]
    fn parses_the_three_spellings() {
        for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("wide".parse::<Scope>().is_err());
    }
}
