//! The example and adversarial components of `sandbox/modules`, built from source for
//! wasm32-wasip2 by this crate's build script.

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// The path of a component's `.wasm` by its crate name (`elderly-need`, `adv-spin` ...).
pub fn path(name: &str) -> Option<&'static str> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

/// A component's bytes by its crate name.
pub fn bytes(name: &str) -> std::io::Result<Vec<u8>> {
    let path = path(name).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, format!("no component {name}"))
    })?;
    std::fs::read(path)
}
