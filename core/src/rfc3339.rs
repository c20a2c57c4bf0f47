//! The one RFC 3339 helper: every time we write into an object (status, annotations, reports)
//! or read back from one goes through [`format`] and [`parse`]. Written times have whole
//! seconds, as Kubernetes' own `metav1.Time` does, so a time we write compares equal to the
//! same time read back from the API server and a status rewritten in the same second is
//! unchanged.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `t` in RFC 3339 (UTC offset as given), to the second.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    // Only years outside 0..=9999 cannot be written; no clock or certificate gives one, and
    // the Unix time still says when it was.
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Now, in RFC 3339, to the second.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// An RFC 3339 time, or `None` when `text` is not one.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_and_reads_them_back() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let text = format(t);
        assert_eq!(text, "2023-11-14T22:13:20Z");
        assert_eq!(
            parse(&text).map(|p| p.unix_timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse("2023-11-14T23:13:20+01:00").map(|p| p.unix_timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(parse("yesterday"), None);
        assert!(parse(&now()).is_some());
    }
}
