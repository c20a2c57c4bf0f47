//! Sealing and opening single values in the Bitnami Sealed Secrets wire format.
//!
//! Data flow: `seal(public key, label, plaintext)` draws a fresh 32-byte AES-256 session key,
//! wraps it with RSA-OAEP (SHA-256 for both the hash and MGF1, the scope label as OAEP label),
//! encrypts the plaintext with AES-256-GCM under a zero nonce (safe: each session key is used
//! exactly once) and frames the result as `u16_be(len(rsa)) || rsa || gcm_ciphertext || tag`.
//! `open` parses the frame (pure, [`frame`]), unwraps the session key and opens the GCM body.
//! Base64 (standard alphabet, padded) is applied by [`encode`] / [`decode`], kept separate so
//! the raw functions can be benchmarked and fuzzed without it.
//!
//! Two interchangeable backends do the RSA and AES work: aws-lc-rs (default; constant-time
//! RSA, fastest on our hardware) and, with the `rustcrypto` feature, the pure-Rust `rsa` and
//! `aes-gcm` crates. [`Backend`] picks one per call so a differential test can run both.

mod awslc;
mod frame;
#[cfg(feature = "rustcrypto")]
mod rustcrypto;
mod scope;

pub use frame::{Frame, parse_frame};
pub use scope::{CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope, UnknownScope};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::seal::keys::{PrivateKey, PublicKey};

/// Size of the one-time AES-256-GCM key wrapped by RSA-OAEP.
pub const SESSION_KEY_LEN: usize = 32;
/// Length of the GCM authentication tag appended to the body.
pub const TAG_LEN: usize = 16;

/// Which implementation does the RSA and AES work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// aws-lc-rs: constant-time RSA, the default.
    #[default]
    AwsLc,
    /// RustCrypto `rsa` 0.10 + `aes-gcm` 0.11: pure Rust.
    #[cfg(feature = "rustcrypto")]
    RustCrypto,
}

impl Backend {
    /// Every backend compiled into this build.
    pub fn all() -> &'static [Backend] {
        &[
            Backend::AwsLc,
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto,
        ]
    }

    /// Short name, for benchmark and test labels.
    pub fn name(self) -> &'static str {
        match self {
            Backend::AwsLc => "aws-lc-rs",
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => "rustcrypto",
        }
    }

    /// Seal `plaintext` for the holder of `key`'s private half under `label`; raw bytes.
    pub fn seal(
        self,
        key: &PublicKey,
        label: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let session_key = self.random_session_key()?;
        let (wrapped, body) = match self {
            Backend::AwsLc => (
                awslc::wrap(key, label, &session_key[..])?,
                awslc::gcm_seal(&session_key, plaintext)?,
            ),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => (
                rustcrypto::wrap(key, label, &session_key[..])?,
                rustcrypto::gcm_seal(&session_key, plaintext)?,
            ),
        };
        frame::build(&wrapped, &body)
    }

    /// Open a raw sealed value with `key` under `label`.
    pub fn open(
        self,
        key: &PrivateKey,
        label: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let frame = parse_frame(sealed)?;
        if frame.wrapped_key.len() != key.public().modulus_len() {
            return Err(OpenError::KeySizeMismatch {
                sealed_for_bytes: frame.wrapped_key.len(),
                key_bytes: key.public().modulus_len(),
            });
        }
        let session_key = match self {
            Backend::AwsLc => awslc::unwrap(key, label, frame.wrapped_key)?,
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => rustcrypto::unwrap(key, label, frame.wrapped_key)?,
        };
        match self {
            Backend::AwsLc => awslc::gcm_open(&session_key, frame.body),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => rustcrypto::gcm_open(&session_key, frame.body),
        }
    }

    fn random_session_key(self) -> Result<Zeroizing<[u8; SESSION_KEY_LEN]>, SealError> {
        let mut key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
        match self {
            Backend::AwsLc => awslc::fill_random(&mut key[..])?,
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => rustcrypto::fill_random(&mut key[..])?,
        }
        Ok(key)
    }
}

/// Seal with the default backend; raw bytes.
pub fn seal(key: &PublicKey, label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    Backend::default().seal(key, label, plaintext)
}

/// Open with the default backend.
pub fn open(
    key: &PrivateKey,
    label: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    Backend::default().open(key, label, sealed)
}

/// Try each key in turn; the first that opens wins. Keys are tried in the order given, so a
/// caller that remembers which key opened an object last can put it first.
pub fn open_with_any<'k>(
    keys: impl IntoIterator<Item = &'k PrivateKey>,
    label: &[u8],
    sealed: &[u8],
) -> Result<(usize, Zeroizing<Vec<u8>>), OpenError> {
    // A malformed frame fails the same way for every key: report that, not "no key".
    parse_frame(sealed)?;
    let mut tried = 0;
    let mut last = None;
    for (index, key) in keys.into_iter().enumerate() {
        tried += 1;
        match open(key, label, sealed) {
            Ok(plaintext) => return Ok((index, plaintext)),
            // A body that fails authentication under the right session key is tampering,
            // whichever key we try next.
            Err(OpenError::Tampered) => return Err(OpenError::Tampered),
            Err(err) => last = Some(err),
        }
    }
    Err(match (tried, last) {
        (0, _) => OpenError::NoKeys,
        (1, Some(err)) => err,
        (tried, _) => OpenError::NoKeyOpened { tried },
    })
}

/// Standard padded base64, as in `encryptedData`.
pub fn encode(sealed: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

/// Decode `encryptedData` base64. Like Go's decoder, CR and LF are skipped (wrapped values
/// from editors); URL-safe or unpadded input is rejected.
pub fn decode(text: &str) -> Result<Vec<u8>, OpenError> {
    let compact: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| OpenError::NotBase64)
}

/// Why a value could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The system random number generator failed.
    #[error("could not draw random bytes for the session key")]
    Random,
    /// The RSA-OAEP wrap of the session key failed (an unusable public key).
    #[error("could not wrap the session key with RSA-OAEP")]
    Wrap,
    /// AES-GCM refused the plaintext (larger than GCM allows).
    #[error("could not encrypt the value with AES-256-GCM")]
    Encrypt,
}

/// Why a value could not be opened. Variants never carry plaintext or key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// `encryptedData` is not standard padded base64.
    #[error("value is not valid base64 (standard alphabet, padded)")]
    NotBase64,
    /// Shorter than the length prefix, the RSA block it announces, or the GCM tag.
    #[error("value is truncated: {len} bytes, at least {need} needed")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes the frame needs.
        need: usize,
    },
    /// The RSA block's size differs from this key's modulus: sealed for another key size.
    #[error(
        "value was sealed for a {sealed_for_bytes}-byte RSA key, this key is {key_bytes} bytes"
    )]
    KeySizeMismatch {
        /// RSA block size announced by the value.
        sealed_for_bytes: usize,
        /// Modulus size of the key tried.
        key_bytes: usize,
    },
    /// RSA-OAEP refused the session key: another key sealed it, or the label (scope, name or
    /// namespace) differs. The two cannot be told apart, by design of OAEP.
    #[error("the key does not open this value (wrong key, or sealed under another scope label)")]
    WrongKeyOrLabel,
    /// The session key unwrapped but the AES-GCM tag did not verify: the body was altered.
    #[error("the value was tampered with (AES-GCM authentication failed)")]
    Tampered,
    /// No private key was given.
    #[error("no private key to try")]
    NoKeys,
    /// Several keys were tried and none opened the value.
    #[error("none of the {tried} keys opens this value")]
    NoKeyOpened {
        /// How many keys were tried.
        tried: usize,
    },
}

#[cfg(test)]
mod tests;
