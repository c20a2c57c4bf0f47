//! Address blocks (`10.0.0.0/8`, `fd00::/8`) for `--trusted-proxy`.
//!
//! Data flow: the flag's text is parsed once at start-up ([`Cidr::from_str`], whose error
//! clap prints after the flag and its value); the limiter then asks [`Cidr::contains`] of each
//! peer and forwarded address. Both sides are compared as IPv6, an IPv4 address as its
//! IPv4-mapped form (`::ffff:a.b.c.d`), so `10.0.0.0/8` matches a peer that a dual-stack
//! listener reports as `::ffff:10.1.2.3`, and `::ffff:10.0.0.0/104` is the same block.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// One block of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network as IPv6 (IPv4 mapped), host bits cleared.
    network: u128,
    /// Prefix length over the 128 bits (an IPv4 /n is 96 + n).
    prefix: u8,
}

/// Why a block did not parse; the text itself is printed by clap next to the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is no IP address.
    #[error("{0:?} is not an IP address (expected e.g. 10.0.0.0/8 or fd00::/8)")]
    Address(String),
    /// The part after `/` is not a number within the address's width.
    #[error("prefix length {length:?} is not a number from 0 to {max}")]
    Prefix {
        /// The text after `/`.
        length: String,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
}

impl Cidr {
    /// True when `ip` is inside this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = as_v6(ip);
        ip & mask(self.prefix) == self.network
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `ADDRESS/LENGTH`, or a bare address for that one host. Host bits set below the prefix
    /// are cleared (`10.1.2.3/8` is `10.0.0.0/8`), as `net.ParseCIDR` reads it.
    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let text = text.trim();
        let (address, length) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let ip: IpAddr = address
            .parse()
            .map_err(|_| CidrError::Address(address.to_owned()))?;
        let (offset, max) = match ip {
            IpAddr::V4(_) => (96, 32),
            IpAddr::V6(_) => (0, 128),
        };
        let prefix = match length {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max && l.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| CidrError::Prefix {
                    length: l.to_owned(),
                    max,
                })?,
        };
        let prefix = prefix + offset;
        Ok(Cidr {
            network: as_v6(ip) & mask(prefix),
            prefix,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v6 = Ipv6Addr::from(self.network);
        match v6.to_ipv4_mapped() {
            Some(v4) if self.prefix >= 96 => write!(f, "{v4}/{}", self.prefix - 96),
            _ => write!(f, "{v6}/{}", self.prefix),
        }
    }
}

fn as_v6(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn mask(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - u32::from(p.min(128))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_blocks() {
        let block = cidr("10.0.0.0/8");
        assert!(block.contains(ip("10.255.1.2")));
        assert!(!block.contains(ip("11.0.0.1")));
        // A dual-stack listener reports IPv4 peers mapped.
        assert!(block.contains(ip("::ffff:10.1.2.3")));
        assert_eq!(block.to_string(), "10.0.0.0/8");
        // Host bits are cleared; a bare address is one host.
        assert_eq!(cidr("10.1.2.3/8"), block);
        assert_eq!(cidr("127.0.0.1"), cidr("127.0.0.1/32"));
        assert!(!cidr("127.0.0.1").contains(ip("127.0.0.2")));
        // /0 is everything IPv4, and nothing IPv6.
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv6_blocks_and_mapped_ipv4() {
        let block = cidr("fd00::/8");
        assert!(block.contains(ip("fd12:3456::1")));
        assert!(!block.contains(ip("fe80::1")));
        assert!(!block.contains(ip("10.0.0.1")));
        assert_eq!(block.to_string(), "fd00::/8");
        // An IPv4-mapped block is the IPv4 block.
        assert_eq!(cidr("::ffff:10.0.0.0/104"), cidr("10.0.0.0/8"));
        assert!(cidr("::ffff:127.0.0.1").contains(ip("127.0.0.1")));
        assert!(cidr("::/0").contains(ip("10.0.0.1")));
        assert_eq!(cidr("::1").to_string(), "::1/128");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |text: &str| text.parse::<Cidr>().unwrap_err().to_string();
        assert_eq!(
            err("10.0.0/8"),
            "\"10.0.0\" is not an IP address (expected e.g. 10.0.0.0/8 or fd00::/8)"
        );
        assert_eq!(
            err("proxy.local"),
            "\"proxy.local\" is not an IP address (expected e.g. 10.0.0.0/8 or fd00::/8)"
        );
        assert_eq!(
            err("10.0.0.0/33"),
            "prefix length \"33\" is not a number from 0 to 32"
        );
        assert_eq!(
            err("fd00::/129"),
            "prefix length \"129\" is not a number from 0 to 128"
        );
        assert_eq!(
            err("10.0.0.0/"),
            "prefix length \"\" is not a number from 0 to 32"
        );
        assert_eq!(
            err("10.0.0.0/+8"),
            "prefix length \"+8\" is not a number from 0 to 32"
        );
        assert!(err("").contains("is not an IP address"));
    }
}
