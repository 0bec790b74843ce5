//! Prometheus exposition. Dataplane counters live in per-worker slots and
//! are summed only when scraped; this module turns those sums into
//! Prometheus counters (advancing each by the delta since the last scrape,
//! so they stay monotonic) and gauges, and renders the text format.
use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Metrics {
    registry: Registry,
    counters: HashMap<&'static str, IntCounterVec>,
    gauges: HashMap<&'static str, IntGaugeVec>,
    ratios: HashMap<&'static str, GaugeVec>,
    /// Last value exported per (metric, labels), to advance by deltas.
    last: Mutex<HashMap<(String, Vec<String>), u64>>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let info = IntGaugeVec::new(
            Opts::new("sdwan_build_info", "Build of the running sdwan binary"),
            &["version", "revision"],
        )
        .expect("metric");
        info.with_label_values(&[env!("CARGO_PKG_VERSION"), env!("SDWAN_GIT_REV")])
            .set(1);
        registry.register(Box::new(info)).expect("register");
        Metrics {
            registry,
            counters: HashMap::new(),
            gauges: HashMap::new(),
            ratios: HashMap::new(),
            last: Mutex::new(HashMap::new()),
        }
    }

    pub fn counter(&mut self, name: &'static str, help: &str, labels: &[&str]) {
        let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
        self.registry
            .register(Box::new(c.clone()))
            .expect("unique metric");
        self.counters.insert(name, c);
    }

    pub fn gauge(&mut self, name: &'static str, help: &str, labels: &[&str]) {
        let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        self.registry
            .register(Box::new(g.clone()))
            .expect("unique metric");
        self.gauges.insert(name, g);
    }

    pub fn ratio(&mut self, name: &'static str, help: &str, labels: &[&str]) {
        let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        self.registry
            .register(Box::new(g.clone()))
            .expect("unique metric");
        self.ratios.insert(name, g);
    }

    /// Sets counter `name{labels}` to the running total `value`.
    pub fn set_total(&self, name: &'static str, labels: &[&str], value: u64) {
        let Some(c) = self.counters.get(name) else {
            return;
        };
        let key = (
            name.to_string(),
            labels.iter().map(|s| s.to_string()).collect(),
        );
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let prev = last.entry(key).or_insert(0);
        let counter = c.with_label_values(labels);
        if value >= *prev {
            counter.inc_by(value - *prev);
        } else {
            // A source was reset (e.g. a port re-created): restart from 0.
            counter.reset();
            counter.inc_by(value);
        }
        *prev = value;
    }

    /// Adds one to counter `name{labels}` (for events counted here, not
    /// summed from worker slots).
    pub fn inc(&self, name: &'static str, labels: &[&str]) {
        if let Some(c) = self.counters.get(name) {
            c.with_label_values(labels).inc();
        }
    }

    pub fn set_gauge(&self, name: &'static str, labels: &[&str], value: i64) {
        if let Some(g) = self.gauges.get(name) {
            g.with_label_values(labels).set(value);
        }
    }

    pub fn set_ratio(&self, name: &'static str, labels: &[&str], value: f64) {
        if let Some(g) = self.ratios.get(name) {
            g.with_label_values(labels).set(value);
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding to a Vec cannot fail");
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_become_monotonic_counters() {
        let mut m = Metrics::new();
        m.counter("sdwan_drops_total", "Drops", &["reason"]);
        m.set_total("sdwan_drops_total", &["no_route"], 5);
        m.set_total("sdwan_drops_total", &["no_route"], 7);
        let text = m.render();
        assert!(
            text.contains("sdwan_drops_total{reason=\"no_route\"} 7"),
            "{text}"
        );
        assert!(text.contains("# TYPE sdwan_drops_total counter"));
        assert!(text.contains("sdwan_build_info{"));
    }
}
