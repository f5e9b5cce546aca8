//! Real components, built from `sandbox/modules` for wasm32-wasip2, run in the real host: each
//! adversarial component ends in its classified failure, and the examples compute what they
//! should.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use cleanroom_wasm::{Failure, Host, Limits, Module};

/// Four residents: two in 尖山区 (aged 85 and 65), one in 宝清县 (aged 72), one aged 30.
fn input() -> RecordBatch {
    let day = |y: i32| (y - 1970) * 365 + (y - 1969) / 4; // 1 January of year y
    RecordBatch::try_from_iter([
        (
            "district",
            Arc::new(StringArray::from(vec![
                "尖山区",
                "尖山区",
                "宝清县",
                "岭东区",
            ])) as ArrayRef,
        ),
        (
            "birth_date",
            Arc::new(Date32Array::from(vec![
                day(1940),
                day(1960),
                day(1953),
                day(1995),
            ])) as ArrayRef,
        ),
        (
            "pension_status",
            Arc::new(StringArray::from(vec![
                Some("退休"),
                None,
                Some("在职"),
                Some("在职"),
            ])) as ArrayRef,
        ),
        (
            "monthly_wage",
            Arc::new(Float64Array::from(vec![
                Some(3000.0),
                None,
                Some(2000.0),
                Some(8000.0),
            ])) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn contributions(key: &str, value: &str) -> Schema {
    Schema::new(vec![
        Field::new("row", DataType::UInt32, false),
        Field::new(key, DataType::Utf8, true),
        Field::new(value, DataType::Float64, true),
    ])
}

fn need() -> Schema {
    contributions("district", "need")
}

fn host(limits: Limits) -> Host {
    Host::new(limits).unwrap()
}

fn shared() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        host(Limits {
            memory_bytes: 64 << 20,
            max_stack: 256 << 10,
            max_output_bytes: 4 << 20,
            stdio_bytes: 16 << 10,
            ..Limits::default()
        })
    })
}

fn load(host: &Host, name: &str) -> Arc<Module> {
    host.load(&cleanroom_components::bytes(name).unwrap())
        .unwrap()
}

fn contribute(host: &Host, name: &str) -> Result<RecordBatch, Failure> {
    let module = load(host, name);
    host.instantiate(&module, 7)?.contribute(&input(), &need())
}

#[test]
fn the_elderly_need_index_scores_each_resident_aged_60_and_over() {
    let host = shared();
    let module = load(host, "elderly-need");
    let mut instance = host.instantiate(&module, 1).unwrap();
    let out = instance.contribute(&input(), &need()).unwrap();
    let rows = out
        .column(0)
        .as_any()
        .downcast_ref::<UInt32Array>()
        .unwrap();
    let districts = out
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let needs = out
        .column(2)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(
        rows.values().to_vec(),
        vec![0, 1, 2],
        "the 30-year-old contributes nothing"
    );
    assert_eq!(districts.value(0), "尖山区");
    assert_eq!(districts.value(2), "宝清县");
    // 85, retired, wage 3000: 0.5; 65, no pension, no wage: 0.1 + 0.3 + 0.2; 72, working, 2000:
    // 0.3 + 0.3 + 0.2.
    let expected = [0.5, 0.6, 0.8];
    for (i, e) in expected.iter().enumerate() {
        assert!(
            (needs.value(i) - e).abs() < 1e-9,
            "row {i}: {}",
            needs.value(i)
        );
    }
    let usage = instance.usage();
    assert_eq!(usage.calls, 1);
    assert!(usage.fuel > 0 && usage.peak_memory_bytes > 0, "{usage:?}");

    let aggregates = RecordBatch::try_from_iter([
        (
            "district",
            Arc::new(StringArray::from(vec!["尖山区", "宝清县"])) as ArrayRef,
        ),
        (
            "need_sum",
            Arc::new(Float64Array::from(vec![55.0, 80.0])) as ArrayRef,
        ),
        (
            "need_avg",
            Arc::new(Float64Array::from(vec![0.55, 0.8])) as ArrayRef,
        ),
        (
            "units",
            Arc::new(Int64Array::from(vec![100, 100])) as ArrayRef,
        ),
    ])
    .unwrap();
    let product_schema = Schema::new(vec![
        Field::new("district", DataType::Utf8, false),
        Field::new("need_index", DataType::Float64, false),
        Field::new("rank", DataType::Int64, false),
    ]);
    let product = instance.finalize(&aggregates, &product_schema).unwrap();
    let names = product
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let index = product
        .column(1)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!((names.value(0), index.value(0)), ("宝清县", 80.0));
    assert_eq!((names.value(1), index.value(1)), ("尖山区", 55.0));
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let host = host(Limits {
        fuel_per_call: 50_000_000,
        ..Limits::default()
    });
    assert_eq!(
        contribute(&host, "adv-spin").unwrap_err(),
        Failure::OutOfFuel(50_000_000)
    );
}

#[test]
fn an_infinite_loop_with_fuel_to_spare_meets_the_deadline() {
    let host = host(Limits {
        fuel_per_call: u64::MAX / 2,
        deadline: Duration::from_millis(300),
        ..Limits::default()
    });
    let module = load(&host, "adv-spin");
    let mut instance = host.instantiate(&module, 7).unwrap();
    let started = Instant::now();
    let failure = instance.contribute(&input(), &need()).unwrap_err();
    assert_eq!(failure, Failure::Deadline(300));
    // Bounded by the deadline plus the ticker's granularity, never by the loop.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn deep_recursion_overflows_the_stack_limit() {
    assert_eq!(
        contribute(shared(), "adv-recursion").unwrap_err(),
        Failure::StackOverflow(256 << 10)
    );
}

#[test]
fn memory_growth_stops_at_the_memory_limit() {
    assert_eq!(
        contribute(shared(), "adv-memory").unwrap_err(),
        Failure::MemoryLimit(64 << 20)
    );
}

#[test]
fn an_output_over_the_size_limit_is_refused() {
    let host = host(Limits {
        max_output_bytes: 4 << 20,
        ..Limits::default()
    });
    let failure = contribute(&host, "adv-huge-output").unwrap_err();
    assert_eq!(failure.class(), "output_limit", "{failure}");
    assert!(
        failure.to_string().contains("over the limit of 4194304"),
        "{failure}"
    );
}

#[test]
fn flooding_stdout_stops_at_the_stdio_cap() {
    assert_eq!(
        contribute(shared(), "adv-stdout-flood").unwrap_err(),
        Failure::StdioLimit(16 << 10)
    );
}

#[test]
fn a_panic_is_a_trap_whose_report_does_not_carry_the_panic_message() {
    let host = shared();
    let module = load(host, "adv-panic");
    let mut instance = host.instantiate(&module, 7).unwrap();
    let failure = instance.contribute(&input(), &need()).unwrap_err();
    assert_eq!(failure.class(), "trap", "{failure}");
    assert!(!failure.to_string().contains("尖山区"), "{failure}");
    // The message went to the captured stderr, which only a run on mock data shows.
    let (_, stderr) = instance.stdio();
    assert!(String::from_utf8_lossy(&stderr).contains("leaking 尖山区"));
}

fn guest_message(failure: Failure) -> String {
    match failure {
        Failure::Guest {
            kind: "failed",
            message: Some(m),
        } => m,
        other => panic!("expected a guest error, got {other:?}"),
    }
}

#[test]
fn the_file_system_is_empty() {
    let failure = contribute(shared(), "adv-wasi-file").unwrap_err();
    assert_eq!(guest_message(failure), "denied: 7");
}

#[test]
fn environment_arguments_working_directory_and_stdin_are_empty() {
    let failure = contribute(shared(), "adv-wasi-env").unwrap_err();
    assert_eq!(guest_message(failure), "nothing found");
}

#[test]
fn there_is_no_network() {
    let failure = contribute(shared(), "adv-wasi-socket").unwrap_err();
    assert_eq!(guest_message(failure), "no network");
}

#[test]
fn clocks_are_virtual_and_randomness_is_seeded() {
    let host = shared();
    let module = load(host, "adv-wasi-clock");
    let run = |seed| {
        let failure = host
            .instantiate(&module, seed)
            .unwrap()
            .contribute(&input(), &need())
            .unwrap_err();
        guest_message(failure)
    };
    let first = run(1);
    assert!(first.starts_with("wall=1767225600 "), "{first}");
    assert_eq!(
        run(1),
        first,
        "same seed, same clock readings and random bytes"
    );
    assert_ne!(run(2), first, "another seed, other random bytes");
}

#[test]
fn exiting_is_classified_with_its_status() {
    // wasi:cli/exit carries success or failure only: status 3 arrives as 1.
    assert_eq!(
        contribute(shared(), "adv-wasi-exit").unwrap_err(),
        Failure::Exit(1)
    );
}

#[test]
fn malformed_ipc_is_bad_output() {
    let host = shared();
    let module = load(host, "adv-bad-ipc");
    let mut instance = host.instantiate(&module, 7).unwrap();
    let failure = instance.contribute(&input(), &need()).unwrap_err();
    assert_eq!(failure.class(), "bad_output", "{failure}");
    let product = Schema::new(vec![Field::new("x", DataType::Utf8, true)]);
    let failure = instance.finalize(&input(), &product).unwrap_err();
    assert_eq!(
        failure,
        Failure::BadOutput("the output is not an Arrow IPC stream".into())
    );
}

#[test]
fn returning_the_raw_input_breaks_the_schema_contract() {
    let failure = contribute(shared(), "adv-wrong-schema").unwrap_err();
    assert_eq!(
        failure,
        Failure::Contract(
            "the output does not have the manifest's schema: column 1 should be `row` UInt32"
                .into()
        )
    );
}

#[test]
fn finalize_is_optional_and_reports_unsupported() {
    let host = shared();
    let module = load(host, "employment-stability");
    let mut instance = host.instantiate(&module, 7).unwrap();
    let failure = instance.finalize(&input(), &need()).unwrap_err();
    assert_eq!(
        failure,
        Failure::Guest {
            kind: "unsupported",
            message: None
        }
    );
}

#[test]
fn components_compile_once_per_content_and_bad_bytes_are_refused() {
    let host = shared();
    let bytes = cleanroom_components::bytes("employment-stability").unwrap();
    let a = host.load(&bytes).unwrap();
    let b = host.load(&bytes).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.digest().len(), 64);

    let mut corrupt = bytes.clone();
    corrupt.truncate(bytes.len() / 2);
    assert_eq!(
        host.load(&corrupt).err().map(|f| f.class()),
        Some("invalid")
    );
    // A core module is not a component.
    let core = b"\0asm\x01\0\0\0";
    assert_eq!(host.load(core).err().map(|f| f.class()), Some("invalid"));
    let small = Host::new(Limits {
        max_component_bytes: 1000,
        ..Limits::default()
    })
    .unwrap();
    assert_eq!(small.load(&bytes).err().map(|f| f.class()), Some("invalid"));
}

#[test]
fn instances_do_not_share_state() {
    let host = shared();
    let module = load(host, "elderly-need");
    let a = host
        .instantiate(&module, 1)
        .unwrap()
        .contribute(&input(), &need())
        .unwrap();
    let b = host
        .instantiate(&module, 1)
        .unwrap()
        .contribute(&input(), &need())
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.column(0).len(), 3);
}
