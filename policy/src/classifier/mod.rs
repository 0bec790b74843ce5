//! Flow classification (draft §4.2, §5.4): an ordered rule list on the flow
//! key, first match wins, each rule naming a [`PathPolicy`] and an optional
//! traffic class.
//!
//! - [`rule`]: the operator's view ([`Rule`], [`Match`], [`RuleSet`]) and the
//!   reference definition of a match.
//! - [`compiled`]: the bitmap-intersection classifier the workers use.
//! - [`linear`]: the linear scan, kept as the benchmark baseline.
//! - [`PolicyStore`] (here): the compiled rule set published as an
//!   immutable snapshot through `arc-swap`; workers load it without locks
//!   and the control thread swaps in a new one.

pub mod compiled;
pub mod linear;
pub mod rule;

pub use compiled::CompiledClassifier;
pub use linear::LinearClassifier;
pub use rule::{
    Action, ClassId, Match, PathPolicy, PortRange, Prefix, Rule, RuleError, RuleSet, MAX_RULES,
};

use crate::flow_key::FlowKey;
use arc_swap::{ArcSwap, Guard};
use std::sync::Arc;

/// What classification decided for one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// Index of the matching rule; `None` when the default action applied.
    pub rule: Option<u32>,
}

/// One published version of the policy: compiled rules, their actions, the
/// default and the class names. Immutable.
#[derive(Debug)]
pub struct PolicySnapshot {
    generation: u64,
    classifier: CompiledClassifier,
    actions: Vec<Action>,
    default: Action,
    class_names: Vec<String>,
}

impl PolicySnapshot {
    /// Validates and compiles `set`.
    pub fn compile(set: &RuleSet, generation: u64) -> Result<Self, RuleError> {
        set.validate()?;
        Ok(Self {
            generation,
            classifier: CompiledClassifier::compile(set),
            actions: set.rules.iter().map(|r| r.action).collect(),
            default: set.default,
            class_names: set.class_names.clone(),
        })
    }

    /// Bumped on every publish: flow caches re-classify entries made under
    /// an older generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[inline]
    pub fn classify(&self, k: &FlowKey) -> Decision {
        match self.classifier.classify(k) {
            Some(i) => Decision {
                action: self.actions[i],
                // At most MAX_RULES (4096) rules.
                rule: Some(i as u32),
            },
            None => Decision {
                action: self.default,
                rule: None,
            },
        }
    }

    pub fn class_name(&self, c: ClassId) -> Option<&str> {
        self.class_names.get(usize::from(c.0)).map(String::as_str)
    }

    pub fn classifier(&self) -> &CompiledClassifier {
        &self.classifier
    }
}

/// Where the control thread publishes policy and workers read it.
#[derive(Debug)]
pub struct PolicyStore {
    current: ArcSwap<PolicySnapshot>,
}

impl PolicyStore {
    /// A store holding `set` as generation 1.
    pub fn new(set: &RuleSet) -> Result<Self, RuleError> {
        Ok(Self {
            current: ArcSwap::from_pointee(PolicySnapshot::compile(set, 1)?),
        })
    }

    /// Compiles `set` and makes it current; returns its generation. On
    /// error the current policy stays in force. Called by one control
    /// thread (concurrent publishers could reuse a generation).
    pub fn publish(&self, set: &RuleSet) -> Result<u64, RuleError> {
        let generation = self.current.load().generation + 1;
        let snap = PolicySnapshot::compile(set, generation)?;
        self.current.store(Arc::new(snap));
        Ok(generation)
    }

    /// The current snapshot: wait-free, no allocation (arc-swap's
    /// thread-local debt slots). Hold it for a burst, not longer.
    #[inline]
    pub fn load(&self) -> Guard<Arc<PolicySnapshot>> {
        self.current.load()
    }
}

#[cfg(test)]
mod tests;
