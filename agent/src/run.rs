//! What each `secrets-agent` subcommand runs: the wiring of long-lived tasks, no logic of its own.

pub mod controller;
