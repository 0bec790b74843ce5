//! A bounds-checked reader over a byte slice. Every read returns
//! [`Malformed`] with the offset where the data ran out instead of panicking.

use super::error::{Malformed, VResult};

#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub fn bytes(&mut self, n: usize) -> VResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Malformed { at: self.pos })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(Malformed { at: self.pos })?;
        self.pos = end;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> VResult<[u8; N]> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> VResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> VResult<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> VResult<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> VResult<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Error at the current position (for semantic checks).
    pub fn err<T>(&self) -> VResult<T> {
        Err(Malformed { at: self.pos })
    }
}

/// Write helpers for encoders.
pub trait PutBytes {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
}

impl PutBytes for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
}

/// Write a 2-byte length placeholder, return its position.
pub fn len16_start(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    at
}

/// Fill the 2-byte length written by [`len16_start`] with the byte count
/// since. Values longer than 65535 are a caller bug prevented by the
/// message-size checks; they are clamped rather than wrapped.
pub fn len16_end(out: &mut [u8], at: usize) {
    let n = out.len().saturating_sub(at + 2);
    let n = u16::try_from(n).unwrap_or(u16::MAX);
    if let Some(s) = out.get_mut(at..at + 2) {
        s.copy_from_slice(&n.to_be_bytes());
    }
}
