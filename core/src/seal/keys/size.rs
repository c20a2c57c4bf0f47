//! RSA key sizes read straight from DER, for saying *why* a key is refused: the crypto
//! backend only answers "unusable" for a key outside the sizes it supports, and a person
//! holding a 1024-bit key should hear that it is too small, not that it is not RSA.
//!
//! Data flow: DER (`SubjectPublicKeyInfo`, PKCS#8 `PrivateKeyInfo` or PKCS#1 `RSAPrivateKey`)
//! → walk the few TLVs down to the modulus and public exponent `INTEGER`s → [`check`]: the
//! modulus' size, then the exponent (odd, above 1, at most 33 bits, as aws-lc-rs requires).

use super::KeyError;

/// Smallest modulus sealing accepts (NIST's floor for RSA today; aws-lc-rs' too).
pub const MIN_BITS: usize = 2048;
/// Largest modulus sealing accepts (aws-lc-rs' ceiling).
pub const MAX_BITS: usize = 8192;

/// Longest public exponent aws-lc-rs accepts, in bits.
const MAX_EXPONENT_BITS: usize = 33;

/// An RSA key's public numbers, as far as sizes go.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Modulus size in bits.
    pub(crate) bits: usize,
    /// Public exponent size in bits.
    exponent_bits: usize,
    /// Is the exponent odd?
    exponent_odd: bool,
}

/// Refuse a modulus outside [`MIN_BITS`]..=[`MAX_BITS`] naming its size, then an exponent
/// the backend cannot use.
pub(crate) fn check(shape: &Shape) -> Result<(), KeyError> {
    if !(MIN_BITS..=MAX_BITS).contains(&shape.bits) {
        return Err(KeyError::KeySize { bits: shape.bits });
    }
    // Odd and above 1: an odd number of at least 2 bits is at least 3.
    if !shape.exponent_odd || shape.exponent_bits < 2 || shape.exponent_bits > MAX_EXPONENT_BITS {
        return Err(KeyError::KeyExponent);
    }
    Ok(())
}

/// One DER TLV: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;

/// Bits of a positive DER INTEGER's value.
fn integer_bits(contents: &[u8]) -> Option<usize> {
    let first_nonzero = contents.iter().position(|b| *b != 0)?;
    let significant = &contents[first_nonzero..];
    let leading = significant[0].leading_zeros() as usize;
    Some(significant.len() * 8 - leading)
}

/// `modulus INTEGER, publicExponent INTEGER` (how both key forms go on).
fn modulus_and_exponent(der: &[u8]) -> Option<Shape> {
    let (INTEGER, modulus, rest) = tlv(der)? else {
        return None;
    };
    let (INTEGER, exponent, _) = tlv(rest)? else {
        return None;
    };
    Some(Shape {
        bits: integer_bits(modulus)?,
        exponent_bits: integer_bits(exponent)?,
        exponent_odd: exponent.last().is_some_and(|b| b & 1 == 1),
    })
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_public(der: &[u8]) -> Option<Shape> {
    let (SEQUENCE, body, _) = tlv(der)? else {
        return None;
    };
    modulus_and_exponent(body)
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }`.
pub(crate) fn spki(der: &[u8]) -> Option<Shape> {
    let (SEQUENCE, body, _) = tlv(der)? else {
        return None;
    };
    let (SEQUENCE, _, rest) = tlv(body)? else {
        return None;
    };
    let (BIT_STRING, bits, _) = tlv(rest)? else {
        return None;
    };
    // The first byte counts unused bits (0 for a DER key).
    rsa_public(bits.get(1..)?)
}

/// `RSAPrivateKey ::= SEQUENCE { version INTEGER, modulus INTEGER, publicExponent, … }`.
pub(crate) fn pkcs1(der: &[u8]) -> Option<Shape> {
    let (SEQUENCE, body, _) = tlv(der)? else {
        return None;
    };
    let (INTEGER, _, rest) = tlv(body)? else {
        return None;
    };
    modulus_and_exponent(rest)
}

/// `PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING (PKCS#1) }`.
pub(crate) fn pkcs8(der: &[u8]) -> Option<Shape> {
    let (SEQUENCE, body, _) = tlv(der)? else {
        return None;
    };
    let (INTEGER, _, rest) = tlv(body)? else {
        return None;
    };
    let (SEQUENCE, _, rest) = tlv(rest)? else {
        return None;
    };
    let (OCTET_STRING, key, _) = tlv(rest)? else {
        return None;
    };
    pkcs1(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_from_der() {
        let key = crate::seal::keys::testing::key2048();
        let spki_der = key.certificate.public_key().spki_der();
        let f4 = |bits| Shape {
            bits,
            exponent_bits: 17,
            exponent_odd: true,
        };
        assert_eq!(spki(spki_der), Some(f4(2048)), "e = 65537");
        let pem = pem::parse(key.key_pem.as_bytes()).unwrap();
        assert_eq!(pkcs8(pem.contents()), Some(f4(2048)));
        assert_eq!(spki(b"\x30\x03\x02\x01"), None, "truncated");
        assert_eq!(integer_bits(&[0x00, 0x80, 0x00]), Some(16));
        assert_eq!(integer_bits(&[0x01]), Some(1));
        assert_eq!(check(&f4(1024)), Err(KeyError::KeySize { bits: 1024 }));
        assert_eq!(check(&f4(16384)), Err(KeyError::KeySize { bits: 16384 }));
        assert!(check(&f4(4096)).is_ok());
        let exponent = |exponent_bits, exponent_odd| Shape {
            bits: 2048,
            exponent_bits,
            exponent_odd,
        };
        assert_eq!(check(&exponent(17, false)), Err(KeyError::KeyExponent));
        assert_eq!(
            check(&exponent(1, true)),
            Err(KeyError::KeyExponent),
            "e = 1"
        );
        assert_eq!(check(&exponent(34, true)), Err(KeyError::KeyExponent));
        assert!(check(&exponent(2, true)).is_ok(), "e = 3");
    }
}
