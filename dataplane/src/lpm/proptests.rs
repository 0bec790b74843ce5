//! `Lpm4`/`Lpm6` against a naive reference (a map of prefixes and a linear
//! longest match), over random inserts and removes on overlapping prefixes,
//! including old clones staying untouched (copy-on-write).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::{Lpm4, Lpm6, LpmError, MAX_VALUE};

/// Naive reference: routes keyed by (length, prefix), widths 32 or 128.
#[derive(Clone, Default)]
struct Reference {
    routes: BTreeMap<(u8, u128), u32>,
}

fn mask(width: u8, len: u8) -> u128 {
    let full = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    if len == 0 {
        0
    } else {
        (full << (width - len)) & full
    }
}

impl Reference {
    fn lookup(&self, width: u8, addr: u128) -> Option<u32> {
        (0..=width)
            .rev()
            .find_map(|l| self.routes.get(&(l, addr & mask(width, l))).copied())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u128, u8, u32),
    Remove(u128, u8),
    /// Keep a clone of the table and of the reference to check at the end.
    Snapshot,
}

/// Addresses that make prefixes overlap, and both ends of the space.
fn v4_bases() -> Vec<u128> {
    [
        0x0a00_0000u32,
        0x0a01_0203,
        0x0a01_02ff,
        0xc0a8_0180,
        0xffff_ffff,
        0,
    ]
    .into_iter()
    .map(u128::from)
    .collect()
}

fn v6_bases() -> Vec<u128> {
    [
        0x2001_0db8_0000_0000_0000_0000_0000_0000u128,
        0x2001_0db8_0001_0000_0000_0000_0000_0001,
        0x2001_0db8_0001_00ff_0000_0000_0000_0000,
        0xfe80_0000_0000_0000_0000_0000_0000_0001,
        u128::MAX,
        0,
    ]
    .to_vec()
}

fn lengths(width: u8) -> BoxedStrategy<u8> {
    if width == 32 {
        prop_oneof![
            Just(0u8),
            Just(8),
            Just(12),
            Just(13),
            Just(16),
            Just(23),
            Just(24),
            Just(25),
            Just(30),
            Just(32),
            0u8..=32
        ]
        .boxed()
    } else {
        prop_oneof![
            Just(0u8),
            Just(7),
            Just(8),
            Just(9),
            Just(32),
            Just(48),
            Just(63),
            Just(64),
            Just(127),
            Just(128),
            0u8..=128
        ]
        .boxed()
    }
}

fn address(width: u8, bases: Vec<u128>) -> BoxedStrategy<u128> {
    let n = bases.len();
    let random = if width == 32 {
        any::<u32>().prop_map(u128::from).boxed()
    } else {
        any::<u128>().boxed()
    };
    prop_oneof![
        3 => (0..n).prop_map(move |i| bases[i]),
        1 => random,
    ]
    .boxed()
}

fn ops(width: u8, bases: Vec<u128>) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        6 => (address(width, bases.clone()), lengths(width), 0u32..8)
            .prop_map(move |(a, l, v)| Op::Insert(a & mask(width, l), l, v)),
        3 => (address(width, bases.clone()), lengths(width))
            .prop_map(move |(a, l)| Op::Remove(a & mask(width, l), l)),
        1 => Just(Op::Snapshot),
    ];
    prop::collection::vec(op, 1..80)
}

/// Addresses to probe: the bases, their neighbours, and both ends of every
/// prefix ever used.
fn probes(width: u8, bases: &[u128], ops: &[Op]) -> Vec<u128> {
    let top = mask(width, width);
    let mut v = Vec::new();
    for &b in bases {
        v.extend([
            b,
            b.wrapping_add(1) & top,
            b.wrapping_sub(1) & top,
            b ^ 0x100,
        ]);
    }
    for op in ops {
        if let Op::Insert(p, l, _) | Op::Remove(p, l) = *op {
            v.push(p);
            v.push(p | (!mask(width, l) & top));
        }
    }
    v
}

trait Table: Clone {
    const WIDTH: u8;
    fn t_insert(&mut self, p: u128, l: u8, v: u32) -> Result<Option<u32>, LpmError>;
    fn t_remove(&mut self, p: u128, l: u8) -> Option<u32>;
    fn t_get(&self, p: u128, l: u8) -> Option<u32>;
    fn t_lookup(&self, a: u128) -> Option<u32>;
    fn t_bulk(&self, a: &[u128]) -> Vec<Option<u32>>;
    fn t_len(&self) -> usize;
    fn t_routes(&self) -> BTreeMap<(u8, u128), u32>;
}

impl Table for Lpm4 {
    const WIDTH: u8 = 32;
    fn t_insert(&mut self, p: u128, l: u8, v: u32) -> Result<Option<u32>, LpmError> {
        self.insert(Ipv4Addr::from(p as u32), l, v)
    }
    fn t_remove(&mut self, p: u128, l: u8) -> Option<u32> {
        self.remove(Ipv4Addr::from(p as u32), l)
    }
    fn t_get(&self, p: u128, l: u8) -> Option<u32> {
        self.get(Ipv4Addr::from(p as u32), l)
    }
    fn t_lookup(&self, a: u128) -> Option<u32> {
        self.lookup_u32(a as u32)
    }
    fn t_bulk(&self, a: &[u128]) -> Vec<Option<u32>> {
        let a: Vec<u32> = a.iter().map(|&x| x as u32).collect();
        let mut out = vec![Some(u32::MAX); a.len()];
        assert_eq!(self.lookup_bulk(&a, &mut out), a.len());
        out
    }
    fn t_len(&self) -> usize {
        self.len()
    }
    fn t_routes(&self) -> BTreeMap<(u8, u128), u32> {
        self.iter()
            .map(|(p, l, v)| ((l, u128::from(u32::from(p))), v))
            .collect()
    }
}

impl Table for Lpm6 {
    const WIDTH: u8 = 128;
    fn t_insert(&mut self, p: u128, l: u8, v: u32) -> Result<Option<u32>, LpmError> {
        self.insert(Ipv6Addr::from(p), l, v)
    }
    fn t_remove(&mut self, p: u128, l: u8) -> Option<u32> {
        self.remove(Ipv6Addr::from(p), l)
    }
    fn t_get(&self, p: u128, l: u8) -> Option<u32> {
        self.get(Ipv6Addr::from(p), l)
    }
    fn t_lookup(&self, a: u128) -> Option<u32> {
        self.lookup_u128(a)
    }
    fn t_bulk(&self, a: &[u128]) -> Vec<Option<u32>> {
        let mut out = vec![Some(u32::MAX); a.len()];
        assert_eq!(self.lookup_bulk(a, &mut out), a.len());
        out
    }
    fn t_len(&self) -> usize {
        self.len()
    }
    fn t_routes(&self) -> BTreeMap<(u8, u128), u32> {
        self.iter()
            .map(|(p, l, v)| ((l, u128::from(p)), v))
            .collect()
    }
}

fn check_same<T: Table>(t: &T, r: &Reference, probes: &[u128]) -> Result<(), TestCaseError> {
    prop_assert_eq!(t.t_len(), r.routes.len());
    prop_assert_eq!(&t.t_routes(), &r.routes);
    for (&(l, p), &v) in &r.routes {
        prop_assert_eq!(t.t_get(p, l), Some(v));
    }
    let mut expected = Vec::with_capacity(probes.len());
    for &a in probes {
        expected.push(r.lookup(T::WIDTH, a));
        prop_assert_eq!(t.t_lookup(a), r.lookup(T::WIDTH, a), "lookup {:#x}", a);
    }
    // Bulk over all probes (groups of 16 and a remainder).
    prop_assert_eq!(&t.t_bulk(probes), &expected);
    Ok(())
}

fn run<T: Table>(mut t: T, bases: &[u128], ops: &[Op]) -> Result<(), TestCaseError> {
    let width = T::WIDTH;
    let probes = probes(width, bases, ops);
    let mut r = Reference::default();
    let mut snapshots = Vec::new();
    for op in ops {
        match *op {
            Op::Insert(p, l, v) => {
                let expect = r.routes.insert((l, p), v);
                prop_assert_eq!(t.t_insert(p, l, v), Ok(expect));
            }
            Op::Remove(p, l) => {
                let expect = r.routes.remove(&(l, p));
                prop_assert_eq!(t.t_remove(p, l), expect);
            }
            Op::Snapshot => {
                check_same(&t, &r, &probes)?;
                snapshots.push((t.clone(), r.clone()));
            }
        }
    }
    check_same(&t, &r, &probes)?;
    for (st, sr) in &snapshots {
        check_same(st, sr, &probes)?;
    }
    // Removing everything leaves an empty table that matches nothing.
    for &(l, p) in r.routes.keys() {
        prop_assert!(t.t_remove(p, l).is_some());
    }
    check_same(&t, &Reference::default(), &probes)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn lpm4_matches_reference(ops in ops(32, v4_bases())) {
        run(Lpm4::new(), &v4_bases(), &ops)?;
    }

    #[test]
    fn lpm6_matches_reference(ops in ops(128, v6_bases())) {
        run(Lpm6::new(), &v6_bases(), &ops)?;
    }
}

#[test]
fn removal_restores_covering_route() {
    let mut t = Lpm4::new();
    let a = Ipv4Addr::new(10, 1, 2, 3);
    t.insert(Ipv4Addr::UNSPECIFIED, 0, 1).unwrap();
    t.insert(Ipv4Addr::new(10, 0, 0, 0), 8, 2).unwrap();
    t.insert(Ipv4Addr::new(10, 1, 0, 0), 16, 3).unwrap();
    t.insert(Ipv4Addr::new(10, 1, 2, 0), 24, 4).unwrap();
    t.insert(Ipv4Addr::new(10, 1, 2, 3), 32, 5).unwrap();
    for (len, prefix, expect_after) in [
        (32, a, 4),
        (24, Ipv4Addr::new(10, 1, 2, 0), 3),
        (16, Ipv4Addr::new(10, 1, 0, 0), 2),
        (8, Ipv4Addr::new(10, 0, 0, 0), 1),
    ] {
        assert!(t.remove(prefix, len).is_some());
        assert_eq!(t.lookup(a), Some(expect_after), "after removing /{len}");
    }
    assert_eq!(t.remove(Ipv4Addr::UNSPECIFIED, 0), Some(1));
    assert_eq!(t.lookup(a), None);

    let mut t = Lpm6::new();
    let a: Ipv6Addr = "2001:db8:1:2::3".parse().unwrap();
    t.insert(Ipv6Addr::UNSPECIFIED, 0, 1).unwrap();
    t.insert("2001:db8::".parse().unwrap(), 32, 2).unwrap();
    t.insert("2001:db8:1::".parse().unwrap(), 48, 3).unwrap();
    t.insert(a, 128, 4).unwrap();
    assert_eq!(t.lookup(a), Some(4));
    assert_eq!(t.remove(a, 128), Some(4));
    assert_eq!(t.lookup(a), Some(3));
    assert_eq!(t.remove("2001:db8:1::".parse().unwrap(), 48), Some(3));
    assert_eq!(t.lookup(a), Some(2));
    assert_eq!(t.remove("2001:db8::".parse().unwrap(), 32), Some(2));
    assert_eq!(t.lookup(a), Some(1));
}

#[test]
fn invalid_routes_are_rejected() {
    let mut t = Lpm4::new();
    let p = Ipv4Addr::new(10, 0, 0, 1);
    assert_eq!(t.insert(p, 24, 1), Err(LpmError::HostBitsSet { len: 24 }));
    assert_eq!(
        t.insert(p, 33, 1),
        Err(LpmError::PrefixTooLong { len: 33, max: 32 })
    );
    assert_eq!(
        t.insert(p, 32, MAX_VALUE + 1),
        Err(LpmError::ValueTooLarge {
            value: MAX_VALUE + 1
        })
    );
    assert_eq!(t.insert(p, 32, MAX_VALUE), Ok(None));
    assert_eq!(t.lookup(p), Some(MAX_VALUE));
    assert_eq!(t.get(p, 33), None);
    assert_eq!(t.remove(p, 33), None);
    let mut short_out = [None; 1];
    assert_eq!(t.lookup_bulk(&[u32::from(p); 20], &mut short_out), 1);
    assert_eq!(short_out, [Some(MAX_VALUE)]);

    let mut t = Lpm6::new();
    let p: Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert_eq!(t.insert(p, 64, 1), Err(LpmError::HostBitsSet { len: 64 }));
    assert_eq!(
        t.insert(p, 129, 1),
        Err(LpmError::PrefixTooLong { len: 129, max: 128 })
    );
    assert_eq!(
        t.insert(p, 128, MAX_VALUE + 1),
        Err(LpmError::ValueTooLarge {
            value: MAX_VALUE + 1
        })
    );
    assert!(t.is_empty());
}

#[test]
fn removing_last_route_shares_empty_chunk_again() {
    let mut t = Lpm4::new();
    let empty_bytes = t.memory_bytes();
    t.insert(Ipv4Addr::new(10, 1, 2, 128), 25, 7).unwrap();
    assert!(t.memory_bytes() > empty_bytes);
    assert_eq!(t.remove(Ipv4Addr::new(10, 1, 2, 128), 25), Some(7));
    assert_eq!(t.memory_bytes(), empty_bytes);
}

#[test]
fn lpm6_groups_are_freed_and_reused() {
    let mut t = Lpm6::new();
    let (_, empty_groups) = t.memory_bytes();
    let deep: Ipv6Addr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
    let cover: Ipv6Addr = "2001:db8::".parse().unwrap();
    t.insert(cover, 32, 1).unwrap();
    t.insert(deep, 128, 2).unwrap();
    let snapshot = t.clone();
    let (full_bytes, full_groups) = t.memory_bytes();
    // /32 ends in the byte-3 group; /128 adds groups for bytes 4..=15.
    assert_eq!(full_groups, empty_groups + 14);
    assert_eq!(t.remove(deep, 128), Some(2));
    assert_eq!(t.memory_bytes().1, empty_groups + 2);
    assert_eq!(t.lookup(deep), Some(1));
    assert_eq!(t.remove(cover, 32), Some(1));
    assert_eq!(t.memory_bytes().1, empty_groups);
    assert_eq!(t.lookup(deep), None);
    // The snapshot taken before still sees both routes.
    assert_eq!(snapshot.lookup(deep), Some(2));
    assert_eq!(snapshot.get(cover, 32), Some(1));
    // Freed groups are reused: the arena does not grow.
    t.insert(cover, 32, 1).unwrap();
    t.insert(deep, 128, 2).unwrap();
    assert_eq!(t.memory_bytes(), (full_bytes, full_groups));
}
