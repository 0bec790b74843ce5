//! TCP: option walk and MSS clamp never panic; clamping keeps a valid
//! checksum valid.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sdwan_packet::checksum;
use sdwan_packet::tcp::TcpPacket;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TcpPacket::new_checked(data) {
        let _ = (p.options(), p.flags(), p.mss());
        let valid = checksum::fold(checksum::sum(data)) == 0xffff;
        let mut copy = data.to_vec();
        let mut m = TcpPacket::new_unchecked(&mut copy[..]);
        if let Ok(Some(mss)) = m.clamp_mss(1200) {
            assert!(mss <= 1200);
            if valid {
                assert_eq!(checksum::fold(checksum::sum(&copy)), 0xffff);
            }
        }
    }
});
