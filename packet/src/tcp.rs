//! TCP header (RFC 9293 §3.1): enough to read and clamp the MSS option
//! (kind 2) on SYNs that cross the overlay, with the checksum patched by
//! RFC 1624 incremental update.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Options: kind 0 end, 1 no-op, else | kind | length | value |  |
//! |  MSS (kind 2, length 4): | 2 | 4 |  Maximum Segment Size (16) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::checksum;
use crate::error::{be16, be32, put16, Error, Layer, Result};

pub const MIN_HEADER_LEN: usize = 20;
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_MSS: u8 = 2;

pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    /// Checks the fixed header, 5 <= Data Offset, and the whole header
    /// (incl. options) is in the buffer.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self { buffer };
        let b = p.buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(Error::truncated(Layer::Tcp, MIN_HEADER_LEN, b.len()));
        }
        let hl = p.header_len();
        if hl < MIN_HEADER_LEN {
            return Err(Error::BadHeaderLength {
                layer: Layer::Tcp,
                value: hl,
            });
        }
        if hl > b.len() {
            return Err(Error::truncated(Layer::Tcp, hl, b.len()));
        }
        Ok(p)
    }
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    pub fn seq(&self) -> u32 {
        be32(self.buffer.as_ref(), 4)
    }
    pub fn ack(&self) -> u32 {
        be32(self.buffer.as_ref(), 8)
    }
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[12] >> 4) * 4
    }
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[13]
    }
    pub fn window(&self) -> u16 {
        be16(self.buffer.as_ref(), 14)
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 16)
    }
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[MIN_HEADER_LEN..self.header_len()]
    }

    /// Offset (from the start of the TCP header) of the MSS value, after a
    /// strict walk of the option list: every option must fit, lengths >= 2,
    /// and an MSS option must have length 4.
    fn mss_offset(&self) -> Result<Option<usize>> {
        let opts = self.options();
        let mut i = 0;
        while i < opts.len() {
            match opts[i] {
                OPT_END => return Ok(None),
                OPT_NOP => i += 1,
                kind => {
                    let len = usize::from(*opts.get(i + 1).ok_or(Error::truncated(
                        Layer::TcpOption,
                        i + 2,
                        opts.len(),
                    ))?);
                    if len < 2 {
                        return Err(Error::BadHeaderLength {
                            layer: Layer::TcpOption,
                            value: len,
                        });
                    }
                    if i + len > opts.len() {
                        return Err(Error::truncated(Layer::TcpOption, i + len, opts.len()));
                    }
                    if kind == OPT_MSS {
                        if len != 4 {
                            return Err(Error::BadHeaderLength {
                                layer: Layer::TcpOption,
                                value: len,
                            });
                        }
                        return Ok(Some(MIN_HEADER_LEN + i + 2));
                    }
                    i += len;
                }
            }
        }
        Ok(None)
    }

    /// The MSS option value, if present.
    pub fn mss(&self) -> Result<Option<u16>> {
        Ok(self.mss_offset()?.map(|o| be16(self.buffer.as_ref(), o)))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Lowers the MSS option to `max` if it is larger, patching the checksum
    /// incrementally. Returns the MSS now in the packet (None: no option).
    pub fn clamp_mss(&mut self, max: u16) -> Result<Option<u16>> {
        let Some(off) = self.mss_offset()? else {
            return Ok(None);
        };
        let b = self.buffer.as_mut();
        let old = be16(b, off);
        if old <= max {
            return Ok(Some(old));
        }
        put16(b, off, max);
        let c = checksum::update16(be16(b, 16), old, max);
        put16(b, 16, c);
        Ok(Some(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn syn_with_mss(mss: u16) -> Vec<u8> {
        let mut b = vec![0u8; 28];
        b[12] = 7 << 4;
        b[13] = flags::SYN;
        b[20..24].copy_from_slice(&[OPT_NOP, OPT_NOP, OPT_NOP, OPT_END]);
        b[20] = OPT_MSS;
        b[21] = 4;
        b[22..24].copy_from_slice(&mss.to_be_bytes());
        b[24] = OPT_NOP;
        b
    }

    #[test]
    fn clamps_mss_and_keeps_checksum() {
        let mut b = syn_with_mss(1460);
        let c = checksum::checksum(&b);
        b[16..18].copy_from_slice(&c.to_be_bytes());
        let mut p = TcpPacket::new_checked(&mut b[..]).unwrap();
        assert_eq!(p.mss().unwrap(), Some(1460));
        assert_eq!(p.clamp_mss(1360).unwrap(), Some(1360));
        assert_eq!(p.clamp_mss(1400).unwrap(), Some(1360));
        assert_eq!(checksum::fold(checksum::sum(&b)), 0xffff);
    }

    #[test]
    fn rejects_bad_offsets_and_options() {
        let mut b = syn_with_mss(1460);
        b[12] = 4 << 4;
        assert!(matches!(
            TcpPacket::new_checked(&b[..]),
            Err(Error::BadHeaderLength { .. })
        ));
        b[12] = 8 << 4;
        assert!(TcpPacket::new_checked(&b[..]).is_err());
        let mut b = syn_with_mss(1460);
        b[21] = 9;
        assert!(TcpPacket::new_checked(&b[..]).unwrap().mss().is_err());
        b[21] = 3;
        assert!(TcpPacket::new_checked(&b[..]).unwrap().mss().is_err());
    }

    proptest! {
        #[test]
        fn mss_roundtrip(mss in any::<u16>(), max in any::<u16>()) {
            let mut b = syn_with_mss(mss);
            let mut p = TcpPacket::new_checked(&mut b[..]).unwrap();
            prop_assert_eq!(p.mss().unwrap(), Some(mss));
            prop_assert_eq!(p.clamp_mss(max).unwrap(), Some(mss.min(max)));
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = TcpPacket::new_checked(&b[..]) { let _ = p.mss(); }
        }
    }
}
