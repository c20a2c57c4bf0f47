//! A Vault store against a scripted Vault: what a read does with each answer about the mount.
//! The scripted server stands in for what a real OpenBao cannot be made to do (refuse the
//! mount metadata to a token that may read under the mount).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use secrets_core::api::secret_store::VaultKvVersion as KvVersion;
use secrets_core::store::{Credentials, ErrorKind, ReadKey, Store as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use zeroize::Zeroizing;

use super::*;

/// The answer for the mount metadata; reads always get KV's "nothing here".
const MOUNT_DENIED: (u16, &str) = (403, r#"{"errors":["permission denied"]}"#);
const MOUNT_V1: (u16, &str) = (
    200,
    r#"{"data":{"path":"kv/","type":"kv","options":{"version":"1"}}}"#,
);
const MOUNT_V2: (u16, &str) = (
    200,
    r#"{"data":{"path":"kv/","type":"kv","options":{"version":"2"}}}"#,
);

/// A server answering `sys/internal/ui/mounts/*` with `mount` and everything else with an
/// empty 404; the flag says whether anything but the mount metadata was asked.
async fn scripted_vault(mount: (u16, &'static str)) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let read_asked = Arc::new(AtomicBool::new(false));
    let flag = read_asked.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let flag = flag.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let (status, body) = if line.contains(" /v1/sys/internal/ui/mounts/") {
                    mount
                } else {
                    flag.store(true, Ordering::SeqCst);
                    (404, r#"{"errors":[]}"#)
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (addr, read_asked)
}

/// A token-auth store for mount `kv` read as `engine`.
fn session(addr: &str, engine: KvVersion) -> VaultStore {
    let credentials = Arc::new(Credentials::Token(Zeroizing::new("s.test".to_owned())));
    let store = VaultStore::new(
        &VaultConfig::new(addr),
        "kv",
        engine,
        AuthMethod::Token { look_up: false },
        credentials,
        StoreOptions::new("SecretStore \"vault\""),
    )
    .unwrap();
    // The token already in hand: the scripted server answers nothing but the mount and reads.
    if let Ok(mut slot) = store.token.try_lock() {
        *slot = Some(crate::Token::from_secret(Zeroizing::new(
            "s.test".to_owned(),
        )));
    }
    store
}

fn read(key: &str) -> ReadKey {
    ReadKey {
        key: key.into(),
        version: None,
        metadata: false,
    }
}

#[tokio::test]
async fn not_found_counts_only_on_a_mount_checked_to_match() {
    let (addr, _) = scripted_vault(MOUNT_V2).await;
    let s = session(&addr, KvVersion::V2);
    for _ in 0..2 {
        let err = s.read(&read("app")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    }
    // The mount was asked about once for the session, not per read.
    assert_eq!(s.calls(crate::Call::Mount), 1);
    assert_eq!(s.calls(crate::Call::Read), 2);
}

#[tokio::test]
async fn a_mismatch_stops_the_read_before_it_is_sent() {
    let (addr, read_asked) = scripted_vault(MOUNT_V1).await;
    let s = session(&addr, KvVersion::V2);
    let err = s.read(&read("app")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.provider.vault.version is v2, but vault mount \"kv\" is KV v1"
    );
    assert!(!err.is_transient());
    assert!(!read_asked.load(Ordering::SeqCst), "the read was sent");
    assert_eq!(
        s.validate().await.unwrap_err().to_string(),
        "spec.provider.vault.version is v2, but vault mount \"kv\" is KV v1"
    );
}

#[tokio::test]
async fn not_found_on_a_mount_vault_will_not_describe_is_not_trusted() {
    let (addr, read_asked) = scripted_vault(MOUNT_DENIED).await;
    let s = session(&addr, KvVersion::V2);
    let err = s.read(&read("app")).await.unwrap_err();
    assert!(read_asked.load(Ordering::SeqCst), "reads still go ahead");
    assert!(
        err.kind() != ErrorKind::NotFound,
        "a not-found that could be a wrong KV version must not count as gone: {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("could not be checked") && text.contains("permission denied"),
        "{text}"
    );
    // Validation says the mount cannot be checked, as a failure of its own.
    let err = s.validate().await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("checking vault mount \"kv\": vault denied access"),
        "{err}"
    );
}
