//! The developer's loop through the real binary: mock data from the catalog, `wasm test` on
//! real components, and `wasm new` scaffolding a crate that builds and passes as it is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cleanroom(args: &[&str], state: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cleanroom"))
        .args(args)
        .arg("--policies")
        .arg(root().join("policies"))
        .arg("--state")
        .arg(state)
        .current_dir(state)
        .output()
        .unwrap()
}

/// Mock data shared by the tests of this binary.
fn mock() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mock-{}", std::process::id()));
        let out = cleanroom(
            &[
                "mock",
                "generate",
                "--rows",
                "5000",
                "--out",
                dir.to_str().unwrap(),
            ],
            Path::new(env!("CARGO_TARGET_TMPDIR")),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn mock_data_has_the_catalogs_schemas_and_valid_looking_identifiers() {
    let policies = cleanroom_policy::Policies::load(&root().join("policies")).unwrap();
    for ds in policies.catalog.values() {
        let file = std::fs::File::open(mock().join(format!("{}.parquet", ds.id))).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let names: Vec<String> = reader
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let expected: Vec<String> = ds.columns.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, expected, "{}", ds.id);
        let batch = reader.build().unwrap().next().unwrap().unwrap();
        assert!(batch.num_rows() > 0);
        if let Some(ids) = batch.column_by_name("citizen_id") {
            let ids = datafusion::arrow::array::AsArray::as_string::<i32>(ids.as_ref());
            assert!(
                ids.iter()
                    .flatten()
                    .all(cleanroom_policy::ident::is_citizen_id)
            );
        }
    }
}

#[test]
fn wasm_test_runs_a_component_end_to_end_on_mock_data() {
    let state = tempfile::tempdir().unwrap();
    let out = cleanroom(
        &[
            "wasm",
            "test",
            cleanroom_components::path("elderly-need").unwrap(),
            "--job",
            root()
                .join("sandbox/modules/elderly-need/job.toml")
                .to_str()
                .unwrap(),
            "--mock",
            mock().to_str().unwrap(),
        ],
        state.path(),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("decision: allowed"), "{stdout}");
    assert!(
        stdout.contains("| district | need_index | rank |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fuel used: ") && stdout.contains("component sha256:"),
        "{stdout}"
    );
}

#[test]
fn wasm_test_reports_a_failing_component_with_its_class_and_exit_code_4() {
    let state = tempfile::tempdir().unwrap();
    let job = state.path().join("job.toml");
    let manifest = std::fs::read_to_string(root().join("sandbox/modules/elderly-need/job.toml"))
        .unwrap()
        .replace(
            "fuel_per_call = 1_000_000_000",
            "fuel_per_call = 20_000_000",
        );
    std::fs::write(&job, manifest).unwrap();
    let run = |component: &str| {
        cleanroom(
            &[
                "wasm",
                "test",
                cleanroom_components::path(component).unwrap(),
                "--job",
                job.to_str().unwrap(),
                "--mock",
                mock().to_str().unwrap(),
            ],
            state.path(),
        )
    };
    let out = run("adv-spin");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("component failed (out_of_fuel)"),
        "{stderr}"
    );
    // On mock data the guest's own message is shown.
    let out = run("adv-wasi-file");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("the component said: denied: 7"), "{stderr}");
}

#[test]
fn wasm_test_refuses_missing_files_as_invalid_input() {
    let state = tempfile::tempdir().unwrap();
    let out = cleanroom(
        &[
            "wasm",
            "test",
            "nope.wasm",
            "--job",
            "nope.toml",
            "--mock",
            mock().to_str().unwrap(),
        ],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains("cannot read the component `nope.wasm`")
    );
}

#[test]
fn wasm_new_scaffolds_a_crate_that_builds_and_passes_wasm_test() {
    let state = tempfile::tempdir().unwrap();
    let out = cleanroom(&["wasm", "new", "my-index"], state.path());
    assert!(out.status.success(), "{}", text(&out).1);
    let crate_dir = state.path().join("my-index");
    for file in ["Cargo.toml", "Cargo.lock", "src/lib.rs", "job.toml"] {
        assert!(crate_dir.join(file).is_file(), "{file}");
    }
    // Build it as a developer would, sharing the target directory of the SDK's own components
    // so that the dependencies are not compiled twice.
    let target = Path::new(cleanroom_components::path("elderly-need").unwrap())
        .ancestors()
        .nth(3)
        .unwrap()
        .to_path_buf();
    let build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .current_dir(&crate_dir)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let wasm = target.join("wasm32-wasip2/release/my_index.wasm");
    let out = cleanroom(
        &[
            "wasm",
            "test",
            wasm.to_str().unwrap(),
            "--job",
            crate_dir.join("job.toml").to_str().unwrap(),
            "--mock",
            mock().to_str().unwrap(),
        ],
        state.path(),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("aged_65_plus_avg"), "{stdout}");

    let again = cleanroom(&["wasm", "new", "my-index"], state.path());
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing directory is not overwritten"
    );
    let bad = cleanroom(&["wasm", "new", "My Index"], state.path());
    assert_eq!(bad.status.code(), Some(2));
}
