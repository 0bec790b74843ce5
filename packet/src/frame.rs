//! A packet inside a larger buffer: `buf[start..end]` is the packet, bytes
//! before `start` are headroom, bytes after `end` tailroom. This is exactly
//! the shape of a DPDK mbuf segment (`buf_addr`, `data_off`, `data_len`), so
//! the dataplane lends an mbuf's memory as a `Frame`, and the same code runs
//! on a plain array in tests.

/// Not enough head- or tailroom for the requested growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom;

#[derive(Debug)]
pub struct Frame<'a> {
    buf: &'a mut [u8],
    start: usize,
    end: usize,
}

impl<'a> Frame<'a> {
    /// `buf[start..start+len]` holds the packet. Returns `None` when the
    /// window does not fit in `buf`.
    pub fn new(buf: &'a mut [u8], start: usize, len: usize) -> Option<Self> {
        let end = start.checked_add(len)?;
        if end > buf.len() {
            return None;
        }
        Some(Self { buf, start, end })
    }

    #[inline]
    pub fn start(&self) -> usize {
        self.start
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    #[inline]
    pub fn headroom(&self) -> usize {
        self.start
    }
    #[inline]
    pub fn tailroom(&self) -> usize {
        self.buf.len() - self.end
    }
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// Grows the packet at the front by `n` bytes and returns them.
    #[inline(always)]
    pub fn prepend(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        let start = self.start.checked_sub(n).ok_or(NoRoom)?;
        self.start = start;
        Ok(&mut self.buf[start..start + n])
    }

    /// Grows the packet at the back by `n` bytes and returns them.
    #[inline]
    pub fn append(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        let end = self.end.checked_add(n).ok_or(NoRoom)?;
        if end > self.buf.len() {
            return Err(NoRoom);
        }
        let old = self.end;
        self.end = end;
        Ok(&mut self.buf[old..end])
    }

    /// Grows the packet by `front` bytes at the front and `back` bytes at
    /// the back in one step (e.g. headers and a trailer around a payload)
    /// and returns the `H` new bytes just before the old packet and the `T`
    /// new bytes just after it (`front >= H`, `back >= T`); unchanged on
    /// `NoRoom`. The windows are fixed-size, so writing them needs no
    /// further bounds check.
    #[inline]
    pub fn grow_around<const H: usize, const T: usize>(
        &mut self,
        front: usize,
        back: usize,
    ) -> Result<(&mut [u8; H], &mut [u8; T]), NoRoom> {
        if front < H || back < T {
            return Err(NoRoom);
        }
        let start = self.start.checked_sub(front).ok_or(NoRoom)?;
        let end = self.end.checked_add(back).ok_or(NoRoom)?;
        if end > self.buf.len() {
            return Err(NoRoom);
        }
        let (old_start, old_end) = (self.start, self.end);
        self.start = start;
        self.end = end;
        let (before, after) = self.buf.split_at_mut(old_end);
        let head = before[..old_start].last_chunk_mut::<H>();
        let tail = after.first_chunk_mut::<T>();
        match (head, tail) {
            (Some(h), Some(t)) => Ok((h, t)),
            // Unreachable: start <= old_start - H and old_end + T <= end.
            _ => Err(NoRoom),
        }
    }

    /// Removes `n` bytes from the front (a header that was consumed).
    #[inline]
    pub fn trim_front(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.start += n;
        Ok(())
    }

    /// Removes `n` bytes from the back (padding, ICV).
    #[inline]
    pub fn trim_back(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.len() {
            return Err(NoRoom);
        }
        self.end -= n;
        Ok(())
    }

    /// Sets the packet length, growing into tailroom or shrinking.
    #[inline]
    pub fn set_len(&mut self, len: usize) -> Result<(), NoRoom> {
        let end = self.start.checked_add(len).ok_or(NoRoom)?;
        if end > self.buf.len() {
            return Err(NoRoom);
        }
        self.end = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_and_shrink_within_room() {
        let mut raw = [0u8; 32];
        let mut f = Frame::new(&mut raw, 8, 10).unwrap();
        f.prepend(8).unwrap().fill(1);
        assert_eq!(f.headroom(), 0);
        assert_eq!(f.prepend(1), Err(NoRoom));
        f.append(14).unwrap().fill(2);
        assert_eq!(f.tailroom(), 0);
        assert_eq!(f.len(), 32);
        assert_eq!(f.append(1), Err(NoRoom));
        f.trim_front(8).unwrap();
        f.trim_back(14).unwrap();
        assert_eq!(f.len(), 10);
        assert_eq!(f.data(), &[0u8; 10]);
        assert_eq!(f.trim_back(11), Err(NoRoom));
        assert!(Frame::new(&mut raw, 30, 3).is_none());
    }

    #[test]
    fn grow_both_ends_at_once_or_not_at_all() {
        let mut raw = [0u8; 32];
        let mut f = Frame::new(&mut raw, 8, 10).unwrap();
        // Too much at the back: nothing changes, not even the front.
        assert_eq!(f.grow_around::<2, 2>(4, 15), Err(NoRoom));
        assert_eq!(f.grow_around::<2, 2>(9, 0), Err(NoRoom));
        // Windows larger than the growth.
        assert_eq!(f.grow_around::<5, 2>(4, 4), Err(NoRoom));
        assert_eq!(f.grow_around::<2, 5>(4, 4), Err(NoRoom));
        assert_eq!((f.start(), f.len()), (8, 10));
        let (h, t) = f.grow_around::<3, 2>(8, 14).unwrap();
        *h = [1, 2, 3];
        *t = [4, 5];
        assert_eq!((f.headroom(), f.tailroom()), (0, 0));
        assert_eq!(f.len(), 32);
        assert_eq!(&f.data()[5..8], &[1, 2, 3], "just before the old start");
        assert_eq!(&f.data()[18..20], &[4, 5], "just after the old end");
    }
}
