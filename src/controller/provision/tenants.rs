//! Operator routes for tenants and their flow policies.
//!
//!   POST   /api/v1/tenants                       create or replace (policies kept when absent)
//!   GET    /api/v1/policies                      every tenant's rules, in match order
//!   GET    /api/v1/tenants/{t}/policies          one tenant's rules
//!   POST   /api/v1/tenants/{t}/policies          add a rule (`position`: 1-based, default last)
//!   DELETE /api/v1/tenants/{t}/policies/{name}   remove a rule
//!   POST   /api/v1/tenants/{t}/policies/{name}/move   `{"position": N}`
//!
//! A rule's position is its match order in every device VRF of the tenant
//! (first match wins). Every change is checked as a whole tenant by the
//! edge's own config parser (tenant_check.rs) and stored in one registry
//! transaction with the config version bump of the tenant's devices;
//! refused changes (400 naming the field, 404, 409) change nothing.
use super::devices::check_name;
use super::{body, registry_reply, Provision};
use crate::controller::https::{Reply, Request};
use crate::controller::registry::model::{DeviceState, HubAndSpoke, PolicyRule, Tenant};
use serde::Deserialize;
use serde_json::{json, Value};

/// Body of `POST /api/v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRequest {
    pub name: String,
    pub route_targets: Vec<String>,
    /// Replaces the tenant's rules; absent: the stored rules are kept.
    #[serde(default)]
    pub policies: Option<Vec<PolicyRule>>,
    /// Absent: a mesh.
    #[serde(default)]
    pub hub_and_spoke: Option<HubAndSpoke>,
}

/// Body of `.../move`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    position: usize,
}

/// Inserts `rule` at 1-based `position` (default: last).
pub fn insert_rule(
    rules: &mut Vec<PolicyRule>,
    rule: PolicyRule,
    position: Option<usize>,
) -> Result<(), String> {
    let at = match position {
        None => rules.len(),
        Some(p) if (1..=rules.len() + 1).contains(&p) => p - 1,
        Some(p) => {
            return Err(format!(
                "position: {p} is not between 1 and {} (the rules are numbered from 1)",
                rules.len() + 1
            ))
        }
    };
    rules.insert(at, rule);
    Ok(())
}

/// Moves rule `name` to 1-based `position`.
pub fn move_rule(rules: &mut Vec<PolicyRule>, name: &str, position: usize) -> Result<(), String> {
    if !(1..=rules.len()).contains(&position) {
        return Err(format!(
            "position: {position} is not between 1 and {}",
            rules.len()
        ));
    }
    let from = rules
        .iter()
        .position(|r| r.name == name)
        .ok_or_else(|| format!("no policy {name:?}"))?;
    let r = rules.remove(from);
    rules.insert(position - 1, r);
    Ok(())
}

/// A tenant's rules as the API shows them: each with its position.
fn rules_json(t: &Tenant) -> Value {
    Value::Array(
        t.policies
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                v["position"] = json!(i + 1);
                v["tenant"] = json!(t.name);
                v
            })
            .collect(),
    )
}

fn bad(m: impl Into<String>) -> Reply {
    Reply::error(400, m)
}

impl Provision {
    pub(super) fn put_tenant(&self, r: TenantRequest) -> Result<Reply, Reply> {
        check_name("tenant", &r.name).map_err(bad)?;
        let _w = self.tenant_writes();
        let stored = self.registry.tenant(&r.name).ok();
        let t = Tenant {
            policies: match r.policies {
                Some(p) => p,
                None => stored.map(|s| s.policies).unwrap_or_default(),
            },
            name: r.name,
            route_targets: r.route_targets,
            hub_and_spoke: r.hub_and_spoke,
        };
        self.commit_tenant(&t)?;
        Ok(Reply::json(201, &json!(t)))
    }

    /// Checks `t` as a whole and stores it with its devices' version bump;
    /// returns the serials whose config changed.
    fn commit_tenant(&self, t: &Tenant) -> Result<Vec<String>, Reply> {
        if t.route_targets.is_empty() {
            return Err(bad(format!(
                "tenant {:?}: route_targets: at least one Route Target is needed",
                t.name
            )));
        }
        for rt in &t.route_targets {
            sdwan_bgp::wire::ExtCommunity::route_target(rt)
                .map_err(|e| bad(format!("tenant {:?}: route_targets: {rt:?}: {e}", t.name)))?;
        }
        if let Some(h) = &t.hub_and_spoke {
            let listed = |rt: &String| t.route_targets.contains(rt);
            if h.hub_rt == h.spoke_rt || !listed(&h.hub_rt) || !listed(&h.spoke_rt) {
                return Err(bad(format!(
                    "tenant {:?}: hub_and_spoke: hub_rt and spoke_rt must differ and both be among its route_targets (so the reflector authorises them)",
                    t.name
                )));
            }
        }
        super::tenant_check::check(t).map_err(|e| {
            Reply::json(
                400,
                &json!({"error": e.to_string(), "field": e.field,
                        "policy": e.rule.as_ref().map(|(_, n)| n)}),
            )
        })?;
        // Every device of the tenant must be able to apply the rules.
        let mut tenants = self.registry.tenants().map_err(registry_reply)?;
        tenants.retain(|x| x.name != t.name);
        tenants.push(t.clone());
        for d in self.registry.devices().map_err(registry_reply)? {
            if d.state != DeviceState::Revoked {
                super::tenant_check::breakout_ok(&d, &tenants).map_err(bad)?;
            }
        }
        match self.registry.store_tenant(t).map_err(registry_reply)? {
            None => Ok(Vec::new()),
            Some(pushed) => {
                tracing::info!(tenant = %t.name, devices = pushed.len(), "tenant changed");
                self.notify();
                Ok(pushed)
            }
        }
    }

    pub(super) fn all_policies(&self) -> Result<Reply, Reply> {
        let tenants = self.registry.tenants().map_err(registry_reply)?;
        let all: Vec<Value> = tenants
            .iter()
            .flat_map(|t| match rules_json(t) {
                Value::Array(a) => a,
                _ => Vec::new(),
            })
            .collect();
        Ok(Reply::json(200, &Value::Array(all)))
    }

    /// `/api/v1/tenants/{tenant}/policies/{rest..}`.
    pub(super) fn policy_route(
        &self,
        method: &str,
        req: &Request,
        tenant: &str,
        rest: &[&str],
    ) -> Result<Reply, Reply> {
        let _w = (method != "GET").then(|| self.tenant_writes());
        let mut t = self.registry.tenant(tenant).map_err(registry_reply)?;
        let status = match (method, rest) {
            ("GET", []) => return Ok(Reply::json(200, &rules_json(&t))),
            ("POST", []) => {
                let mut v: Value = body(req)?;
                let position = match v.as_object_mut().and_then(|o| o.remove("position")) {
                    None | Some(Value::Null) => None,
                    Some(p) => Some(
                        p.as_u64()
                            .ok_or_else(|| bad(format!("position: {p} is not a number from 1")))?
                            as usize,
                    ),
                };
                let rule: PolicyRule =
                    serde_json::from_value(v).map_err(|e| bad(format!("bad policy: {e}")))?;
                if let Some(r) = &rule.vrf {
                    return Err(bad(format!(
                        "vrf: {r:?}: a tenant's rule applies in every device VRF of tenant {tenant:?}; leave vrf out"
                    )));
                }
                if t.policies.iter().any(|r| r.name == rule.name) {
                    return Err(Reply::error(
                        409,
                        format!("tenant {tenant:?} already has a policy {:?}", rule.name),
                    ));
                }
                insert_rule(&mut t.policies, rule, position).map_err(bad)?;
                201
            }
            ("DELETE", [name]) => {
                let before = t.policies.len();
                t.policies.retain(|r| r.name != *name);
                if t.policies.len() == before {
                    return Err(Reply::error(
                        404,
                        format!("tenant {tenant:?} has no policy {name:?}"),
                    ));
                }
                200
            }
            ("POST", [name, "move"]) => {
                let m: Move = body(req)?;
                if !t.policies.iter().any(|r| r.name == *name) {
                    return Err(Reply::error(
                        404,
                        format!("tenant {tenant:?} has no policy {name:?}"),
                    ));
                }
                move_rule(&mut t.policies, name, m.position).map_err(bad)?;
                200
            }
            _ => {
                return Err(Reply::error(
                    404,
                    format!("no such endpoint {method} {}", req.route()),
                ))
            }
        };
        let pushed = self.commit_tenant(&t)?;
        Ok(Reply::json(
            status,
            &json!({"tenant": t.name, "policies": rules_json(&t), "pushed_to": pushed}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> PolicyRule {
        PolicyRule {
            vrf: None,
            name: name.into(),
            action: "any".into(),
            protocol: None,
            src: None,
            dst: None,
            src_ports: None,
            dst_ports: None,
            dscp: None,
            flow_label: None,
        }
    }

    fn names(r: &[PolicyRule]) -> Vec<&str> {
        r.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn rules_are_inserted_and_moved_by_one_based_position() {
        let mut r = Vec::new();
        insert_rule(&mut r, rule("a"), None).unwrap();
        insert_rule(&mut r, rule("b"), None).unwrap();
        insert_rule(&mut r, rule("first"), Some(1)).unwrap();
        insert_rule(&mut r, rule("last"), Some(4)).unwrap();
        assert_eq!(names(&r), ["first", "a", "b", "last"]);
        let e = insert_rule(&mut r, rule("x"), Some(6)).unwrap_err();
        assert!(e.starts_with("position: 6") && e.contains("1 and 5"), "{e}");
        assert!(insert_rule(&mut r, rule("x"), Some(0)).is_err());
        assert_eq!(r.len(), 4, "a refused insert adds nothing");
        move_rule(&mut r, "last", 1).unwrap();
        assert_eq!(names(&r), ["last", "first", "a", "b"]);
        move_rule(&mut r, "last", 4).unwrap();
        assert_eq!(names(&r), ["first", "a", "b", "last"]);
        assert!(move_rule(&mut r, "a", 5)
            .unwrap_err()
            .starts_with("position: 5"));
        assert!(move_rule(&mut r, "nope", 1)
            .unwrap_err()
            .contains("\"nope\""));
        assert_eq!(names(&r), ["first", "a", "b", "last"]);
    }

    #[test]
    fn the_api_shows_positions() {
        let t = Tenant {
            name: "blue".into(),
            route_targets: vec!["65000:1".into()],
            policies: vec![rule("a"), rule("b")],
            hub_and_spoke: None,
        };
        let v = rules_json(&t);
        assert_eq!(v[0]["position"], 1);
        assert_eq!(v[1]["position"], 2);
        assert_eq!(v[1]["name"], "b");
        assert_eq!(v[1]["tenant"], "blue");
    }
}
