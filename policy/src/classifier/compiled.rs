//! The compiled classifier: per-field bitmap intersection (Lakshman &
//! Stiliadis, SIGCOMM '98) with a summary bitmap per bitmap (the
//! "aggregated bit vector" of Baboescu & Varghese, SIGCOMM '01).
//!
//! Compile: for each field, the values every rule tests are cut into
//! elementary intervals (a rule's prefix or port range starts and ends on
//! interval boundaries), and each interval gets the bitmap of the rules
//! that accept it (bit `i` = rule `i`). Equal bitmaps are stored once. A
//! field no rule constrains is left out.
//!
//! ```text
//!   field value ──binary search──▶ interval ──▶ bitmap id
//!   bitmap id ──▶ summary u64 (bit w: word w has a rule)  +  words[W]
//!   candidates = AND of the summaries of all fields
//!   for each candidate word w, lowest first:
//!       m = AND of word w of all fields; if m != 0: rule 64w + tz(m)
//! ```
//!
//! Lookup cost: one binary search per constrained field (≤ 2R+1 intervals
//! for R rules: ~11 steps at 1,000 rules) plus, per candidate word, one load
//! per field. The lowest set bit is the first rule in list order, so first
//! match wins. No allocation, no lock; the structure is immutable once
//! built and shared by all workers through [`super::PolicyStore`].
//!
//! Family: a rule with an IPv6 source prefix is in no interval of the IPv4
//! source field (and the reverse), so it can never be found for an IPv4
//! packet; a rule with a flow label likewise, because IPv4 packets are
//! looked up with flow label `u32::MAX` (outside the 20 bits).

use super::rule::{Prefix, RuleSet};
use crate::flow_key::{Family, FlowKey};
use std::collections::HashMap;

/// Sorted interval starts of one field and the bitmap id of each interval.
#[derive(Debug, Clone)]
struct Intervals<T> {
    /// `starts[0]` is the field's smallest value.
    starts: Vec<T>,
    bitmap: Vec<u32>,
}

impl<T: Copy + Ord> Intervals<T> {
    #[inline]
    fn find(&self, v: T) -> u32 {
        let i = self.starts.partition_point(|s| *s <= v);
        // starts[0] is the minimum, so i >= 1; bitmap has one id per start.
        self.bitmap[i.saturating_sub(1)]
    }
}

/// A small field (protocol, DSCP) as a direct table of bitmap ids.
#[derive(Debug, Clone)]
struct Direct {
    ids: Vec<u32>,
}

impl Direct {
    #[inline]
    fn find(&self, v: u8) -> u32 {
        self.ids.get(usize::from(v)).copied().unwrap_or(0)
    }
}

/// Deduplicated bitmaps: `words[id*W..(id+1)*W]` and `summary[id]`.
#[derive(Debug, Clone, Default)]
struct Pool {
    w: usize,
    words: Vec<u64>,
    summary: Vec<u64>,
    index: HashMap<Vec<u64>, u32>,
}

impl Pool {
    fn intern(&mut self, bm: Vec<u64>) -> u32 {
        if let Some(id) = self.index.get(&bm) {
            return *id;
        }
        let id = u32::try_from(self.summary.len()).expect("bitmap count fits u32");
        let mut s = 0u64;
        for (i, w) in bm.iter().enumerate() {
            if *w != 0 {
                s |= 1 << i;
            }
        }
        self.words.extend_from_slice(&bm);
        self.summary.push(s);
        self.index.insert(bm, id);
        id
    }
}

/// The rule set compiled for lookup. Holds only indexes; actions live in
/// the snapshot next to it.
#[derive(Debug, Clone)]
pub struct CompiledClassifier {
    rules: usize,
    w: usize,
    words: Vec<u64>,
    summary: Vec<u64>,
    /// Bitmap of all rules (used when no field is constrained).
    all: u32,
    src4: Option<Intervals<u32>>,
    dst4: Option<Intervals<u32>>,
    src6: Option<Intervals<u128>>,
    dst6: Option<Intervals<u128>>,
    protocol: Option<Direct>,
    src_port: Option<Intervals<u32>>,
    dst_port: Option<Intervals<u32>>,
    dscp: Option<Direct>,
    flow_label: Option<Intervals<u32>>,
    vrf: Option<Intervals<u32>>,
}

/// Range a rule accepts in one field: `None` = no value of this field
/// (wrong family), `Some((lo, hi))` inclusive.
type Accept = Option<(u128, u128)>;

impl CompiledClassifier {
    /// Compiles a validated rule set (see [`RuleSet::validate`]; the rule
    /// count must be at most [`super::MAX_RULES`]).
    pub fn compile(set: &RuleSet) -> Self {
        let n = set.rules.len();
        let w = n.div_ceil(64).max(1);
        let mut pool = Pool {
            w,
            ..Pool::default()
        };
        let mut all = vec![0u64; w];
        for i in 0..n {
            all[i / 64] |= 1 << (i % 64);
        }
        let all_id = pool.intern(all);
        let rules = &set.rules;
        let prefix = |f: Family, p: Option<Prefix>, max: u128| -> Accept {
            match p {
                None => Some((0, max)),
                Some(p) if p.family() == f => Some(p.range()),
                Some(_) => None,
            }
        };
        let opt = |v: Option<u128>, max: u128| -> Accept { Some(v.map_or((0, max), |v| (v, v))) };
        let m32 = u128::from(u32::MAX);
        let field = |pool: &mut Pool, f: &dyn Fn(usize) -> Accept, max: u128| {
            let acc: Vec<Accept> = (0..n).map(f).collect();
            build(pool, all_id, &acc, max)
        };
        let src4 = field(
            &mut pool,
            &|i| prefix(Family::V4, rules[i].matches.src, m32),
            m32,
        );
        let dst4 = field(
            &mut pool,
            &|i| prefix(Family::V4, rules[i].matches.dst, m32),
            m32,
        );
        let src6 = field(
            &mut pool,
            &|i| prefix(Family::V6, rules[i].matches.src, u128::MAX),
            u128::MAX,
        );
        let dst6 = field(
            &mut pool,
            &|i| prefix(Family::V6, rules[i].matches.dst, u128::MAX),
            u128::MAX,
        );
        let protocol = field(
            &mut pool,
            &|i| opt(rules[i].matches.protocol.map(u128::from), 255),
            255,
        );
        let dscp = field(
            &mut pool,
            &|i| opt(rules[i].matches.dscp.map(u128::from), 63),
            63,
        );
        let ports = |r: Option<super::PortRange>| {
            Some(r.map_or((0, 65535), |r| (u128::from(r.lo()), u128::from(r.hi()))))
        };
        let src_port = field(&mut pool, &|i| ports(rules[i].matches.src_ports), 65535);
        let dst_port = field(&mut pool, &|i| ports(rules[i].matches.dst_ports), 65535);
        let flow_label = field(
            &mut pool,
            &|i| opt(rules[i].matches.flow_label.map(u128::from), m32),
            m32,
        );
        let vrf = field(
            &mut pool,
            &|i| opt(rules[i].matches.vrf.map(u128::from), m32),
            m32,
        );
        Self {
            rules: n,
            w,
            words: pool.words,
            summary: pool.summary,
            all: all_id,
            src4: src4.map(narrow),
            dst4: dst4.map(narrow),
            src6,
            dst6,
            protocol: protocol.map(|iv| direct(&iv, 256)),
            src_port: src_port.map(narrow),
            dst_port: dst_port.map(narrow),
            dscp: dscp.map(|iv| direct(&iv, 64)),
            flow_label: flow_label.map(narrow),
            vrf: vrf.map(narrow),
        }
    }

    pub fn rule_count(&self) -> usize {
        self.rules
    }

    /// Number of fields some rule constrains (what a lookup searches).
    pub fn active_fields(&self) -> usize {
        [
            self.src4.is_some(),
            self.dst4.is_some(),
            self.src6.is_some(),
            self.dst6.is_some(),
            self.protocol.is_some(),
            self.src_port.is_some(),
            self.dst_port.is_some(),
            self.dscp.is_some(),
            self.flow_label.is_some(),
            self.vrf.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }

    /// Bytes held by the lookup structure (bitmaps and interval tables).
    pub fn memory_bytes(&self) -> usize {
        fn iv<T>(i: &Option<Intervals<T>>) -> usize {
            i.as_ref()
                .map_or(0, |i| i.starts.len() * (size_of::<T>() + 4))
        }
        fn d(i: &Option<Direct>) -> usize {
            i.as_ref().map_or(0, |i| i.ids.len() * 4)
        }
        (self.words.len() + self.summary.len()) * 8
            + iv(&self.src4)
            + iv(&self.dst4)
            + iv(&self.src6)
            + iv(&self.dst6)
            + iv(&self.src_port)
            + iv(&self.dst_port)
            + iv(&self.flow_label)
            + iv(&self.vrf)
            + d(&self.protocol)
            + d(&self.dscp)
    }

    /// Index of the first rule matching `k`.
    #[inline]
    pub fn classify(&self, k: &FlowKey) -> Option<usize> {
        let mut ids = [0u32; 8];
        let mut n = 0;
        macro_rules! push {
            ($id:expr) => {{
                ids[n] = $id;
                n += 1;
            }};
        }
        match k.family {
            Family::V4 => {
                // The low 32 bits hold an IPv4 address.
                if let Some(d) = &self.src4 {
                    push!(d.find(k.src as u32));
                }
                if let Some(d) = &self.dst4 {
                    push!(d.find(k.dst as u32));
                }
            }
            Family::V6 => {
                if let Some(d) = &self.src6 {
                    push!(d.find(k.src));
                }
                if let Some(d) = &self.dst6 {
                    push!(d.find(k.dst));
                }
            }
        }
        if let Some(d) = &self.protocol {
            push!(d.find(k.protocol));
        }
        if let Some(d) = &self.src_port {
            push!(d.find(u32::from(k.src_port)));
        }
        if let Some(d) = &self.dst_port {
            push!(d.find(u32::from(k.dst_port)));
        }
        if let Some(d) = &self.dscp {
            push!(d.find(k.dscp));
        }
        if let Some(d) = &self.flow_label {
            push!(d.find(k.flow_label.unwrap_or(u32::MAX)));
        }
        if let Some(d) = &self.vrf {
            push!(d.find(k.vrf));
        }
        if n == 0 {
            push!(self.all);
        }
        self.first_common(&ids[..n])
    }

    /// Lowest rule index set in every bitmap of `ids`.
    #[inline]
    fn first_common(&self, ids: &[u32]) -> Option<usize> {
        let mut cand = u64::MAX;
        for id in ids {
            cand &= self.summary[*id as usize];
        }
        while cand != 0 {
            let word = cand.trailing_zeros() as usize;
            let mut m = u64::MAX;
            for id in ids {
                m &= self.words[*id as usize * self.w + word];
            }
            if m != 0 {
                return Some(word * 64 + m.trailing_zeros() as usize);
            }
            cand &= cand - 1;
        }
        None
    }
}

/// Cuts `[0, max]` into elementary intervals of the rules' ranges and
/// interns the bitmap of each. `None` when every rule accepts every value
/// (the field need not be looked at).
fn build(pool: &mut Pool, all: u32, acc: &[Accept], max: u128) -> Option<Intervals<u128>> {
    let mut starts = vec![0u128];
    for (lo, hi) in acc.iter().flatten() {
        starts.push(*lo);
        if *hi < max {
            starts.push(hi + 1);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut bitmap = Vec::with_capacity(starts.len());
    for s in &starts {
        let mut bm = vec![0u64; pool.w];
        for (i, a) in acc.iter().enumerate() {
            if let Some((lo, hi)) = a {
                if lo <= s && s <= hi {
                    bm[i / 64] |= 1 << (i % 64);
                }
            }
        }
        bitmap.push(pool.intern(bm));
    }
    // Merge neighbours with the same bitmap.
    let mut iv = Intervals {
        starts: Vec::with_capacity(starts.len()),
        bitmap: Vec::with_capacity(starts.len()),
    };
    for (s, b) in starts.into_iter().zip(bitmap) {
        if iv.bitmap.last() != Some(&b) {
            iv.starts.push(s);
            iv.bitmap.push(b);
        }
    }
    if iv.bitmap == [all] {
        None
    } else {
        Some(iv)
    }
}

/// Intervals of a field whose values fit in `u32`.
fn narrow(iv: Intervals<u128>) -> Intervals<u32> {
    Intervals {
        starts: iv
            .starts
            .iter()
            .map(|s| u32::try_from(*s).unwrap_or(u32::MAX))
            .collect(),
        bitmap: iv.bitmap,
    }
}

/// A direct table of `size` entries (protocol, DSCP).
fn direct(iv: &Intervals<u128>, size: usize) -> Direct {
    let ids = (0..size).map(|v| iv.find(v as u128)).collect();
    Direct { ids }
}
