//! The sync pattern, pure: what the agent does with an `ExternalSecret` and its store.
//!
//! Data flow (the agent does the IO at both ends):
//!
//! ```text
//! ExternalSecret ──[validate]──▶ problems? → Ready=False, nothing else happens
//!       │ spec.data / dataFrom ──[decide::reads]──▶ (path, version) reads, shared across objects
//!       ▼                                           ▼ provider answers (values zeroized)
//! [decide::decide](spec, existing Secret, answers) ──▶ Write / Delete / Keep / Fail
//!       │
//!       └─[schedule::next_refresh]──▶ when to look again (jittered, aligned to the shared read)
//! ```
//!
//! [`duration`] parses ESO's Go-style durations (`refreshInterval`).

pub mod decide;
pub mod duration;
pub mod schedule;
pub mod validate;
