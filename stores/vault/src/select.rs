//! The client's own words for a property that selects nothing: the seam's
//! `secrets_core::store::SelectError` (ESO's rules, shared by every store), with the secret's
//! bare API path, so callers of [`crate::KvSecret::select`] match on the path they read.

use secrets_core::store::SelectError as SeamError;

/// A property that does not select anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// Neither a top-level key nor a path into the secret.
    #[error("property {property:?} not found in vault secret {path}")]
    Missing {
        /// The property asked for.
        property: String,
        /// The secret's API path.
        path: String,
    },
    /// The property uses gjson syntax beyond plain keys, dots and array indexes.
    #[error(
        "property {property:?} of vault secret {path} uses gjson syntax that is not supported \
         ({what}); use a top-level key or a dotted path such as a.b.0"
    )]
    Unsupported {
        /// The property asked for.
        property: String,
        /// The secret's API path.
        path: String,
        /// The construct found.
        what: &'static str,
    },
    /// The secret is not a JSON object (never for KV, whose data is one; kept for the seam).
    #[error("vault secret {path} is not a JSON object, so it has no properties")]
    NotAnObject {
        /// The secret's API path.
        path: String,
    },
}

impl SelectError {
    /// The seam's error for the secret at `path`.
    pub(crate) fn from_seam(err: SeamError, path: &str) -> Self {
        match err {
            SeamError::Missing { property, .. } => SelectError::Missing {
                property,
                path: path.to_owned(),
            },
            SeamError::Unsupported { property, what, .. } => SelectError::Unsupported {
                property,
                path: path.to_owned(),
                what,
            },
            SeamError::NotAnObject { .. } => SelectError::NotAnObject {
                path: path.to_owned(),
            },
        }
    }
}
