//! The calls this store makes, one fixed label each, and per-call counters shared by a store's
//! clones: every call is reported to the seam's observer as `(aws, op, outcome)` (the agent's
//! `provider_calls_total`) and counted here for tests and the benchmark ([`Op`] via
//! `AwsStore::calls`).

use std::sync::atomic::{AtomicU64, Ordering};

/// One kind of API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `secretsmanager:GetSecretValue`.
    GetSecretValue,
    /// `secretsmanager:BatchGetSecretValue`.
    BatchGetSecretValue,
    /// `secretsmanager:DescribeSecret` (tags, deletion state).
    DescribeSecret,
    /// `secretsmanager:ListSecrets` (browsing).
    ListSecrets,
    /// `sts:AssumeRoleWithWebIdentity` (IRSA).
    AssumeRoleWithWebIdentity,
    /// `sts:AssumeRole` (role chains).
    AssumeRole,
    /// The EKS Pod Identity agent's credentials endpoint.
    PodIdentity,
    /// `sts:GetCallerIdentity`: how a store check proves static keys (needs no permission).
    GetCallerIdentity,
}

impl Op {
    /// Every op, in label order.
    pub const ALL: [Op; 8] = [
        Op::GetSecretValue,
        Op::BatchGetSecretValue,
        Op::DescribeSecret,
        Op::ListSecrets,
        Op::AssumeRoleWithWebIdentity,
        Op::AssumeRole,
        Op::PodIdentity,
        Op::GetCallerIdentity,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::GetSecretValue => "get_secret_value",
            Op::BatchGetSecretValue => "batch_get_secret_value",
            Op::DescribeSecret => "describe_secret",
            Op::ListSecrets => "list_secrets",
            Op::AssumeRoleWithWebIdentity => "assume_role_with_web_identity",
            Op::AssumeRole => "assume_role",
            Op::PodIdentity => "pod_identity",
            Op::GetCallerIdentity => "get_caller_identity",
        }
    }

    /// The IAM action, for error messages.
    pub fn action(self) -> &'static str {
        match self {
            Op::GetSecretValue => "secretsmanager:GetSecretValue",
            Op::BatchGetSecretValue => "secretsmanager:BatchGetSecretValue",
            Op::DescribeSecret => "secretsmanager:DescribeSecret",
            Op::ListSecrets => "secretsmanager:ListSecrets",
            Op::AssumeRoleWithWebIdentity => "sts:AssumeRoleWithWebIdentity",
            Op::AssumeRole => "sts:AssumeRole",
            Op::PodIdentity => "eks-auth:AssumeRoleForPodIdentity",
            Op::GetCallerIdentity => "sts:GetCallerIdentity",
        }
    }

    /// The awsJson1.1 `X-Amz-Target` of a Secrets Manager op.
    pub(crate) fn target(self) -> Option<&'static str> {
        match self {
            Op::GetSecretValue => Some("secretsmanager.GetSecretValue"),
            Op::BatchGetSecretValue => Some("secretsmanager.BatchGetSecretValue"),
            Op::DescribeSecret => Some("secretsmanager.DescribeSecret"),
            Op::ListSecrets => Some("secretsmanager.ListSecrets"),
            Op::AssumeRoleWithWebIdentity
            | Op::AssumeRole
            | Op::PodIdentity
            | Op::GetCallerIdentity => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Op::GetSecretValue => 0,
            Op::BatchGetSecretValue => 1,
            Op::DescribeSecret => 2,
            Op::ListSecrets => 3,
            Op::AssumeRoleWithWebIdentity => 4,
            Op::AssumeRole => 5,
            Op::PodIdentity => 6,
            Op::GetCallerIdentity => 7,
        }
    }
}

/// How a call ended, as a label.
pub(crate) fn outcome_label<T>(result: &Result<T, crate::AwsError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(crate::AwsError::NotFound { .. }) => "not_found",
        Err(crate::AwsError::Throttled { .. }) => "throttled",
        Err(_) => "error",
    }
}

/// Calls made, per op.
#[derive(Debug, Default)]
pub(crate) struct Counters([AtomicU64; 8]);

impl Counters {
    pub(crate) fn record(&self, op: Op) {
        if let Some(counter) = self.0.get(op.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self, op: Op) -> u64 {
        self.0
            .get(op.index())
            .map_or(0, |counter| counter.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_op_has_its_own_counter_and_label() {
        let counters = Counters::default();
        counters.record(Op::BatchGetSecretValue);
        counters.record(Op::BatchGetSecretValue);
        counters.record(Op::AssumeRole);
        assert_eq!(counters.get(Op::BatchGetSecretValue), 2);
        assert_eq!(counters.get(Op::AssumeRole), 1);
        assert_eq!(counters.get(Op::GetSecretValue), 0);
        let labels: std::collections::BTreeSet<_> = Op::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(labels.len(), Op::ALL.len());
        assert!(Op::ALL.iter().all(|o| o.action().contains(':')));
    }
}
