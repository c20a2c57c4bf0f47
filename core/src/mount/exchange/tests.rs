use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::KeyPair as _;

use super::*;

fn signer() -> Ed25519KeyPair {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
}

fn request(pending: &Pending) -> MountRequest {
    MountRequest {
        namespace: "team".into(),
        pod_name: "web-0".into(),
        pod_uid: "uid-1".into(),
        service_account: "web".into(),
        token: Zeroizing::new("eyJ.token".into()),
        items: vec![
            RequestItem {
                path: "db/password".into(),
                name: "db".into(),
                key: "password".into(),
            },
            RequestItem {
                path: "db/user".into(),
                name: "db".into(),
                key: "user".into(),
            },
        ],
        nonce: new_nonce().unwrap(),
        time: "2026-12-01T10:00:00Z".into(),
        ephemeral_key: pending.public_key(),
    }
}

fn files() -> Vec<FileMeta> {
    vec![
        FileMeta {
            path: "db/password".into(),
            version: "v1".into(),
        },
        FileMeta {
            path: "db/user".into(),
            version: "v2".into(),
        },
    ]
}

fn answer_for(req: &MountRequest, key: &Ed25519KeyPair) -> Answer {
    seal_answer(
        &req.transcript(),
        &req.ephemeral_key,
        files(),
        &[b"s3cr3t", b""],
        key,
    )
    .unwrap()
}

#[test]
fn round_trip() {
    let key = signer();
    let pending = Pending::new().unwrap();
    let req = request(&pending);
    let answer = answer_for(&req, &key);
    assert!(!answer.ciphertext.contains("s3cr3t"));
    let opened = pending
        .open(&req.transcript(), &answer, key.public_key().as_ref())
        .unwrap();
    assert_eq!(opened.len(), 2);
    assert_eq!(opened[0].0.path, "db/password");
    assert_eq!(&*opened[0].1, b"s3cr3t");
    assert_eq!(opened[1].0.version, "v2");
    assert!(opened[1].1.is_empty(), "an empty value survives");
    // The JSON form the wire carries round-trips too, and its Debug hides the token.
    let text = serde_json::to_string(&req).unwrap();
    assert!(
        text.contains("\"podUID\"") && text.contains("\"ephemeralKey\""),
        "{text}"
    );
    let back: MountRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(back.transcript(), req.transcript());
    assert!(!format!("{req:?}").contains("eyJ"));
}

#[test]
fn the_transcript_covers_every_field_but_the_token() {
    let pending = Pending::new().unwrap();
    let req = request(&pending);
    let base = req.transcript();
    let mut same = req.clone();
    same.token = Zeroizing::new("another".into());
    assert_eq!(same.transcript(), base, "the token is not part of it");
    let changes: Vec<fn(&mut MountRequest)> = vec![
        |r| r.namespace.push('x'),
        |r| r.pod_name.push('x'),
        |r| r.pod_uid.push('x'),
        |r| r.service_account.push('x'),
        |r| r.items[0].path.push('x'),
        |r| r.items[0].name.push('x'),
        |r| r.items[1].key.push('x'),
        |r| r.items.swap(0, 1),
        |r| {
            r.items.pop();
        },
        |r| r.nonce.push('x'),
        |r| r.time.push('x'),
        |r| r.ephemeral_key.push('x'),
        // Moving a byte between fields changes it too (length prefixes).
        |r| {
            r.namespace = "tea".into();
            r.pod_name = "mweb-0".into();
        },
    ];
    for (i, change) in changes.iter().enumerate() {
        let mut changed = req.clone();
        change(&mut changed);
        assert_ne!(changed.transcript(), base, "change {i}");
    }
    let version = VersionKeyRequest {
        token: Zeroizing::new("t".into()),
        nonce: req.nonce.clone(),
        time: req.time.clone(),
        ephemeral_key: req.ephemeral_key.clone(),
    };
    assert_ne!(
        version.transcript(),
        base,
        "the kinds never share a transcript"
    );
}

#[test]
fn a_tampered_answer_is_refused_field_by_field() {
    let key = signer();
    let flip = |text: &str| {
        let mut bytes = B64.decode(text).unwrap();
        bytes[0] ^= 1;
        B64.encode(bytes)
    };
    type Tamper = Box<dyn Fn(&mut Answer)>;
    let tampers: Vec<Tamper> = vec![
        Box::new(|a| a.files[0].path = "db/other".into()),
        Box::new(|a| a.files[1].version = "v3".into()),
        Box::new(|a| a.files.swap(0, 1)),
        Box::new(|a| {
            a.files.pop();
        }),
        Box::new(move |a| a.ciphertext = flip(&a.ciphertext)),
        Box::new(move |a| a.controller_key = flip(&a.controller_key)),
        Box::new(move |a| a.signature = flip(&a.signature)),
    ];
    for (i, tamper) in tampers.iter().enumerate() {
        let pending = Pending::new().unwrap();
        let req = request(&pending);
        let mut answer = answer_for(&req, &key);
        tamper(&mut answer);
        let err = pending
            .open(&req.transcript(), &answer, key.public_key().as_ref())
            .unwrap_err();
        assert_eq!(err, ExchangeError::BadSignature, "tamper {i}");
    }
    // Not even base64 is named as such.
    let pending = Pending::new().unwrap();
    let req = request(&pending);
    let mut answer = answer_for(&req, &key);
    answer.ciphertext = "%%%".into();
    assert!(matches!(
        pending.open(&req.transcript(), &answer, key.public_key().as_ref()),
        Err(ExchangeError::Malformed {
            field: "ciphertext",
            ..
        })
    ));
}

#[test]
fn another_signing_key_or_another_one_time_key_is_refused() {
    let key = signer();
    let other = signer();
    let pending = Pending::new().unwrap();
    let req = request(&pending);
    let answer = answer_for(&req, &other);
    assert_eq!(
        pending
            .open(&req.transcript(), &answer, key.public_key().as_ref())
            .unwrap_err(),
        ExchangeError::BadSignature
    );
    // Signed right, but encrypted to someone else's one-time key: it does not open.
    let mine = Pending::new().unwrap();
    let theirs = Pending::new().unwrap();
    let mut req = request(&mine);
    req.ephemeral_key = theirs.public_key();
    let answer = answer_for(&req, &key);
    assert_eq!(
        mine.open(&req.transcript(), &answer, key.public_key().as_ref())
            .unwrap_err(),
        ExchangeError::Decrypt
    );
}

#[test]
fn a_replayed_answer_does_not_serve_a_new_request() {
    let key = signer();
    let first = Pending::new().unwrap();
    let old = request(&first);
    let old_answer = answer_for(&old, &key);
    // A later mount of the same pod and items: new nonce, new one-time key.
    let second = Pending::new().unwrap();
    let new = request(&second);
    assert_eq!(
        second
            .open(&new.transcript(), &old_answer, key.public_key().as_ref())
            .unwrap_err(),
        ExchangeError::BadSignature
    );
}

#[test]
fn malformed_keys_and_nonces_are_named() {
    let key = signer();
    let pending = Pending::new().unwrap();
    let mut req = request(&pending);
    req.ephemeral_key = B64.encode([1u8; 31]);
    let err = seal_answer(
        &req.transcript(),
        &req.ephemeral_key,
        files(),
        &[b"a", b"b"],
        &key,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("ephemeralKey") && err.to_string().contains("31 bytes"),
        "{err}"
    );
    assert!(
        seal_answer(
            &req.transcript(),
            &pending.public_key(),
            files(),
            &[b"a"],
            &key
        )
        .is_err()
    );
    assert!(check_nonce(&new_nonce().unwrap()).is_ok());
    assert!(
        check_nonce(&B64.encode([0u8; 15]))
            .unwrap_err()
            .to_string()
            .contains("at least 16")
    );
    assert!(check_nonce("not base64!").is_err());
}

#[test]
fn versions_are_stable_and_change_with_what_determines_them() {
    let v = sealed_version("fp1", &[b"ciphertext"]);
    assert_eq!(v, sealed_version("fp1", &[b"ciphertext"]));
    assert_eq!(v.len(), 32);
    assert!(
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_ne!(v, sealed_version("fp2", &[b"ciphertext"]));
    assert_ne!(v, sealed_version("fp1", &[b"ciphertexu"]));
    assert_ne!(
        sealed_version("fp1", &[b"ab", b"c"]),
        sealed_version("fp1", &[b"a", b"bc"])
    );
}
