//! `sdwan edge`: starts DPDK, the ports, the FIB and neighbor tables, one
//! worker per (port, rx queue), the management API and the control loop;
//! on SIGTERM/SIGINT stops the workers, closes the ports (TAP devices
//! vanish) and returns.

mod api;
mod api_overlay;
mod control;
mod handler;
mod keepalive;
mod overlay;
mod ports;
mod reload;
mod state;

use crate::config;
use anyhow::Context;
use sdwan_dataplane::worker::{self, stats::WorkerStats, WorkerSpec};
use state::EdgeState;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn run(path: &Path) -> anyhow::Result<()> {
    let loaded_mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let cfg = config::load(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    tracing::info!(eal = ?cfg.eal_args, "starting DPDK");
    let eal = sdwan_ffi::Eal::init(&cfg.eal_args).context("DPDK EAL initialisation")?;
    let result = run_with_eal(path, loaded_mtime, cfg, stop);
    drop(eal);
    result
}

fn run_with_eal(
    path: &Path,
    loaded_mtime: Option<std::time::SystemTime>,
    cfg: config::Resolved,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let nworkers = cfg.worker_count();
    let mut opened = ports::open_all(&cfg)?;
    let state = Arc::new(EdgeState::new(&cfg, &opened)?);
    signal_hook::flag::register(signal_hook::consts::SIGHUP, state.reload.clone())
        .context("installing the SIGHUP (reload) handler")?;
    // A file rewritten while we started (a controller push) is read now.
    let now_mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if loaded_mtime != now_mtime {
        state.reload.store(true, Ordering::Release);
    }
    let mut running = cfg.clone();

    // Every rx queue of every port is polled: the (port, queue) pairs are
    // dealt round-robin to the workers. Worker w owns tx queue w of every
    // port, so no queue is ever shared.
    let mut rx_sets: Vec<Vec<(u16, sdwan_ffi::RxQueue)>> =
        (0..nworkers).map(|_| Vec::new()).collect();
    let mut pair = 0usize;
    for (port_idx, p) in opened.ports.iter_mut().enumerate() {
        for rxq in std::mem::take(&mut p.rx) {
            rx_sets[pair % nworkers].push((port_idx as u16, rxq));
            pair += 1;
        }
    }
    let mut tx_by_port: Vec<std::vec::IntoIter<sdwan_ffi::TxQueue>> = opened
        .ports
        .iter_mut()
        .map(|p| std::mem::take(&mut p.tx).into_iter())
        .collect();
    // The control thread exists before the workers so that static
    // neighbors are published before the first packet.
    let injects: Vec<Arc<worker::InjectQueue>> = (0..nworkers)
        .map(|_| Arc::new(worker::InjectQueue::new(256)))
        .collect();
    let mut control = control::Control::new(state.clone(), injects.clone(), opened.pool.clone());
    // The overlay (BGP speaker, keys, resolver) starts before the workers:
    // a bad peer address or key failure stops the edge before traffic.
    let mut overlay = overlay::runtime::OverlayRuntime::start(state.clone())?;
    let worker_stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for (worker_id, rx) in rx_sets.into_iter().enumerate() {
        let tx: Vec<_> = tx_by_port
            .iter_mut()
            .map(|it| it.next().expect("one tx queue per worker per port"))
            .collect();
        let stats = Arc::new(WorkerStats::default());
        let core = (!cfg.cores.is_empty()).then(|| cfg.cores[worker_id % cfg.cores.len()]);
        let queues = rx.iter().map(|(p, q)| (*p, q.queue_id())).collect();
        state.register_worker(worker_id, core, queues, stats.clone());
        let inject = injects[worker_id].clone();
        let spec = WorkerSpec {
            id: worker_id,
            core,
            rx,
            tx,
            idle_threshold: cfg.idle_polls_before_sleep,
            max_sleep: Duration::from_micros(cfg.max_sleep_us as u64),
            stats,
            inject,
        };
        let h = handler::WorkerHandler::new(worker_id, state.clone());
        let stop = worker_stop.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("sdwan-w{worker_id}"))
                .spawn(move || worker::run(spec, h, &stop))?,
        );
    }

    let api = Arc::new(api::EdgeApi::new(state.clone()));
    let mgmt_stop = Arc::new(AtomicBool::new(false));
    let mut servers = vec![crate::mgmt::server::spawn(
        &cfg.management,
        api.clone(),
        mgmt_stop.clone(),
    )?];
    if let Some(m) = &cfg.metrics {
        servers.push(crate::mgmt::server::spawn(
            m,
            api.clone(),
            mgmt_stop.clone(),
        )?);
    }
    tracing::info!(workers = nworkers, management = %cfg.management, "edge running");

    while !stop.load(Ordering::Relaxed) {
        control.tick();
        if let Some(o) = overlay.as_mut() {
            o.poll();
        }
        if state.reload.swap(false, Ordering::AcqRel) {
            reload::run(path, &state, &mut running, overlay.as_mut());
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    tracing::info!("stopping");
    if let Some(o) = overlay.take() {
        o.shutdown();
    }
    worker_stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    mgmt_stop.store(true, Ordering::Relaxed);
    for s in servers {
        let _ = s.join();
    }
    drop(control);
    drop(api);
    drop(state);
    drop(opened);
    tracing::info!("stopped");
    Ok(())
}
