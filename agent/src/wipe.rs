//! Secrets read from the API hold plaintext; the controllers keep them in [`Wiped`] so the
//! values are overwritten when the reconcile is done with them, whatever path it returns by;
//! Secrets they write (and the API server's answer) are kept in [`WipedSecret`] alike.

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
        if let Some(secret) = self.0.as_mut() {
            wipe(secret);
        }
    }
}

/// A Secret whose `data` is zeroized on drop: one we are about to write, or the API server's
/// answer to the write.
#[derive(Debug, Default)]
pub struct WipedSecret(pub Secret);

impl Deref for WipedSecret {
    type Target = Secret;

    fn deref(&self) -> &Secret {
        &self.0
    }
}

impl Drop for WipedSecret {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrite the values of `secret`'s `data` and `stringData`.
pub(crate) fn wipe(secret: &mut Secret) {
    if let Some(data) = secret.data.as_mut() {
        data.values_mut().for_each(|v| v.0.zeroize());
    }
    if let Some(data) = secret.string_data.as_mut() {
        data.values_mut().for_each(Zeroize::zeroize);
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
