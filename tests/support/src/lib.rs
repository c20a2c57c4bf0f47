//! Test equipment shared by the project's integration tests: the real `bao` (OpenBao) and
//! `kubectl` binaries, installed by `cargo xtask test` into `.tools/venv`, driven from Rust.
//!
//! Data flow: [`tools_bin`] finds the venv's `bin/` (from `KUBECTL_SECRETS_TOOLS_BIN`, which
//! `cargo xtask test` exports, or the workspace's own `.tools/venv/bin`). [`kubectl`] runs the
//! venv's kubectl against a kubeconfig the test supplies (usually the kube stand-in's).
//! [`run_python`] runs a script with the venv's [`python`] (helm-python-sdk, kubesealpy),
//! JSON in, stdout back. [`OpenBao`] runs `bao server -dev` as a child process, talks to it over its HTTP API and
//! kills it when dropped.
//!
//! [`Cluster`] starts kube-standin in-process on its own runtime, writes its kubeconfig, and
//! can start an OpenBao whose kubernetes auth reviews tokens against it.
//!
//! [`Moto`] runs the real `moto_server` (AWS Secrets Manager and STS) from `.tools/moto-venv`
//! and creates secrets through its own API for test set-up.
//!
//! [`install_csi_crds`] registers the Secrets Store CSI Driver's CRDs (our own minimal
//! manifests) for tests of the mount pattern.
//!
//! Everything here panics on failure, by design: a test that cannot get its tools must fail
//! loudly rather than skip. Panic messages never carry secret values (tokens, secret data).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test equipment: a failed set-up step must fail the calling test with a panic"
)]

mod cluster;
mod csi;
mod moto;
mod openbao;
mod tools;
mod weak_keys;
mod yaml_table;

pub use cluster::Cluster;
pub use csi::{CSI_CRDS_YAML, install_csi_crds};
/// How a stand-in is started ([`Cluster::try_start`]).
pub use kube_standin::Config as StandInConfig;
pub use yaml_table::{
    implicit_type, tricky_strings, valid_data_keys, valid_dns_labels, valid_label_names,
};

pub use moto::{Moto, MotoError, SecretValue, dummy_authorization, moto_bin};
pub use openbao::{BaoResponse, OpenBao};
pub use tools::{
    kubectl, kubectl_command, kubectl_ok, python, run_python, tools_bin, tools_path, workspace_root,
};
pub use weak_keys::{WeakRsaKeys, weak_rsa_keys};
