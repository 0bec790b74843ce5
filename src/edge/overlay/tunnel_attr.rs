//! Our WAN ports in BGP and back: the SD-WAN-Hybrid tunnel TLV (RFC 9012
//! tunnel type 25, draft-ietf-idr-sdwan-edge-discovery) we attach to the
//! SAFI 74 route of a WAN port and, one per port, to the fallback node-id
//! route; and the [`RemotePort`] we read from a peer's tunnel TLV.
//!
//! ```text
//! Tunnel TLV type 25 (SD-WAN-Hybrid)
//!   sub-TLV 6  Tunnel Egress Endpoint  the WAN port's public address
//!   sub-TLV 4  Color                   the WAN port's color
//!   sub-TLV 8  UDP Destination Port    4500 (NAT-T, RFC 3948)
//!   sub-TLV 68 Public Key              X25519 (crypto keyex::params)
//!   sub-TLV 67 SA Nonce                rekey counter + nonce
//!   sub-TLV 70 Simplified IPsec SA     transform, ESN/NAT-T, window, lifetime
//!   sub-TLV 64 IPsec SA ID             [Port-Local-ID]: only in the fallback
//!                                      form, whose NLRI (node-id/32) does not
//!                                      name the port (our convention)
//! ```
//!
//! The 67/68/70 values are written with the crypto crate's byte layouts
//! (`keyex::params`) and read back with bgp's typed decoders, which accept
//! exactly those layouts.
use crate::config::ResolvedWan;
use sdwan_bgp::wire::sdwan_subtlv::{PublicKey, SaNonce, SimplifiedSa};
use sdwan_bgp::wire::tunnel::TUNNEL_SDWAN_HYBRID;
use sdwan_bgp::wire::{SubTlv, Tunnel};
use sdwan_crypto::keyex::{Endpoint, NonceParam, PeerParams, PublicKeyParam, SimplifiedSaParam};
use sdwan_crypto::outer::NATT_PORT;
use std::net::IpAddr;

/// A remote edge's WAN port as learned from BGP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePort {
    /// Remote SD-WAN node id.
    pub node: IpAddr,
    /// Remote Port-Local-ID.
    pub port: u32,
    pub color: u32,
    /// Outer destination of our packets.
    pub endpoint: IpAddr,
    pub udp_port: u16,
    /// Key agreement parameters (sub-TLVs 67, 68); `None` for a
    /// `[[static_peer]]` (manually keyed).
    pub params: Option<PeerParams>,
}

impl RemotePort {
    pub fn peer(&self) -> Endpoint {
        Endpoint {
            node: self.node,
            port: self.port,
        }
    }
}

/// Why a peer's tunnel TLV is not usable (counted by the resolver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelAttrError {
    NoTunnelAttribute,
    NoSdwanTunnel,
    MissingPublicKey,
    MissingNonce,
    MissingColor,
    MissingPortId,
    BadNonce,
}

impl TunnelAttrError {
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelAttrError::NoTunnelAttribute => "no_tunnel_attribute",
            TunnelAttrError::NoSdwanTunnel => "no_sdwan_tunnel",
            TunnelAttrError::MissingPublicKey => "missing_public_key",
            TunnelAttrError::MissingNonce => "missing_nonce",
            TunnelAttrError::MissingColor => "missing_color",
            TunnelAttrError::MissingPortId => "missing_port_id",
            TunnelAttrError::BadNonce => "bad_nonce",
        }
    }
}

/// The tunnel TLV advertising `wan` with its current key parameters.
/// `with_port_id`: add sub-TLV 64 naming the port (fallback form).
pub fn wan_tunnel(
    wan: &ResolvedWan,
    params: &PeerParams,
    sa: &SimplifiedSaParam,
    with_port_id: bool,
) -> Tunnel {
    let mut sub_tlvs = vec![
        SubTlv::EgressEndpoint {
            address: Some(wan.public_address),
        },
        SubTlv::Color {
            flags: 0,
            color: wan.color,
        },
        SubTlv::UdpDestPort { port: NATT_PORT },
        SubTlv::PublicKey {
            key: PublicKey {
                x25519: params.public_key.0,
            },
        },
        SubTlv::RekeyCounter {
            nonce: SaNonce {
                rekey_counter: params.nonce.rekey_counter,
                nonce: params.nonce.nonce().to_vec(),
            },
        },
    ];
    // The crypto layout, decoded by bgp's strict decoder: identical bytes.
    if let Ok(sa) = SimplifiedSa::decode(&sa.to_bytes()) {
        sub_tlvs.push(SubTlv::SimplifiedIpsecSa { sa });
    }
    if with_port_id {
        sub_tlvs.push(SubTlv::IpsecSaId { ids: vec![wan.id] });
    }
    Tunnel {
        tunnel_type: TUNNEL_SDWAN_HYBRID,
        sub_tlvs,
    }
}

/// Reads one SD-WAN-Hybrid tunnel TLV of `node`. `port` / `color`: from the
/// SAFI 74 NLRI when known; otherwise from sub-TLVs 64 / 4.
/// `next_hop`: the route's next hop, the endpoint when sub-TLV 6 is absent
/// or AFI 0 (RFC 9012 §3.1).
pub fn remote_port(
    tunnel: &Tunnel,
    node: IpAddr,
    port: Option<u32>,
    color: Option<u32>,
    next_hop: IpAddr,
) -> Result<RemotePort, TunnelAttrError> {
    if tunnel.tunnel_type != TUNNEL_SDWAN_HYBRID {
        return Err(TunnelAttrError::NoSdwanTunnel);
    }
    let mut endpoint = None;
    let mut tlv_color = None;
    let mut udp_port = NATT_PORT;
    let mut key = None;
    let mut nonce = None;
    let mut port_id = None;
    for s in &tunnel.sub_tlvs {
        match s {
            SubTlv::EgressEndpoint { address } => endpoint = *address,
            SubTlv::Color { color, .. } => tlv_color = Some(*color),
            SubTlv::UdpDestPort { port } => udp_port = *port,
            SubTlv::PublicKey { key: k } => key = Some(PublicKeyParam(k.x25519)),
            SubTlv::RekeyCounter { nonce: n } => nonce = Some(n),
            SubTlv::IpsecSaId { ids } => port_id = ids.first().copied(),
            _ => {}
        }
    }
    let port = port.or(port_id).ok_or(TunnelAttrError::MissingPortId)?;
    let color = color.or(tlv_color).ok_or(TunnelAttrError::MissingColor)?;
    let public_key = key.ok_or(TunnelAttrError::MissingPublicKey)?;
    let n = nonce.ok_or(TunnelAttrError::MissingNonce)?;
    let nonce =
        NonceParam::new(n.rekey_counter, &n.nonce).map_err(|_| TunnelAttrError::BadNonce)?;
    let peer = Endpoint { node, port };
    Ok(RemotePort {
        node,
        port,
        color,
        endpoint: endpoint.unwrap_or(next_hop).to_canonical(),
        udp_port,
        params: Some(PeerParams {
            endpoint: peer,
            public_key,
            nonce,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WanKind;
    use sdwan_crypto::keyex::PortSecret;
    use sdwan_crypto::Cipher;

    pub(crate) fn wan(id: u32, color: u32, addr: &str) -> ResolvedWan {
        ResolvedWan {
            port: 0,
            port_name: "wan0".into(),
            id,
            color,
            kind: WanKind::Internet,
            public_address: addr.parse().unwrap(),
            addresses: vec![addr.parse().unwrap()],
            gateway: None,
            guard: None,
        }
    }

    fn sa() -> SimplifiedSaParam {
        SimplifiedSaParam {
            cipher: Cipher::AesGcm128,
            esn: true,
            natt: true,
            replay_window: 1024,
            lifetime_seconds: 3600,
            spi_base: 0,
        }
    }

    #[test]
    fn our_tunnel_reads_back_as_the_same_port_and_params() {
        let node: IpAddr = "10.255.0.1".parse().unwrap();
        let secret = PortSecret::from_secret(Endpoint { node, port: 7 }, [9; 32], [3; 16], 4);
        let params = secret.advertisement();
        let w = wan(7, 100, "198.51.100.1");
        let t = wan_tunnel(&w, &params, &sa(), true);
        // Through the wire codec and back.
        let enc = sdwan_bgp::wire::TunnelEncap { tunnels: vec![t] };
        let mut bytes = Vec::new();
        enc.encode(&mut bytes);
        let dec = sdwan_bgp::wire::TunnelEncap::decode(&bytes).unwrap();
        assert!(dec.tunnels[0]
            .sub_tlvs
            .iter()
            .any(|s| matches!(s, SubTlv::SimplifiedIpsecSa { sa } if sa.replay_window == 1024)));
        let r = remote_port(&dec.tunnels[0], node, None, None, node).unwrap();
        assert_eq!((r.port, r.color, r.udp_port), (7, 100, 4500));
        assert_eq!(r.endpoint, w.public_address);
        assert_eq!(r.params, Some(params));
    }

    #[test]
    fn fallback_tunnel_without_port_id_is_refused_and_nlri_values_win() {
        let node: IpAddr = "10.255.0.2".parse().unwrap();
        let secret = PortSecret::from_secret(Endpoint { node, port: 1 }, [5; 32], [1; 16], 0);
        let t = wan_tunnel(
            &wan(1, 100, "198.51.100.2"),
            &secret.advertisement(),
            &sa(),
            false,
        );
        assert_eq!(
            remote_port(&t, node, None, None, node),
            Err(TunnelAttrError::MissingPortId)
        );
        let r = remote_port(&t, node, Some(1), Some(100), node).unwrap();
        assert_eq!(r.peer(), Endpoint { node, port: 1 });
        let mut no_key = t.clone();
        no_key
            .sub_tlvs
            .retain(|s| !matches!(s, SubTlv::PublicKey { .. }));
        assert_eq!(
            remote_port(&no_key, node, Some(1), None, node),
            Err(TunnelAttrError::MissingPublicKey)
        );
        let mut gre = t;
        gre.tunnel_type = 2;
        assert_eq!(
            remote_port(&gre, node, Some(1), None, node),
            Err(TunnelAttrError::NoSdwanTunnel)
        );
    }
}
