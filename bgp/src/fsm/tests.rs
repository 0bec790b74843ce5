//! FSM tests with a fake clock: two FSMs wired back to back, timers,
//! errors and the NOTIFICATION codes they send.

use super::*;
use crate::wire::{decode_message, DecodeCtx, EncodeCtx};

fn cfg(local_as: u32, id: [u8; 4], remote_as: u32, passive: bool) -> FsmConfig {
    FsmConfig {
        local_as,
        local_id: Ipv4Addr::from(id),
        remote_as,
        hold_time: 9,
        families: vec![Family::Vpnv4, Family::Vpnv6],
        passive,
        connect_retry: Duration::from_secs(5),
        idle_hold: Duration::from_secs(2),
        add_path: vec![],
        restart_time: None,
        extended_message: false,
    }
}

fn sent(out: &[Output]) -> Vec<Message> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Pass a message through the real codec, as the runtime does.
fn wire(m: &Message) -> Event {
    let b = m.encode(EncodeCtx {
        four_octet_as: true,
    });
    Event::Message(
        decode_message(
            &b,
            &DecodeCtx {
                four_octet_as: true,
                ..Default::default()
            },
        )
        .unwrap(),
    )
}

/// Deliver every message one side sent to the other until both are quiet.
fn pump(
    now: Instant,
    a: &mut Fsm,
    b: &mut Fsm,
    mut to_a: Vec<Message>,
    mut to_b: Vec<Message>,
) -> (Vec<Output>, Vec<Output>) {
    let (mut all_a, mut all_b) = (Vec::new(), Vec::new());
    while !to_a.is_empty() || !to_b.is_empty() {
        for m in std::mem::take(&mut to_b) {
            let o = b.handle(now, wire(&m));
            to_a.extend(sent(&o));
            all_b.extend(o);
        }
        for m in std::mem::take(&mut to_a) {
            let o = a.handle(now, wire(&m));
            to_b.extend(sent(&o));
            all_a.extend(o);
        }
    }
    (all_a, all_b)
}

fn establish(now: Instant) -> (Fsm, Fsm) {
    let mut a = Fsm::new(cfg(65000, [1, 1, 1, 1], 65000, false));
    let mut b = Fsm::new(cfg(65000, [2, 2, 2, 2], 65000, true));
    assert_eq!(a.handle(now, Event::Start), vec![Output::Connect]);
    assert_eq!(a.state(), State::Connect);
    assert!(b.handle(now, Event::Start).is_empty());
    assert_eq!(b.state(), State::Active);
    let oa = a.handle(now, Event::Connected);
    let ob = b.handle(now, Event::Connected);
    assert_eq!(a.state(), State::OpenSent);
    let (ra, rb) = pump(now, &mut a, &mut b, sent(&ob), sent(&oa));
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    let ups = [ra, rb].concat();
    assert_eq!(
        ups.iter()
            .filter(|o| matches!(o, Output::Established(_)))
            .count(),
        2
    );
    (a, b)
}

#[test]
fn two_fsms_establish_and_negotiate() {
    let now = Instant::now();
    let (a, _) = establish(now);
    let n = a.negotiated().unwrap();
    assert_eq!(n.peer_id, Ipv4Addr::new(2, 2, 2, 2));
    assert_eq!(n.families, vec![Family::Vpnv4, Family::Vpnv6]);
    assert_eq!((n.hold_time, n.keepalive), (9, 3));
    assert!(n.four_octet_as && n.route_refresh);
}

#[test]
fn keepalive_timer_and_hold_timer_expiry() {
    let t0 = Instant::now();
    let (mut a, _) = establish(t0);
    let out = a.tick(t0 + Duration::from_secs(3));
    assert_eq!(sent(&out), vec![Message::Keepalive]);
    // No KEEPALIVE from the peer for the hold time: NOTIFICATION 4/0.
    let out = a.tick(t0 + Duration::from_secs(10));
    assert!(sent(&out).contains(&Message::Notification(Notification::new(4, 0))));
    assert!(out.contains(&Output::Disconnect));
    assert_eq!(a.state(), State::Idle);
    // Automatic restart after the idle hold time.
    let out = a.tick(t0 + Duration::from_secs(13));
    assert!(out.contains(&Output::Connect));
    assert_eq!(a.state(), State::Connect);
}

#[test]
fn received_keepalive_resets_hold_timer() {
    let t0 = Instant::now();
    let (mut a, _) = establish(t0);
    a.handle(t0 + Duration::from_secs(8), wire(&Message::Keepalive));
    let out = a.tick(t0 + Duration::from_secs(10));
    assert!(!out.contains(&Output::Disconnect));
    assert_eq!(a.state(), State::Established);
}

#[test]
fn wrong_peer_as_gets_open_error_bad_peer_as() {
    let now = Instant::now();
    let mut a = Fsm::new(cfg(65000, [1, 1, 1, 1], 65001, false));
    let mut b = Fsm::new(cfg(65002, [2, 2, 2, 2], 65000, true));
    a.handle(now, Event::Start);
    b.handle(now, Event::Start);
    a.handle(now, Event::Connected);
    let ob = b.handle(now, Event::Connected);
    let out = a.handle(now, wire(&sent(&ob)[0]));
    assert_eq!(
        sent(&out),
        vec![Message::Notification(Notification {
            code: 2,
            subcode: 2,
            data: vec![0xfd, 0xea]
        })]
    );
    assert_eq!(a.state(), State::Idle);
}

#[test]
fn unexpected_update_in_open_confirm_is_fsm_error() {
    let now = Instant::now();
    let mut a = Fsm::new(cfg(65000, [1, 1, 1, 1], 65000, false));
    let b = Fsm::new(cfg(65000, [2, 2, 2, 2], 65000, true));
    a.handle(now, Event::Start);
    a.handle(now, Event::Connected);
    a.handle(now, wire(&Message::Open(b.open_message())));
    assert_eq!(a.state(), State::OpenConfirm);
    let out = a.handle(now, wire(&Message::Update(Update::default())));
    assert_eq!(
        sent(&out),
        vec![Message::Notification(Notification::new(5, 2))]
    );
}

#[test]
fn decode_failure_sends_its_notification_and_stop_sends_cease() {
    let now = Instant::now();
    let (mut a, mut b) = establish(now);
    let e = crate::wire::DecodeError::reset(crate::wire::Reason::MalformedMpReach, 30, 3, 9);
    let out = a.handle(now, Event::DecodeFailed(e));
    assert_eq!(
        sent(&out),
        vec![Message::Notification(Notification::new(3, 9))]
    );
    let out = b.handle(now, Event::Stop);
    assert_eq!(
        sent(&out),
        vec![Message::Notification(Notification::new(6, 2))]
    );
    // Administratively stopped: no automatic restart.
    assert!(b.tick(now + Duration::from_secs(60)).is_empty());
}

#[test]
fn connect_retry_and_failed_connect() {
    let t0 = Instant::now();
    let mut a = Fsm::new(cfg(65000, [1, 1, 1, 1], 65000, false));
    a.handle(t0, Event::Start);
    a.handle(t0, Event::ConnectFailed);
    assert_eq!(a.state(), State::Active);
    assert!(a.tick(t0 + Duration::from_secs(4)).is_empty());
    assert_eq!(a.tick(t0 + Duration::from_secs(5)), vec![Output::Connect]);
    assert_eq!(a.state(), State::Connect);
}

#[test]
fn updates_pass_through_with_their_verdict() {
    let now = Instant::now();
    let (mut a, _) = establish(now);
    let out = a.handle(
        now,
        wire(&Message::Update(Update::end_of_rib(Family::Vpnv4))),
    );
    assert!(
        matches!(&out[0], Output::Update(u, None, _) if u.is_end_of_rib() == Some(Family::Vpnv4))
    );
}

#[test]
fn collision_rule() {
    let hi = Ipv4Addr::new(9, 9, 9, 9);
    let lo = Ipv4Addr::new(1, 1, 1, 1);
    // We have the higher id: keep the connection we initiated.
    assert!(collision_keep_existing(hi, lo, true));
    assert!(!collision_keep_existing(hi, lo, false));
    assert!(collision_keep_existing(lo, hi, false));
    assert!(!collision_keep_existing(lo, hi, true));
}
