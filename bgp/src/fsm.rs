//! The BGP session state machine (RFC 4271 §8), I/O-free: it takes events
//! (connection up/down, decoded messages, the current time) and returns
//! outputs (connect, send, disconnect, session up/down, UPDATEs to process).
//! Time is passed in, so tests drive it with a fake clock.
//!
//! Simplifications against §8.2.2, stated: one connection per FSM (the
//! caller resolves collisions with [`collision_keep_existing`]), no
//! DelayOpen, no damping; after an error the FSM restarts itself after the
//! idle-hold time (§8.1.1 AutomaticStart with a fixed IdleHoldTimer).

use crate::wire::error::code;
use crate::wire::open::{AddPathFamily, Capability, GrFamily, Open};
use crate::wire::{Action, DecodeError, Decoded, Family, Message, Notification, Update};
use serde::Serialize;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

#[derive(Clone, Debug)]
pub struct FsmConfig {
    pub local_as: u32,
    pub local_id: Ipv4Addr,
    pub remote_as: u32,
    /// Proposed hold time (0 disables keepalives, RFC 4271 §4.2).
    pub hold_time: u16,
    pub families: Vec<Family>,
    /// Never initiate connections (wait for the peer).
    pub passive: bool,
    pub connect_retry: Duration,
    /// Delay before an automatic restart after an error.
    pub idle_hold: Duration,
    /// Families for which ADD-PATH (RFC 7911) send and receive are offered.
    pub add_path: Vec<Family>,
    /// Graceful Restart (RFC 4724) restart time to advertise; `None`: the
    /// capability is not sent.
    pub restart_time: Option<u16>,
    /// Offer the Extended Message capability (RFC 8654).
    pub extended_message: bool,
}

/// The peer's Graceful Restart capability (RFC 4724 §3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerGr {
    /// R bit: the peer has just restarted.
    pub restarting: bool,
    pub restart_time: u16,
    /// Families (of ours) the peer lists, with its F bit (forwarding state
    /// preserved).
    pub families: Vec<(Family, bool)>,
}

/// What both sides agreed on in the OPEN exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Negotiated {
    pub peer_as: u32,
    pub peer_id: Ipv4Addr,
    pub hold_time: u16,
    pub keepalive: u16,
    /// Families both sides announced (RFC 4760 §8; none announced = IPv4
    /// unicast only).
    pub families: Vec<Family>,
    pub four_octet_as: bool,
    pub route_refresh: bool,
    /// Both sides sent Extended Message (RFC 8654 §3): 65535-byte messages.
    pub extended_message: bool,
    /// Families where the peer sends us path identifiers (RFC 7911 §4:
    /// we offered receive, it offered send).
    pub add_path_rx: Vec<Family>,
    /// Families where we send path identifiers (we offered send, it
    /// offered receive).
    pub add_path_tx: Vec<Family>,
    /// The peer's Graceful Restart capability, if sent.
    pub graceful_restart: Option<PeerGr>,
}

// Messages dominate the event stream (see `Message`).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// ManualStart / AutomaticStart.
    Start,
    /// ManualStop: Cease, administrative shutdown.
    Stop,
    /// The peer was removed from the configuration: Cease, Peer
    /// De-configured (RFC 4486 §4, subcode 3); never restarts.
    Deconfigured,
    /// TCP connection established (either direction).
    Connected,
    /// Outgoing connection attempt failed.
    ConnectFailed,
    /// TCP connection closed by the peer or failed.
    Closed,
    Message(Decoded),
    /// The codec rejected a message: the session must be reset.
    DecodeFailed(DecodeError),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Connect,
    Send(Message),
    Disconnect,
    Established(Negotiated),
    /// The session left Established (or failed before it) with this reason.
    Down(String),
    /// An UPDATE to apply, with the strongest RFC 7606 action of its errors.
    Update(Update, Option<Action>, Vec<DecodeError>),
    RouteRefresh(Family),
    NotificationReceived(Notification),
}

#[derive(Debug)]
pub struct Fsm {
    cfg: FsmConfig,
    state: State,
    connect_retry_at: Option<Instant>,
    hold_at: Option<Instant>,
    keepalive_at: Option<Instant>,
    idle_hold_at: Option<Instant>,
    negotiated: Option<Negotiated>,
    stopped: bool,
    /// The last session end was a TCP failure without NOTIFICATION (the
    /// RFC 4724 §4.2 trigger for keeping the peer's routes).
    down_by_tcp_loss: bool,
}

/// RFC 4271 §8.2.2: hold time used while waiting for the OPEN.
const LARGE_HOLD: Duration = Duration::from_secs(240);

impl Fsm {
    pub fn new(cfg: FsmConfig) -> Fsm {
        Fsm {
            cfg,
            state: State::Idle,
            connect_retry_at: None,
            hold_at: None,
            keepalive_at: None,
            idle_hold_at: None,
            negotiated: None,
            stopped: true,
            down_by_tcp_loss: false,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Did the session last end by TCP failure, without NOTIFICATION?
    pub fn down_by_tcp_loss(&self) -> bool {
        self.down_by_tcp_loss
    }

    pub fn config(&self) -> &FsmConfig {
        &self.cfg
    }

    /// Earliest timer deadline, for the caller's sleep.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.connect_retry_at,
            self.hold_at,
            self.keepalive_at,
            self.idle_hold_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Our OPEN (RFC 4271 §4.2, RFC 6793 §3).
    pub fn open_message(&self) -> Open {
        let mut capabilities: Vec<Capability> = self
            .cfg
            .families
            .iter()
            .map(|f| {
                let (afi, safi) = f.afi_safi();
                Capability::Multiprotocol { afi, safi }
            })
            .collect();
        capabilities.push(Capability::RouteRefresh);
        capabilities.push(Capability::FourOctetAs {
            asn: self.cfg.local_as,
        });
        if self.cfg.extended_message {
            capabilities.push(Capability::ExtendedMessage);
        }
        if let Some(restart_time) = self.cfg.restart_time {
            // We do not preserve forwarding state across our own restart
            // (F = 0): peers keep our routes as stale while we are away
            // and flush them when we are back (§4.2).
            capabilities.push(Capability::GracefulRestart {
                flags: 0,
                restart_time: restart_time.min(0x0fff),
                families: self
                    .cfg
                    .families
                    .iter()
                    .map(|f| {
                        let (afi, safi) = f.afi_safi();
                        GrFamily {
                            afi,
                            safi,
                            flags: 0,
                        }
                    })
                    .collect(),
            });
        }
        let add_path: Vec<AddPathFamily> = self
            .cfg
            .add_path
            .iter()
            .filter(|f| self.cfg.families.contains(f))
            .map(|f| {
                let (afi, safi) = f.afi_safi();
                AddPathFamily { afi, safi, mode: 3 }
            })
            .collect();
        if !add_path.is_empty() {
            capabilities.push(Capability::AddPath { families: add_path });
        }
        Open {
            my_as: u16::try_from(self.cfg.local_as).unwrap_or(crate::wire::attr::AS_TRANS),
            hold_time: self.cfg.hold_time,
            bgp_id: self.cfg.local_id,
            capabilities,
        }
    }

    /// Feed an event; returns what to do.
    pub fn handle(&mut self, now: Instant, ev: Event) -> Vec<Output> {
        let mut out = Vec::new();
        match (self.state, ev) {
            (_, Event::Stop) => self.stop(
                now,
                &mut out,
                Notification::CEASE_ADMIN_SHUTDOWN,
                "administrative stop",
            ),
            (_, Event::Deconfigured) => self.stop(
                now,
                &mut out,
                Notification::CEASE_PEER_DECONFIGURED,
                "peer de-configured",
            ),
            (State::Idle, Event::Start) => {
                self.stopped = false;
                self.idle_hold_at = None;
                self.connect_retry_at = Some(now + self.cfg.connect_retry);
                if self.cfg.passive {
                    self.state = State::Active;
                } else {
                    self.state = State::Connect;
                    out.push(Output::Connect);
                }
            }
            (_, Event::Start) => {}
            (State::Connect | State::Active, Event::Connected) => {
                self.connect_retry_at = None;
                out.push(Output::Send(Message::Open(self.open_message())));
                self.hold_at = Some(now + LARGE_HOLD);
                self.state = State::OpenSent;
            }
            (State::Connect, Event::ConnectFailed) => {
                self.connect_retry_at = Some(now + self.cfg.connect_retry);
                self.state = State::Active;
            }
            (State::Idle | State::Active, Event::ConnectFailed | Event::Closed) => {}
            (State::Idle, _) => {}
            (State::OpenSent, Event::Closed) => {
                // §8.2.2: back to Active, restart ConnectRetryTimer.
                out.push(Output::Disconnect);
                self.hold_at = None;
                self.connect_retry_at = Some(now + self.cfg.connect_retry);
                self.state = State::Active;
            }
            (_, Event::Closed | Event::ConnectFailed) => {
                self.go_idle(now, &mut out, "connection closed", true);
                self.down_by_tcp_loss = true;
            }
            (_, Event::DecodeFailed(e)) => {
                out.push(Output::Send(Message::Notification(
                    Notification::from_error(&e),
                )));
                self.go_idle(now, &mut out, &format!("sent notification: {e}"), true);
            }
            (state, Event::Message(d)) => self.on_message(now, state, d, &mut out),
            (_, Event::Connected) => {
                // A second connection while one is in use: the caller runs
                // collision detection before passing Connected; ignore.
            }
        }
        out
    }

    /// Advance the timers to `now`.
    pub fn tick(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.idle_hold_at) {
            self.idle_hold_at = None;
            if !self.stopped {
                out.extend(self.handle(now, Event::Start));
            }
        }
        if due(self.hold_at) {
            self.hold_at = None;
            out.push(Output::Send(Message::Notification(Notification::new(
                code::HOLD_TIMER_EXPIRED,
                0,
            ))));
            self.go_idle(now, &mut out, "hold timer expired", true);
        }
        if due(self.keepalive_at) {
            out.push(Output::Send(Message::Keepalive));
            self.arm_keepalive(now);
        }
        if due(self.connect_retry_at) {
            match self.state {
                State::Connect | State::Active => {
                    self.connect_retry_at = Some(now + self.cfg.connect_retry);
                    if !self.cfg.passive {
                        self.state = State::Connect;
                        out.push(Output::Connect);
                    }
                }
                _ => self.connect_retry_at = None,
            }
        }
        out
    }

    fn arm_keepalive(&mut self, now: Instant) {
        self.keepalive_at = self
            .negotiated
            .as_ref()
            .filter(|n| n.keepalive > 0)
            .map(|n| now + Duration::from_secs(u64::from(n.keepalive)));
    }

    fn arm_hold(&mut self, now: Instant) {
        self.hold_at = self
            .negotiated
            .as_ref()
            .filter(|n| n.hold_time > 0)
            .map(|n| now + Duration::from_secs(u64::from(n.hold_time)));
    }

    /// Stop for good: Cease with `subcode` if the OPEN went out (RFC 4486).
    fn stop(&mut self, now: Instant, out: &mut Vec<Output>, subcode: u8, why: &str) {
        self.stopped = true;
        if matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            out.push(Output::Send(Message::Notification(Notification::new(
                code::CEASE,
                subcode,
            ))));
        }
        self.go_idle(now, out, why, false);
    }

    fn go_idle(&mut self, now: Instant, out: &mut Vec<Output>, why: &str, restart: bool) {
        self.down_by_tcp_loss = false;
        if self.state != State::Idle {
            out.push(Output::Disconnect);
            out.push(Output::Down(why.to_string()));
        }
        self.state = State::Idle;
        self.negotiated = None;
        self.hold_at = None;
        self.keepalive_at = None;
        self.connect_retry_at = None;
        self.idle_hold_at = (restart && !self.stopped).then(|| now + self.cfg.idle_hold);
    }

    fn fsm_error(&mut self, now: Instant, out: &mut Vec<Output>, subcode: u8, what: &str) {
        out.push(Output::Send(Message::Notification(Notification::new(
            code::FSM,
            subcode,
        ))));
        self.go_idle(now, out, &format!("FSM error: unexpected {what}"), true);
    }

    fn reject_open(
        &mut self,
        now: Instant,
        out: &mut Vec<Output>,
        subcode: u8,
        data: Vec<u8>,
        why: &str,
    ) {
        out.push(Output::Send(Message::Notification(Notification {
            code: code::OPEN,
            subcode,
            data,
        })));
        self.go_idle(now, out, why, true);
    }

    fn on_message(&mut self, now: Instant, state: State, d: Decoded, out: &mut Vec<Output>) {
        let fsm_sub = match state {
            State::OpenSent => 1,
            State::OpenConfirm => 2,
            _ => 3,
        };
        match d.message {
            Message::Notification(n) => {
                out.push(Output::NotificationReceived(n.clone()));
                self.go_idle(
                    now,
                    out,
                    &format!("received notification {}/{}", n.code, n.subcode),
                    true,
                );
            }
            Message::Open(o) if state == State::OpenSent => self.on_open(now, o, out),
            Message::Keepalive if state == State::OpenConfirm => {
                self.state = State::Established;
                self.arm_hold(now);
                if let Some(n) = self.negotiated.clone() {
                    out.push(Output::Established(n));
                }
            }
            Message::Keepalive if state == State::Established => self.arm_hold(now),
            Message::Update(u) if state == State::Established => {
                self.arm_hold(now);
                let action = d.errors.iter().map(|e| e.action).max();
                out.push(Output::Update(u, action, d.errors));
            }
            Message::RouteRefresh(r) if state == State::Established => {
                self.arm_hold(now);
                if let Some(f) = Family::from_afi_safi(r.afi, r.safi) {
                    out.push(Output::RouteRefresh(f));
                }
            }
            Message::Open(_) => self.fsm_error(now, out, fsm_sub, "OPEN"),
            Message::Keepalive => self.fsm_error(now, out, fsm_sub, "KEEPALIVE"),
            Message::Update(_) => self.fsm_error(now, out, fsm_sub, "UPDATE"),
            Message::RouteRefresh(_) => self.fsm_error(now, out, fsm_sub, "ROUTE-REFRESH"),
        }
    }

    /// OPEN checks (RFC 4271 §6.2) and capability negotiation.
    fn on_open(&mut self, now: Instant, o: Open, out: &mut Vec<Output>) {
        let peer_as = o.asn();
        if peer_as != self.cfg.remote_as {
            let data = o.my_as.to_be_bytes().to_vec();
            return self.reject_open(
                now,
                out,
                2,
                data,
                &format!("peer AS {peer_as}, expected {}", self.cfg.remote_as),
            );
        }
        if o.bgp_id == self.cfg.local_id && peer_as == self.cfg.local_as {
            // RFC 6286 §2.1: identifiers must differ inside an AS.
            return self.reject_open(now, out, 3, Vec::new(), "peer BGP identifier equals ours");
        }
        let hold_time = self.cfg.hold_time.min(o.hold_time);
        let peer_families = o.families();
        let peer_families = if o.has(|c| matches!(c, Capability::Multiprotocol { .. })) {
            peer_families
        } else {
            vec![Family::Ipv4Unicast]
        };
        let families: Vec<Family> = self
            .cfg
            .families
            .iter()
            .copied()
            .filter(|f| peer_families.contains(f))
            .collect();
        // RFC 7911 §4: mode bits 1 receive, 2 send.
        let peer_add_path = |f: Family, bit: u8| {
            let (afi, safi) = f.afi_safi();
            o.capabilities.iter().any(|c| match c {
                Capability::AddPath { families } => families
                    .iter()
                    .any(|a| a.afi == afi && a.safi == safi && a.mode & bit != 0),
                _ => false,
            })
        };
        let ours: Vec<Family> = families
            .iter()
            .copied()
            .filter(|f| self.cfg.add_path.contains(f))
            .collect();
        let add_path_rx = ours
            .iter()
            .copied()
            .filter(|f| peer_add_path(*f, 2))
            .collect();
        let add_path_tx = ours
            .iter()
            .copied()
            .filter(|f| peer_add_path(*f, 1))
            .collect();
        let graceful_restart = o.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart {
                flags,
                restart_time,
                families: gf,
            } => Some(PeerGr {
                restarting: flags & 0x8 != 0,
                restart_time: *restart_time,
                families: gf
                    .iter()
                    .filter_map(|g| {
                        let f = Family::from_afi_safi(g.afi, g.safi)?;
                        families.contains(&f).then_some((f, g.flags & 0x80 != 0))
                    })
                    .collect(),
            }),
            _ => None,
        });
        let n = Negotiated {
            peer_as,
            peer_id: o.bgp_id,
            hold_time,
            keepalive: hold_time / 3,
            four_octet_as: o.has(|c| matches!(c, Capability::FourOctetAs { .. })),
            route_refresh: o.has(|c| matches!(c, Capability::RouteRefresh)),
            extended_message: self.cfg.extended_message
                && o.has(|c| matches!(c, Capability::ExtendedMessage)),
            add_path_rx,
            add_path_tx,
            graceful_restart,
            families,
        };
        self.negotiated = Some(n);
        out.push(Output::Send(Message::Keepalive));
        self.state = State::OpenConfirm;
        self.arm_hold(now);
        self.arm_keepalive(now);
    }
}

/// Connection collision (RFC 4271 §6.8): given the BGP identifiers, should
/// the existing connection be kept (and the new one closed with Cease 7)?
/// The connection initiated by the speaker with the higher identifier wins.
pub fn collision_keep_existing(
    local_id: Ipv4Addr,
    remote_id: Ipv4Addr,
    existing_is_outgoing: bool,
) -> bool {
    let local_wins = u32::from(local_id) > u32::from(remote_id);
    existing_is_outgoing == local_wins
}

#[cfg(test)]
mod tests;
