//! `cleanroom demo`: generates the demo data if absent and walks through the demo scenarios.

use cleanroom_engine::JobRequest;

use crate::output::{print_query, report_text};
use crate::{EXIT_OK, Format, Home, engine, runtime, today};

/// One step of the tour.
pub(crate) struct Step {
    pub title: &'static str,
    pub licence: &'static str,
    pub scenario: &'static str,
    pub sql: &'static str,
}

const ELDER: &str = "LIC-ELDER-2026";
const ELDER_S: &str = "elderly-care-planning";
const BIZ: &str = "LIC-BIZ-2026";
const BIZ_S: &str = "enterprise-employment";

/// The analyses an operator runs and the attempts the sandbox blocks.
pub(crate) const STEPS: &[Step] = &[
    Step {
        title: "Elderly care planning: residents aged 65 and over, per district",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT district, count(*) AS residents_65_plus FROM residents WHERE birth_date <= DATE '1961-06-30' GROUP BY district ORDER BY residents_65_plus DESC",
    },
    Step {
        title: "Elderly care planning: widowed residents by age band and district (a fine cross-tabulation: small cells are suppressed)",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT district, floor((2026 - date_part('year', birth_date)) / 5) * 5 AS age_band, count(*) AS widowed FROM residents WHERE marital_status = '丧偶' GROUP BY district, age_band ORDER BY district, age_band",
    },
    Step {
        title: "Elderly care planning: retirees and their average last wage per district (join on the citizen ID)",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT r.district, count(DISTINCT r.citizen_id) AS retirees, round(avg(s.monthly_wage), 0) AS avg_monthly_wage FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id WHERE s.pension_status = '退休' GROUP BY r.district ORDER BY retirees DESC",
    },
    Step {
        title: "Enterprise employment: insured workers and average wage per industry",
        licence: BIZ,
        scenario: BIZ_S,
        sql: "SELECT e.industry, count(DISTINCT s.citizen_id) AS insured_workers, round(avg(s.monthly_wage), 0) AS avg_monthly_wage FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc GROUP BY e.industry ORDER BY insured_workers DESC",
    },
    Step {
        title: "Enterprise employment: registered capital per district and industry (cells dominated by a few giants are suppressed)",
        licence: BIZ,
        scenario: BIZ_S,
        sql: "SELECT district, industry, count(*) AS enterprises, sum(registered_capital) AS capital FROM enterprises GROUP BY district, industry ORDER BY district, industry",
    },
    Step {
        title: "Blocked: hashes of citizen IDs (reversible by enumeration)",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT md5(citizen_id) AS token, district FROM residents",
    },
    Step {
        title: "Blocked: looking up one person",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT name, phone, birth_date FROM residents WHERE citizen_id = '230502195803120014'",
    },
    Step {
        title: "Blocked: the highest wage per district (MAX returns one person's wage)",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT r.district, max(s.monthly_wage) AS top_wage FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id GROUP BY r.district",
    },
    Step {
        title: "Suppressed: a cross-tabulation down to single persons (birth date, gender, district, hukou type): every cell below k is withheld",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT birth_date, gender, district, hukou_type, count(*) AS n FROM residents GROUP BY birth_date, gender, district, hukou_type",
    },
    Step {
        title: "Blocked: a dataset outside the licence (real estate is licensed to nobody)",
        licence: ELDER,
        scenario: ELDER_S,
        sql: "SELECT district, count(*) FROM real_estate GROUP BY district",
    },
    Step {
        title: "Blocked: an expired licence",
        licence: "LIC-OLD-2024",
        scenario: ELDER_S,
        sql: "SELECT district, count(*) FROM residents GROUP BY district",
    },
];

pub(crate) fn tour(home: &Home, rows: u64) -> anyhow::Result<u8> {
    let generated = cleanroom_demo::ensure(&home.data, rows, cleanroom_demo::DEFAULT_SEED, true)?;
    if generated {
        println!(
            "generated demo data ({rows} residents) in `{}`\n",
            home.data.display()
        );
    } else {
        println!("using demo data in `{}`\n", home.data.display());
    }
    let engine = engine(home)?;
    let rt = runtime()?;
    for (i, step) in STEPS.iter().enumerate() {
        println!("━━ {}. {}", i + 1, step.title);
        println!("   licence {} · scenario {}", step.licence, step.scenario);
        println!("   {}\n", step.sql);
        let req = JobRequest {
            licence: step.licence.into(),
            scenario: step.scenario.into(),
            sql: step.sql.into(),
            today: today(),
        };
        match rt.block_on(engine.run(&req)) {
            Ok(report) => {
                if report.is_allowed() && !report.interactive {
                    // The tour plays the reviewer for the non-interactive licence: the checked
                    // rows are what a reviewer sees before approving.
                    println!(
                        "(reviewer's view: the operator sees only the report until the product is approved)"
                    );
                    let mut shown = report.clone();
                    shown.interactive = true;
                    print_query(&shown, Format::Table)?;
                } else {
                    print_query(&report, Format::Table)?;
                }
            }
            Err(e) => {
                println!("error: {e}");
                let _ = report_text;
            }
        }
        println!();
    }
    wasm_step(&engine, &rt)?;
    Ok(EXIT_OK)
}

/// The last step: a WebAssembly component over the same data, under the same checks.
fn wasm_step(
    engine: &cleanroom_engine::Engine,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let manifest = include_str!("../../../sandbox/modules/elderly-need/job.toml");
    println!(
        "━━ {}. WASM: an elderly-care need index per district, computed by a component (sandbox/modules/elderly-need)",
        STEPS.len() + 1
    );
    println!("   licence {ELDER} · scenario {ELDER_S}");
    println!(
        "   the component scores each resident aged 60+; the host keeps who is who, aggregates per district, applies k, dominance, DLP and echo; finalize turns the checked averages into an index\n"
    );
    let component = cleanroom_components::example("elderly-need")
        .ok_or_else(|| anyhow::anyhow!("the example component was not built"))?;
    let host = cleanroom_wasm::Host::new(cleanroom_wasm::Limits::default())?;
    let job = cleanroom_engine::WasmJob {
        manifest: cleanroom_engine::Manifest::parse(manifest)?,
        component: component.to_vec(),
        today: today(),
        seed: 1,
    };
    match rt.block_on(engine.run_wasm(&host, &job)) {
        Ok(r) => {
            println!(
                "   component sha256:{} · {} input rows · {} contributions · fuel {} · peak memory {:.1} MiB",
                r.component,
                r.input_rows,
                r.contributions,
                r.fuel,
                r.peak_memory_bytes as f64 / f64::from(1 << 20)
            );
            print_query(&r.report, Format::Table)?;
        }
        Err(e) => println!("error: {e}"),
    }
    println!();
    Ok(())
}
