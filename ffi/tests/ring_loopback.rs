//! Real DPDK, no hardware: a net_ring vdev loops tx back into rx. One test
//! function because the EAL can be initialised only once per process.
#![cfg(feature = "dpdk")]
use sdwan_ffi::rte_lpm::{RteLpm4, RteLpm6};
use sdwan_ffi::{register_thread, Burst, Eal, Mempool, Port, PortConfig};
use std::sync::Arc;

#[test]
fn eal_pool_port_burst_and_lpm() {
    let _eal = Eal::init(&[
        "ffi-test",
        "--no-huge",
        "-m",
        "256",
        "--no-pci",
        "--no-shconf",
        "--log-level=3",
        "--vdev=net_ring0",
    ])
    .expect("EAL init");
    assert!(
        Eal::init(&["again"]).is_err(),
        "second init must be refused"
    );

    let pool = Arc::new(Mempool::new("test_pool", 1023, 32, 2176).expect("mempool"));
    let id = Port::id_by_name("net_ring0").expect("port by name");
    assert_eq!(Port::available(), vec![id]);
    let port = Port::open(id, &PortConfig::default(), pool.clone()).expect("port open");
    assert_eq!(port.name(), "net_ring0");
    let (mut rx, mut tx) = port.queues();
    std::thread::spawn(move || {
        register_thread().expect("register worker thread");
        let mut out = Burst::new();
        for i in 0..10u8 {
            let mut m = pool.alloc().expect("alloc");
            assert!(m.fill(&[i; 60]));
            assert_eq!(m.data_len(), 60);
            out.push(m).ok().expect("room in burst");
        }
        assert_eq!(tx[0].tx_burst(&mut out), 10);
        assert!(out.is_empty());
        let mut inb = Burst::new();
        assert_eq!(rx[0].rx_burst(&mut inb), 10);
        for (i, mut m) in inb.drain().enumerate() {
            assert_eq!(m.data(), &[i as u8; 60]);
            // In-place rewrite through the buffer window: prepend 4 bytes.
            let (buf, off, len) = m.buffer_mut();
            buf[off - 4..off].copy_from_slice(&[0xAB; 4]);
            assert!(m.set_window(off - 4, len + 4));
            assert_eq!(&m.data()[..5], &[0xAB, 0xAB, 0xAB, 0xAB, i as u8]);
        }
        let stats = port.stats();
        assert_eq!(stats.opackets, 10);
    })
    .join()
    .unwrap();

    let mut lpm = RteLpm4::new("t4", 1024, 256).expect("rte_lpm");
    lpm.add(0x0a00_0000, 8, 1).unwrap();
    lpm.add(0x0a01_0200, 24, 2).unwrap();
    assert_eq!(lpm.lookup(0x0a01_0203), Some(2));
    assert_eq!(lpm.lookup(0x0a02_0000), Some(1));
    assert_eq!(lpm.lookup(0x0b00_0000), None);
    let mut out = [0u32; 3];
    lpm.lookup_bulk(&[0x0a01_0203, 0x0a02_0000, 0x0b00_0000], &mut out);
    assert_eq!(out, [2, 1, u32::MAX]);

    let mut lpm6 = RteLpm6::new("t6", 1024, 1 << 12).expect("rte_lpm6");
    let mut p = [0u8; 16];
    p[0] = 0x20;
    p[1] = 0x01;
    lpm6.add(p, 16, 7).unwrap();
    p[15] = 1;
    assert_eq!(lpm6.lookup(&p), Some(7));
    assert_eq!(lpm6.lookup(&[0xfe; 16]), None);
}
