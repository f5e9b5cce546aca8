//! `cleanroom product verify`: a product file and its passport, checked offline against the
//! platform's public key.

use std::path::Path;

use anyhow::Context;
use cleanroom_store::log::read_verifier;

use crate::{EXIT_CHECK_FAILED, EXIT_OK, InvalidInput};

pub(crate) fn verify(product: &Path, passport: &Path, pubkey: Option<&Path>) -> anyhow::Result<u8> {
    let content =
        std::fs::read(product).with_context(|| format!("cannot read `{}`", product.display()))?;
    let text = std::fs::read_to_string(passport)
        .with_context(|| format!("cannot read `{}`", passport.display()))?;
    let (verifier, apart) = match pubkey {
        Some(p) => (
            read_verifier(p).map_err(|e| InvalidInput(e.to_string()))?,
            true,
        ),
        // Without a key held apart, the passport's own: this checks only that it agrees with
        // itself.
        None => {
            let named = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["key"].as_str().map(str::to_owned))
                .ok_or_else(|| InvalidInput("the passport names no key: pass --pubkey".into()))?;
            (
                cleanroom_tlog::Verifier::parse(&named).map_err(|e| InvalidInput(e.to_string()))?,
                false,
            )
        }
    };
    if !apart {
        println!(
            "note: checked against the key the passport names; pass --pubkey for an independent check"
        );
    }
    let checks = cleanroom_platform::verify_passport(&content, &text, &verifier);
    let mut ok = true;
    for c in &checks {
        match &c.outcome {
            Ok(m) => println!("ok      {:<16} {m}", c.what),
            Err(m) => {
                ok = false;
                println!("FAILED  {:<16} {m}", c.what);
            }
        }
    }
    println!(
        "{}",
        if ok {
            "OK: the product is the one the platform approved, as its passport states"
        } else {
            "FAILED: see above"
        }
    );
    Ok(if ok { EXIT_OK } else { EXIT_CHECK_FAILED })
}
