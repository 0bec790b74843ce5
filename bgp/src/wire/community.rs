//! Community values: extended communities (RFC 4360) with the Route Target
//! (RFC 4360 §4), Color and Encapsulation (RFC 9012 §4) sub-types, and large
//! communities (RFC 8092).
//!
//! ```text
//! extended community (8 B): | type | sub-type | value (6 B) |
//!   Route Target : type 0x00/0x01/0x02, sub-type 0x02
//!   Color        : 0x03 0x0b | flags (2 B) | color (4 B)
//!   Encapsulation: 0x03 0x0c | reserved (4 B) | tunnel type (2 B)
//! large community (12 B): | global admin (4 B) | data 1 (4 B) | data 2 (4 B) |
//! ```

use super::family::{fmt_admin_value, parse_admin_value};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtCommunity(pub [u8; 8]);

impl ExtCommunity {
    pub fn route_target(s: &str) -> Result<ExtCommunity, String> {
        let (t, v) = parse_admin_value(s)?;
        let mut b = [0u8; 8];
        b[0] = t;
        b[1] = 0x02;
        b[2..].copy_from_slice(&v);
        Ok(ExtCommunity(b))
    }
    pub fn color(color: u32) -> ExtCommunity {
        let c = color.to_be_bytes();
        ExtCommunity([0x03, 0x0b, 0, 0, c[0], c[1], c[2], c[3]])
    }
    pub fn encapsulation(tunnel_type: u16) -> ExtCommunity {
        let t = tunnel_type.to_be_bytes();
        ExtCommunity([0x03, 0x0c, 0, 0, 0, 0, t[0], t[1]])
    }
    /// Transitive two-octet-AS / IPv4 / four-octet-AS Route Target.
    pub fn is_route_target(&self) -> bool {
        self.0[0] <= 0x02 && self.0[1] == 0x02
    }
    pub fn as_color(&self) -> Option<u32> {
        (self.0[0] == 0x03 && self.0[1] == 0x0b)
            .then(|| u32::from_be_bytes([self.0[4], self.0[5], self.0[6], self.0[7]]))
    }
    pub fn as_encapsulation(&self) -> Option<u16> {
        (self.0[0] == 0x03 && self.0[1] == 0x0c).then(|| u16::from_be_bytes([self.0[6], self.0[7]]))
    }
}

impl fmt::Display for ExtCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_route_target() {
            let mut v = [0u8; 6];
            v.copy_from_slice(&self.0[2..]);
            f.write_str("rt:")?;
            return fmt_admin_value(f, self.0[0], &v);
        }
        if let Some(c) = self.as_color() {
            let flags = u16::from_be_bytes([self.0[2], self.0[3]]);
            return if flags == 0 {
                write!(f, "color:{c}")
            } else {
                write!(f, "color:{c}:flags={flags:#06x}")
            };
        }
        if let Some(t) = self.as_encapsulation() {
            if self.0[2..6] == [0, 0, 0, 0] {
                return write!(f, "encap:{t}");
            }
        }
        f.write_str("raw:")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for ExtCommunity {
    type Err = String;
    fn from_str(s: &str) -> Result<ExtCommunity, String> {
        if let Some(r) = s.strip_prefix("rt:") {
            return ExtCommunity::route_target(r);
        }
        if let Some(c) = s.strip_prefix("color:") {
            return c
                .parse()
                .map(ExtCommunity::color)
                .map_err(|_| format!("{s:?}: bad color"));
        }
        if let Some(t) = s.strip_prefix("encap:") {
            return t
                .parse()
                .map(ExtCommunity::encapsulation)
                .map_err(|_| format!("{s:?}: bad tunnel type"));
        }
        if let Some(h) = s.strip_prefix("raw:") {
            let mut b = [0u8; 8];
            if h.len() != 16 || !h.is_ascii() {
                return Err(format!("{s:?}: raw needs 16 hex digits"));
            }
            for (i, byte) in b.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&h[2 * i..2 * i + 2], 16)
                    .map_err(|_| format!("{s:?}: bad hex"))?;
            }
            return Ok(ExtCommunity(b));
        }
        Err(format!("{s:?}: expected rt:, color:, encap: or raw:"))
    }
}

impl Serialize for ExtCommunity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExtCommunity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ExtCommunity, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Large community (RFC 8092 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LargeCommunity {
    pub global: u32,
    pub data1: u32,
    pub data2: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let rt = ExtCommunity::route_target("65000:1").unwrap();
        assert_eq!(rt.0, [0, 2, 0xfd, 0xe8, 0, 0, 0, 1]);
        assert!(rt.is_route_target());
        for s in [
            "rt:65000:1",
            "rt:192.0.2.1:5",
            "rt:4200000000:3",
            "color:100",
            "encap:8",
            "raw:4102030405060708",
        ] {
            assert_eq!(s.parse::<ExtCommunity>().unwrap().to_string(), s);
        }
        assert_eq!(ExtCommunity::color(100).as_color(), Some(100));
        assert_eq!(ExtCommunity::encapsulation(25).as_encapsulation(), Some(25));
        assert!("color:x".parse::<ExtCommunity>().is_err());
    }
}
