//! kube-standin: a stateful stand-in for the Kubernetes API server, for our tests and demo.
//! Test equipment only: never part of the chart or the agent image.

pub mod api;
pub mod control;
pub mod patch;
pub mod pki;
pub mod registry;
pub mod selectors;
pub mod store;
pub mod tokens;
