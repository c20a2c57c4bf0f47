//! The byte layout of one sealed value: `u16_be(n) || rsa[n] || gcm_ciphertext || tag[16]`.
//! Pure functions, no crypto: property-tested against arbitrary input.

use super::{OpenError, SealError, TAG_LEN};

/// A sealed value split into its parts, borrowing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The RSA-OAEP-wrapped session key.
    pub wrapped_key: &'a [u8],
    /// AES-GCM ciphertext followed by the 16-byte tag.
    pub body: &'a [u8],
}

/// Split a raw sealed value, checking every announced length against what is there.
pub fn parse_frame(sealed: &[u8]) -> Result<Frame<'_>, OpenError> {
    let Some((prefix, rest)) = sealed.split_first_chunk::<2>() else {
        return Err(OpenError::Truncated {
            len: sealed.len(),
            need: 2,
        });
    };
    let rsa_len = usize::from(u16::from_be_bytes(*prefix));
    let need = 2 + rsa_len + TAG_LEN;
    if sealed.len() < need {
        return Err(OpenError::Truncated {
            len: sealed.len(),
            need,
        });
    }
    let (wrapped_key, body) = rest.split_at(rsa_len);
    Ok(Frame { wrapped_key, body })
}

/// Join the wrapped key and the GCM output.
pub(super) fn build(wrapped_key: &[u8], body: &[u8]) -> Result<Vec<u8>, SealError> {
    let len = u16::try_from(wrapped_key.len()).map_err(|_| SealError::Wrap)?;
    let mut out = Vec::with_capacity(2 + wrapped_key.len() + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(wrapped_key);
    out.extend_from_slice(body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_round_trips() {
        let framed = build(&[7u8; 512], &[9u8; 20]).unwrap();
        assert_eq!(
            &framed[..2],
            &[0x02, 0x00],
            "RSA-4096 values start 0x02 0x00 (base64 `Ag`)"
        );
        let frame = parse_frame(&framed).unwrap();
        assert_eq!(frame.wrapped_key, &[7u8; 512][..]);
        assert_eq!(frame.body, &[9u8; 20][..]);
    }

    #[test]
    fn short_inputs_are_truncated() {
        assert_eq!(
            parse_frame(&[]),
            Err(OpenError::Truncated { len: 0, need: 2 })
        );
        assert_eq!(
            parse_frame(&[1]),
            Err(OpenError::Truncated { len: 1, need: 2 })
        );
        // announces 256 bytes of RSA but carries 10
        let mut v = vec![0x01, 0x00];
        v.extend_from_slice(&[0; 10]);
        assert_eq!(
            parse_frame(&v),
            Err(OpenError::Truncated {
                len: 12,
                need: 2 + 256 + 16
            })
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_respects_lengths(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            match parse_frame(&bytes) {
                Ok(frame) => {
                    prop_assert_eq!(2 + frame.wrapped_key.len() + frame.body.len(), bytes.len());
                    prop_assert!(frame.body.len() >= TAG_LEN);
                    let announced = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
                    prop_assert_eq!(frame.wrapped_key.len(), announced);
                }
                Err(OpenError::Truncated { len, need }) => {
                    prop_assert_eq!(len, bytes.len());
                    prop_assert!(need > len);
                }
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }

        #[test]
        fn build_then_parse_is_identity(
            key in proptest::collection::vec(any::<u8>(), 0..600),
            body in proptest::collection::vec(any::<u8>(), TAG_LEN..600),
        ) {
            let framed = build(&key, &body).unwrap();
            let frame = parse_frame(&framed).unwrap();
            prop_assert_eq!(frame.wrapped_key, &key[..]);
            prop_assert_eq!(frame.body, &body[..]);
        }
    }
}
