//! `sandbox/cleanroom.toml`: where the server listens, where its state, data and policies
//! are, and its limits. Every field has a default; `CLEANROOM_ADDRESS`, `CLEANROOM_STATE`,
//! `CLEANROOM_DATA` and `CLEANROOM_POLICIES` override the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub address: SocketAddr,
    pub state: PathBuf,
    pub data: PathBuf,
    pub policies: PathBuf,
    pub limits: Limits,
    pub log: LogConfig,
    /// The attack battery run on every product awaiting review: `fast` (default), `full` or
    /// `off`. Reviews wait for it.
    pub battery: cleanroom_platform::BatteryProfile,
    /// Mark the console's cookies `Secure`: set it when the console is reached over TLS (a
    /// terminating proxy in front; this server speaks plain HTTP).
    pub secure_cookies: bool,
}

/// The audit log's signing (DESIGN.md §6).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// The origin line of every checkpoint and the key's name: names this platform. Fixed by
    /// the first start.
    pub origin: String,
    /// A checkpoint is signed at least every this many records ...
    pub checkpoint_every: u64,
    /// ... and every this many seconds when records came in; and on shutdown.
    pub checkpoint_seconds: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        let defaults = cleanroom_store::LogOptions::default();
        LogConfig {
            origin: defaults.origin,
            checkpoint_every: defaults.every,
            checkpoint_seconds: 10,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes a request body may have (a WASM job's component and manifest included).
    pub body_bytes: usize,
    /// Milliseconds a request may take (job execution is not part of it: jobs are queued).
    pub request_timeout_ms: u64,
    /// Requests in progress at once; more are refused with 503.
    pub concurrency: usize,
    /// Requests per second per token, and the burst above it; more are refused with 429.
    pub rate_per_second: f64,
    pub rate_burst: u32,
    /// Jobs that may wait, and jobs that run at once.
    pub queue_capacity: usize,
    pub workers: usize,
    /// No request log lines (for load tests).
    pub quiet: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: cleanroom_platform::MAX_COMPONENT_BYTES
                + cleanroom_platform::MAX_MANIFEST_BYTES
                + (64 << 10),
            request_timeout_ms: 30_000,
            concurrency: 256,
            rate_per_second: 20.0,
            rate_burst: 100,
            queue_capacity: 1_000,
            workers: 2,
            quiet: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            address: SocketAddr::from(([127, 0, 0, 1], 8640)),
            state: "sandbox/state".into(),
            data: "sandbox/data".into(),
            policies: "policies".into(),
            limits: Limits::default(),
            log: LogConfig::default(),
            battery: cleanroom_platform::BatteryProfile::default(),
            secure_cookies: false,
        }
    }
}

impl Config {
    /// Reads `path` if given (an absent default file is not an error), then applies the
    /// environment's overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("cannot read `{}`: {}", p.display(), e.kind()))?;
                toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("`{}`: {}", p.display(), e.message()))?
            }
            None => Config::default(),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(a) = env("CLEANROOM_ADDRESS") {
            config.address = a.parse().map_err(|_| {
                anyhow::anyhow!("CLEANROOM_ADDRESS is not an address: use host:port")
            })?;
        }
        if let Some(v) = env("CLEANROOM_STATE") {
            config.state = v.into();
        }
        if let Some(v) = env("CLEANROOM_DATA") {
            config.data = v.into();
        }
        if let Some(v) = env("CLEANROOM_POLICIES") {
            config.policies = v.into();
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn the_shipped_file_states_every_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sandbox/cleanroom.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let file: Config = toml::from_str(&text).unwrap();
        let default = Config::default();
        assert_eq!(file.address, default.address);
        assert_eq!(file.battery, default.battery);
        assert_eq!(file.battery, cleanroom_platform::BatteryProfile::Fast);
        assert_eq!(file.secure_cookies, default.secure_cookies);
        assert_eq!(file.limits.workers, default.limits.workers);
        assert_eq!(file.limits.body_bytes, default.limits.body_bytes);
        let off: Config = toml::from_str("battery = \"off\"").unwrap();
        assert_eq!(off.battery.profile(), None);
        assert!(toml::from_str::<Config>("battery = \"sometimes\"").is_err());
    }
}
