//! Secrets read from the API hold plaintext; the controllers keep them in [`Wiped`] so the
//! values are overwritten when the reconcile is done with them, whatever path it returns by.

use std::ops::Deref;

use k8s_openapi::api::core::v1::Secret;
use zeroize::Zeroize;

/// An optional Secret whose `data` is zeroized on drop.
#[derive(Debug, Default)]
pub struct Wiped(pub Option<Secret>);

impl Deref for Wiped {
    type Target = Option<Secret>;

    fn deref(&self) -> &Option<Secret> {
        &self.0
    }
}

impl Drop for Wiped {
    fn drop(&mut self) {
        if let Some(data) = self.0.as_mut().and_then(|s| s.data.as_mut()) {
            data.values_mut().for_each(|v| v.0.zeroize());
        }
        if let Some(data) = self.0.as_mut().and_then(|s| s.string_data.as_mut()) {
            data.values_mut().for_each(Zeroize::zeroize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    #[test]
    fn derefs_to_the_secret() {
        let w = Wiped(Some(Secret {
            data: Some([("k".to_owned(), ByteString(b"v".to_vec()))].into()),
            ..Secret::default()
        }));
        assert_eq!(
            w.as_ref().and_then(|s| s.data.as_ref()).map(|d| d.len()),
            Some(1)
        );
    }
}
