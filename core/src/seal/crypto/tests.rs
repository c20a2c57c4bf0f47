//! Round trips, the differential test between backends, and every way opening must fail.

use time::{Duration, OffsetDateTime};

use super::*;
use crate::seal::keys::testing::{key2048, key4096};
use crate::seal::keys::{KeyBits, generate};

const SCOPES: [Scope; 3] = [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide];

#[test]
fn layout_matches_the_wire_format() {
    let key = key4096();
    let sealed = seal(key.certificate.public_key(), b"ns/name", b"hello").unwrap();
    assert_eq!(sealed.len(), 2 + 512 + 5 + TAG_LEN);
    assert!(encode(&sealed).starts_with("Ag"));
    let small = seal(key2048().certificate.public_key(), b"", b"hello").unwrap();
    assert!(
        encode(&small).starts_with("AQ"),
        "0x01 0x00: a 256-byte RSA block"
    );
}

#[test]
fn sealing_is_not_deterministic() {
    let public = key4096().certificate.public_key();
    assert_ne!(
        seal(public, b"l", b"same").unwrap(),
        seal(public, b"l", b"same").unwrap()
    );
}

/// What one backend seals the other opens, in every scope, both ways.
#[test]
fn differential_every_backend_pair_every_scope() {
    let key = key4096();
    let plaintext: Vec<u8> = (0..=255u8).collect();
    for sealer in Backend::all() {
        for opener in Backend::all() {
            for scope in SCOPES {
                let label = scope.label("team-a", "db-creds");
                let sealed = sealer
                    .seal(key.certificate.public_key(), &label, &plaintext)
                    .unwrap();
                let opened = opener
                    .open(&key.private, &label, &sealed)
                    .unwrap_or_else(|err| {
                        panic!("{} → {} {scope}: {err}", sealer.name(), opener.name())
                    });
                assert_eq!(
                    &opened[..],
                    &plaintext[..],
                    "{} → {} {scope}",
                    sealer.name(),
                    opener.name()
                );
            }
        }
    }
    #[cfg(feature = "rustcrypto")]
    assert_eq!(
        Backend::all().len(),
        2,
        "the differential test must see both backends"
    );
}

#[test]
fn wrong_label_is_refused_by_every_backend() {
    let key = key4096();
    for backend in Backend::all() {
        let sealed = backend
            .seal(key.certificate.public_key(), b"ns/a", b"v")
            .unwrap();
        for wrong in [&b"ns/b"[..], b"ns", b""] {
            assert_eq!(
                backend.open(&key.private, wrong, &sealed),
                Err(OpenError::WrongKeyOrLabel)
            );
        }
    }
}

#[test]
fn wrong_key_is_refused() {
    let other = generate(
        KeyBits::Rsa4096,
        "x",
        OffsetDateTime::now_utc(),
        Duration::days(1),
    )
    .unwrap();
    let sealed = seal(key4096().certificate.public_key(), b"l", b"v").unwrap();
    for backend in Backend::all() {
        assert_eq!(
            backend.open(&other.private, b"l", &sealed),
            Err(OpenError::WrongKeyOrLabel)
        );
    }
    // A 2048-bit key cannot even be tried on a 4096-bit value.
    assert_eq!(
        open(&key2048().private, b"l", &sealed),
        Err(OpenError::KeySizeMismatch {
            sealed_for_bytes: 512,
            key_bytes: 256
        })
    );
}

#[test]
fn tampering_is_detected() {
    let key = key4096();
    let sealed = seal(key.certificate.public_key(), b"l", b"some value").unwrap();
    for backend in Backend::all() {
        let mut body = sealed.clone();
        let last = body.len() - 1;
        body[last] ^= 1; // tag
        assert_eq!(
            backend.open(&key.private, b"l", &body),
            Err(OpenError::Tampered)
        );
        let mut body = sealed.clone();
        body[2 + 512] ^= 0x80; // ciphertext
        assert_eq!(
            backend.open(&key.private, b"l", &body),
            Err(OpenError::Tampered)
        );
        let mut wrapped = sealed.clone();
        wrapped[10] ^= 1; // RSA block
        assert_eq!(
            backend.open(&key.private, b"l", &wrapped),
            Err(OpenError::WrongKeyOrLabel)
        );
    }
}

#[test]
fn truncation_and_base64_errors() {
    let key = key4096();
    let sealed = seal(key.certificate.public_key(), b"l", b"v").unwrap();
    assert_eq!(
        open(&key.private, b"l", &sealed[..100]),
        Err(OpenError::Truncated {
            len: 100,
            need: 2 + 512 + TAG_LEN
        })
    );
    assert_eq!(
        open(&key.private, b"l", &sealed[..1]),
        Err(OpenError::Truncated { len: 1, need: 2 })
    );
    assert_eq!(decode("not base64!"), Err(OpenError::NotBase64));
    assert_eq!(
        decode("YQ"),
        Err(OpenError::NotBase64),
        "unpadded input is refused, as in Go"
    );
    assert_eq!(
        decode("Y-_a"),
        Err(OpenError::NotBase64),
        "URL-safe input is refused"
    );
    assert_eq!(
        decode("YW\r\nJj").unwrap(),
        b"abc",
        "CR/LF are skipped, as in Go"
    );
}

#[test]
fn open_with_any_tries_every_key_and_reports_the_count() {
    let other = key2048();
    let key = key4096();
    let sealed = seal(key.certificate.public_key(), b"l", b"v").unwrap();
    let (index, opened) = open_with_any([&other.private, &key.private], b"l", &sealed).unwrap();
    assert_eq!((index, &opened[..]), (1, &b"v"[..]));
    assert_eq!(
        open_with_any([&other.private, &key.private], b"x", &sealed),
        Err(OpenError::NoKeyOpened { tried: 2 })
    );
    assert_eq!(open_with_any([], b"l", &sealed), Err(OpenError::NoKeys));
}

#[test]
fn empty_and_large_values_round_trip() {
    let key = key4096();
    for len in [0usize, 1, 1024 * 1024] {
        let value = vec![0xA5u8; len];
        let sealed = seal(key.certificate.public_key(), b"", &value).unwrap();
        assert_eq!(&open(&key.private, b"", &sealed).unwrap()[..], &value[..]);
    }
}
