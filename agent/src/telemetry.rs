//! JSON logs on stdout through tracing. Nothing logged anywhere in the agent carries a secret
//! value: objects are logged by name, errors by their (value-free) messages.

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
