//! Which underlay a client packet takes (draft §3.3 hybrid WAN, §4.2.2
//! flow-based segmentation, §4.3 policy steering): the flow's policy
//! (first matching rule of its VRF, `encrypted-any` when the VRF has no
//! rules) against the path kinds usable toward its destination now.
//!
//! | usable toward the destination | from                                      |
//! |-------------------------------|-------------------------------------------|
//! | private                       | the overlay path has a private tunnel     |
//! | internet (overlay)            | the overlay path has an internet tunnel   |
//! | internet (breakout)           | the VRF breaks out through an internet port |
//!
//! VRFs with rules go through the worker's flow cache
//! (`sdwan_policy::flow_table`): a flow is classified once, keeps its path
//! while that stays usable and allowed, and is re-checked at its next
//! packet after every overlay snapshot change (the snapshot generation is
//! the flow cache's epoch), which is how a failover reaches every flow.
//! A `private-only` flow with no private tunnel is dropped and counted
//! (`private_path_down`), never sent over the internet.

use super::{Context, WorkerState};
use crate::drop_reason::DropReason;
use crate::overlay::OverlayPath;
use sdwan_packet::Frame;
use sdwan_policy::classifier::PathPolicy;
use sdwan_policy::flow_table::Steer;
use sdwan_policy::path::{choose_path, PathKind, PathView, Usable};
use sdwan_policy::FlowKey;

/// The path kind of the client packet at `l2` (ingress VRF `vrf`) toward
/// `path` (`None`: the VRF has no overlay route for it). `Ok(None)`: the
/// policy does not apply (no rules and no overlay route), route as usual.
/// A VRF without rules is an inlined test; the policy is a call.
#[inline(always)]
pub(super) fn decide(
    frame: &Frame<'_>,
    l2: usize,
    vrf: u16,
    path: Option<&OverlayPath>,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
) -> Result<Option<PathKind>, DropReason> {
    let Some(policy) = ctx.overlay.policy_of(vrf) else {
        // No rules: encrypted on whatever tunnel there is.
        return match path {
            None => Ok(None),
            Some(p) => choose_path(PathPolicy::EncryptedAny, usable(p, false))
                .map(Some)
                .map_err(DropReason::from),
        };
    };
    decide_by_policy(frame, l2, vrf, path, policy, ctx, worker)
}

/// [`decide`] in a VRF with classification rules.
#[inline(never)]
fn decide_by_policy(
    frame: &Frame<'_>,
    l2: usize,
    vrf: u16,
    path: Option<&OverlayPath>,
    policy: &sdwan_policy::classifier::PolicySnapshot,
    ctx: &Context<'_>,
    worker: &mut WorkerState,
) -> Result<Option<PathKind>, DropReason> {
    let table = ctx.overlay;
    let breakout = table.breakout_of(vrf).is_some();
    if path.is_none() && !breakout {
        return Ok(None);
    }
    let key = FlowKey::parse(&frame.data()[l2..], u32::from(vrf))
        .map_err(|_| DropReason::from(sdwan_policy::PolicyDrop::BadFlowKey))?;
    let view = PathView {
        epoch: table.generation,
        usable: match path {
            Some(p) => usable(p, breakout),
            None => Usable {
                private: false,
                internet: true,
            },
        },
    };
    let now = worker.now_ns;
    let Some(flows) = worker.overlay.flows.as_mut() else {
        return Err(DropReason::NoUsablePath);
    };
    let moved = flows.stats().moved;
    let steer = flows.steer(&key, now, policy, view);
    if flows.stats().moved != moved {
        worker.counters.event(crate::counters::Event::FlowsMoved);
    }
    match steer {
        Steer::Forward { path: kind, .. } => {
            // A flow that is not breakout needs an overlay route; without
            // one it is an ordinary no-route.
            if path.is_none() && kind != PathKind::InternetBreakout {
                return Ok(None);
            }
            Ok(Some(kind))
        }
        Steer::Drop(r) => Err(r.into()),
    }
}

/// Usable kinds toward one overlay path (plus breakout when the VRF has
/// it: then "internet" is usable for breakout flows even with no internet
/// tunnel; the overlay send refuses an empty tunnel set).
#[inline]
fn usable(p: &OverlayPath, breakout: bool) -> Usable {
    Usable {
        private: !p.private_tunnels().is_empty(),
        internet: breakout || !p.internet_tunnels().is_empty(),
    }
}
