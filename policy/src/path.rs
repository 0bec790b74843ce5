//! Path choice (draft §3.3, §6.2.2): which underlay a flow takes given its
//! [`PathPolicy`] and which underlays are usable now, and the shared
//! [`PathState`] the control thread flips when a WAN port loses link or its
//! tunnels go down.
//!
//! | policy              | preference                          | nothing usable        |
//! |---------------------|-------------------------------------|-----------------------|
//! | `PrivateOnly`       | private (native)                    | `private_path_down`   |
//! | `EncryptedAny`      | private + ESP, internet + ESP       | `no_usable_path`      |
//! | `Any`               | private (native), internet + ESP    | `no_usable_path`      |
//! | `InternetBreakout`  | internet, unencrypted + NAT44       | `internet_path_down`  |
//!
//! (Draft §3.3 policies 1–3: "only over private VPNs"; "over either
//! private VPNs or the public Internet ... when forwarded over the public
//! Internet, the packets are encrypted"; "handed off to the Internet
//! without further encryption". `EncryptedAny` is the cautious reading of
//! policy 2, encrypted on either underlay; `Any` is the literal one.)
//!
//! A flow keeps the path it has while that path stays usable and allowed
//! ([`allowed`]); the preference order applies to new flows and to flows
//! whose path went down.

use crate::classifier::PathPolicy;
use crate::drop_reason::PolicyDrop;
use std::sync::atomic::{AtomicU64, Ordering};

/// The underlay a packet leaves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// Private WAN (MPLS / leased line), native, unencrypted.
    Private,
    /// Private WAN, inside ESP (same SAs as the internet tunnels).
    PrivateEncrypted,
    /// Internet WAN port, inside ESP (possibly in UDP for NAT-T).
    InternetEncrypted,
    /// Internet WAN port, unencrypted, source-NATed (breakout).
    InternetBreakout,
}

impl PathKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PathKind::Private => "private",
            PathKind::PrivateEncrypted => "private-encrypted",
            PathKind::InternetEncrypted => "internet-encrypted",
            PathKind::InternetBreakout => "internet-breakout",
        }
    }
}

/// Which underlays can carry traffic now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Usable {
    pub private: bool,
    pub internet: bool,
}

impl Usable {
    pub const ALL: Usable = Usable {
        private: true,
        internet: true,
    };

    fn has(self, p: PathKind) -> bool {
        match p {
            PathKind::Private | PathKind::PrivateEncrypted => self.private,
            PathKind::InternetEncrypted | PathKind::InternetBreakout => self.internet,
        }
    }
}

/// The paths `policy` may use, most preferred first.
pub const fn preference(policy: PathPolicy) -> &'static [PathKind] {
    match policy {
        PathPolicy::PrivateOnly => &[PathKind::Private],
        PathPolicy::EncryptedAny => &[PathKind::PrivateEncrypted, PathKind::InternetEncrypted],
        PathPolicy::Any => &[PathKind::Private, PathKind::InternetEncrypted],
        PathPolicy::InternetBreakout => &[PathKind::InternetBreakout],
    }
}

/// The drop reason when `policy` has no usable path.
pub const fn no_path_reason(policy: PathPolicy) -> PolicyDrop {
    match policy {
        PathPolicy::PrivateOnly => PolicyDrop::PrivatePathDown,
        PathPolicy::EncryptedAny | PathPolicy::Any => PolicyDrop::NoUsablePath,
        PathPolicy::InternetBreakout => PolicyDrop::InternetPathDown,
    }
}

/// The most preferred usable path of `policy`, or why there is none.
#[inline]
pub fn choose_path(policy: PathPolicy, usable: Usable) -> Result<PathKind, PolicyDrop> {
    preference(policy)
        .iter()
        .copied()
        .find(|p| usable.has(*p))
        .ok_or(no_path_reason(policy))
}

/// True when a flow on `path` may stay there under `policy` and `usable`.
#[inline]
pub fn allowed(policy: PathPolicy, path: PathKind, usable: Usable) -> bool {
    usable.has(path) && preference(policy).contains(&path)
}

/// What a worker reads from [`PathState`]: the usable set and the epoch it
/// was set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathView {
    pub epoch: u64,
    pub usable: Usable,
}

/// Usable underlays, shared by the control thread (writer) and all workers
/// (readers) as one atomic word: bit 0 private, bit 1 internet, bits 2..
/// the epoch, bumped on every change. A worker loads it once per burst;
/// flow entries made under an older epoch are re-checked on their next
/// packet, so a failover takes effect at the next packet of each flow.
#[derive(Debug)]
pub struct PathState {
    word: AtomicU64,
}

const PRIVATE_BIT: u64 = 1;
const INTERNET_BIT: u64 = 2;
const EPOCH_SHIFT: u32 = 2;

impl PathState {
    /// Epoch 0 with `usable`.
    pub fn new(usable: Usable) -> Self {
        Self {
            word: AtomicU64::new(bits(usable)),
        }
    }

    #[inline]
    pub fn load(&self) -> PathView {
        view(self.word.load(Ordering::Acquire))
    }

    /// Sets the usable set; bumps the epoch when it changed. Returns the
    /// view now in force.
    pub fn set(&self, usable: Usable) -> PathView {
        self.update(|_| usable)
    }

    /// Marks the private underlay up or down, leaving the internet bit as
    /// it is even under concurrent writers.
    pub fn set_private(&self, up: bool) -> PathView {
        self.update(|u| Usable { private: up, ..u })
    }

    pub fn set_internet(&self, up: bool) -> PathView {
        self.update(|u| Usable { internet: up, ..u })
    }

    fn update(&self, f: impl Fn(Usable) -> Usable) -> PathView {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let usable = f(unbits(cur));
            if cur & (PRIVATE_BIT | INTERNET_BIT) == bits(usable) {
                return view(cur);
            }
            let epoch = (cur >> EPOCH_SHIFT).wrapping_add(1);
            let next = (epoch << EPOCH_SHIFT) | bits(usable);
            match self
                .word
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return view(next),
                Err(actual) => cur = actual,
            }
        }
    }
}

fn view(w: u64) -> PathView {
    PathView {
        epoch: w >> EPOCH_SHIFT,
        usable: unbits(w),
    }
}

fn unbits(w: u64) -> Usable {
    Usable {
        private: w & PRIVATE_BIT != 0,
        internet: w & INTERNET_BIT != 0,
    }
}

fn bits(u: Usable) -> u64 {
    (if u.private { PRIVATE_BIT } else { 0 }) | (if u.internet { INTERNET_BIT } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Usable = Usable {
        private: false,
        internet: false,
    };
    const PRIV: Usable = Usable {
        private: true,
        internet: false,
    };
    const INET: Usable = Usable {
        private: false,
        internet: true,
    };

    #[test]
    fn choice_table() {
        use PathKind::{InternetEncrypted, Private, PrivateEncrypted};
        use PathPolicy::{Any, EncryptedAny, PrivateOnly};
        let cases = [
            (PrivateOnly, Usable::ALL, Ok(Private)),
            (PrivateOnly, INET, Err(PolicyDrop::PrivatePathDown)),
            (EncryptedAny, Usable::ALL, Ok(PrivateEncrypted)),
            (EncryptedAny, PRIV, Ok(PrivateEncrypted)),
            (EncryptedAny, INET, Ok(InternetEncrypted)),
            (EncryptedAny, NONE, Err(PolicyDrop::NoUsablePath)),
            (Any, Usable::ALL, Ok(Private)),
            (Any, PRIV, Ok(Private)),
            (Any, INET, Ok(InternetEncrypted)),
            (Any, NONE, Err(PolicyDrop::NoUsablePath)),
            (
                PathPolicy::InternetBreakout,
                Usable::ALL,
                Ok(PathKind::InternetBreakout),
            ),
            (
                PathPolicy::InternetBreakout,
                PRIV,
                Err(PolicyDrop::InternetPathDown),
            ),
        ];
        for (pol, u, want) in cases {
            assert_eq!(choose_path(pol, u), want, "{pol:?} {u:?}");
        }
        assert_eq!(PolicyDrop::PrivatePathDown.as_str(), "private_path_down");
    }

    #[test]
    fn private_only_never_goes_to_the_internet() {
        for u in [NONE, PRIV, INET, Usable::ALL] {
            if let Ok(p) = choose_path(PathPolicy::PrivateOnly, u) {
                assert_eq!(p, PathKind::Private);
            }
            // Encrypted-any is never native.
            if let Ok(p) = choose_path(PathPolicy::EncryptedAny, u) {
                assert_ne!(p, PathKind::Private);
            }
            assert!(!allowed(
                PathPolicy::PrivateOnly,
                PathKind::InternetEncrypted,
                u
            ));
        }
    }

    #[test]
    fn state_bumps_epoch_only_on_change() {
        let s = PathState::new(Usable::ALL);
        assert_eq!(
            s.load(),
            PathView {
                epoch: 0,
                usable: Usable::ALL
            }
        );
        assert_eq!(s.set(Usable::ALL).epoch, 0);
        let v = s.set_private(false);
        assert_eq!(
            v,
            PathView {
                epoch: 1,
                usable: INET
            }
        );
        assert_eq!(s.set_private(false).epoch, 1);
        assert_eq!(
            s.set_internet(false),
            PathView {
                epoch: 2,
                usable: NONE
            }
        );
        assert_eq!(s.set(Usable::ALL).epoch, 3);
    }

    #[test]
    fn concurrent_writers_never_lose_a_change() {
        let s = std::sync::Arc::new(PathState::new(NONE));
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        let up = i % 2 == 0;
                        if t == 0 {
                            s.set_private(up);
                        } else {
                            s.set_internet(up);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Each thread ended on "down" (i = 999 is odd); every flip bumped
        // the epoch at least once per real change.
        let v = s.load();
        assert_eq!(v.usable, NONE);
        assert!(v.epoch >= 2);
    }
}
