use super::*;
use crate::flow_key::Family;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn v4(a: [u8; 4], len: u8) -> Prefix {
    Prefix::v4(Ipv4Addr::from(a), len).unwrap()
}

fn key4(src: [u8; 4], dst: [u8; 4], proto: u8, sp: u16, dp: u16) -> FlowKey {
    FlowKey::v4(1, src.into(), dst.into(), proto, sp, dp, 0)
}

fn rule(m: Match, p: PathPolicy) -> Rule {
    Rule {
        matches: m,
        action: Action::new(p),
    }
}

fn sample_set() -> RuleSet {
    let mut s = RuleSet::new(Action::new(PathPolicy::EncryptedAny));
    s.class_names = vec!["payment".into(), "web".into()];
    s.rules = vec![
        // Payment terminals to the gateway: private only.
        Rule {
            matches: Match {
                src: Some(v4([10, 1, 0, 0], 16)),
                dst: Some(v4([192, 0, 2, 8], 30)),
                protocol: Some(6),
                dst_ports: Some(PortRange::single(443)),
                ..Match::default()
            },
            action: Action::with_class(PathPolicy::PrivateOnly, ClassId(0)),
        },
        // Web from VRF 2 breaks out.
        Rule {
            matches: Match {
                protocol: Some(6),
                dst_ports: Some(PortRange::new(80, 443).unwrap()),
                vrf: Some(2),
                ..Match::default()
            },
            action: Action::with_class(PathPolicy::InternetBreakout, ClassId(1)),
        },
        // Voice (EF) anywhere: any path.
        rule(
            Match {
                dscp: Some(46),
                ..Match::default()
            },
            PathPolicy::Any,
        ),
        // One IPv6 flow label.
        rule(
            Match {
                flow_label: Some(0x12345),
                ..Match::default()
            },
            PathPolicy::PrivateOnly,
        ),
    ];
    s
}

#[test]
fn first_match_wins_and_default_applies() {
    let snap = PolicySnapshot::compile(&sample_set(), 1).unwrap();
    let pay = key4([10, 1, 2, 3], [192, 0, 2, 9], 6, 5555, 443);
    let d = snap.classify(&pay);
    assert_eq!(d.rule, Some(0));
    assert_eq!(d.action.policy, PathPolicy::PrivateOnly);
    assert_eq!(snap.class_name(d.action.class.unwrap()), Some("payment"));
    // Same packet in VRF 2 still hits rule 0 (higher priority).
    let mut k = pay;
    k.vrf = 2;
    assert_eq!(snap.classify(&k).rule, Some(0));
    // Web elsewhere in VRF 2: breakout.
    let web = FlowKey {
        vrf: 2,
        ..key4([10, 9, 9, 9], [8, 8, 8, 8], 6, 1000, 80)
    };
    assert_eq!(
        snap.classify(&web).action.policy,
        PathPolicy::InternetBreakout
    );
    // EF voice.
    let voice = FlowKey::v4(5, [10, 0, 0, 1].into(), [10, 0, 0, 2].into(), 17, 1, 2, 46);
    assert_eq!(snap.classify(&voice).rule, Some(2));
    // Nothing matches: default, no rule.
    let other = key4([1, 1, 1, 1], [2, 2, 2, 2], 17, 1, 1);
    assert_eq!(
        snap.classify(&other),
        Decision {
            action: Action::new(PathPolicy::EncryptedAny),
            rule: None
        }
    );
    // Flow label only matches IPv6.
    let fl = FlowKey::v6(
        0,
        Ipv6Addr::LOCALHOST,
        Ipv6Addr::LOCALHOST,
        17,
        1,
        2,
        0,
        0x12345,
    );
    assert_eq!(snap.classify(&fl).rule, Some(3));
}

#[test]
fn ipv6_prefixes_never_match_ipv4_packets() {
    let mut s = RuleSet::new(Action::new(PathPolicy::Any));
    let p6 = Prefix::v6("2001:db8::".parse().unwrap(), 32).unwrap();
    s.rules = vec![
        rule(
            Match {
                src: Some(p6),
                ..Match::default()
            },
            PathPolicy::PrivateOnly,
        ),
        rule(
            Match {
                dst: Some(v4([0, 0, 0, 0], 0)),
                ..Match::default()
            },
            PathPolicy::EncryptedAny,
        ),
    ];
    let c = CompiledClassifier::compile(&s);
    assert_eq!(
        c.classify(&key4([32, 1, 13, 184], [1, 2, 3, 4], 6, 1, 1)),
        Some(1)
    );
    let k6 = FlowKey::v6(
        0,
        "2001:db8::1".parse().unwrap(),
        Ipv6Addr::LOCALHOST,
        6,
        1,
        1,
        0,
        0,
    );
    assert_eq!(c.classify(&k6), Some(0));
    let k6b = FlowKey::v6(
        0,
        "2001:db9::1".parse().unwrap(),
        Ipv6Addr::LOCALHOST,
        6,
        1,
        1,
        0,
        0,
    );
    assert_eq!(c.classify(&k6b), None);
}

#[test]
fn empty_and_wildcard_sets() {
    let s = RuleSet::new(Action::new(PathPolicy::Any));
    let c = CompiledClassifier::compile(&s);
    assert_eq!(c.classify(&key4([1, 1, 1, 1], [2, 2, 2, 2], 6, 1, 1)), None);
    let mut s = RuleSet::new(Action::new(PathPolicy::Any));
    s.rules = vec![rule(Match::default(), PathPolicy::PrivateOnly); 3];
    let c = CompiledClassifier::compile(&s);
    assert_eq!(c.active_fields(), 0);
    assert_eq!(
        c.classify(&key4([1, 1, 1, 1], [2, 2, 2, 2], 6, 1, 1)),
        Some(0)
    );
}

#[test]
fn validation_names_the_rule() {
    assert_eq!(
        Prefix::v4([10, 0, 0, 1].into(), 24),
        Err(RuleError::HostBitsSet { len: 24 })
    );
    assert_eq!(
        Prefix::v4([10, 0, 0, 0].into(), 33),
        Err(RuleError::PrefixTooLong { len: 33, max: 32 })
    );
    assert_eq!(
        PortRange::new(9, 8),
        Err(RuleError::EmptyPortRange { lo: 9, hi: 8 })
    );
    let p6 = Prefix::v6("2001:db8::".parse().unwrap(), 32).unwrap();
    let mut s = sample_set();
    s.rules[1].matches.dst = Some(p6);
    s.rules[1].matches.src = Some(v4([10, 0, 0, 0], 8));
    assert_eq!(s.validate(), Err(RuleError::MixedFamilies { rule: 1 }));
    let mut s = sample_set();
    s.rules[2].matches.dscp = Some(64);
    assert_eq!(
        s.validate(),
        Err(RuleError::DscpOutOfRange { rule: 2, dscp: 64 })
    );
    let mut s = sample_set();
    s.rules[3].matches.src = Some(v4([10, 0, 0, 0], 8));
    assert_eq!(s.validate(), Err(RuleError::FlowLabelOnIpv4 { rule: 3 }));
    let mut s = sample_set();
    s.rules[3].matches.flow_label = Some(1 << 20);
    assert_eq!(
        s.validate(),
        Err(RuleError::FlowLabelOutOfRange {
            rule: 3,
            label: 1 << 20
        })
    );
    let mut s = sample_set();
    s.default.class = Some(ClassId(2));
    assert_eq!(
        s.validate(),
        Err(RuleError::UnknownClass { rule: 4, class: 2 })
    );
    let mut s = sample_set();
    s.rules = vec![rule(Match::default(), PathPolicy::Any); MAX_RULES + 1];
    assert!(matches!(s.validate(), Err(RuleError::TooManyRules { .. })));
}

#[test]
fn store_publishes_new_generations_and_keeps_old_on_error() {
    let store = PolicyStore::new(&sample_set()).unwrap();
    let old = store.load_full_for_test();
    assert_eq!(old.generation(), 1);
    let mut s = sample_set();
    s.default = Action::new(PathPolicy::PrivateOnly);
    assert_eq!(store.publish(&s), Ok(2));
    let k = key4([1, 1, 1, 1], [2, 2, 2, 2], 17, 1, 1);
    assert_eq!(
        store.load().classify(&k).action.policy,
        PathPolicy::PrivateOnly
    );
    // A reader holding the old snapshot still sees the old policy.
    assert_eq!(old.classify(&k).action.policy, PathPolicy::EncryptedAny);
    s.rules[0].matches.dscp = Some(99);
    assert!(store.publish(&s).is_err());
    assert_eq!(store.load().generation(), 2);
}

impl PolicyStore {
    fn load_full_for_test(&self) -> Arc<PolicySnapshot> {
        Arc::clone(&self.load())
    }
}

// Random rules over a small value space so that rules overlap and packets
// hit them often.
fn arb_prefix4() -> impl Strategy<Value = Prefix> {
    (
        0u8..4,
        0u8..4,
        prop::sample::select(vec![0u8, 8, 16, 20, 24, 32]),
    )
        .prop_map(|(a, b, len)| {
            let raw = u32::from_be_bytes([10, a, b * 16, 1]);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            Prefix::v4(Ipv4Addr::from(raw & mask), len).unwrap()
        })
}

fn arb_prefix6() -> impl Strategy<Value = Prefix> {
    (
        0u16..4,
        prop::sample::select(vec![0u8, 16, 32, 48, 64, 128]),
    )
        .prop_map(|(a, len)| {
            let raw = u128::from(Ipv6Addr::new(0x2001, 0xdb8, a, 0, 0, 0, 0, 1));
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            Prefix::v6(Ipv6Addr::from(raw & mask), len).unwrap()
        })
}

fn arb_ports() -> impl Strategy<Value = PortRange> {
    (0u16..100, 0u16..100).prop_map(|(a, b)| PortRange::new(a.min(b), a.max(b)).unwrap())
}

fn arb_match() -> impl Strategy<Value = Match> {
    let fam = any::<bool>();
    (
        fam,
        prop::option::weighted(0.4, 0u8..2),
        prop::option::weighted(0.4, 0u8..2),
        prop::option::weighted(0.3, prop::sample::select(vec![1u8, 6, 17])),
        prop::option::weighted(0.3, arb_ports()),
        prop::option::weighted(0.3, arb_ports()),
        prop::option::weighted(0.2, 0u8..4),
        prop::option::weighted(0.1, 0u32..3),
        prop::option::weighted(0.2, 0u32..3),
        (arb_prefix4(), arb_prefix4(), arb_prefix6(), arb_prefix6()),
    )
        .prop_map(
            |(v6, s, d, protocol, sp, dp, dscp, fl, vrf, (s4, d4, s6, d6))| Match {
                src: s.map(|_| if v6 { s6 } else { s4 }),
                dst: d.map(|_| if v6 { d6 } else { d4 }),
                protocol,
                src_ports: sp,
                dst_ports: dp,
                dscp,
                flow_label: if v6 || s.is_none() && d.is_none() {
                    fl
                } else {
                    None
                },
                vrf,
            },
        )
}

fn arb_key() -> impl Strategy<Value = FlowKey> {
    (
        any::<bool>(),
        (0u8..4, 0u8..64, any::<u8>()),
        (0u8..4, 0u8..64, any::<u8>()),
        prop::sample::select(vec![1u8, 6, 17, 47]),
        0u16..110,
        0u16..110,
        0u8..5,
        0u32..4,
        0u32..4,
    )
        .prop_map(
            |(v6, (sa, sb, sc), (da, db, dc), proto, sp, dp, dscp, fl, vrf)| {
                if v6 {
                    let s =
                        Ipv6Addr::new(0x2001, 0xdb8, u16::from(sa), 0, 0, 0, 0, u16::from(sc) % 3);
                    let d =
                        Ipv6Addr::new(0x2001, 0xdb8, u16::from(da), 0, 0, 0, 0, u16::from(dc) % 3);
                    FlowKey::v6(vrf, s, d, proto, sp, dp, dscp, fl)
                } else {
                    let s = Ipv4Addr::new(10, sa, sb, sc);
                    let d = Ipv4Addr::new(10, da, db, dc);
                    FlowKey::v4(vrf, s, d, proto, sp, dp, dscp)
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn compiled_and_linear_agree_with_reference(
        matches in prop::collection::vec(arb_match(), 0..150),
        keys in prop::collection::vec(arb_key(), 64),
    ) {
        let mut set = RuleSet::new(Action::new(PathPolicy::Any));
        set.rules = matches.into_iter().map(|m| rule(m, PathPolicy::EncryptedAny)).collect();
        prop_assert_eq!(set.validate(), Ok(()));
        let compiled = CompiledClassifier::compile(&set);
        let linear = LinearClassifier::new(&set);
        let mut hits = 0;
        for k in &keys {
            let want = set.first_match(k);
            hits += usize::from(want.is_some());
            prop_assert_eq!(compiled.classify(k), want, "key {:?}", k);
            prop_assert_eq!(linear.classify(k), want);
            if let Some(i) = want {
                let fam_ok = [set.rules[i].matches.src, set.rules[i].matches.dst]
                    .iter().flatten().all(|p| p.family() == k.family);
                prop_assert!(fam_ok);
                prop_assert!(k.family == Family::V6 || set.rules[i].matches.flow_label.is_none());
            }
        }
        // The generator must actually produce matches, or the test proves little.
        prop_assert!(set.rules.len() < 20 || hits > 0);
    }
}
