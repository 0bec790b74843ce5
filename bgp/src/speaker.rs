//! The speaker handle: runs a [`Router`] on its own thread with its own
//! tokio runtime, moving bytes between TCP connections (with TCP-MD5,
//! RFC 2385) and the I/O-free core. Everything the lead's binary needs is a
//! plain method here: originate / withdraw routes, subscribe to Loc-RIB
//! changes (a crossbeam channel, usable from any thread), read a snapshot,
//! peer summaries and counters, add and remove peers and peer groups at
//! run time, shut down.
//!
//! Incoming connections are matched to the active peers by source address
//! when accepted (unknown or removed sources are closed at once). The
//! listener keeps one TCP-MD5 key per peer that has one (RFC 2385);
//! `add_peer` / `remove_peer` install and delete it on the listening
//! socket.

use crate::config::{LocalRoute, PeerConfig, PeerGroupConfig, SdwanLocalRoute, SpeakerConfig};
use crate::fsm::{collision_keep_existing, Event, State};
use crate::rib::{Path, RibChange, RouteKey};
use crate::router::status::{PeerSummary, SpeakerCounters};
use crate::router::{IoAction, PeerId, Router};
use crate::wire::message::MAX_EXT_LEN;
use crate::wire::{
    decode_message, frame_len, DecodeCtx, Decoded, EncodeCtx, Message, Notification,
};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

type Reply<T> = crossbeam_channel::Sender<T>;

enum Command {
    Originate(LocalRoute, Reply<Result<(), String>>),
    OriginateSdwan(SdwanLocalRoute, Reply<Result<(), String>>),
    Withdraw(RouteKey, Reply<()>),
    Snapshot(Reply<Vec<(RouteKey, Path)>>),
    Peers(Reply<Vec<PeerSummary>>),
    Counters(Reply<SpeakerCounters>),
    Subscribe(crossbeam_channel::Sender<RibChange>),
    AddPeer(PeerConfig, Reply<Result<(), String>>),
    RemovePeer(IpAddr, Reply<Result<(), String>>),
    SetPeerGroup(PeerGroupConfig, Reply<()>),
    RemovePeerGroup(String, Reply<Result<(), String>>),
    Shutdown,
}

enum Net {
    /// The listener accepted a connection from this address.
    Accepted(TcpStream, SocketAddr),
    /// A connection for `peer` (outgoing when `outgoing`).
    Connected(PeerId, TcpStream, bool),
    ConnectFailed(PeerId),
    Message(PeerId, u64, Vec<u8>),
    Closed(PeerId, u64),
}

struct Conn {
    id: u64,
    outgoing: bool,
    writer: mpsc::UnboundedSender<Vec<u8>>,
    reader: tokio::task::AbortHandle,
}

/// Handle to a running speaker. Dropping it shuts the speaker down.
pub struct Speaker {
    cmd: mpsc::UnboundedSender<Command>,
    thread: Option<std::thread::JoinHandle<()>>,
    local_addr: Option<SocketAddr>,
}

impl Speaker {
    /// Validate the config, bind the listener (errors are returned here),
    /// and start the speaker thread.
    pub fn start(cfg: SpeakerConfig) -> Result<Speaker, String> {
        let router = Router::new(cfg.clone())?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let listener = match cfg.listen_address {
            Some(ip) => {
                let addr = SocketAddr::new(ip, cfg.listen_port);
                let l = rt
                    .block_on(async { listen(addr, &cfg) })
                    .map_err(|e| format!("listen on {addr}: {e}"))?;
                Some(l)
            }
            None => None,
        };
        let local_addr = listener.as_ref().and_then(|l| l.local_addr().ok());
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("bgp-speaker".into())
            .spawn(move || rt.block_on(run(router, listener, cmd_rx)))
            .map_err(|e| format!("spawn speaker thread: {e}"))?;
        Ok(Speaker {
            cmd: cmd_tx,
            thread: Some(thread),
            local_addr,
        })
    }

    /// Address the listener is bound to (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    fn ask<T>(&self, f: impl FnOnce(Reply<T>) -> Command) -> Option<T> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.cmd.send(f(tx)).ok()?;
        rx.recv().ok()
    }

    pub fn originate(&self, route: LocalRoute) -> Result<(), String> {
        self.ask(|r| Command::Originate(route, r))
            .unwrap_or_else(|| Err("speaker stopped".into()))
    }

    /// Originate (or replace) an SD-WAN edge discovery route (SAFI 74); it
    /// goes only to peers that negotiated SdwanV4 / SdwanV6.
    pub fn originate_sdwan(&self, route: SdwanLocalRoute) -> Result<(), String> {
        self.ask(|r| Command::OriginateSdwan(route, r))
            .unwrap_or_else(|| Err("speaker stopped".into()))
    }

    /// Withdraw a local route (any family, e.g. `RouteKey::Sdwan`).
    pub fn withdraw(&self, key: RouteKey) -> Result<(), String> {
        self.ask(|r| Command::Withdraw(key, r))
            .ok_or_else(|| "speaker stopped".to_string())
    }

    /// Loc-RIB best paths, sorted by key.
    pub fn snapshot(&self) -> Vec<(RouteKey, Path)> {
        self.ask(Command::Snapshot).unwrap_or_default()
    }

    pub fn peers(&self) -> Vec<PeerSummary> {
        self.ask(Command::Peers).unwrap_or_default()
    }

    pub fn counters(&self) -> Option<SpeakerCounters> {
        self.ask(Command::Counters)
    }

    /// Add a peer at run time (validated like the config: its peer group
    /// must exist, its address must not be an active peer) and start it;
    /// its TCP-MD5 key goes on the listener too.
    pub fn add_peer(&self, peer: PeerConfig) -> Result<(), String> {
        self.ask(|r| Command::AddPeer(peer, r))
            .unwrap_or_else(|| Err("speaker stopped".into()))
    }

    /// Remove a peer: Cease / Peer De-configured (RFC 4486) if a session
    /// is up, close it, withdraw its routes from the other peers, delete
    /// its TCP-MD5 key from the listener.
    pub fn remove_peer(&self, address: IpAddr) -> Result<(), String> {
        self.ask(|r| Command::RemovePeer(address, r))
            .unwrap_or_else(|| Err("speaker stopped".into()))
    }

    /// Add a peer group or replace its Route Targets; members' routes are
    /// re-exported without a session reset.
    pub fn set_peer_group(&self, group: PeerGroupConfig) -> Result<(), String> {
        self.ask(|r| Command::SetPeerGroup(group, r))
            .ok_or_else(|| "speaker stopped".to_string())
    }

    /// Remove a peer group that no peer uses.
    pub fn remove_peer_group(&self, name: &str) -> Result<(), String> {
        let name = name.to_string();
        self.ask(|r| Command::RemovePeerGroup(name, r))
            .unwrap_or_else(|| Err("speaker stopped".into()))
    }

    /// Loc-RIB change events (unbounded; drain it): first one per best
    /// path the Loc-RIB holds when the speaker takes the subscription
    /// (`best: Some`), then every change after it. A subscriber therefore
    /// never misses routes learned before it subscribed.
    pub fn subscribe(&self) -> crossbeam_channel::Receiver<RibChange> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let _ = self.cmd.send(Command::Subscribe(tx));
        rx
    }

    /// Send Cease to every peer, close the sessions, stop the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.cmd.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn md5_keys(cfg: &SpeakerConfig) -> impl Iterator<Item = (SocketAddr, &[u8])> {
    cfg.peers.iter().filter_map(|p| {
        p.md5_key
            .as_ref()
            .map(|k| (SocketAddr::new(p.address, 0), k.as_bytes()))
    })
}

fn listen(addr: SocketAddr, cfg: &SpeakerConfig) -> std::io::Result<TcpListener> {
    let s = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    s.set_reuseaddr(true)?;
    for (peer, key) in md5_keys(cfg) {
        if peer.is_ipv4() == addr.is_ipv4() {
            sdwan_ffi::tcp_md5::set_tcp_md5sig(s.as_raw_fd(), peer, key)?;
        }
    }
    s.bind(addr)?;
    s.listen(64)
}

async fn connect(
    peer: SocketAddr,
    local: Option<std::net::IpAddr>,
    key: Option<Vec<u8>>,
) -> std::io::Result<TcpStream> {
    let s = if peer.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(k) = key {
        sdwan_ffi::tcp_md5::set_tcp_md5sig(s.as_raw_fd(), peer, &k)?;
    }
    if let Some(l) = local {
        s.bind(SocketAddr::new(l, 0))?;
    }
    let st = tokio::time::timeout(Duration::from_secs(5), s.connect(peer))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    st.set_nodelay(true)?;
    Ok(st)
}

/// Read whole BGP messages and hand them to the core. A framing error
/// (bad marker / length) is passed on as the 19 header bytes, so the core's
/// decoder names it and sends the matching NOTIFICATION.
async fn read_loop(
    mut rd: tokio::net::tcp::OwnedReadHalf,
    peer: PeerId,
    conn: u64,
    net: mpsc::UnboundedSender<Net>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        loop {
            // Frame up to the RFC 8654 size; the decoder holds each message
            // to what the session negotiated (4096 without it).
            match frame_len(&buf, MAX_EXT_LEN) {
                Ok(Some(n)) if buf.len() >= n => {
                    let msg: Vec<u8> = buf.drain(..n).collect();
                    if net.send(Net::Message(peer, conn, msg)).is_err() {
                        return;
                    }
                }
                Ok(_) => break,
                Err(_) => {
                    let _ = net.send(Net::Message(peer, conn, buf[..19].to_vec()));
                    return;
                }
            }
        }
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                let _ = net.send(Net::Closed(peer, conn));
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn write_loop(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(b) = rx.recv().await {
        if wr.write_all(&b).await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

struct Runtime {
    router: Router,
    conns: Vec<Option<Conn>>,
    /// A second connection per peer waiting for its OPEN so that the
    /// collision (RFC 4271 §6.8) can be decided on the BGP identifiers.
    pending: Vec<Option<Conn>>,
    next_conn: u64,
    net_tx: mpsc::UnboundedSender<Net>,
    subscribers: Vec<crossbeam_channel::Sender<RibChange>>,
    /// Shared with the accept task; its fd takes TCP-MD5 keys of peers
    /// added and removed at run time.
    listener: Option<Arc<TcpListener>>,
}

async fn run(
    router: Router,
    listener: Option<TcpListener>,
    mut cmd_rx: mpsc::UnboundedReceiver<Command>,
) {
    let (net_tx, mut net_rx) = mpsc::unbounded_channel();
    let n = router.peer_count();
    let mut rt = Runtime {
        router,
        conns: (0..n).map(|_| None).collect(),
        pending: (0..n).map(|_| None).collect(),
        next_conn: 0,
        net_tx,
        subscribers: Vec::new(),
        listener: listener.map(Arc::new),
    };
    rt.router.record_changes = false;
    if let Some(l) = rt.listener.clone() {
        let tx = rt.net_tx.clone();
        tokio::spawn(async move {
            while let Ok((s, from)) = l.accept().await {
                if tx.send(Net::Accepted(s, from)).is_err() {
                    return;
                }
            }
        });
    }
    let acts = rt.router.start(Instant::now());
    rt.execute(acts);
    loop {
        let deadline = rt
            .router
            .next_deadline()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            cmd = cmd_rx.recv() => {
                match cmd {
                    None | Some(Command::Shutdown) => {
                        let acts = rt.router.stop(Instant::now());
                        rt.execute(acts);
                        // Let writers flush the Cease NOTIFICATIONs.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        return;
                    }
                    Some(c) => rt.command(c),
                }
            }
            ev = net_rx.recv() => {
                if let Some(ev) = ev {
                    rt.net(ev);
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                let acts = rt.router.tick(Instant::now());
                rt.execute(acts);
            }
        }
        rt.forward_changes();
    }
}

impl Runtime {
    fn command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Originate(r, reply) => {
                let res = self.router.originate(&r).map(|acts| self.execute(acts));
                let _ = reply.send(res);
            }
            Command::OriginateSdwan(r, reply) => {
                let res = self
                    .router
                    .originate_sdwan(&r)
                    .map(|acts| self.execute(acts));
                let _ = reply.send(res);
            }
            Command::Withdraw(k, reply) => {
                let acts = self.router.withdraw_local(&k);
                self.execute(acts);
                let _ = reply.send(());
            }
            Command::Snapshot(reply) => {
                let _ = reply.send(self.router.snapshot());
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.router.summaries(now));
            }
            Command::Counters(reply) => {
                let _ = reply.send(self.router.counters(now));
            }
            Command::Subscribe(tx) => {
                // Changes so far go to the earlier subscribers only. The
                // new one starts from the Loc-RIB as it is now, then gets
                // every later change: routes may have been learned before
                // its command arrived (an edge subscribes right after
                // starting its speaker, racing the first UPDATEs).
                self.forward_changes();
                let delivered = self.router.snapshot().into_iter().all(|(key, path)| {
                    tx.send(RibChange {
                        family: key.family(),
                        key,
                        best: Some(path),
                    })
                    .is_ok()
                });
                if delivered {
                    self.subscribers.push(tx);
                }
                self.router.record_changes = !self.subscribers.is_empty();
            }
            Command::AddPeer(p, reply) => {
                let _ = reply.send(self.add_peer(p, now));
            }
            Command::RemovePeer(addr, reply) => {
                let _ = reply.send(self.remove_peer(addr, now));
            }
            Command::SetPeerGroup(g, reply) => {
                let acts = self.router.set_peer_group(g);
                self.execute(acts);
                let _ = reply.send(());
            }
            Command::RemovePeerGroup(name, reply) => {
                let _ = reply.send(self.router.remove_peer_group(&name));
            }
            Command::Shutdown => {}
        }
    }

    /// Install (or with `None` delete) `peer`'s TCP-MD5 key on the
    /// listener, when it listens in the peer's address family.
    fn listener_key(&self, peer: IpAddr, key: Option<&str>) -> std::io::Result<()> {
        let Some(l) = &self.listener else {
            return Ok(());
        };
        if l.local_addr()?.is_ipv4() != peer.is_ipv4() {
            return Ok(());
        }
        let key = key.map_or(&[][..], str::as_bytes);
        let fd = l.as_raw_fd();
        match sdwan_ffi::tcp_md5::set_tcp_md5sig(fd, SocketAddr::new(peer, 0), key) {
            // Deleting a key the socket does not hold.
            Err(e) if key.is_empty() && e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    fn add_peer(&mut self, p: PeerConfig, now: Instant) -> Result<(), String> {
        let (addr, key) = (p.address, p.md5_key.clone());
        let (id, acts) = self.router.add_peer(p, now)?;
        self.conns.resize_with(id + 1, || None);
        self.pending.resize_with(id + 1, || None);
        if let Some(k) = key {
            if let Err(e) = self.listener_key(addr, Some(&k)) {
                // Not connected yet: nothing to send or close.
                let _ = self.router.remove_peer(addr, now);
                return Err(format!("peer {addr}: TCP-MD5 key on the listener: {e}"));
            }
        }
        self.execute(acts);
        Ok(())
    }

    fn remove_peer(&mut self, addr: IpAddr, now: Instant) -> Result<(), String> {
        let id = self
            .router
            .peer_by_addr(addr)
            .ok_or_else(|| format!("no peer {addr}"))?;
        let had_key = self
            .router
            .peer_config(id)
            .is_some_and(|c| c.md5_key.is_some());
        let acts = self.router.remove_peer(addr, now)?;
        // The Cease goes out before the writer closes (`close`).
        self.execute(acts);
        self.close(id);
        if let Some(c) = self.pending.get_mut(id).and_then(Option::take) {
            c.reader.abort();
        }
        if had_key {
            self.listener_key(addr, None).map_err(|e| {
                format!("peer {addr} removed, but deleting its TCP-MD5 key from the listener: {e}")
            })?;
        }
        Ok(())
    }

    fn forward_changes(&mut self) {
        if !self.router.record_changes {
            return;
        }
        let changes = self.router.take_changes();
        if changes.is_empty() {
            return;
        }
        self.subscribers
            .retain(|s| changes.iter().all(|c| s.send(c.clone()).is_ok()));
        self.router.record_changes = !self.subscribers.is_empty();
    }

    fn attach(&mut self, p: PeerId, stream: TcpStream, outgoing: bool) {
        let c = self.spawn_conn(p, stream, outgoing);
        self.conns[p] = Some(c);
    }

    fn spawn_conn(&mut self, p: PeerId, stream: TcpStream, outgoing: bool) -> Conn {
        let id = self.next_conn;
        self.next_conn += 1;
        let (rd, wr) = stream.into_split();
        let (wtx, wrx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(wr, wrx));
        let reader = tokio::spawn(read_loop(rd, p, id, self.net_tx.clone())).abort_handle();
        Conn {
            id,
            outgoing,
            writer: wtx,
            reader,
        }
    }

    /// Send Cease / connection collision on `c` and close it.
    fn cease_collision(c: Conn) {
        let b = Message::Notification(Notification::new(6, Notification::CEASE_COLLISION))
            .encode(EncodeCtx::default());
        let _ = c.writer.send(b);
        c.reader.abort();
    }

    /// The pending connection of `p` sent `bytes`: if an OPEN, resolve the
    /// collision (RFC 4271 §6.8) with the identifier it carries.
    fn pending_message(&mut self, p: PeerId, now: Instant, bytes: Vec<u8>) {
        let Some(pend) = self.pending[p].take() else {
            return;
        };
        let remote_id = match decode_message(&bytes, &DecodeCtx::default()) {
            Ok(Decoded {
                message: Message::Open(o),
                ..
            }) => o.bgp_id,
            _ => {
                // Anything but an OPEN first: not a BGP peer we can pair.
                pend.reader.abort();
                return;
            }
        };
        let state = self.router.peer_state(p);
        let new_wins = match (&self.conns[p], state) {
            (_, Some(State::Established)) => false,
            (None, Some(State::Connect | State::Active)) => true,
            (None, _) => false,
            (Some(c), _) => {
                !collision_keep_existing(self.router.config().router_id, remote_id, c.outgoing)
            }
        };
        if !new_wins {
            Self::cease_collision(pend);
            return;
        }
        if let Some(old) = self.conns[p].take() {
            Self::cease_collision(old);
            let mut acts = self.router.event(p, now, Event::Closed);
            acts.extend(self.router.event(p, now, Event::Start));
            acts.retain(|a| !matches!(a, IoAction::Connect(_) | IoAction::Close(_)));
            self.execute(acts);
        }
        self.conns[p] = Some(pend);
        let mut acts = self.router.event(p, now, Event::Connected);
        acts.extend(self.router.received(p, now, &bytes));
        self.execute(acts);
    }

    fn close(&mut self, p: PeerId) {
        if let Some(c) = self.conns.get_mut(p).and_then(Option::take) {
            c.reader.abort();
            // Dropping the writer sender lets the writer flush and shut down.
        }
    }

    /// Refuse a connection with Cease / connection collision (RFC 4271 §6.8).
    fn reject(stream: TcpStream) {
        let b = Message::Notification(Notification::new(6, Notification::CEASE_COLLISION))
            .encode(EncodeCtx::default());
        tokio::spawn(async move {
            let mut s = stream;
            let _ = s.write_all(&b).await;
            let _ = s.shutdown().await;
        });
    }

    fn net(&mut self, ev: Net) {
        let now = Instant::now();
        match ev {
            Net::Accepted(s, from) => {
                // Unknown (or removed) sources are closed at once
                // (RFC 4271 §8: only configured peers).
                if let Some(p) = self.router.peer_by_addr(from.ip()) {
                    let _ = s.set_nodelay(true);
                    self.net(Net::Connected(p, s, false));
                }
            }
            Net::Connected(p, stream, outgoing) => {
                let state = self.router.peer_state(p);
                if state.is_none() {
                    // Removed while its connection was being made.
                    return;
                }
                if self.conns[p].is_none() {
                    if matches!(state, Some(State::Connect | State::Active)) {
                        self.attach(p, stream, outgoing);
                        let acts = self.router.event(p, now, Event::Connected);
                        self.execute(acts);
                    } else {
                        Self::reject(stream);
                    }
                    return;
                }
                // Collision (RFC 4271 §6.8). With an Established session
                // the new connection goes; in OpenConfirm the peer's
                // identifier is known and decides now; otherwise the new
                // connection waits for its OPEN (`pending_message`).
                let existing_out = self.conns[p].as_ref().is_some_and(|c| c.outgoing);
                match (state, self.router.peer_router_id(p)) {
                    (Some(State::Established), _) => Self::reject(stream),
                    (Some(State::OpenConfirm), Some(rid)) => {
                        if collision_keep_existing(
                            self.router.config().router_id,
                            rid,
                            existing_out,
                        ) {
                            Self::reject(stream);
                        } else {
                            if let Some(old) = self.conns[p].take() {
                                Self::cease_collision(old);
                            }
                            let mut acts = self.router.event(p, now, Event::Closed);
                            acts.extend(self.router.event(p, now, Event::Start));
                            acts.retain(|a| {
                                !matches!(a, IoAction::Connect(_) | IoAction::Close(_))
                            });
                            self.execute(acts);
                            self.attach(p, stream, outgoing);
                            let acts = self.router.event(p, now, Event::Connected);
                            self.execute(acts);
                        }
                    }
                    _ if self.pending[p].is_none() => {
                        let c = self.spawn_conn(p, stream, outgoing);
                        self.pending[p] = Some(c);
                    }
                    _ => Self::reject(stream),
                }
            }
            Net::ConnectFailed(p) => {
                if self.conns[p].is_none() {
                    let acts = self.router.event(p, now, Event::ConnectFailed);
                    self.execute(acts);
                }
            }
            Net::Message(p, conn, bytes) => {
                if self.pending[p].as_ref().is_some_and(|c| c.id == conn) {
                    self.pending_message(p, now, bytes);
                } else if self.conns[p].as_ref().is_some_and(|c| c.id == conn) {
                    let acts = self.router.received(p, now, &bytes);
                    self.execute(acts);
                    // §6.8: once Established, a waiting second connection
                    // is closed.
                    if self.router.peer_state(p) == Some(State::Established) {
                        if let Some(c) = self.pending[p].take() {
                            Self::cease_collision(c);
                        }
                    }
                }
            }
            Net::Closed(p, conn) => {
                if self.pending[p].as_ref().is_some_and(|c| c.id == conn) {
                    self.pending[p] = None;
                } else if self.conns[p].as_ref().is_some_and(|c| c.id == conn) {
                    self.close(p);
                    let acts = self.router.event(p, now, Event::Closed);
                    self.execute(acts);
                }
            }
        }
    }

    fn execute(&mut self, acts: Vec<IoAction>) {
        for a in acts {
            match a {
                IoAction::Connect(p) => {
                    let Some(cfg) = self.router.peer_config(p) else {
                        continue;
                    };
                    let addr = SocketAddr::new(cfg.address, cfg.port);
                    let local = cfg.local_address;
                    let key = cfg.md5_key.as_ref().map(|k| k.as_bytes().to_vec());
                    let tx = self.net_tx.clone();
                    tokio::spawn(async move {
                        let ev = match connect(addr, local, key).await {
                            Ok(s) => Net::Connected(p, s, true),
                            Err(_) => Net::ConnectFailed(p),
                        };
                        let _ = tx.send(ev);
                    });
                }
                IoAction::Send(p, bytes) => {
                    if let Some(c) = &self.conns[p] {
                        let _ = c.writer.send(bytes);
                    }
                }
                IoAction::Close(p) => self.close(p),
            }
        }
    }
}
