//! FlowKey::parse on arbitrary bytes: must never panic, and a key it
//! returns must classify without panicking against a small rule set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdwan_policy::classifier::{
    Action, Match, PathPolicy, PolicySnapshot, PortRange, Rule, RuleSet,
};
use sdwan_policy::FlowKey;
use std::sync::OnceLock;

fn policy() -> &'static PolicySnapshot {
    static P: OnceLock<PolicySnapshot> = OnceLock::new();
    P.get_or_init(|| {
        let mut set = RuleSet::new(Action::new(PathPolicy::Any));
        set.rules.push(Rule {
            matches: Match {
                protocol: Some(17),
                dst_ports: Some(PortRange::new(1000, 2000).expect("range")),
                ..Match::default()
            },
            action: Action::new(PathPolicy::PrivateOnly),
        });
        set.rules.push(Rule {
            matches: Match {
                flow_label: Some(7),
                ..Match::default()
            },
            action: Action::new(PathPolicy::EncryptedAny),
        });
        PolicySnapshot::compile(&set, 1).expect("valid rules")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = FlowKey::parse(data, 0) {
        let _ = policy().classify(&k);
        assert!(k.dscp < 64);
        assert!(k.flow_label.map_or(true, |l| l < 1 << 20));
    }
});
