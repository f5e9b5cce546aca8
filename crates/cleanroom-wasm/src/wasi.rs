//! The store's state: an empty WASI, captured stdio, a virtual clock, a seeded random source
//! and the resource limiter.

use std::time::Duration;

use rand::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView,
};

use crate::Limits;

/// Bytes of the seeded random stream a guest can draw before it repeats.
const RANDOM_BYTES: usize = 64 << 10;

pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    stdio_cap: usize,
    pub(crate) limiter: Limiter,
}

impl State {
    pub(crate) fn new(limits: &Limits, seed: u64) -> State {
        let stdout = MemoryOutputPipe::new(limits.stdio_bytes);
        let stderr = MemoryOutputPipe::new(limits.stdio_bytes);
        let mut random = vec![0u8; RANDOM_BYTES];
        ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut random);
        // The builder's defaults already give no preopens, no environment, no arguments, a
        // closed stdin and no network; nothing here adds any of them back.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(VirtualWall)
            .monotonic_clock(VirtualMonotonic::default())
            .secure_random(Deterministic::new(random.clone()))
            .insecure_random(Deterministic::new(random))
            .insecure_random_seed(u128::from(seed))
            .max_random_size(1 << 20)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        State {
            wasi,
            table: ResourceTable::new(),
            stdout,
            stderr,
            stdio_cap: limits.stdio_bytes,
            limiter: Limiter {
                memory_bytes: limits.memory_bytes,
                table_elements: limits.table_elements,
                instances: limits.instances,
                peak: 0,
                hit: false,
            },
        }
    }

    pub(crate) fn stdio(&self) -> (Vec<u8>, Vec<u8>) {
        (
            self.stdout.contents().to_vec(),
            self.stderr.contents().to_vec(),
        )
    }

    /// Whether either stream is at its cap (a write past it traps the call).
    pub(crate) fn stdio_full(&self) -> bool {
        // A write that does not fit is refused whole, so "full" is "within one line of the cap".
        let near = |n: usize| n + 256 >= self.stdio_cap;
        near(self.stdout.contents().len()) || near(self.stderr.contents().len())
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Memory, tables and instances of one store. A refused growth traps at once (rather than
/// returning -1 to the guest) and is remembered, so that the failure is classified as the
/// memory limit whatever the guest's allocator does next.
pub(crate) struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    instances: usize,
    pub(crate) peak: usize,
    pub(crate) hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = true;
            return Err(wasmtime::format_err!("memory limit"));
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.hit = true;
            return Err(wasmtime::format_err!("table limit"));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.instances
    }
}

/// A wall clock that always reads 2026-01-01T00:00:00Z: guests cannot learn the time.
struct VirtualWall;

impl HostWallClock for VirtualWall {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(1_767_225_600)
    }
}

/// A monotonic clock that advances one microsecond per reading: durations a guest measures
/// depend only on what it does, never on the machine or on other jobs.
#[derive(Default)]
struct VirtualMonotonic {
    now: std::sync::atomic::AtomicU64,
}

impl HostMonotonicClock for VirtualMonotonic {
    fn resolution(&self) -> u64 {
        1_000
    }

    fn now(&self) -> u64 {
        self.now
            .fetch_add(1_000, std::sync::atomic::Ordering::Relaxed)
            + 1_000
    }
}
