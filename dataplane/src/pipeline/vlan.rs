//! 802.1Q sub-interfaces (IEEE 802.1Q-2018 §9.6): a logical port bound to
//! one VLAN of a physical port. On the wire only the physical (parent)
//! port exists; inside the pipeline the sub-interface is an ordinary port
//! with its own id, VRF, addresses and neighbors.
//!
//! ```text
//!  untagged:  | dst (6) | src (6) | EtherType (2) | payload
//!  tagged:    | dst (6) | src (6) | 0x8100 | PCP(3) DEI(1) VID(12) | EtherType (2) | payload
//! ```
//!
//! Ingress ([`strip`]): the tag of a frame whose (parent, VID) names a
//! sub-interface is removed in place (the 12 MAC bytes move 4 bytes toward
//! the payload, the frame start follows), so every later stage sees an
//! untagged frame with its L3 header at offset 14. Egress ([`to_wire`]):
//! the last step of the pipeline (and of the control thread's ARP / NS
//! frames) pushes the tag back (PCP 0, DEI 0) into the headroom and names
//! the parent as the port to transmit on.

use super::PortConfig;
use sdwan_packet::ethernet::{ethertype, HEADER_LEN, VLAN_TAG_LEN};
use sdwan_packet::Frame;

/// A sub-interface's binding: the physical port it rides on and its VLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanBinding {
    /// The parent (physical) port's id.
    pub parent: u16,
    /// VLAN ID, 1..=4094.
    pub vid: u16,
}

/// The sub-interface of `parent` for `vid`, if one is configured: a scan of
/// the (few) ports, no allocation.
#[inline]
pub(super) fn sub_interface(ports: &[PortConfig], parent: u16, vid: u16) -> Option<&PortConfig> {
    ports
        .iter()
        .find(|p| p.vlan == Some(VlanBinding { parent, vid }))
}

/// Removes the 802.1Q tag of the tagged frame in `frame` (the caller has
/// checked it is tagged and at least 18 bytes long).
#[inline]
pub(super) fn strip(frame: &mut Frame<'_>) -> bool {
    if frame.len() < HEADER_LEN + VLAN_TAG_LEN {
        return false;
    }
    frame.data_mut().copy_within(0..12, VLAN_TAG_LEN);
    frame.trim_front(VLAN_TAG_LEN).is_ok()
}

/// Inserts an 802.1Q tag with `vid` (PCP 0, DEI 0) after the MAC addresses
/// of the untagged frame in `frame`, using 4 bytes of headroom.
#[inline]
pub fn push(frame: &mut Frame<'_>, vid: u16) -> bool {
    if frame.len() < HEADER_LEN || frame.prepend(VLAN_TAG_LEN).is_err() {
        return false;
    }
    let d = frame.data_mut();
    d.copy_within(VLAN_TAG_LEN..VLAN_TAG_LEN + 12, 0);
    d[12..14].copy_from_slice(&ethertype::VLAN.to_be_bytes());
    d[14..16].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
    true
}

/// Makes the frame built for port `port` ready for the wire: tagged with
/// the VLAN when `port` is a sub-interface. Returns the physical port to
/// transmit on, or `None` when the port is unknown or there is no
/// headroom for the tag.
#[inline]
pub fn to_wire(frame: &mut Frame<'_>, ports: &[PortConfig], port: u16) -> Option<u16> {
    let p = ports.get(usize::from(port)).filter(|p| p.id == port)?;
    match p.vlan {
        None => Some(port),
        Some(b) => push(frame, b.vid).then_some(b.parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_then_strip_is_the_identity() {
        let untagged: Vec<u8> = (0u8..14).chain([0xaa; 10]).collect();
        let mut buf = vec![0u8; 8 + untagged.len()];
        buf[8..].copy_from_slice(&untagged);
        let mut f = Frame::new(&mut buf, 8, untagged.len()).unwrap();
        assert!(push(&mut f, 0x0123));
        let d = f.data();
        assert_eq!(d[..12], untagged[..12]);
        assert_eq!(d[12..16], [0x81, 0x00, 0x01, 0x23]);
        assert_eq!(d[16..], untagged[12..]);
        assert!(strip(&mut f));
        assert_eq!(f.data(), &untagged[..]);
    }

    #[test]
    fn push_needs_headroom_and_a_header() {
        let mut buf = vec![0u8; 20];
        let mut f = Frame::new(&mut buf, 0, 20).unwrap();
        assert!(!push(&mut f, 5));
        let mut buf = vec![0u8; 20];
        let mut f = Frame::new(&mut buf, 8, 10).unwrap();
        assert!(!push(&mut f, 5));
    }
}
