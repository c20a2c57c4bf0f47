#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;
use crate::wire::{BATCH_GET_SECRET_VALUE, GET_SECRET_VALUE};

fn call(action: &str) -> Call {
    Call {
        action: action.to_owned(),
        ..Call::default()
    }
}

fn outcome_of(control: &Control, action: &str) -> Decision {
    control.admit(call(action), Protocol::Json).0
}

#[test]
fn next_n_throttles_exactly_n_then_forwards() {
    let control = Control::default();
    control.throttle(GET_SECRET_VALUE, Throttle::Next(2));
    let decisions: Vec<_> = (0..4)
        .map(|_| outcome_of(&control, GET_SECRET_VALUE))
        .collect();
    assert!(matches!(decisions[0], Decision::Answer(_)));
    assert!(matches!(decisions[1], Decision::Answer(_)));
    assert_eq!(decisions[2..], [Decision::Forward, Decision::Forward]);
    // Another action is untouched.
    assert_eq!(
        outcome_of(&control, BATCH_GET_SECRET_VALUE),
        Decision::Forward
    );
    assert_eq!(control.count(GET_SECRET_VALUE), 4);
    let throttled = control
        .calls()
        .iter()
        .filter(|c| c.outcome == Outcome::Throttled)
        .count();
    assert_eq!(throttled, 2);
}

#[test]
fn a_fraction_throttles_that_share_evenly() {
    let control = Control::default();
    control.throttle("*", Throttle::Fraction(0.25));
    let throttled = (0..100)
        .filter(|_| matches!(outcome_of(&control, GET_SECRET_VALUE), Decision::Answer(_)))
        .count();
    assert_eq!(throttled, 25);
}

#[test]
fn denial_names_the_callers_role_and_outage_drops() {
    let control = Control::default();
    control.issued("ASIAKEY", "arn:aws:sts::123456789012:assumed-role/app/s");
    control.deny(BATCH_GET_SECRET_VALUE);
    let mut c = call(BATCH_GET_SECRET_VALUE);
    c.access_key_id = Some("ASIAKEY".to_owned());
    let (decision, _) = control.admit(c, Protocol::Json);
    let Decision::Answer(answer) = decision else {
        unreachable!("denied")
    };
    assert!(
        answer.body.contains("assumed-role/app/s"),
        "{}",
        answer.body
    );
    assert_eq!(
        control.calls()[0].principal.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/app/s")
    );
    control.allow(BATCH_GET_SECRET_VALUE);
    assert_eq!(
        outcome_of(&control, BATCH_GET_SECRET_VALUE),
        Decision::Forward
    );

    control.set_outage(true);
    assert_eq!(outcome_of(&control, GET_SECRET_VALUE), Decision::Drop);
    control.clear_faults();
    assert_eq!(outcome_of(&control, GET_SECRET_VALUE), Decision::Forward);
}

#[test]
fn batches_over_twenty_ids_are_refused_and_sizes_recorded() {
    let control = Control::default();
    for size in [20, 21] {
        let mut c = call(BATCH_GET_SECRET_VALUE);
        c.secret_ids = (0..size).map(|i| format!("s{i}")).collect();
        let (decision, _) = control.admit(c, Protocol::Json);
        assert_eq!(matches!(decision, Decision::Answer(_)), size > 20);
    }
    assert_eq!(control.batch_sizes(), [20, 21]);
    control.reset_calls();
    assert!(control.calls().is_empty());
}

#[test]
fn with_accepted_keys_only_those_and_issued_ones_pass() {
    let control = Control::default();
    control.accept_keys(&["AKIAGOOD"]);
    control.issued("ASIAISSUED", "arn:aws:sts::123456789012:assumed-role/r/s");
    let signed = |key: Option<&str>| {
        let mut c = call(GET_SECRET_VALUE);
        c.access_key_id = key.map(str::to_owned);
        control.admit(c, Protocol::Json).0
    };
    assert_eq!(signed(Some("AKIAGOOD")), Decision::Forward);
    assert_eq!(signed(Some("ASIAISSUED")), Decision::Forward);
    assert_eq!(signed(None), Decision::Forward);
    let Decision::Answer(answer) = signed(Some("AKIAWRONG")) else {
        unreachable!("refused")
    };
    assert!(
        answer.body.contains("UnrecognizedClientException"),
        "{}",
        answer.body
    );
}
