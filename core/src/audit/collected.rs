//! What the plugin could collect for a check: the value, the reason it could not, or the fact
//! that nobody asked. Checks turn [`Collected::Unavailable`] into `incomplete` findings (never
//! a pass) and stay silent on [`Collected::NotAsked`] (e.g. `--no-cluster`).

/// What the plugin could collect for a check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Collected<T> {
    /// Collected.
    Got(T),
    /// The API refused or failed; the text says why (no values).
    Unavailable(String),
    /// Not asked for (e.g. `--no-cluster`).
    #[default]
    NotAsked,
}

impl<T> Collected<T> {
    /// The collected value, if there is one.
    pub fn got(&self) -> Option<&T> {
        match self {
            Self::Got(value) => Some(value),
            Self::Unavailable(_) | Self::NotAsked => None,
        }
    }

    /// Why it could not be collected, if it was asked for and failed.
    pub fn unavailable(&self) -> Option<&str> {
        match self {
            Self::Unavailable(reason) => Some(reason),
            Self::Got(_) | Self::NotAsked => None,
        }
    }

    /// Whether it was asked for at all.
    pub fn asked(&self) -> bool {
        !matches!(self, Self::NotAsked)
    }
}
