//! An access token and when to stop using it: tokens are kept until five minutes before they
//! expire (long enough for a call in flight to finish with it), then made again.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;
use zeroize::Zeroizing;

/// How long before expiry a token is replaced.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A Bearer token with its expiry. `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct AccessToken {
    pub(crate) value: Zeroizing<String>,
    /// `None`: unknown (a person's token), used until refused.
    pub(crate) expires: Option<Instant>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

impl AccessToken {
    /// A token valid `lifetime` from `now`.
    pub(crate) fn new(value: Zeroizing<String>, now: Instant, lifetime: Duration) -> AccessToken {
        AccessToken {
            value,
            expires: Some(now + lifetime),
        }
    }

    /// Whether it may still be used at `now` for a cache (not within the margin of expiry).
    pub(crate) fn fresh(&self, now: Instant) -> bool {
        self.expires.is_some_and(|e| now + REFRESH_MARGIN < e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_until_five_minutes_before_expiry() {
        let now = Instant::now();
        let token = AccessToken::new(
            Zeroizing::new("ya29.x".into()),
            now,
            Duration::from_secs(3600),
        );
        assert!(token.fresh(now));
        assert!(token.fresh(now + Duration::from_secs(3299)));
        assert!(!token.fresh(now + Duration::from_secs(3300)));
        let short = AccessToken::new(Zeroizing::new("t".into()), now, Duration::from_secs(200));
        assert!(
            !short.fresh(now),
            "a token shorter than the margin is never cached"
        );
        assert!(!format!("{token:?}").contains("ya29"));
        let unknown = AccessToken {
            value: Zeroizing::new("p".into()),
            expires: None,
        };
        assert!(
            !unknown.fresh(now),
            "a token of unknown expiry is never cached"
        );
    }
}
