//! `cleanroom demo`: generates the demo data if absent and walks through the demo scenarios.

use cleanroom_platform::Role;
use cleanroom_server::client::{Client, Response};

use crate::{EXIT_OK, Home, runtime};

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

/// The demo's operators, reviewers and admin.
const ACME: &str = "acme-analytics";
const NORTH: &str = "northstar-data";

/// `cleanroom demo`: the whole story over HTTP. Starts the server on a loopback port with a
/// fresh state, issues tokens, lets the operators run allowed and blocked SQL and a WASM job,
/// asks for a product, has two reviewers approve it and the operator download it. Each request
/// is printed with its curl equivalent.
pub(crate) fn tour(home: &Home, rows: u64, serve: bool) -> anyhow::Result<u8> {
    let generated = cleanroom_demo::ensure(&home.data, rows, cleanroom_demo::DEFAULT_SEED, true)?;
    if generated {
        println!(
            "generated demo data ({rows} residents) in `{}`",
            home.data.display()
        );
    } else {
        println!("using demo data in `{}`", home.data.display());
    }
    std::fs::create_dir_all(&home.state)?;
    let state = tempfile_dir(&home.state)?;
    let config = cleanroom_server::Config {
        address: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        state: state.clone(),
        data: home.data.clone(),
        policies: home.policies.clone(),
        limits: cleanroom_server::Limits {
            quiet: true,
            ..cleanroom_server::Limits::default()
        },
        log: cleanroom_server::LogConfig::default(),
        battery: cleanroom_platform::BatteryProfile::Fast,
        secure_cookies: false,
    };
    let rt = runtime()?;
    let server = rt.block_on(cleanroom_server::Running::start(&config))?;
    let addr = server.addr;
    println!("server: http://{addr} (state in `{}`)\n", state.display());
    let platform = server.app.platform.clone();
    let issue = |role: Role, who: &str| platform.issue_token("demo", role, who);
    let (acme, north) = (issue(Role::Operator, ACME)?, issue(Role::Operator, NORTH)?);
    let (rev1, rev2) = (
        issue(Role::Reviewer, "rev-1")?,
        issue(Role::Reviewer, "rev-2")?,
    );
    let admin = issue(Role::Admin, "bureau-admin")?;
    println!(
        "tokens issued (as `cleanroom token issue --role R --principal P` would): operators {ACME} and {NORTH}, reviewers rev-1 and rev-2, admin bureau-admin\n"
    );
    let tokens = Tokens {
        acme: acme.clone(),
        north: north.clone(),
        rev1: rev1.clone(),
        rev2: rev2.clone(),
        admin: admin.clone(),
        auditor: if serve {
            issue(Role::Auditor, "bureau-auditor")?
        } else {
            String::new()
        },
    };
    let story = rt.block_on(async {
        tokio::task::spawn_blocking(move || walk(addr, &acme, &north, &rev1, &rev2, &admin)).await
    });
    if serve && matches!(story, Ok(Ok(_))) {
        rt.block_on(async {
            tokio::task::spawn_blocking(move || console_tour(addr, &tokens)).await
        })??;
        rt.block_on(cleanroom_server::shutdown_signal());
    }
    rt.block_on(server.stop())?;
    let checked = story
        .map_err(anyhow::Error::from)
        .and_then(|s| s)
        .and_then(|released| verify_records(&state, &released));
    let _ = std::fs::remove_dir_all(&state);
    checked?;
    Ok(EXIT_OK)
}

/// The demo's tokens, one per principal.
struct Tokens {
    acme: String,
    north: String,
    rev1: String,
    rev2: String,
    admin: String,
    auditor: String,
}

/// `demo --serve`: the operator asks for one more product, left waiting for review, and the
/// console's address and a token per role are printed.
fn console_tour(addr: std::net::SocketAddr, t: &Tokens) -> anyhow::Result<()> {
    let c = Client::new(addr).with_token(&t.acme);
    let step = &STEPS[0];
    let body =
        serde_json::json!({ "licence": step.licence, "scenario": step.scenario, "sql": step.sql });
    let r = c.post_json("/v1/jobs", &body)?;
    check(&r, &[202])?;
    let id = r.json()["id"].as_str().unwrap_or("").to_owned();
    wait(&c, &id)?;
    let body = serde_json::json!({ "job": id, "name": "Residents aged 65+ per district (second edition)", "description": "Waiting for review in the console." });
    let r = c.post_json("/v1/products", &body)?;
    check(&r, &[201])?;
    let product = r.json()["id"].as_str().unwrap_or("").to_owned();
    println!("\n━━ The reviewer console: http://{addr}/console");
    println!("   {product} is waiting for review. Sign in with one of these tokens:");
    for (role, who, token) in [
        ("reviewer", "rev-1", &t.rev1),
        ("reviewer", "rev-2", &t.rev2),
        ("admin", "bureau-admin", &t.admin),
        ("auditor", "bureau-auditor", &t.auditor),
        ("operator", ACME, &t.acme),
        ("operator", NORTH, &t.north),
    ] {
        println!("   {role:<9} {who:<15} {token}");
    }
    println!("   (Ctrl-C stops the server; the audit log is then verified as without --serve)");
    Ok(())
}

/// A fresh directory for the demo's state under `parent`.
fn tempfile_dir(parent: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let mut nonce = [0u8; 6];
    getrandom::fill(&mut nonce).map_err(|_| anyhow::anyhow!("no random source"))?;
    let name: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let dir = parent.join(format!("demo-{name}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn curl(method: &str, path: &str, token: &str, body: Option<&str>) {
    let t = format!("$TOKEN_{}", token);
    match body {
        Some(b) => println!(
            "   $ curl -s -X {method} http://$HOST{path} -H \"Authorization: Bearer {t}\" -H 'Content-Type: application/json' -d '{}'",
            b.replace('\'', "'\\''")
        ),
        None => println!("   $ curl -s http://$HOST{path} -H \"Authorization: Bearer {t}\""),
    }
}

fn check(r: &Response, expected: &[u16]) -> anyhow::Result<()> {
    if expected.contains(&r.status) {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "unexpected HTTP {}: {}",
            r.status,
            r.text()
        ))
    }
}

/// Waits for a job to finish; returns its view.
fn wait(c: &Client, id: &str) -> anyhow::Result<serde_json::Value> {
    for _ in 0..3_000 {
        let r = c.get(&format!("/v1/jobs/{id}"))?;
        check(&r, &[200])?;
        let v = r.json();
        if !["queued", "running"].contains(&v["status"].as_str().unwrap_or("")) {
            return Ok(v);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(anyhow::anyhow!("{id} did not finish in 150 s"))
}

/// Waits for a product's attack battery (reviews wait for it), showing its progress, then prints
/// what each attack achieved against its baseline.
fn wait_battery(c: &Client, product: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut shown = 0;
    loop {
        let r = c.get(&format!("/v1/products/{product}"))?;
        check(&r, &[200])?;
        let battery = r.json()["battery"].clone();
        if battery.is_null() {
            println!("   (no attack battery on this server)");
            return Ok(());
        }
        let status = battery["status"].as_str().unwrap_or("").to_owned();
        if status != "pending" {
            println!("   attack battery: {status}");
            let report = &battery["report"];
            for o in report["outcomes"].as_array().into_iter().flatten() {
                let (success, baseline) = (
                    o["success"].as_f64().unwrap_or(0.0),
                    o["baseline"].as_f64().unwrap_or(0.0),
                );
                let figures = if o["metric"] == "rmse" {
                    format!("rmse {success:.2} vs one answer's {baseline:.2}")
                } else {
                    format!(
                        "{:.1} % right vs guessing {:.1} %",
                        success * 100.0,
                        baseline * 100.0
                    )
                };
                println!(
                    "     {:<30} {figures}  ({} queries, {} refused)",
                    o["attack"].as_str().unwrap_or(""),
                    o["queries"],
                    o["refused"],
                );
            }
            if let Some(e) = report["error"].as_str() {
                println!("     {e}");
            }
            return Ok(());
        }
        let secs = started.elapsed().as_secs();
        if secs >= 600 {
            return Err(anyhow::anyhow!(
                "the attack battery of {product} did not finish in 600 s"
            ));
        }
        if secs >= shown {
            println!("   attack battery running against the policy in force… {secs} s");
            shown = secs + 10;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn print_report(job: &serde_json::Value) {
    let report = &job["report"];
    println!(
        "   → {} · status {} · decision {}",
        job["id"].as_str().unwrap_or(""),
        job["status"].as_str().unwrap_or(""),
        job["decision"].as_str().unwrap_or("-")
    );
    for v in report["violations"].as_array().into_iter().flatten() {
        println!(
            "     ✗ {}  [{}]",
            v["rule"].as_str().unwrap_or(""),
            v["target"].as_str().unwrap_or("")
        );
        println!("       {}", v["reason"].as_str().unwrap_or(""));
        if let Some(s) = v["suggestion"].as_str() {
            println!("       suggestion: {s}");
        }
    }
    if let Some(n) = report["suppressed_groups"].as_u64().filter(|n| *n > 0) {
        println!(
            "     suppressed groups: {n} (below k={} or the noisy threshold, or dominated)",
            report["k"]
        );
    }
    if let Some(eps) = report["epsilon"].as_f64() {
        let left: Vec<String> = report["budget"]["datasets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                format!(
                    "{} {:.1}",
                    d["dataset"].as_str().unwrap_or(""),
                    d["left"].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        println!(
            "     differential privacy: ε = {eps} spent (charged {}), noisy threshold {}; ε left: {}",
            report["budget"]["charged"],
            report["dp"]["threshold"],
            left.join(", ")
        );
    }
    if let Some(e) = report["error"].as_str() {
        println!("     error: {e}");
    }
}

/// Prints a result fetched as Arrow IPC as a table.
fn print_result(c: &Client, id: &str, token: &str) -> anyhow::Result<()> {
    let path = format!("/v1/jobs/{id}/result");
    curl("GET", &path, token, None);
    let r = c.get_as(&path, cleanroom_server::formats::ARROW)?;
    if r.status != 200 {
        println!(
            "   → HTTP {}: {}",
            r.status,
            r.json()["error"]["message"].as_str().unwrap_or("")
        );
        return Ok(());
    }
    if r.body.is_empty() {
        println!("   (no rows)");
        return Ok(());
    }
    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(r.body.as_slice(), None)?;
    let batches: Vec<_> = reader.collect::<Result<_, _>>()?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows == 0 {
        println!("   (no rows: every group was suppressed)");
        return Ok(());
    }
    let shown: Vec<_> = batches
        .iter()
        .map(|b| b.slice(0, b.num_rows().min(12)))
        .take(1)
        .collect();
    println!(
        "{}",
        datafusion::arrow::util::pretty::pretty_format_batches(&shown)?
    );
    if rows > 12 {
        println!("   ({rows} rows; first 12 shown)");
    }
    Ok(())
}

fn walk(
    addr: std::net::SocketAddr,
    acme: &str,
    north: &str,
    rev1: &str,
    rev2: &str,
    admin: &str,
) -> anyhow::Result<Released> {
    let base = Client::new(addr);
    let ops = [
        (ACME, base.with_token(acme), "ACME"),
        (NORTH, base.with_token(north), "NORTHSTAR"),
    ];
    let mut product_job = None;
    for (i, step) in STEPS.iter().enumerate() {
        println!("━━ {}. {}", i + 1, step.title);
        let holder = if step.licence == BIZ { 1 } else { 0 };
        let (who, c, var) = &ops[holder];
        println!(
            "   {who} · licence {} · scenario {}",
            step.licence, step.scenario
        );
        let body = serde_json::json!({ "licence": step.licence, "scenario": step.scenario, "sql": step.sql });
        curl("POST", "/v1/jobs", var, Some(&body.to_string()));
        let r = c.post_json("/v1/jobs", &body)?;
        check(&r, &[202, 403])?;
        if r.status == 403 {
            let e = &r.json()["error"];
            println!(
                "   → HTTP 403 {}: {}",
                e["code"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            );
            for v in e["violations"].as_array().into_iter().flatten() {
                println!(
                    "     ✗ {}  {}",
                    v["rule"].as_str().unwrap_or(""),
                    v["reason"].as_str().unwrap_or("")
                );
            }
            println!();
            continue;
        }
        let id = r.json()["id"].as_str().unwrap_or("").to_owned();
        let job = wait(c, &id)?;
        print_report(&job);
        if job["status"] == "succeeded" {
            if job["report"]["interactive"] == true {
                print_result(c, &id, var)?;
                if product_job.is_none() {
                    product_job = Some(id.clone());
                }
            } else {
                println!(
                    "   (licence not interactive: the result stays in the sandbox until a product is approved)"
                );
            }
        }
        println!();
    }

    // Art. 75: five blocked jobs within a day suspend a licence for review; the bureau's
    // admin looks and resumes it with a reason.
    let admin = base.with_token(admin);
    let licences = admin.get("/v1/admin/licences")?;
    check(&licences, &[200])?;
    let suspended = licences.json()["licences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|l| l["id"] == ELDER && l["state"]["suspended"] == true);
    if suspended {
        println!(
            "━━ {ELDER} was suspended for review after five blocked jobs within a day (art. 75); the admin resumes it"
        );
        let body =
            serde_json::json!({ "reason": "reviewed the blocked attempts with the operator" });
        let path = format!("/v1/admin/licences/{ELDER}/resume");
        curl("POST", &path, "ADMIN", Some(&body.to_string()));
        check(&admin.post_json(&path, &body)?, &[200])?;
        println!();
    }

    println!(
        "━━ {}. WASM: an elderly-care need index per district, computed by a component (sandbox/modules/elderly-need)",
        STEPS.len() + 1
    );
    let manifest = include_str!("../../../sandbox/modules/elderly-need/job.toml");
    let component = cleanroom_components::example("elderly-need")
        .ok_or_else(|| anyhow::anyhow!("the example component was not built"))?;
    println!(
        "   $ curl -s -X POST http://$HOST/v1/jobs -H \"Authorization: Bearer $TOKEN_ACME\" -F manifest=@job.toml -F component=@elderly_need.wasm"
    );
    let c = &ops[0].1;
    let r = c.post_multipart(
        "/v1/jobs",
        &[("manifest", manifest.as_bytes()), ("component", component)],
    )?;
    check(&r, &[202])?;
    let id = r.json()["id"].as_str().unwrap_or("").to_owned();
    let job = wait(c, &id)?;
    print_report(&job);
    if job["status"] == "succeeded" {
        print_result(c, &id, "ACME")?;
    }
    println!();

    let Some(job) = product_job else {
        return Err(anyhow::anyhow!("no job succeeded to become a product"));
    };
    println!(
        "━━ {}. A product: {ACME} asks to release {job}; two reviewers approve (social insurance is important-grade data)",
        STEPS.len() + 2
    );
    let body = serde_json::json!({ "job": job, "name": "Residents aged 65+ per district", "description": "Counts of residents aged 65 and over per district, for elderly-care planning." });
    curl("POST", "/v1/products", "ACME", Some(&body.to_string()));
    let r = c.post_json("/v1/products", &body)?;
    check(&r, &[201])?;
    let product = r.json()["id"].as_str().unwrap_or("").to_owned();
    println!("   → {product} pending");
    wait_battery(&base.with_token(rev1), &product)?;
    for (token, var, reviewer) in [(rev1, "REV1", "rev-1"), (rev2, "REV2", "rev-2")] {
        let rc = base.with_token(token);
        let q = rc.get("/v1/review/queue")?;
        check(&q, &[200])?;
        println!(
            "   {reviewer}'s queue: {} product(s) waiting",
            q.json()["products"].as_array().map_or(0, Vec::len)
        );
        let body = serde_json::json!({ "approve": true, "reason": "Counts per district with k respected; no identifiers." });
        let path = format!("/v1/products/{product}/reviews");
        curl("POST", &path, var, Some(&body.to_string()));
        let r = rc.post_json(&path, &body)?;
        check(&r, &[200])?;
        let v = r.json();
        println!(
            "   → {} {}",
            v["status"].as_str().unwrap_or(""),
            v["registration"].as_str().unwrap_or("")
        );
    }
    let path = format!("/v1/products/{product}/download");
    println!(
        "   $ curl -s http://$HOST{path} -H \"Authorization: Bearer $TOKEN_ACME\" -H 'Accept: text/csv'"
    );
    let r = c.get_as(&path, "text/csv")?;
    check(&r, &[200])?;
    for line in r.text().lines().take(8) {
        println!("   {line}");
    }
    let r = ops[1].1.get(&path)?;
    println!(
        "   the other operator asking for it: HTTP {} ({})",
        r.status,
        r.json()["error"]["code"].as_str().unwrap_or("")
    );
    // The product's passport and the exact bytes it signs, checked offline once the server
    // has stopped.
    let passport = c.get(&format!("/v1/products/{product}/passport"))?;
    check(&passport, &[200])?;
    let content = c.get_as(&path, cleanroom_platform::CONTENT_TYPE)?;
    check(&content, &[200])?;
    println!("\nEvery step above is in the audit log (GET /v1/audit, auditors only).");
    Ok(Released {
        passport: passport.text(),
        content: content.body,
    })
}

/// What the walk released: a product's passport and content.
struct Released {
    passport: String,
    content: Vec<u8>,
}

/// After the server stopped: the passport checked offline, then the whole audit log.
fn verify_records(state: &std::path::Path, released: &Released) -> anyhow::Result<()> {
    let verifier =
        cleanroom_store::log::read_verifier(&state.join(cleanroom_store::log::PUBKEY_FILE))?;
    println!(
        "━━ The records, checked offline with the platform's public key {}",
        verifier.encode()
    );
    println!("   $ cleanroom product verify product.arrows passport.json --pubkey platform.pub");
    for c in cleanroom_platform::verify_passport(&released.content, &released.passport, &verifier) {
        match c.outcome {
            Ok(m) => println!("   ok      {:<16} {m}", c.what),
            Err(m) => {
                return Err(anyhow::anyhow!(
                    "the passport's {} check failed: {m}",
                    c.what
                ));
            }
        }
    }
    println!("   $ cleanroom audit verify --state STATE --pubkey platform.pub");
    let v = cleanroom_store::verify::verify_state(state, &verifier, None)?;
    if let Some(p) = v.problems.first() {
        return Err(anyhow::anyhow!("the audit log does not verify: {p}"));
    }
    println!(
        "   OK: {} records, {} signed checkpoints (the last on shutdown, {} records), every record matches its leaf and every checkpoint its tree",
        v.records,
        v.checkpoints,
        v.latest.as_ref().map_or(0, |l| l.0)
    );
    Ok(())
}
