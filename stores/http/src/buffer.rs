//! Buffers for bytes that may hold secrets (request bodies with a JWT or secret id, response
//! bodies with tokens or secret data) that are wiped, not just freed.
//!
//! Data flow: a request body is serialised by [`to_json`] into a [`SecretBuf`] (hyper sends it
//! from there); a response body is collected frame by frame with [`push`] into a zeroizing
//! vector (each frame wiped after the copy when hyper no longer shares it) and parsed into a
//! [`WipedJson`], whose strings are overwritten on drop. Growing a zeroizing vector by hand,
//! rather than letting `Vec` reallocate, is what keeps the old allocation from being freed
//! with the secret still in it.

use bytes::{Buf, Bytes};
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

/// Append `data` to `buf`; when it must grow, copy into a new allocation and wipe the old one.
pub fn push(buf: &mut Zeroizing<Vec<u8>>, data: &[u8]) {
    let needed = buf.len().saturating_add(data.len());
    if needed > buf.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2)));
        bigger.extend_from_slice(buf);
        // The old allocation is zeroized as it drops here.
        *buf = bigger;
    }
    buf.extend_from_slice(data);
}

/// Wipe a frame of a response body once we hold the only reference to it.
pub fn wipe_bytes(frame: Bytes) {
    if let Ok(mut owned) = frame.try_into_mut() {
        owned.as_mut().zeroize();
    }
}

/// `value` as JSON in a zeroizing buffer, and the wipe of parsed JSON: the seam's own.
pub use secrets_core::store::{to_json_zeroized as to_json, wipe_json as wipe_value};

/// A request body: bytes hyper reads through [`Buf`], zeroized when hyper drops it.
pub struct SecretBuf {
    bytes: Zeroizing<Vec<u8>>,
    read: usize,
}

impl SecretBuf {
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        SecretBuf { bytes, read: 0 }
    }

    pub fn empty() -> Self {
        SecretBuf::new(Zeroizing::new(Vec::new()))
    }
}

impl Buf for SecretBuf {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.read)
    }

    fn chunk(&self) -> &[u8] {
        self.bytes.get(self.read..).unwrap_or_default()
    }

    fn advance(&mut self, count: usize) {
        self.read = self.read.saturating_add(count).min(self.bytes.len());
    }
}

/// Parsed JSON whose strings (keys and values) are overwritten when it is dropped.
///
/// Numbers, booleans and the shape of the document are not wiped; secret values in KV are
/// strings. Parts moved out with [`WipedJson::take`] become the taker's to wipe.
#[derive(Default)]
pub struct WipedJson(pub Value);

impl WipedJson {
    /// The value at `pointer` (a JSON pointer such as `/data/data`), moved out and replaced by
    /// `null`.
    pub fn take(&mut self, pointer: &str) -> Value {
        self.0
            .pointer_mut(pointer)
            .map(Value::take)
            .unwrap_or_default()
    }

    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.0.pointer(pointer)
    }
}

impl Drop for WipedJson {
    fn drop(&mut self) {
        wipe_value(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn push_grows_and_keeps_order() {
        let mut buf = Zeroizing::new(Vec::with_capacity(2));
        push(&mut buf, b"ab");
        push(&mut buf, b"cdef");
        push(&mut buf, b"g");
        assert_eq!(buf.as_slice(), b"abcdefg");
    }

    #[test]
    fn json_serialises_into_a_secret_buffer() {
        let body = to_json(&json!({"role": "r", "jwt": "x".repeat(5000)}));
        let back: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(back["jwt"].as_str().map(str::len), Some(5000));
    }

    #[test]
    fn secret_buf_reads_like_a_slice() {
        let mut buf = SecretBuf::new(Zeroizing::new(b"hello".to_vec()));
        assert_eq!(buf.remaining(), 5);
        buf.advance(2);
        assert_eq!(buf.chunk(), b"llo");
        buf.advance(10);
        assert_eq!(buf.remaining(), 0);
        assert_eq!(buf.chunk(), b"");
    }

    #[test]
    fn wiping_empties_every_string() {
        let mut value = json!({"a": "secret", "b": [{"c": "deep"}], "n": 1});
        wipe_value(&mut value);
        assert_eq!(value, json!({}));
        let mut json = WipedJson(json!({"data": {"data": {"k": "v"}}}));
        assert_eq!(json.take("/data/data"), json!({"k": "v"}));
        assert_eq!(json.get("/data/data"), Some(&Value::Null));
    }
}
