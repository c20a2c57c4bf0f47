//! The RustCrypto backend (`rsa` 0.10, `aes-gcm` 0.11): pure Rust, behind the `rustcrypto`
//! feature. Private operations are blinded with OS randomness by `rsa` itself.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use getrandom::SysRng;
use rsa::Oaep;
use rsa::sha2::Sha256;
use zeroize::Zeroizing;

use super::{OpenError, SESSION_KEY_LEN, SealError};
use crate::seal::keys::{PrivateKey, PublicKey};

pub(super) fn fill_random(out: &mut [u8]) -> Result<(), SealError> {
    getrandom::fill(out).map_err(|_| SealError::Random)
}

pub(super) fn wrap(
    key: &PublicKey,
    label: &[u8],
    session_key: &[u8],
) -> Result<Vec<u8>, SealError> {
    let padding = Oaep::<Sha256>::new_with_label(label);
    key.rustcrypto()
        .encrypt(&mut SysRng, padding, session_key)
        .map_err(|_| SealError::Wrap)
}

pub(super) fn unwrap(
    key: &PrivateKey,
    label: &[u8],
    wrapped: &[u8],
) -> Result<Zeroizing<[u8; SESSION_KEY_LEN]>, OpenError> {
    let padding = Oaep::<Sha256>::new_with_label(label);
    let plain = Zeroizing::new(
        key.rustcrypto()
            .decrypt(padding, wrapped)
            .map_err(|_| OpenError::WrongKeyOrLabel)?,
    );
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    if plain.len() != SESSION_KEY_LEN {
        return Err(OpenError::WrongKeyOrLabel);
    }
    session_key.copy_from_slice(&plain);
    Ok(session_key)
}

fn cipher(session_key: &[u8; SESSION_KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(session_key.into())
}

pub(super) fn gcm_seal(
    session_key: &[u8; SESSION_KEY_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    cipher(session_key)
        .encrypt(&Nonce::default(), plaintext)
        .map_err(|_| SealError::Encrypt)
}

pub(super) fn gcm_open(
    session_key: &[u8; SESSION_KEY_LEN],
    body: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    cipher(session_key)
        .decrypt(&Nonce::default(), body)
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Tampered)
}
