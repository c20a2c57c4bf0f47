//! RSA key sizes read straight from DER, for saying *why* a key is refused: the crypto
//! backend only answers "unusable" for a key outside the sizes it supports, and a person
//! holding a 1024-bit key should hear that it is too small, not that it is not RSA.
//!
//! Data flow: DER (`SubjectPublicKeyInfo`, PKCS#8 `PrivateKeyInfo` or PKCS#1 `RSAPrivateKey`)
//! → walk the few TLVs down to the modulus `INTEGER` → its size in bits → [`check`].

use super::KeyError;

/// Smallest modulus sealing accepts (NIST's floor for RSA today; aws-lc-rs' too).
pub const MIN_BITS: usize = 2048;
/// Largest modulus sealing accepts (aws-lc-rs' ceiling).
pub const MAX_BITS: usize = 8192;

/// Refuse a modulus outside [`MIN_BITS`]..=[`MAX_BITS`], naming its size.
pub(crate) fn check(bits: usize) -> Result<(), KeyError> {
    if (MIN_BITS..=MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(KeyError::KeySize { bits })
    }
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

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_public_bits(der: &[u8]) -> Option<usize> {
    let (SEQUENCE, body, _) = tlv(der)? else {
        return None;
    };
    let (INTEGER, modulus, _) = tlv(body)? else {
        return None;
    };
    integer_bits(modulus)
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }`.
pub(crate) fn spki_bits(der: &[u8]) -> Option<usize> {
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
    rsa_public_bits(bits.get(1..)?)
}

/// `RSAPrivateKey ::= SEQUENCE { version INTEGER, modulus INTEGER, … }`.
pub(crate) fn pkcs1_bits(der: &[u8]) -> Option<usize> {
    let (SEQUENCE, body, _) = tlv(der)? else {
        return None;
    };
    let (INTEGER, _, rest) = tlv(body)? else {
        return None;
    };
    let (INTEGER, modulus, _) = tlv(rest)? else {
        return None;
    };
    integer_bits(modulus)
}

/// `PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING (PKCS#1) }`.
pub(crate) fn pkcs8_bits(der: &[u8]) -> Option<usize> {
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
    pkcs1_bits(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_from_der() {
        let key = crate::keys::testing::key2048();
        let spki = key.certificate.public_key().spki_der();
        assert_eq!(spki_bits(spki), Some(2048));
        let pem = pem::parse(key.key_pem.as_bytes()).unwrap();
        assert_eq!(pkcs8_bits(pem.contents()), Some(2048));
        assert_eq!(spki_bits(b"\x30\x03\x02\x01"), None, "truncated");
        assert_eq!(integer_bits(&[0x00, 0x80, 0x00]), Some(16));
        assert_eq!(integer_bits(&[0x01]), Some(1));
        assert_eq!(check(1024), Err(KeyError::KeySize { bits: 1024 }));
        assert_eq!(check(16384), Err(KeyError::KeySize { bits: 16384 }));
        assert!(check(4096).is_ok());
    }
}
