//! The hardened WebAssembly host.
//!
//! Guests are WebAssembly components of the world `analytics` in `sandbox/wit/cleanroom.wit`.
//! Each runs with WASI linked but empty (no preopened directories, no sockets, no environment or
//! arguments, stdin closed, stdout and stderr captured and capped, a virtual clock and a seeded
//! random source), bounded per call by fuel and a wall-clock deadline, and per instance by a
//! resource limiter on memory, tables and instances. Components compile once per SHA-256 of
//! their bytes into an in-memory cache only the host writes. Every failure is classified
//! ([`Failure`]) with a reason that never carries text the guest chose.

mod ipc;
mod wasi;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use sha2::{Digest as _, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, OptLevel, Store, Strategy, Trap};

pub use ipc::{decode, encode};
use wasi::State;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../sandbox/wit",
        world: "analytics",
    });
}

use bindings::cleanroom::sandbox::types::{GuestError, ScalarType};
use bindings::{Analytics, AnalyticsPre};

/// How often the epoch ticker advances: the granularity of every deadline.
const TICK: Duration = Duration::from_millis(10);

/// The bounds every guest runs under. The defaults suit a job over a million rows in batches
/// of 8,192; the tests lower them to reach each limit quickly.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Fuel per call (about one unit per WebAssembly instruction).
    pub fuel_per_call: u64,
    /// Wall-clock time per call.
    pub deadline: Duration,
    /// Linear memory of one instance, in bytes.
    pub memory_bytes: usize,
    /// Elements of any one table.
    pub table_elements: usize,
    /// Instances, tables and memories one store may create (a component is several
    /// core instances).
    pub instances: usize,
    /// The WebAssembly stack, in bytes.
    pub max_stack: usize,
    /// Bytes a guest may return from one call.
    pub max_output_bytes: usize,
    /// Rows a guest may return from one call.
    pub max_output_rows: usize,
    /// Bytes captured from stdout and from stderr, each.
    pub stdio_bytes: usize,
    /// Size of a component's bytes.
    pub max_component_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_call: 2_000_000_000,
            deadline: Duration::from_secs(10),
            memory_bytes: 256 << 20,
            table_elements: 100_000,
            instances: 64,
            max_stack: 512 << 10,
            max_output_bytes: 64 << 20,
            max_output_rows: 1 << 20,
            stdio_bytes: 64 << 10,
            max_component_bytes: 32 << 20,
        }
    }
}

/// Why a guest call did not produce a usable result. Reasons are fixed texts, numbers, or names
/// from the job's manifest; never text the guest wrote.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Failure {
    #[error("the component is not a valid analytics component: {0}")]
    Invalid(String),
    #[error("the component ran out of fuel ({0} units per call)")]
    OutOfFuel(u64),
    #[error("the component passed its deadline ({0} ms per call)")]
    Deadline(u128),
    #[error("the component reached the memory limit ({0} bytes)")]
    MemoryLimit(usize),
    #[error("the component exhausted its stack ({0} bytes)")]
    StackOverflow(usize),
    #[error("the component wrote more than {0} bytes to stdout or stderr")]
    StdioLimit(usize),
    #[error("the component exited with status {0}")]
    Exit(i32),
    #[error("the component trapped: {0}")]
    Trap(String),
    #[error("the component's output is too large: {0}")]
    OutputLimit(String),
    #[error("the component's output is malformed: {0}")]
    BadOutput(String),
    #[error("the component broke the contract: {0}")]
    Contract(String),
    #[error("the component reported an error ({kind})")]
    Guest {
        kind: &'static str,
        /// The guest's own text. Shown only for runs on mock data.
        message: Option<String>,
    },
    #[error("the host failed: {0}")]
    Host(&'static str),
}

impl Failure {
    /// A stable name for the class of failure, for reports and tests.
    pub fn class(&self) -> &'static str {
        match self {
            Failure::Invalid(_) => "invalid",
            Failure::OutOfFuel(_) => "out_of_fuel",
            Failure::Deadline(_) => "deadline",
            Failure::MemoryLimit(_) => "memory_limit",
            Failure::StackOverflow(_) => "stack_overflow",
            Failure::StdioLimit(_) => "stdio_limit",
            Failure::Exit(_) => "exit",
            Failure::Trap(_) => "trap",
            Failure::OutputLimit(_) => "output_limit",
            Failure::BadOutput(_) => "bad_output",
            Failure::Contract(_) => "contract",
            Failure::Guest { .. } => "guest_error",
            Failure::Host(_) => "host",
        }
    }
}

/// Resources one instance used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub calls: u64,
    pub fuel: u64,
    pub peak_memory_bytes: usize,
}

/// Scalar functions one component may offer, and parameters one function may take.
pub const MAX_FUNCTIONS: usize = 64;
pub const MAX_PARAMS: usize = 16;

/// A scalar function a component offers to SQL jobs, as the host checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Lowercase ASCII letters, digits and `_`, starting with a letter, at most 63 bytes.
    pub name: String,
    pub params: Vec<DataType>,
    pub returns: DataType,
}

fn data_type(t: ScalarType) -> DataType {
    match t {
        ScalarType::Utf8 => DataType::Utf8,
        ScalarType::Int64 => DataType::Int64,
        ScalarType::Float64 => DataType::Float64,
        ScalarType::Boolean => DataType::Boolean,
        ScalarType::Date32 => DataType::Date32,
    }
}

/// Whether `name` may name a guest function: it goes into SQL, reports and lineage.
pub fn is_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() < 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A compiled component, shared by every job that runs the same bytes.
pub struct Module {
    digest: String,
    pre: AnalyticsPre<State>,
}

impl Module {
    /// The SHA-256 of the component's bytes, in lowercase hex: its name in lineage and reports.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// The engine, the linker with the empty WASI, the compile cache and the epoch ticker.
pub struct Host {
    engine: Engine,
    linker: Linker<State>,
    limits: Limits,
    cache: Mutex<HashMap<[u8; 32], Arc<Module>>>,
    stop: Arc<AtomicBool>,
}

/// Compiled components kept at most; beyond, the cache starts afresh.
const CACHE_ENTRIES: usize = 64;

impl Host {
    pub fn new(limits: Limits) -> Result<Host, Failure> {
        let mut config = Config::new();
        config
            .strategy(Strategy::Cranelift)
            .cranelift_opt_level(OptLevel::Speed)
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.max_stack)
            .wasm_memory64(false)
            .wasm_relaxed_simd(false);
        let engine =
            Engine::new(&config).map_err(|_| Failure::Host("cannot configure wasmtime"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|_| Failure::Host("cannot link WASI"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = engine.weak();
        let flag = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("cleanroom-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match ticker.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|_| Failure::Host("cannot start the epoch ticker"))?;
        Ok(Host {
            engine,
            linker,
            limits,
            cache: Mutex::new(HashMap::new()),
            stop,
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles a component, or returns the compiled one for the same bytes.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Module>, Failure> {
        if bytes.len() > self.limits.max_component_bytes {
            return Err(Failure::Invalid(format!(
                "the component is {} bytes, over the limit of {}",
                bytes.len(),
                self.limits.max_component_bytes
            )));
        }
        let key: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(module) = self.cached(&key) {
            return Ok(module);
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| {
            // wasmtime's validation messages name sections and offsets, not data.
            Failure::Invalid(first_line(&e.to_string()))
        })?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| Failure::Invalid(first_line(&e.to_string())))?;
        let pre = AnalyticsPre::new(pre).map_err(|_| {
            Failure::Invalid(
                "it does not export `contribute` and `finalize` of cleanroom:sandbox/analytics"
                    .into(),
            )
        })?;
        let module = Arc::new(Module {
            digest: hex::encode(key),
            pre,
        });
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(key, Arc::clone(&module));
        }
        Ok(module)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Arc<Module>> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    /// A fresh instance of `module` in a store of its own, with the random source seeded by
    /// `seed` so that a run can be replayed.
    pub fn instantiate(&self, module: &Module, seed: u64) -> Result<Instance, Failure> {
        self.instantiate_with(module, seed, self.limits.clone())
    }

    /// As [`Host::instantiate`], under a job's own limits. Each is capped by the host's, and
    /// the stack size is the host's (it is a property of the engine).
    pub fn instantiate_with(
        &self,
        module: &Module,
        seed: u64,
        limits: Limits,
    ) -> Result<Instance, Failure> {
        let limits = Limits {
            fuel_per_call: limits.fuel_per_call.min(self.limits.fuel_per_call),
            deadline: limits.deadline.min(self.limits.deadline),
            memory_bytes: limits.memory_bytes.min(self.limits.memory_bytes),
            table_elements: limits.table_elements.min(self.limits.table_elements),
            instances: limits.instances.min(self.limits.instances),
            max_stack: self.limits.max_stack,
            max_output_bytes: limits.max_output_bytes.min(self.limits.max_output_bytes),
            max_output_rows: limits.max_output_rows.min(self.limits.max_output_rows),
            stdio_bytes: limits.stdio_bytes.min(self.limits.stdio_bytes),
            max_component_bytes: self.limits.max_component_bytes,
        };
        let state = State::new(&limits, seed);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(limits.fuel_per_call)
            .map_err(|_| Failure::Host("cannot set fuel"))?;
        store.set_epoch_deadline(ticks(limits.deadline));
        store.epoch_deadline_trap();
        let bindings = module
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(e, &store, &limits))?;
        let fuel_left = store.get_fuel().unwrap_or(0);
        let usage = Usage {
            fuel: limits.fuel_per_call.saturating_sub(fuel_left),
            ..Usage::default()
        };
        Ok(Instance {
            store,
            bindings,
            limits,
            usage,
        })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn ticks(deadline: Duration) -> u64 {
    u64::try_from(deadline.as_millis() / TICK.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
        + 1
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

/// One instantiated component and its store.
pub struct Instance {
    store: Store<State>,
    bindings: Analytics,
    limits: Limits,
    usage: Usage,
}

impl Instance {
    /// Calls `contribute` with `batch`; the result must have the schema `expected`.
    pub fn contribute(
        &mut self,
        batch: &RecordBatch,
        expected: &Schema,
    ) -> Result<RecordBatch, Failure> {
        self.call(batch, expected, |b, s, i| b.call_contribute(s, i))
    }

    /// Calls `finalize` with the checked aggregate table.
    pub fn finalize(
        &mut self,
        aggregates: &RecordBatch,
        expected: &Schema,
    ) -> Result<RecordBatch, Failure> {
        self.call(aggregates, expected, |b, s, i| b.call_finalize(s, i))
    }

    /// The scalar functions the component offers, checked: at most [`MAX_FUNCTIONS`], each
    /// with a valid and distinct name and at most [`MAX_PARAMS`] parameters.
    pub fn functions(&mut self) -> Result<Vec<Function>, Failure> {
        self.refuel()?;
        let result = self.bindings.call_functions(&mut self.store);
        self.account();
        let listed = result.map_err(|e| classify(e, &self.store, &self.limits))?;
        if listed.len() > MAX_FUNCTIONS {
            return Err(Failure::Contract(format!(
                "it offers {} scalar functions, over the limit of {MAX_FUNCTIONS}",
                listed.len()
            )));
        }
        let mut out: Vec<Function> = Vec::with_capacity(listed.len());
        for (i, f) in listed.into_iter().enumerate() {
            // The name is guest text: only a checked identifier is ever repeated.
            if !is_function_name(&f.name) {
                return Err(Failure::Contract(format!(
                    "scalar function {} has a name that is not a lowercase identifier",
                    i + 1
                )));
            }
            if out.iter().any(|o| o.name == f.name) {
                return Err(Failure::Contract(format!(
                    "scalar function `{}` is offered twice",
                    f.name
                )));
            }
            if f.params.len() > MAX_PARAMS {
                return Err(Failure::Contract(format!(
                    "scalar function `{}` takes {} parameters, over the limit of {MAX_PARAMS}",
                    f.name,
                    f.params.len()
                )));
            }
            out.push(Function {
                params: f.params.into_iter().map(data_type).collect(),
                returns: data_type(f.returns),
                name: f.name,
            });
        }
        Ok(out)
    }

    /// Calls scalar function `function` on `args` (its arguments as columns `arg0`, `arg1`
    /// ...): one value per input row of the declared result type, or a failure.
    pub fn call_function(
        &mut self,
        function: &Function,
        args: &RecordBatch,
    ) -> Result<ArrayRef, Failure> {
        let expected = Schema::new(vec![Field::new("result", function.returns.clone(), true)]);
        let name = function.name.as_str();
        let out = self.call(args, &expected, |b, s, i| b.call_call(s, name, i))?;
        if out.num_rows() != args.num_rows() {
            return Err(Failure::Contract(format!(
                "scalar function `{name}` returned {} rows for {} input rows",
                out.num_rows(),
                args.num_rows()
            )));
        }
        Ok(Arc::clone(out.column(0)))
    }

    fn refuel(&mut self) -> Result<(), Failure> {
        self.store
            .set_fuel(self.limits.fuel_per_call)
            .map_err(|_| Failure::Host("cannot set fuel"))?;
        self.store.set_epoch_deadline(ticks(self.limits.deadline));
        Ok(())
    }

    fn account(&mut self) {
        let left = self.store.get_fuel().unwrap_or(0);
        self.usage.calls += 1;
        self.usage.fuel += self.limits.fuel_per_call.saturating_sub(left);
        self.usage.peak_memory_bytes = self.store.data().limiter.peak;
    }

    /// One call: encode, refuel, reset the deadline, call, account, classify, decode.
    fn call(
        &mut self,
        batch: &RecordBatch,
        expected: &Schema,
        export: impl FnOnce(
            &Analytics,
            &mut Store<State>,
            &Vec<u8>,
        ) -> wasmtime::Result<Result<Vec<u8>, GuestError>>,
    ) -> Result<RecordBatch, Failure> {
        let input = encode(batch)?;
        self.refuel()?;
        let result = export(&self.bindings, &mut self.store, &input);
        self.account();
        let output = match result {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(error)) => return Err(guest_failure(error)),
            Err(error) => return Err(classify(error, &self.store, &self.limits)),
        };
        decode(
            &output,
            expected,
            self.limits.max_output_bytes,
            self.limits.max_output_rows,
        )
    }

    pub fn usage(&self) -> Usage {
        Usage {
            peak_memory_bytes: self.store.data().limiter.peak,
            ..self.usage
        }
    }

    /// What the guest wrote to stdout and stderr, capped. Raw data may be in it: show it only
    /// for runs on mock data.
    pub fn stdio(&self) -> (Vec<u8>, Vec<u8>) {
        self.store.data().stdio()
    }
}

fn guest_failure(error: GuestError) -> Failure {
    let (kind, message) = match error {
        GuestError::InvalidInput(m) => ("invalid-input", Some(m)),
        GuestError::Unsupported => ("unsupported", None),
        GuestError::Failed(m) => ("failed", Some(m)),
    };
    Failure::Guest { kind, message }
}

fn classify(error: wasmtime::Error, store: &Store<State>, limits: &Limits) -> Failure {
    let state = store.data();
    if state.limiter.hit {
        return Failure::MemoryLimit(limits.memory_bytes);
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::Exit(exit.0);
    }
    if state.stdio_full() {
        return Failure::StdioLimit(limits.stdio_bytes);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel(limits.fuel_per_call),
        Some(Trap::Interrupt) => Failure::Deadline(limits.deadline.as_millis()),
        Some(Trap::StackOverflow) => Failure::StackOverflow(limits.max_stack),
        Some(Trap::UnreachableCodeReached) => {
            Failure::Trap("unreachable code reached (a panic or an abort)".into())
        }
        Some(trap) => Failure::Trap(trap.to_string()),
        // An error raised inside a host function: its text may quote what the guest passed.
        None => Failure::Trap("a host function refused the call".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::is_function_name;

    #[test]
    fn function_names_are_plain_lowercase_identifiers() {
        for good in ["need_score", "f", "score2", "a_b_c"] {
            assert!(is_function_name(good), "{good}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "Need",
            "2score",
            "_x",
            "need score",
            "x\"; DROP TABLE residents; --",
            "名字",
            long.as_str(),
        ] {
            assert!(!is_function_name(bad), "{bad}");
        }
        assert!(is_function_name(&"a".repeat(63)));
    }
}
