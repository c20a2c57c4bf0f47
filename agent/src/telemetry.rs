//! JSON logs on stdout through tracing. Nothing logged anywhere in the agent carries a secret
//! value: objects are logged by name, errors by their (value-free) messages.
//!
//! Field names never repeat the JSON formatter's own keys: an event's text is `message` in
//! `fields` and a span's name is `name` in its entry of `spans`, so events use e.g. `detail`
//! and spans `object` (a parser keeps only one of two equal keys). A failure's cause goes in
//! `error`, as the whole chain ([`error_chain`]).

/// Install the global subscriber with `filter` (an EnvFilter directive string).
pub fn init(filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid --log-filter {filter:?}: {e}"))?;
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}

/// `err` and its sources, joined by `: `; a source whose text its parent already shows (kube
/// and hyper errors often include their cause) is not repeated.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("reading the Secret")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("writing: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn chains_join_causes_once() {
        let io = || std::io::Error::other("connection refused");
        assert_eq!(
            super::error_chain(&Outer(io())),
            "reading the Secret: connection refused"
        );
        assert_eq!(
            super::error_chain(&Repeats(io())),
            "writing: connection refused"
        );
    }
}
