//! Reads the wall clock, times a loop with the monotonic clock and draws random bytes; reports
//! them in its error so the test can check they are virtual and seeded.
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cleanroom_guest::{Analytics, Error, RecordBatch};

struct WasiClock;

impl Analytics for WasiClock {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let start = Instant::now();
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        let elapsed = start.elapsed().as_nanos();
        let mut random = [0u8; 8];
        let _ = std::hint::black_box(x);
        random_bytes(&mut random);
        Err(Error::Failed(format!(
            "wall={wall} elapsed_ns={elapsed} random={}",
            u64::from_le_bytes(random)
        )))
    }
}

fn random_bytes(buf: &mut [u8]) {
    // std's HashMap keys come from WASI's random source.
    use std::hash::{BuildHasher as _, RandomState};
    let value = RandomState::new().hash_one(0u8);
    buf.copy_from_slice(&value.to_le_bytes()[..buf.len()]);
}

cleanroom_guest::export!(WasiClock);
