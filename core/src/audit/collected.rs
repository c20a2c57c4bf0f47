//! What the plugin could collect for a check (placeholder until the encryption branch lands).

/// What the plugin could collect for a check.
#[derive(Debug, Clone)]
pub enum Collected<T> {
    /// Read.
    Got(T),
    /// The API refused or failed; the text says why (no values).
    Unavailable(String),
    /// Not asked for (e.g. `--no-cluster`).
    NotAsked,
}

impl<T> Collected<T> {
    /// The value, if it was read.
    pub fn got(&self) -> Option<&T> {
        match self {
            Self::Got(value) => Some(value),
            _ => None,
        }
    }
}
