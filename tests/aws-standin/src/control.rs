//! What tests steer and read: the faults to inject (throttling, denials, an outage), the
//! record of calls, which access key belongs to which assumed role, and the Pod Identity
//! associations and token trust.
//!
//! [`Control::admit`] is the one decision per request: it records the call, attributes its key,
//! and says whether to forward it, answer with an error, or drop the connection. Pure over the
//! state behind one mutex, so the rules are tested without a server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use crate::wire::{self, BATCH_LIMIT, Call, ErrorAnswer, Outcome, Protocol};

/// Who a call is attributed to when the stand-in never saw its key issued (static keys).
pub const STATIC_PRINCIPAL: &str = "arn:aws:iam::123456789012:user/static-test-user";

/// How much throttling to inject for one action (`*`: every action).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Throttle {
    /// The next N matching calls.
    Next(usize),
    /// This fraction (0–1) of matching calls, spread evenly and deterministically (the k-th
    /// call is throttled when `floor(k·f)` steps up), so tests need no luck.
    Fraction(f64),
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Forward,
    Answer(ErrorAnswer),
    /// Close the connection without an answer (outage).
    Drop,
}

#[derive(Debug, Default)]
struct Inner {
    calls: Vec<Call>,
    throttles: BTreeMap<String, (Throttle, usize)>,
    denied: BTreeSet<String>,
    outage: bool,
    /// Access key id → the assumed-role ARN it was issued for.
    keys: BTreeMap<String, String>,
    /// `(namespace, service account)` → role ARN, as an EKS Pod Identity association.
    associations: BTreeMap<(String, String), String>,
    /// The service-account token issuer and its public key (PEM), for Pod Identity.
    trust: Option<(String, String)>,
    /// When set, only these access key ids (plus those STS issued through us) are valid.
    valid_keys: Option<BTreeSet<String>>,
}

/// The shared state of one stand-in.
#[derive(Debug, Default)]
pub struct Control {
    inner: Mutex<Inner>,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicked test thread must not hide the record from the others.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Record `call` and decide what happens to it; returns the decision and the call's
    /// index in the record (for [`Control::finish`]).
    pub fn admit(&self, mut call: Call, protocol: Protocol) -> (Decision, usize) {
        let mut inner = self.lock();
        call.principal = call
            .access_key_id
            .as_ref()
            .and_then(|key| inner.keys.get(key).cloned());
        let principal = call
            .principal
            .clone()
            .unwrap_or_else(|| STATIC_PRINCIPAL.to_owned());
        let unknown_key = match (&inner.valid_keys, &call.access_key_id) {
            (Some(valid), Some(key)) => !valid.contains(key) && call.principal.is_none(),
            _ => false,
        };
        let (decision, outcome) = if inner.outage {
            (Decision::Drop, Outcome::Dropped)
        } else if unknown_key {
            (
                Decision::Answer(wire::invalid_key(protocol)),
                Outcome::Denied,
            )
        } else if inner.denied.contains(&call.action) {
            let answer = wire::denied(protocol, &principal, &call.action);
            (Decision::Answer(answer), Outcome::Denied)
        } else if throttle_now(&mut inner.throttles, &call.action) {
            (
                Decision::Answer(wire::throttled(protocol)),
                Outcome::Throttled,
            )
        } else if let Some(size) = call.batch_size().filter(|size| *size > BATCH_LIMIT) {
            let answer = wire::batch_too_large(size);
            (Decision::Answer(answer), Outcome::BatchTooLarge)
        } else {
            (Decision::Forward, Outcome::Pending)
        };
        call.outcome = outcome;
        inner.calls.push(call);
        (decision, inner.calls.len() - 1)
    }

    /// Note the final outcome of call `index` (if the record was not reset meanwhile).
    pub fn finish(&self, index: usize, outcome: Outcome) {
        if let Some(call) = self.lock().calls.get_mut(index) {
            call.outcome = outcome;
        }
    }

    /// Remember that `access_key_id` belongs to the assumed role `principal`.
    pub fn issued(&self, access_key_id: &str, principal: &str) {
        self.lock()
            .keys
            .insert(access_key_id.to_owned(), principal.to_owned());
    }

    /// Every call since the last [`Control::reset_calls`], in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Calls per action.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for call in &self.lock().calls {
            *counts.entry(call.action.clone()).or_default() += 1;
        }
        counts
    }

    /// Calls of one action (`secretsmanager:GetSecretValue`, `sts:AssumeRole`, ...).
    pub fn count(&self, action: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|call| call.action == action)
            .count()
    }

    /// The id count of every `BatchGetSecretValue` by ids, in order.
    pub fn batch_sizes(&self) -> Vec<usize> {
        self.lock()
            .calls
            .iter()
            .filter_map(Call::batch_size)
            .collect()
    }

    /// Forget the recorded calls (faults, keys and associations stay).
    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    /// Inject throttling for `action` (`*`: all), replacing what was set for it.
    pub fn throttle(&self, action: &str, throttle: Throttle) {
        self.lock()
            .throttles
            .insert(action.to_owned(), (throttle, 0));
    }

    /// Deny `action` to every caller, as IAM would without a policy allowing it.
    pub fn deny(&self, action: &str) {
        self.lock().denied.insert(action.to_owned());
    }

    /// Allow `action` again.
    pub fn allow(&self, action: &str) {
        self.lock().denied.remove(action);
    }

    /// Outage on or off: while on, every connection is closed without an answer.
    pub fn set_outage(&self, down: bool) {
        self.lock().outage = down;
    }

    /// From now on refuse calls signed with any access key other than `static_keys` and
    /// those STS issued through the stand-in, as AWS refuses keys it does not know
    /// (moto accepts any). Unsigned calls (`AssumeRoleWithWebIdentity`) pass.
    pub fn accept_keys(&self, static_keys: &[&str]) {
        self.lock().valid_keys = Some(static_keys.iter().map(|k| (*k).to_owned()).collect());
    }

    /// Clear throttling, denials and the outage.
    pub fn clear_faults(&self) {
        let mut inner = self.lock();
        inner.throttles.clear();
        inner.denied.clear();
        inner.outage = false;
    }

    /// An EKS Pod Identity association: pods running as `namespace/service_account` get
    /// credentials for `role_arn`.
    pub fn associate(&self, namespace: &str, service_account: &str, role_arn: &str) {
        self.lock().associations.insert(
            (namespace.to_owned(), service_account.to_owned()),
            role_arn.to_owned(),
        );
    }

    pub(crate) fn association(&self, namespace: &str, service_account: &str) -> Option<String> {
        self.lock()
            .associations
            .get(&(namespace.to_owned(), service_account.to_owned()))
            .cloned()
    }

    /// Trust service-account tokens from `issuer` signed by `public_key_pem` (kube-standin's
    /// `tokens().issuer()` and `tokens().public_key_pem()`): for Pod Identity, and from then on
    /// `AssumeRoleWithWebIdentity` must carry such a token for `sts.amazonaws.com` (as IAM's
    /// OIDC provider for the cluster checks), else `InvalidIdentityToken`.
    pub fn trust_tokens(&self, issuer: &str, public_key_pem: &str) {
        self.lock().trust = Some((issuer.to_owned(), public_key_pem.to_owned()));
    }

    pub(crate) fn trust(&self) -> Option<(String, String)> {
        self.lock().trust.clone()
    }
}

/// Whether this call of `action` is one to throttle; counts it against the matching rule.
fn throttle_now(throttles: &mut BTreeMap<String, (Throttle, usize)>, action: &str) -> bool {
    let key = if throttles.contains_key(action) {
        action
    } else if throttles.contains_key("*") {
        "*"
    } else {
        return false;
    };
    let Some((throttle, seen)) = throttles.get_mut(key) else {
        return false;
    };
    *seen += 1;
    match *throttle {
        Throttle::Next(n) => *seen <= n,
        Throttle::Fraction(f) => {
            let f = f.clamp(0.0, 1.0);
            // floor(k·f) > floor((k-1)·f): exactly round(n·f) of the first n calls.
            ((*seen as f64) * f).floor() > (((*seen - 1) as f64) * f).floor()
        }
    }
}

#[cfg(test)]
mod tests;
