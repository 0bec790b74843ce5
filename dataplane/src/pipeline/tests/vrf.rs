//! VRF separation: addresses and routes of one VRF are invisible from a
//! port in another.

use super::*;
use sdwan_packet::icmpv4::Icmpv4Repr;
use sdwan_packet::ipv4::protocol;

#[test]
fn port_in_other_vrf_neither_owns_nor_routes() {
    let mut r = Router::new();
    r.ports[1].vrf = 7;
    let ping = {
        let e = Icmpv4Repr::EchoRequest {
            ident: 1,
            seq: 1,
            data: b"x",
        };
        let mut b = vec![0u8; e.buffer_len()];
        e.emit(&mut b).unwrap();
        b
    };
    // Port 1's address is not "ours" from VRF 0: routed (connected on
    // port 1 in the VRF-0 FIB, so it needs resolving), not answered.
    let (v, _) = r.run(
        &v4_frame("10.0.0.2", "10.0.1.1", protocol::ICMP, 64, &ping),
        0,
    );
    assert_eq!(v, Verdict::Drop(DropReason::NoNeighbor));
    assert_eq!(r.count(Event::EchoRepliesSent), 0);
    // From port 1 (VRF 7, empty FIB) nothing routes.
    let mut f = v4_frame("10.0.1.2", "172.16.0.1", protocol::UDP, 64, &[0; 8]);
    f[..6].copy_from_slice(&MAC1.0);
    let (v, _) = r.run(&f, 1);
    assert_eq!(v, Verdict::Reply { port: 1 }); // net unreachable
    assert_eq!(r.drops(DropReason::NoRoute), 1);
}
