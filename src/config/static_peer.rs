//! `[[static_peer]]`: manually keyed tunnels toward gateways that do not
//! speak our BGP (RFC 4301 §4.5: manual keying; RFC 4106 §8.1: the key
//! material is the AES key followed by a 4-byte salt). Each is checked
//! here against the WAN ports and VRFs; the edge installs both SAs at
//! start and routes the listed prefixes into the tunnel with the VRF's
//! inner encapsulation.
//!
//! ```toml
//! [[static_peer]]
//! name = "gw-paris"
//! wan = 1                        # local [[wan]] id
//! endpoint = "198.51.100.7"      # the gateway's WAN address
//! cipher = "aes-gcm-128"         # or aes-gcm-256
//! spi_out = 0x1001
//! key_out = "00112233445566778899aabbccddeeff01020304"   # key ‖ salt
//! spi_in = 0x2001
//! key_in = "ffeeddccbbaa99887766554433221100a0b0c0d0"
//! [[static_peer.route]]
//! vrf = "blue"
//! prefix = "10.9.0.0/16"
//! label = 1999                   # the gateway's decap key for VRF blue
//! ```
use super::error::ConfigError;
use super::model::StaticPeerConfig;
use super::overlay::{OverlayVrf, ResolvedWan, VrfEncap};
use sdwan_bgp::wire::Prefix;
use sdwan_crypto::outer::NATT_PORT;
use sdwan_crypto::Cipher;
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;

/// SPIs 0..=255 are reserved (RFC 4303 §2.1).
const MIN_SPI: u32 = 256;
const DEFAULT_REPLAY_WINDOW: u32 = 1024;

/// Key material that never shows up in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(pub Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} secret bytes>", self.0.len())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticRoute {
    pub vrf: u16,
    pub prefix: Prefix,
    pub label: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPeer {
    pub name: String,
    /// Local WAN id.
    pub wan: u32,
    pub endpoint: IpAddr,
    pub udp_port: u16,
    pub cipher: Cipher,
    pub esn: bool,
    pub replay_window: u32,
    pub spi_out: u32,
    pub key_out: SecretBytes,
    pub spi_in: u32,
    pub key_in: SecretBytes,
    pub routes: Vec<StaticRoute>,
}

/// Strict hex (even length, no prefix, no separators).
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(super) fn validate(
    path: &Path,
    text: &str,
    raw: &[StaticPeerConfig],
    wans: &[ResolvedWan],
    vrfs: &[OverlayVrf],
) -> Result<Vec<StaticPeer>, ConfigError> {
    let err = |span: Range<usize>, field: String, m: String| {
        ConfigError::at(path, text, span.start, field, m)
    };
    let mut out: Vec<StaticPeer> = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let f = |k: &str| format!("static_peer[{i}].{k}");
        let name = p.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(err(p.name.span(), f("name"), "empty name".into()));
        }
        if out.iter().any(|x| x.name == name) {
            return Err(err(
                p.name.span(),
                f("name"),
                format!("{name:?} used twice"),
            ));
        }
        let wan_id = *p.wan.get_ref();
        let Some(wan) = wans.iter().find(|w| w.id == wan_id) else {
            return Err(err(
                p.wan.span(),
                f("wan"),
                format!("no [[wan]] with id {wan_id}"),
            ));
        };
        let endpoint = *p.endpoint.get_ref();
        if endpoint.is_unspecified() || endpoint.is_multicast() || endpoint.is_loopback() {
            return Err(err(
                p.endpoint.span(),
                f("endpoint"),
                format!("{endpoint} is not a usable unicast address"),
            ));
        }
        if wan.source_for(endpoint).is_none() {
            return Err(err(
                p.endpoint.span(),
                f("endpoint"),
                format!(
                    "WAN port {:?} has no address of the same IP version as {endpoint}",
                    wan.port_name
                ),
            ));
        }
        if let Some(x) = out.iter().find(|x| x.endpoint == endpoint) {
            return Err(err(
                p.endpoint.span(),
                f("endpoint"),
                format!("{endpoint} is already static peer {:?}", x.name),
            ));
        }
        let udp_port = match &p.udp_port {
            None => NATT_PORT,
            Some(u) if *u.get_ref() == 0 => {
                return Err(err(u.span(), f("udp_port"), "port 0 is not usable".into()))
            }
            Some(u) => *u.get_ref(),
        };
        let cipher = match p.cipher.as_ref().map(|c| c.get_ref().as_str()) {
            None | Some("aes-gcm-128") => Cipher::AesGcm128,
            Some("aes-gcm-256") => Cipher::AesGcm256,
            Some(other) => {
                let span = p.cipher.as_ref().map_or(p.name.span(), |c| c.span());
                return Err(err(
                    span,
                    f("cipher"),
                    format!("{other:?} is neither \"aes-gcm-128\" nor \"aes-gcm-256\""),
                ));
            }
        };
        let key_len = match cipher {
            Cipher::AesGcm128 => 16 + 4,
            Cipher::AesGcm256 => 32 + 4,
        };
        let key = |k: &toml::Spanned<String>, field: &str| -> Result<SecretBytes, ConfigError> {
            match parse_hex(k.get_ref()) {
                Some(b) if b.len() == key_len => Ok(SecretBytes(b)),
                Some(b) => Err(err(
                    k.span(),
                    f(field),
                    format!(
                        "{} bytes; {cipher:?} needs {key_len} (the key followed by the 4-byte salt)",
                        b.len()
                    ),
                )),
                None => Err(err(k.span(), f(field), "not a hex string".into())),
            }
        };
        let key_out = key(&p.key_out, "key_out")?;
        let key_in = key(&p.key_in, "key_in")?;
        for (spi, field) in [(&p.spi_out, "spi_out"), (&p.spi_in, "spi_in")] {
            if *spi.get_ref() < MIN_SPI {
                return Err(err(
                    spi.span(),
                    f(field),
                    format!("SPI {} is reserved (RFC 4303 §2.1: 0..=255)", spi.get_ref()),
                ));
            }
        }
        let spi_in = *p.spi_in.get_ref();
        if let Some(x) = out.iter().find(|x| x.spi_in == spi_in) {
            return Err(err(
                p.spi_in.span(),
                f("spi_in"),
                format!(
                    "inbound SPI {spi_in:#x} is already static peer {:?}'s",
                    x.name
                ),
            ));
        }
        let esn = p.esn.unwrap_or(true);
        let replay_window = match &p.replay_window {
            None => DEFAULT_REPLAY_WINDOW,
            Some(w) if *w.get_ref() == 0 && esn => {
                return Err(err(
                    w.span(),
                    f("replay_window"),
                    "0 (anti-replay off) needs esn = false: ESN infers the high half of \
                     the sequence number from the window (RFC 4303 Appendix A2)"
                        .into(),
                ))
            }
            Some(w) if sdwan_crypto::replay::valid_size(*w.get_ref()) => *w.get_ref(),
            Some(w) => {
                return Err(err(
                    w.span(),
                    f("replay_window"),
                    format!("{} is neither 0 (off) nor inside 64..=4096", w.get_ref()),
                ))
            }
        };
        let mut routes: Vec<StaticRoute> = Vec::new();
        for (j, r) in p.routes.iter().enumerate() {
            let rf = |k: &str| format!("static_peer[{i}].route[{j}].{k}");
            let vrf_name = r.vrf.get_ref();
            let Some(vrf) = vrfs.iter().find(|v| &v.name == vrf_name) else {
                return Err(err(
                    r.vrf.span(),
                    rf("vrf"),
                    format!("{vrf_name:?} is not an overlay [[vrf]]"),
                ));
            };
            let net = r.prefix.get_ref().trunc();
            let Some(prefix) = Prefix::new(net.addr(), net.prefix_len()) else {
                return Err(err(
                    r.prefix.span(),
                    rf("prefix"),
                    format!("{net} is not a prefix"),
                ));
            };
            let label = *r.label.get_ref();
            let max = match vrf.encap {
                VrfEncap::Mpls => 0xF_FFFF,
                VrfEncap::Vxlan => 0xFF_FFFF,
                VrfEncap::Gre => u32::MAX,
            };
            if label > max || (vrf.encap == VrfEncap::Mpls && label < 16) {
                return Err(err(
                    r.label.span(),
                    rf("label"),
                    format!(
                        "{label} is not a usable {} for VRF {vrf_name:?}",
                        match vrf.encap {
                            VrfEncap::Mpls => "MPLS label (16..=1048575)",
                            VrfEncap::Vxlan => "VXLAN VNI (24 bits)",
                            VrfEncap::Gre => "GRE key",
                        }
                    ),
                ));
            }
            let taken = out
                .iter()
                .flat_map(|x| x.routes.iter())
                .chain(routes.iter())
                .any(|x| x.vrf == vrf.id && x.prefix == prefix);
            if taken {
                return Err(err(
                    r.prefix.span(),
                    rf("prefix"),
                    format!("{net} in VRF {vrf_name:?} already goes to a static peer"),
                ));
            }
            routes.push(StaticRoute {
                vrf: vrf.id,
                prefix,
                label,
            });
        }
        out.push(StaticPeer {
            name,
            wan: wan_id,
            endpoint,
            udp_port,
            cipher,
            esn,
            replay_window,
            spi_out: *p.spi_out.get_ref(),
            key_out,
            spi_in,
            key_in,
            routes,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn hex_is_strict() {
        assert_eq!(parse_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(parse_hex("0"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex("0x00"), None);
        assert_eq!(parse_hex("+1"), None);
    }
}
