//! The provider ⇄ controller exchange for mount-only SealedSecrets and the version key, pure
//! (aws-lc-rs only, no IO; randomness from the system generator).
//!
//! Data flow of one `POST /v1/mount`:
//!
//! ```text
//!  provider: Pending::new() ──▶ one-time X25519 key; a MountRequest {pod, token, items,
//!            nonce, time, ephemeralKey}; its Transcript = SHA-256 of the canonical request
//!            without the token
//!  controller: checks (replay::Freshness, TokenReview, pod, scope) ──▶ opens the values ──▶
//!            seal_answer: its own one-time X25519 key, shared secret → HKDF-SHA256 (salt:
//!            the transcript) → AES-256-GCM over the values (AAD: transcript and file list),
//!            Ed25519 signature by the mount key over transcript ‖ controllerKey ‖
//!            ciphertext ‖ file list
//!  provider: Pending::open(transcript, answer, pinned public key): signature first, then
//!            decrypt, then the answer must hold exactly one value per file
//! ```
//!
//! Both one-time keys are used for exactly one agreement (aws-lc-rs' `EphemeralPrivateKey` is
//! consumed by it), so the AEAD key is fresh per answer and a zero nonce is safe. A listener
//! sees ciphertext; a replayer gets refused by the nonce and time checks, and even an answer
//! replayed to the provider fails: its signature covers the transcript, which holds that
//! mount's nonce and one-time key.

pub mod replay;
mod wire;

pub use wire::{Answer, FileMeta, MountRequest, OpenedFile, RequestItem, VersionKeyRequest};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, ED25519, Ed25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

/// The smallest nonce accepted, in bytes.
pub const MIN_NONCE_BYTES: usize = 16;
/// The nonce the provider sends, in bytes.
pub const NONCE_BYTES: usize = 24;
/// The largest request body the controller reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Most items in one request.
pub const MAX_ITEMS: usize = 256;
/// The path of the one "file" a version-key answer carries.
pub const VERSION_KEY_FILE: &str = "version.key";

const TRANSCRIPT_DOMAIN: &[u8] = b"kubectl-secrets/mount/transcript/v1";
const KEY_DOMAIN: &[u8] = b"kubectl-secrets/mount/answer-key/v1";
const SIGNATURE_DOMAIN: &[u8] = b"kubectl-secrets/mount/answer-signature/v1";

/// What went wrong in the exchange; never carries a value or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// A field is not what the protocol says.
    #[error("the mount exchange's {field} is malformed: {why}")]
    Malformed {
        /// Which field.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// The signature does not verify with the pinned key.
    #[error(
        "the controller's answer is not signed by the pinned mount key (tampered, or signed by another key)"
    )]
    BadSignature,
    /// Decryption failed (tampered ciphertext, or not for this one-time key).
    #[error("the controller's answer does not decrypt for this mount's one-time key")]
    Decrypt,
    /// The crypto library refused (key generation, agreement).
    #[error("the mount exchange's crypto failed: {0}")]
    Crypto(&'static str),
}

fn malformed(field: &'static str, why: impl Into<String>) -> ExchangeError {
    ExchangeError::Malformed {
        field,
        why: why.into(),
    }
}

/// SHA-256 of a request's canonical form without its token: what both sides bind the answer
/// to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Transcript(pub [u8; 32]);

impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Transcript({})", hex(&self.0[..8]))
    }
}

/// Length-prefixed fields: no two field lists encode the same.
#[derive(Default)]
struct Canonical(Vec<u8>);

impl Canonical {
    fn field(&mut self, bytes: &[u8]) -> &mut Canonical {
        // Lengths over u32 never pass the body bound; saturate instead of truncating silently.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }
}

impl MountRequest {
    /// The transcript: kind, pod, items, nonce, time and one-time key (no token).
    pub fn transcript(&self) -> Transcript {
        let mut c = Canonical::default();
        c.field(TRANSCRIPT_DOMAIN)
            .field(b"mount")
            .field(self.namespace.as_bytes())
            .field(self.pod_name.as_bytes())
            .field(self.pod_uid.as_bytes())
            .field(self.service_account.as_bytes())
            .field(&(self.items.len() as u64).to_be_bytes());
        for item in &self.items {
            c.field(item.path.as_bytes())
                .field(item.name.as_bytes())
                .field(item.key.as_bytes());
        }
        c.field(self.nonce.as_bytes())
            .field(self.time.as_bytes())
            .field(self.ephemeral_key.as_bytes());
        transcript_of(&c)
    }
}

impl VersionKeyRequest {
    /// The transcript: kind, nonce, time and one-time key (no token).
    pub fn transcript(&self) -> Transcript {
        let mut c = Canonical::default();
        c.field(TRANSCRIPT_DOMAIN)
            .field(b"version-key")
            .field(self.nonce.as_bytes())
            .field(self.time.as_bytes())
            .field(self.ephemeral_key.as_bytes());
        transcript_of(&c)
    }
}

fn transcript_of(c: &Canonical) -> Transcript {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &c.0).as_ref());
    Transcript(out)
}

fn files_encoding(files: &[FileMeta]) -> Vec<u8> {
    let mut c = Canonical::default();
    c.field(&(files.len() as u64).to_be_bytes());
    for file in files {
        c.field(file.path.as_bytes()).field(file.version.as_bytes());
    }
    c.0
}

fn signed_message(
    transcript: &Transcript,
    controller_key: &[u8],
    ciphertext: &[u8],
    files: &[FileMeta],
) -> Vec<u8> {
    let mut c = Canonical::default();
    c.field(SIGNATURE_DOMAIN)
        .field(&transcript.0)
        .field(controller_key)
        .field(ciphertext)
        .field(&files_encoding(files));
    c.0
}

fn aad(transcript: &Transcript, files: &[FileMeta]) -> Vec<u8> {
    let mut out = transcript.0.to_vec();
    out.extend_from_slice(&files_encoding(files));
    out
}

/// The AEAD key for one answer: HKDF-SHA256 over the X25519 shared secret, salted with the
/// transcript, bound to both one-time public keys.
fn answer_key(
    private: EphemeralPrivateKey,
    peer: &[u8],
    controller_key: &[u8],
    provider_key: &[u8],
    transcript: &Transcript,
) -> Result<LessSafeKey, ExchangeError> {
    let peer = UnparsedPublicKey::new(&X25519, peer);
    agreement::agree_ephemeral(
        private,
        peer,
        ExchangeError::Crypto("x25519 agreement"),
        |shared| {
            let info = [KEY_DOMAIN, controller_key, provider_key];
            let prk = Salt::new(HKDF_SHA256, &transcript.0).extract(shared);
            let okm = prk
                .expand(&info, &AES_256_GCM)
                .map_err(|_| ExchangeError::Crypto("hkdf"))?;
            Ok(LessSafeKey::new(UnboundKey::from(okm)))
        },
    )
}

fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, ExchangeError> {
    B64.decode(text.as_bytes())
        .map_err(|_| malformed(field, "not base64"))
}

/// Decode a one-time X25519 public key.
pub fn decode_public_key(field: &'static str, text: &str) -> Result<Vec<u8>, ExchangeError> {
    let key = decode(field, text)?;
    if key.len() != 32 {
        return Err(malformed(field, format!("{} bytes, not 32", key.len())));
    }
    Ok(key)
}

/// Check a nonce's form (base64, at least [`MIN_NONCE_BYTES`]).
pub fn check_nonce(nonce: &str) -> Result<(), ExchangeError> {
    let bytes = decode("nonce", nonce)?;
    if bytes.len() < MIN_NONCE_BYTES {
        return Err(malformed(
            "nonce",
            format!("{} bytes, at least {MIN_NONCE_BYTES} needed", bytes.len()),
        ));
    }
    Ok(())
}

/// A fresh random nonce, base64.
pub fn new_nonce() -> Result<String, ExchangeError> {
    let mut bytes = [0u8; NONCE_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ExchangeError::Crypto("random nonce"))?;
    Ok(B64.encode(bytes))
}

/// The provider's side of one exchange: its one-time key, kept until the answer arrives.
pub struct Pending {
    private: EphemeralPrivateKey,
    public: Vec<u8>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Pending {
    /// A new one-time X25519 key.
    pub fn new() -> Result<Pending, ExchangeError> {
        let private = EphemeralPrivateKey::generate(&X25519, &SystemRandom::new())
            .map_err(|_| ExchangeError::Crypto("x25519 key generation"))?;
        let public = private
            .compute_public_key()
            .map_err(|_| ExchangeError::Crypto("x25519 public key"))?
            .as_ref()
            .to_vec();
        Ok(Pending { private, public })
    }

    /// The one-time public key, base64 (the request's `ephemeralKey`).
    pub fn public_key(&self) -> String {
        B64.encode(&self.public)
    }

    /// Check the answer's signature with the pinned mount key (`signer`: raw Ed25519 public
    /// key), decrypt it, and return each file's metadata with its value. The key is used up.
    pub fn open(
        self,
        transcript: &Transcript,
        answer: &Answer,
        signer: &[u8],
    ) -> Result<Vec<OpenedFile>, ExchangeError> {
        let controller_key = decode_public_key("controllerKey", &answer.controller_key)?;
        let ciphertext = decode("ciphertext", &answer.ciphertext)?;
        let sig = decode("signature", &answer.signature)?;
        let message = signed_message(transcript, &controller_key, &ciphertext, &answer.files);
        signature::UnparsedPublicKey::new(&ED25519, signer)
            .verify(&message, &sig)
            .map_err(|_| ExchangeError::BadSignature)?;
        let key = answer_key(
            self.private,
            &controller_key,
            &controller_key,
            &self.public,
            transcript,
        )?;
        let mut buffer = Zeroizing::new(ciphertext);
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key([0u8; 12]),
                Aad::from(aad(transcript, &answer.files)),
                &mut buffer,
            )
            .map_err(|_| ExchangeError::Decrypt)?;
        let values = split_values(plain)?;
        if values.len() != answer.files.len() {
            return Err(malformed(
                "ciphertext",
                format!("{} values for {} files", values.len(), answer.files.len()),
            ));
        }
        Ok(answer.files.iter().cloned().zip(values).collect())
    }
}

fn split_values(mut plain: &[u8]) -> Result<Vec<Zeroizing<Vec<u8>>>, ExchangeError> {
    let mut values = Vec::new();
    while !plain.is_empty() {
        let (len, rest) = plain
            .split_first_chunk::<4>()
            .ok_or_else(|| malformed("ciphertext", "a truncated length"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(malformed("ciphertext", "a truncated value"));
        }
        let (value, rest) = rest.split_at(len);
        values.push(Zeroizing::new(value.to_vec()));
        plain = rest;
    }
    Ok(values)
}

/// The controller's side: encrypt `values` (one per file, same order) to the provider's
/// one-time key `provider_key` (base64) under a one-time key of its own, and sign it with
/// the mount key.
pub fn seal_answer(
    transcript: &Transcript,
    provider_key: &str,
    files: Vec<FileMeta>,
    values: &[&[u8]],
    signer: &Ed25519KeyPair,
) -> Result<Answer, ExchangeError> {
    if files.len() != values.len() {
        return Err(malformed("files", "not one value per file"));
    }
    let provider_key = decode_public_key("ephemeralKey", provider_key)?;
    let private = EphemeralPrivateKey::generate(&X25519, &SystemRandom::new())
        .map_err(|_| ExchangeError::Crypto("x25519 key generation"))?;
    let controller_key = private
        .compute_public_key()
        .map_err(|_| ExchangeError::Crypto("x25519 public key"))?
        .as_ref()
        .to_vec();
    let key = answer_key(
        private,
        &provider_key,
        &controller_key,
        &provider_key,
        transcript,
    )?;
    let mut buffer = Zeroizing::new(Vec::new());
    for value in values {
        let len =
            u32::try_from(value.len()).map_err(|_| malformed("files", "a value over 4 GiB"))?;
        buffer.extend_from_slice(&len.to_be_bytes());
        buffer.extend_from_slice(value);
    }
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0u8; 12]),
        Aad::from(aad(transcript, &files)),
        &mut *buffer,
    )
    .map_err(|_| ExchangeError::Crypto("aes-256-gcm"))?;
    // The buffer is ciphertext now; the copy below needs no wiping.
    let ciphertext = buffer.to_vec();
    let message = signed_message(transcript, &controller_key, &ciphertext, &files);
    let sig = signer.sign(&message);
    Ok(Answer {
        files,
        ciphertext: B64.encode(&ciphertext),
        controller_key: B64.encode(&controller_key),
        signature: B64.encode(sig.as_ref()),
    })
}

/// The version of a mount-only SealedSecret's value: base64url (no padding, first 32
/// characters) of SHA-256 over the opening key's fingerprint and what determines the value
/// (its ciphertext; for a key rendered from `template.data`, the template and every
/// ciphertext). Stable while they are unchanged, whoever computes it; reveals nothing.
pub fn sealed_version(key_fingerprint: &str, determines: &[&[u8]]) -> String {
    let mut c = Canonical::default();
    c.field(b"kubectl-secrets/mount/sealed-version/v1")
        .field(key_fingerprint.as_bytes());
    for part in determines {
        c.field(part);
    }
    let hash = digest(&SHA256, &c.0);
    let mut text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.as_ref());
    text.truncate(32);
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
