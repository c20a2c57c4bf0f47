//! Template tests: features, errors and bounds, fixtures from the Sealed Secrets and ESO
//! documentation, and properties over arbitrary text.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::*;

mod errors;
mod features;
mod fixtures;
mod props;

fn data(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Zeroizing<Vec<u8>>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Zeroizing::new(v.to_vec())))
        .collect()
}

fn values() -> BTreeMap<String, Zeroizing<Vec<u8>>> {
    data(&[
        ("user", b"app"),
        ("password", b" s3cr3t "),
        ("db-password", b"hunter2"),
        ("empty", b""),
        ("enc", b"aGk="),
        (
            "json",
            br#"{"host":"db","port":5432,"tags":["a","b"],"nested":{"k":"v"}}"#,
        ),
        ("binary", &[0xff, 0x00, 0x41]),
    ])
}

/// Render over [`values`] as UTF-8 text.
fn r(t: &str) -> Result<String, TemplateError> {
    render(t, &values()).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn ok(t: &str) -> String {
    match r(t) {
        Ok(s) => s,
        Err(e) => panic!("{t:?} failed: {e}"),
    }
}
