//! BGP views shared by the controller's and the edge's management API:
//! `GET /api/bgp/summary`, `/api/bgp/neighbors`,
//! `/api/bgp/routes?family=vpnv4&rd=65000:1`, all read from a running
//! [`Speaker`].
use crate::mgmt::server::Response;
use sdwan_bgp::config::RouteTarget;
use sdwan_bgp::router::status::PeerSummary;
use sdwan_bgp::speaker::Speaker;
use serde_json::{json, Value};

pub fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// One peer as a flat row (what `show bgp summary` prints).
fn peer_row(p: &PeerSummary) -> Value {
    json!({
        "neighbor": p.address.to_string(),
        "port": p.port,
        "remote_as": p.remote_as,
        "peer_group": p.peer_group,
        "state": to_json(&p.state),
        "uptime_secs": p.uptime_secs,
        "families": to_json(&p.negotiated_families),
        "prefixes_received": p.counters.prefixes_received,
        "prefixes_accepted": p.counters.accepted,
        "prefixes_advertised": p.counters.prefixes_advertised,
        "updates_received": p.counters.updates_received,
        "updates_sent": p.counters.updates_sent,
        "errors": to_json(&p.counters.errors),
        "last_down_reason": p.counters.last_down_reason,
    })
}

/// `?a=b&c=d` into pairs.
pub fn query(path: &str) -> Vec<(String, String)> {
    path.split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%3a", ":")))
                .collect()
        })
        .unwrap_or_default()
}

/// Speaker identity, Loc-RIB size, one row a peer.
pub fn summary(speaker: &Speaker) -> Result<Value, Response> {
    let c = speaker
        .counters()
        .ok_or_else(|| Response::error(503, "BGP speaker not running"))?;
    Ok(json!({
        "router_id": c.router_id.to_string(),
        "asn": c.asn,
        "loc_rib_routes": c.loc_rib_routes,
        "loc_rib_by_family": to_json(&c.loc_rib_by_family),
        "peers": c.peers.iter().map(peer_row).collect::<Vec<_>>(),
    }))
}

/// Peers with negotiated families and all counters.
pub fn neighbors(speaker: &Speaker) -> Value {
    Value::Array(
        speaker
            .peers()
            .iter()
            .map(|p| {
                let mut row = peer_row(p);
                row["detail"] = to_json(p);
                row
            })
            .collect(),
    )
}

/// Loc-RIB best paths, filtered by `?family=` and `?rd=`.
pub fn routes(speaker: &Speaker, path: &str) -> Result<Value, Response> {
    routes_in(speaker, path, None)
}

/// The import Route Targets of a VRF, by name (the edge's VRFs).
pub type VrfImports<'a> = &'a dyn Fn(&str) -> Option<Vec<RouteTarget>>;

/// [`routes`], plus `?vrf=NAME` when `vrfs` is given: only VPN routes
/// carrying one of that VRF's import Route Targets (what it imports).
pub fn routes_in(
    speaker: &Speaker,
    path: &str,
    vrfs: Option<VrfImports<'_>>,
) -> Result<Value, Response> {
    let q = query(path);
    let want = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let family = want("family");
    let rd = want("rd");
    let known: &[&str] = if vrfs.is_some() {
        &["family", "rd", "vrf"]
    } else {
        &["family", "rd"]
    };
    if let Some(k) = q.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(Response::error(
            400,
            format!("unknown filter {:?} ({})", k.0, known.join(", ")),
        ));
    }
    let imports: Option<Vec<RouteTarget>> = match (want("vrf"), vrfs) {
        (Some(name), Some(lookup)) => Some(
            lookup(name).ok_or_else(|| Response::error(404, format!("unknown VRF {name:?}")))?,
        ),
        _ => None,
    };
    let mut rows: Vec<(String, Value)> = speaker
        .snapshot()
        .into_iter()
        .filter(|(k, _)| family.is_none_or(|f| to_json(&k.family()) == f))
        .filter(|(k, _)| rd.is_none_or(|r| k.rd().map(|x| x.to_string()).as_deref() == Some(r)))
        .filter(|(k, p)| {
            imports.as_ref().is_none_or(|rts| {
                k.rd().is_some()
                    && p.attrs
                        .ext_communities
                        .iter()
                        .any(|e| rts.contains(&RouteTarget(*e)))
            })
        })
        .map(|(k, p)| {
            let a = &p.attrs;
            let v = json!({
                "family": to_json(&k.family()),
                "route": k.to_string(),
                "rd": k.rd().map(|r| r.to_string()),
                "next_hop": p.next_hop.to_string(),
                // Path::label is the raw 3-byte field (label, TC, S).
                "label": p.label.map(|l| l >> 4),
                "source": to_json(&p.source),
                "peer": p.peer_addr.to_string(),
                "local_pref": a.local_pref,
                "med": a.med,
                "ext_communities": a.ext_communities.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                "originator_id": a.originator_id.map(|o| o.to_string()),
                "cluster_list": a.cluster_list.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                "tunnels": a.tunnel_encap.as_ref().map_or(0, |t| t.tunnels.len()),
            });
            (k.to_string(), v)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Array(rows.into_iter().map(|r| r.1).collect()))
}
