//! Builds every component of `sandbox/modules` for wasm32-wasip2 with a nested cargo, into a
//! target directory of its own, and writes their paths into `components.rs`. A fresh machine
//! needs only the `wasm32-wasip2` target (rust-toolchain.toml lists it).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    if let Err(error) = build() {
        println!("cargo::error={error}");
    }
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .ok_or("no workspace root")?
        .to_path_buf();
    let sandbox = root.join("sandbox");
    for watched in ["Cargo.toml", "Cargo.lock", "wit", "sdk", "modules"] {
        println!(
            "cargo::rerun-if-changed={}",
            sandbox.join(watched).display()
        );
    }
    let target_dir = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("sandbox"),
        None => root.join("target").join("sandbox"),
    };
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&sandbox)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The host build's flags and settings are not the guests'.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo for the guest components: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the guest components in {} failed ({status}); is the wasm32-wasip2 target installed? (`rustup target add wasm32-wasip2`)",
            sandbox.display()
        ));
    }
    let out = target_dir.join("wasm32-wasip2").join("release");
    let mut names = Vec::new();
    let modules = std::fs::read_dir(sandbox.join("modules")).map_err(|e| e.to_string())?;
    for entry in modules {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().join("Cargo.toml").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut code = String::from(
        "/// Every component: its crate name and the path of its `.wasm`.\npub const ALL: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        let file = out.join(format!("{}.wasm", name.replace('-', "_")));
        if !file.is_file() {
            return Err(format!("{} was not built", file.display()));
        }
        writeln!(code, "    ({name:?}, {:?}),", file.display().to_string())
            .map_err(|e| e.to_string())?;
    }
    code.push_str("];\n\n");
    // The example components (not the adversarial ones) are embedded, for `cleanroom demo`.
    code.push_str("/// An example component's bytes, embedded at build time.\npub fn example(name: &str) -> Option<&'static [u8]> {\n    match name {\n");
    for name in names.iter().filter(|n| !n.starts_with("adv-")) {
        let file = out.join(format!("{}.wasm", name.replace('-', "_")));
        writeln!(
            code,
            "        {name:?} => Some(include_bytes!({:?})),",
            file.display().to_string()
        )
        .map_err(|e| e.to_string())?;
    }
    code.push_str("        _ => None,\n    }\n}\n");
    let dest = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?).join("components.rs");
    std::fs::write(dest, code).map_err(|e| e.to_string())
}
