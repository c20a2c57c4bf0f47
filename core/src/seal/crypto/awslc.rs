//! The aws-lc-rs backend: RSA-OAEP(SHA-256, MGF1-SHA-256) and AES-256-GCM.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;
use zeroize::Zeroizing;

use super::{OpenError, SESSION_KEY_LEN, SealError};
use crate::seal::keys::{PrivateKey, PublicKey};

pub(super) fn fill_random(out: &mut [u8]) -> Result<(), SealError> {
    aws_lc_rs::rand::fill(out).map_err(|_| SealError::Random)
}

pub(super) fn wrap(
    key: &PublicKey,
    label: &[u8],
    session_key: &[u8],
) -> Result<Vec<u8>, SealError> {
    let oaep = key.awslc();
    let mut out = vec![0u8; oaep.ciphertext_size()];
    let written = oaep
        .encrypt(&OAEP_SHA256_MGF1SHA256, session_key, &mut out, Some(label))
        .map_err(|_| SealError::Wrap)?
        .len();
    out.truncate(written);
    Ok(out)
}

pub(super) fn unwrap(
    key: &PrivateKey,
    label: &[u8],
    wrapped: &[u8],
) -> Result<Zeroizing<[u8; SESSION_KEY_LEN]>, OpenError> {
    let oaep = key.awslc();
    let mut out = Zeroizing::new(vec![0u8; oaep.min_output_size()]);
    let plain = oaep
        .decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut out, Some(label))
        .map_err(|_| OpenError::WrongKeyOrLabel)?;
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    // A wrapped key of another length was not made by a Sealed Secrets sealer.
    if plain.len() != SESSION_KEY_LEN {
        return Err(OpenError::WrongKeyOrLabel);
    }
    session_key.copy_from_slice(plain);
    Ok(session_key)
}

fn gcm_key(session_key: &[u8; SESSION_KEY_LEN]) -> Result<LessSafeKey, Unspecified> {
    Ok(LessSafeKey::new(UnboundKey::new(
        &AES_256_GCM,
        session_key,
    )?))
}

pub(super) fn gcm_seal(
    session_key: &[u8; SESSION_KEY_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut buffer = plaintext.to_vec();
    // The zero nonce is Bitnami's wire format; it is safe because every session key is fresh.
    gcm_key(session_key)
        .and_then(|key| {
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key([0u8; 12]),
                Aad::empty(),
                &mut buffer,
            )
        })
        .map_err(|_| SealError::Encrypt)?;
    Ok(buffer)
}

pub(super) fn gcm_open(
    session_key: &[u8; SESSION_KEY_LEN],
    body: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let mut buffer = Zeroizing::new(body.to_vec());
    let key = gcm_key(session_key).map_err(|_| OpenError::Tampered)?;
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key([0u8; 12]),
            Aad::empty(),
            &mut buffer,
        )
        .map_err(|_| OpenError::Tampered)?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}
