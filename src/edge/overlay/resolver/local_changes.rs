//! Changes that come from this edge rather than from BGP: the operator's
//! local prefixes, a config reload of the VRFs' VPN attributes, and a
//! local WAN port going down or up.
use super::{compile_policy, Batch, Resolver, Update};
use crate::config::OverlayConfig;
use sdwan_bgp::wire::Prefix;
use std::collections::BTreeSet;

impl Resolver {
    /// The client VRFs' local prefixes changed (an operator added or
    /// removed a static route): a prefix that became local is no longer
    /// ours to install (the operator's route already replaced ours in the
    /// FIB, so nothing is removed there); one that stopped being local is
    /// resolved again and may get a remote route.
    pub fn set_local_prefixes(&mut self, new: BTreeSet<(u16, Prefix)>) -> Update {
        let mut b = Batch::default();
        let added: Vec<(u16, Prefix)> = new.difference(&self.local_prefixes).copied().collect();
        for k in &added {
            if let Some(o) = self.installed.remove(k) {
                self.release(o.path);
                b.overlay_dirty = true;
            }
        }
        for k in self.local_prefixes.difference(&new) {
            b.keys.insert(*k);
        }
        self.local_prefixes = new;
        self.finish(b)
    }

    /// New VPN attributes of the client VRFs (config reload; the VRF list,
    /// WAN ports, node and static peers are the same): every prefix any
    /// VRF may import is resolved again, the decap map is rebuilt. Paths
    /// and SAs that stay the same are untouched.
    pub fn reconfigure(&mut self, cfg: OverlayConfig) -> Update {
        let mut b = Batch {
            overlay_dirty: true,
            ..Batch::default()
        };
        b.keys.extend(self.installed.keys().copied());
        for prefix in self.by_prefix.keys() {
            for v in &cfg.vrfs {
                b.keys.insert((v.id, *prefix));
            }
        }
        b.keys.extend(self.static_routes.keys().copied());
        if cfg.policy != self.cfg.policy {
            // A new generation: flow caches classify their flows again.
            let generation = self.policy.as_ref().map_or(0, |p| p.generation()) + 1;
            self.policy = compile_policy(&cfg.policy, generation);
        }
        self.cfg = cfg;
        self.finish(b)
    }

    /// Local WAN `id` went down (link or operator) or came back: its
    /// tunnels leave every path (flows move to the other tunnels of the
    /// path; a route left without any is removed) or rejoin. Its SAs stay,
    /// so coming back needs no new keys.
    pub fn set_wan_up(&mut self, id: u32, up: bool) -> Update {
        let changed = if up {
            self.wans_down.remove(&id)
        } else {
            self.wans_down.insert(id)
        };
        if !changed {
            return Update::default();
        }
        let mut b = Batch {
            overlay_dirty: true,
            ..Batch::default()
        };
        b.nodes.extend(self.effective.keys().copied());
        self.finish(b)
    }

    pub fn wan_is_up(&self, id: u32) -> bool {
        !self.wans_down.contains(&id)
    }
}
