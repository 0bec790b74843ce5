//! The linear-scan classifier: tests each rule in order with
//! [`Match::matches`](super::Match::matches). The baseline the compiled
//! classifier is benchmarked against, and the shape most ACL code starts
//! from.

use super::rule::{Match, RuleSet};
use crate::flow_key::FlowKey;

#[derive(Debug, Clone)]
pub struct LinearClassifier {
    matches: Vec<Match>,
}

impl LinearClassifier {
    pub fn new(set: &RuleSet) -> Self {
        Self {
            matches: set.rules.iter().map(|r| r.matches.clone()).collect(),
        }
    }

    /// Index of the first rule matching `k`.
    #[inline]
    pub fn classify(&self, k: &FlowKey) -> Option<usize> {
        self.matches.iter().position(|m| m.matches(k))
    }
}
