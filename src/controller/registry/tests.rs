use super::model::*;
use super::*;

fn device(serial: &str, node: &str) -> Device {
    Device {
        serial: serial.into(),
        site: "paris".into(),
        state: DeviceState::Registered,
        node_id: node.parse().unwrap(),
        asn: 65000,
        bgp_source: None,
        vrfs: vec![DeviceVrf {
            tenant: "blue".into(),
            name: "blue".into(),
            id: 1,
            rd: format!("{node}:1"),
            label: 1001,
            color: Some(100),
            import: vec!["65000:1".into()],
            export: vec!["65000:1".into()],
            encap: "mpls".into(),
            hub: false,
        }],
        wans: vec![WanPort {
            port: "wan0".into(),
            id: 1,
            color: 100,
            kind: "internet".into(),
            breakout: false,
        }],
        config_version: 1,
        md5_key: "k".into(),
        cert_fingerprint: None,
    }
}

#[test]
fn devices_tenants_tokens_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.db");
    {
        let r = Registry::open(&path).unwrap();
        r.store_tenant(&Tenant {
            name: "blue".into(),
            route_targets: vec!["65000:1".into()],
            policies: vec![],
            hub_and_spoke: None,
        })
        .unwrap();
        r.add_device(&device("S1", "10.255.0.1")).unwrap();
        r.add_token("ab", "admin", Scope::Admin, 1).unwrap();
        r.record_enrollment("S1", "fp1", Some("127.0.0.21".parse().unwrap()), 5)
            .unwrap();
    }
    let r = Registry::open(&path).unwrap();
    assert_eq!(r.schema_version().unwrap(), SCHEMA_VERSION);
    let d = r.device("S1").unwrap().unwrap();
    assert_eq!(d.state, DeviceState::Enrolled);
    assert_eq!(d.cert_fingerprint.as_deref(), Some("fp1"));
    assert_eq!(d.peer_address().to_string(), "127.0.0.21");
    assert_eq!(d.vrfs[0].label, 1001);
    assert_eq!(
        r.device_by_fingerprint("fp1").unwrap().unwrap().serial,
        "S1"
    );
    assert_eq!(r.tenant("blue").unwrap().route_targets, vec!["65000:1"]);
    assert_eq!(r.sites().unwrap()[0].name, "paris");
    assert_eq!(r.token_scope("ab").unwrap().unwrap().1, Scope::Admin);
    assert!(r.token_scope("cd").unwrap().is_none());
    assert_eq!(r.enrollment_count("S1").unwrap(), 1);
}

#[test]
fn duplicates_are_refused_with_reason() {
    let dir = tempfile::tempdir().unwrap();
    let r = Registry::open(&dir.path().join("reg.db")).unwrap();
    r.add_device(&device("S1", "10.255.0.1")).unwrap();
    let e = r.add_device(&device("S1", "10.255.0.2")).unwrap_err();
    assert_eq!(e.status(), 409);
    assert!(e.to_string().contains("already registered"), "{e}");
    let e = r.add_device(&device("S2", "10.255.0.1")).unwrap_err();
    assert!(e.to_string().contains("node id 10.255.0.1"), "{e}");
    assert_eq!(r.devices().unwrap().len(), 1);
}

#[test]
fn nonces_are_single_use_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let r = Registry::open(&dir.path().join("reg.db")).unwrap();
    assert!(r.remember_nonce("n1", 100, 0).unwrap());
    assert!(!r.remember_nonce("n1", 101, 0).unwrap());
    // Once forgotten (older than the window) it is accepted again; the
    // caller refuses such a request as stale before asking.
    assert!(r.remember_nonce("n1", 1000, 500).unwrap());
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.db");
    drop(Registry::open(&path).unwrap());
    let db = Connection::open(&path).unwrap();
    db.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(db);
    let e = Registry::open(&path).err().unwrap();
    assert!(e.to_string().contains("schema version 99"), "{e}");
}

#[test]
fn revoked_device_is_not_re_enrolled() {
    let dir = tempfile::tempdir().unwrap();
    let r = Registry::open(&dir.path().join("reg.db")).unwrap();
    let mut d = device("S1", "10.255.0.1");
    d.state = DeviceState::Revoked;
    r.add_device(&d).unwrap();
    r.record_enrollment("S1", "fp", None, 1).unwrap();
    assert_eq!(r.device("S1").unwrap().unwrap().state, DeviceState::Revoked);
}

#[test]
fn a_version_1_registry_is_migrated_and_tenant_policies_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.db");
    {
        // What a version-1 controller wrote: no policies column.
        let db = Connection::open(&path).unwrap();
        db.execute_batch(super::SCHEMA_V1).unwrap();
        db.execute(
            "INSERT INTO meta(key, value) VALUES('schema_version', '1')",
            [],
        )
        .unwrap();
        db.execute(
            "INSERT INTO tenants(name, route_targets) VALUES('blue', '[\"65000:1\"]')",
            [],
        )
        .unwrap();
    }
    let r = Registry::open(&path).unwrap();
    assert_eq!(r.schema_version().unwrap(), 2);
    let mut t = r.tenant("blue").unwrap();
    assert!(t.policies.is_empty());
    t.policies.push(model::PolicyRule {
        vrf: None,
        name: "voice".into(),
        action: "private-only".into(),
        protocol: Some("udp".into()),
        src: None,
        dst: None,
        src_ports: None,
        dst_ports: Some("5060-5061".into()),
        dscp: Some(46),
        flow_label: None,
    });
    r.store_tenant(&t).unwrap();
    drop(r);
    let r = Registry::open(&path).unwrap();
    assert_eq!(r.tenants().unwrap(), vec![t]);
}

#[test]
fn storing_a_changed_tenant_bumps_its_devices_in_the_same_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.db");
    let r = Registry::open(&path).unwrap();
    let mut blue = Tenant {
        name: "blue".into(),
        route_targets: vec!["65000:1".into(), "65000:2".into()],
        policies: vec![],
        hub_and_spoke: None,
    };
    assert_eq!(r.store_tenant(&blue).unwrap(), Some(vec![]));
    r.add_device(&device("S1", "10.255.0.1")).unwrap();
    let mut revoked = device("S2", "10.255.0.2");
    revoked.state = DeviceState::Revoked;
    r.add_device(&revoked).unwrap();
    let mut red = device("S3", "10.255.0.3");
    red.vrfs[0].tenant = "red".into();
    r.add_device(&red).unwrap();
    // The same tenant again: nothing to push.
    assert_eq!(r.store_tenant(&blue).unwrap(), None);
    assert_eq!(r.device("S1").unwrap().unwrap().config_version, 1);
    blue.hub_and_spoke = Some(HubAndSpoke {
        hub_rt: "65000:1".into(),
        spoke_rt: "65000:2".into(),
        hub_summary: vec!["10.0.0.0/8".into()],
    });
    blue.policies.push(PolicyRule {
        vrf: None,
        name: "web".into(),
        action: "encrypted-any".into(),
        protocol: Some("tcp".into()),
        src: None,
        dst: None,
        src_ports: None,
        dst_ports: Some("443".into()),
        dscp: None,
        flow_label: None,
    });
    assert_eq!(r.store_tenant(&blue).unwrap(), Some(vec!["S1".to_string()]));
    let version = |s: &str| r.device(s).unwrap().unwrap().config_version;
    assert_eq!((version("S1"), version("S2"), version("S3")), (2, 1, 1));
    drop(r);
    let r = Registry::open(&path).unwrap();
    assert_eq!(
        r.tenant("blue").unwrap(),
        blue,
        "topology and rules persist"
    );
}
