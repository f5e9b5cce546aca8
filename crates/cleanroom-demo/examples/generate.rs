//! Generates the demo datasets: `generate [ROWS] [OUT_DIR] [SEED]`, with a progress bar.
//!
//! Used to measure time and peak memory at scale, e.g.
//! `/usr/bin/time -v target/release/examples/generate 2000000 /tmp/demo-data`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows = match args.next() {
        Some(s) => s.parse()?,
        None => cleanroom_demo::DEFAULT_ROWS,
    };
    let out_dir = args
        .next()
        .map_or_else(|| PathBuf::from("sandbox/data"), PathBuf::from);
    let seed = match args.next() {
        Some(s) => s.parse()?,
        None => cleanroom_demo::DEFAULT_SEED,
    };
    let summary = cleanroom_demo::generate(&cleanroom_demo::GenerateOptions {
        rows,
        seed,
        out_dir,
        progress: true,
    })?;
    println!(
        "residents {} social_insurance {} enterprises {} real_estate {}",
        summary.residents, summary.social_insurance, summary.enterprises, summary.real_estate
    );
    for f in &summary.files {
        println!("{}", f.display());
    }
    Ok(())
}
