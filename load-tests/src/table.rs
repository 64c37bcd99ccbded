//! `mediastore-load table DIR`: the one markdown table of a bench run.
//! DIR holds one `NN-name.json` per run (a [`Summary`]), optionally `NN-name.rss` with the
//! service's VmHWM in KiB, `floor.json`, and `NN-db.lag` (a [`LagSummary`] of `event-sink`).

use crate::sink::LagSummary;
use crate::stats::Summary;
use anyhow::{Context, Result};
use std::path::Path;

fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

pub fn print(dir: &Path) -> Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut rows: Vec<Summary> = Vec::new();
    let mut floor: Option<f64> = None;
    let lags = read_lags(dir)?;
    for path in &files {
        let text = std::fs::read_to_string(path)?;
        if path.file_name().is_some_and(|n| n == "floor.json") {
            let v: serde_json::Value = serde_json::from_str(&text)?;
            floor = v["floor_mb_per_s"].as_f64();
            continue;
        }
        let mut row: Summary =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if let Ok(rss) = std::fs::read_to_string(path.with_extension("rss")) {
            row.rss_kb = rss.trim().parse().ok();
        }
        rows.push(row);
    }

    println!(
        "| scenario | db | tool | requests | req/s | MB/s | p50 ms | p95 ms | p99 ms | failures | last upload done | ingest MB/s | peak RSS |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    for r in &rows {
        let failures = if r.failures.is_empty() {
            "0".to_string()
        } else {
            r.failures
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            if r.db.is_empty() { "-" } else { &r.db },
            r.tool,
            r.requests,
            r.rps,
            r.mb_per_s,
            ms(r.p50_ms),
            ms(r.p95_ms),
            ms(r.p99_ms),
            failures,
            r.last_upload_s.map_or("-".into(), |s| format!("{s:.1} s")),
            r.ingest_mb_per_s.map_or("-".into(), |m| format!("{m:.0}")),
            r.rss_kb
                .map_or("-".into(), |k| format!("{:.0} MB", k as f64 / 1024.0)),
        );
    }

    let find = |scenario: &str, db: &str, tool: &str| {
        rows.iter()
            .find(|r| r.scenario.starts_with(scenario) && r.db == db && r.tool == tool)
    };
    let nginx = rows.iter().find(|r| r.scenario == "nginx");
    let nginx_variant = rows.iter().find(|r| r.scenario == "nginx-variant");
    let mut dbs: Vec<&str> = rows
        .iter()
        .map(|r| r.db.as_str())
        .filter(|d| !d.is_empty() && *d != "-")
        .collect();
    dbs.dedup();
    println!();
    match floor {
        Some(f) => println!("Machine floor (write + fsync + SHA-1, 4 writers): {f:.0} MB/s"),
        None => println!("Machine floor: not measured"),
    }
    println!();
    println!("| ratio | db | measured | target |");
    println!("|---|---|---:|---:|");
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_string(),
    };
    for db in dbs {
        let n = nginx.map(|r| r.rps);
        let by_name = find("download-by-name", db, "wrk").map(|r| r.rps);
        let by_id = find("download-by-id", db, "wrk").map(|r| r.rps);
        let variant = find("variant-card", db, "wrk").map(|r| r.rps);
        // Interleaved rounds of each (bench.sh): the median of each kind.
        let median = |scenario: &str| {
            let mut rps: Vec<f64> = rows
                .iter()
                .filter(|r| r.scenario == scenario && r.db == db)
                .map(|r| r.rps)
                .collect();
            rps.sort_by(f64::total_cmp);
            rps.get(rps.len() / 2).copied()
        };
        let (public_by_name, signed_by_name) =
            (median("ab-public-by-name"), median("ab-signed-by-name"));
        let (public_by_id, signed_by_id) = (median("ab-public-by-id"), median("ab-signed-by-id"));
        let upload = find("upload", db, "goose").and_then(|r| r.ingest_mb_per_s);
        let seed = |label: &str| {
            rows.iter()
                .find(|r| r.scenario == label && r.db == db)
                .and_then(|r| r.ingest_mb_per_s)
        };
        let (seed5, seed5_events) = (seed("seed-5s"), seed("seed-5s-events"));
        println!(
            "| download by name ÷ nginx (wrk req/s) | {db} | {} | ≥ 0.8 |",
            ratio(by_name, n)
        );
        println!(
            "| download by id ÷ nginx (wrk req/s) | {db} | {} | ≥ 0.8 |",
            ratio(by_id, n)
        );
        println!(
            "| cached variant `card` by name ÷ nginx on the kept file (wrk req/s) | {db} | {} | ≥ 0.8 |",
            ratio(variant, nginx_variant.map(|r| r.rps))
        );
        println!(
            "| signed download by name ÷ public (wrk req/s, medians of 3 interleaved rounds) | {db} | {} | ≥ 0.9 |",
            ratio(signed_by_name, public_by_name)
        );
        println!(
            "| signed download by id ÷ public (wrk req/s, medians of 3 interleaved rounds) | {db} | {} | ≥ 0.9 |",
            ratio(signed_by_id, public_by_id)
        );
        println!(
            "| upload MB/s (64 clients, 1.3 MB) ÷ floor | {db} | {} | ≥ 0.8 |",
            ratio(upload, floor)
        );
        println!(
            "| seed 5 s ingest MB/s ÷ floor | {db} | {} | ≥ 0.8 |",
            ratio(seed5, floor)
        );
        println!(
            "| seed 5 s with events to both sinks, ingest MB/s ÷ floor | {db} | {} | ≥ 0.8 |",
            ratio(seed5_events, floor)
        );
    }
    for big in read_json_files(dir, "big")? {
        let (Some(before), Some(peak)) = (big["rss_before_kb"].as_f64(), big["peak_kb"].as_f64())
        else {
            continue;
        };
        println!(
            "| one {:.0} MiB upload (answered {}, {:.1} s): peak RSS − RSS before | {} | {:.1} MB | < 20 MB |",
            big["file_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
            big["status"],
            big["seconds"].as_f64().unwrap_or(0.0),
            big["db"].as_str().unwrap_or("-"),
            (peak - before) / 1024.0
        );
    }
    if !lags.is_empty() {
        println!();
        println!("Delivery lag during the 5 s seed burst (`seed-5s-events`), commit to receipt:");
        println!();
        println!("| db | sink | received | distinct events | p50 ms | p99 ms | max ms |");
        println!("|---|---|---:|---:|---:|---:|---:|");
        for lag in &lags {
            for (sink, l) in &lag.sinks {
                println!(
                    "| {} | {sink} | {} | {} | {} | {} | {} |",
                    lag.db,
                    l.received,
                    l.distinct,
                    ms(l.p50_ms),
                    ms(l.p99_ms),
                    ms(l.max_ms)
                );
            }
        }
    }
    Ok(())
}

fn read_lags(dir: &Path) -> Result<Vec<LagSummary>> {
    read_json_files(dir, "lag")?
        .into_iter()
        .map(|v| serde_json::from_value(v).context("an event-sink summary"))
        .collect()
}

/// The JSON documents in `dir/*.<extension>`, in name order.
fn read_json_files(dir: &Path, extension: &str) -> Result<Vec<serde_json::Value>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
        })
        .collect()
}
