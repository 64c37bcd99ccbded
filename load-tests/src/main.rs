//! `mediastore-load`: goose load tests and benchmark helpers for mediastore.
//!
//! ```text
//! mediastore-load run seed --users 5000 --window 5        # 5000 uploads arriving within 5 s
//! mediastore-load run upload --users 64 --run-time 20      # 64 clients uploading 1.3 MB files
//! mediastore-load run download-by-id|download-by-name|mixed [--users N] [--run-time S]
//! mediastore-load floor --dir DIR                          # write + fsync + SHA-1, 4 writers
//! mediastore-load upload-one                               # prints "ID NAME" of a ~100 KB image
//! mediastore-load event-sink --prefix P                    # webhook + NATS receiver: delivery lag
//! mediastore-load table DIR                                # the bench table
//! ```
//! Only loopback hosts are accepted; every run is bounded in users and time.

mod floor;
mod images;
mod scenarios;
mod sink;
mod stats;
mod table;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::path::PathBuf;
use std::time::Duration;
use url::{Host, Url};

const MAX_USERS: usize = 20_000;
pub const MAX_SECONDS: u64 = 600;

#[derive(Parser)]
#[command(
    name = "mediastore-load",
    version,
    about = "Load tests and benchmark helpers for mediastore"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one goose scenario against the service.
    Run(RunArgs),
    /// Measure the machine floor: write + fsync + SHA-1 of the seed images, N writers at once.
    Floor {
        /// Directory to write in (use the file system of the upload directory).
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 4)]
        writers: usize,
        #[arg(long, default_value_t = 6.0)]
        seconds: f64,
        #[arg(long, default_value_t = 32)]
        images: usize,
        /// Write the result as JSON here (also printed).
        #[arg(long)]
        summary: Option<PathBuf>,
    },
    /// Upload one ~100 KB JPEG and print "ID NAME" (for wrk and nginx runs).
    UploadOne {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        host: String,
    },
    /// Receive the service's events (webhook and NATS) and measure their delivery lag.
    EventSink(sink::SinkArgs),
    /// Print the markdown table of a bench results directory.
    Table { dir: PathBuf },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum ScenarioName {
    /// Each user uploads one image (96 KB–2.6 MB) and stops; users arrive over --window.
    Seed,
    /// Users upload a 1.3 MB image in a loop for --run-time.
    Upload,
    /// Users GET /v1/media/{id} of one ~100 KB image in a loop for --run-time.
    DownloadById,
    /// Users GET /v1/files/{name} of one ~100 KB image in a loop for --run-time.
    DownloadByName,
    /// Form flow in a loop: upload 1–3 files, map them, fetch each by id and by name.
    Mixed,
}

#[derive(Parser)]
struct RunArgs {
    #[arg(value_enum)]
    scenario: ScenarioName,
    /// Base URL of the service; only loopback hosts are accepted.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    host: String,
    /// Users [default: seed 5000, upload/download 64, mixed 16].
    #[arg(long)]
    users: Option<usize>,
    /// seed: seconds over which the users arrive (60, 10, 5...).
    #[arg(long, default_value_t = 60)]
    window: u64,
    /// upload, download-*, mixed: seconds to run once all users have started.
    #[arg(long, default_value_t = 20)]
    run_time: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Number of distinct seed images (sizes spread evenly over 96 KB–2.6 MB).
    #[arg(long, default_value_t = 32)]
    images: usize,
    /// Bearer key of POST /v1/media/map (mixed).
    #[arg(
        long,
        env = "MEDIA_API_KEY",
        default_value = "",
        hide_env_values = true
    )]
    api_key: String,
    /// Label of the row (default: the scenario, with the window for seed).
    #[arg(long)]
    label: Option<String>,
    /// Database label carried into the summary (for the bench table).
    #[arg(long, default_value = "")]
    db: String,
    /// Write the summary as JSON here (also printed on stdout).
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Extra goose options, after `--` (e.g. `-- --no-print-metrics --report-file r.html`).
    #[arg(last = true)]
    goose: Vec<String>,
}

/// Accepts http(s)://localhost, 127.0.0.0/8 and [::1] only.
fn loopback_only(host: &str) -> Result<Url> {
    let url = Url::parse(host).with_context(|| format!("--host {host:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--host {host:?}: only http and https");
    }
    let ok = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !ok {
        bail!(
            "refusing --host {host:?}: this tool only targets loopback (127.0.0.0/8, localhost, [::1])"
        );
    }
    Ok(url)
}

/// Uploads one ~100 KB JPEG with a plain client: `(id, name)`.
async fn upload_one(base: &Url) -> Result<(String, String)> {
    let img = images::generate(images::Format::Jpeg, 100 * 1024, 7)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let resp = client
        .post(base.join("/v1/media")?)
        .multipart(scenarios::form(&[&img]))
        .send()
        .await
        .with_context(|| format!("uploading to {base}"))?;
    let status = resp.status();
    let body = resp.bytes().await?;
    if status.as_u16() != 201 {
        bail!(
            "upload answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    scenarios::stored(&body)
        .into_iter()
        .next()
        .context("no file in the upload answer")
}

async fn run(args: RunArgs) -> Result<()> {
    let base = loopback_only(&args.host)?;
    let users = args.users.unwrap_or(match args.scenario {
        ScenarioName::Seed => 5000,
        ScenarioName::Mixed => 16,
        _ => 64,
    });
    if users == 0 || users > MAX_USERS {
        bail!("--users must be 1..={MAX_USERS}");
    }
    if args.window == 0
        || args.window > MAX_SECONDS
        || args.run_time == 0
        || args.run_time > MAX_SECONDS
    {
        bail!("--window and --run-time must be 1..={MAX_SECONDS} seconds");
    }
    if args.timeout == 0 || args.timeout > MAX_SECONDS {
        bail!("--timeout must be 1..={MAX_SECONDS} seconds");
    }
    if args.goose.iter().any(|a| {
        [
            "-H",
            "--host",
            "-t",
            "--run-time",
            "--iterations",
            "--test-plan",
            "-u",
            "--users",
        ]
        .iter()
        .any(|o| a == o || a.starts_with(&format!("{o}=")))
    }) {
        bail!("host, users and run time are set by mediastore-load's own options, not after `--`");
    }

    let started = std::time::Instant::now();
    match args.scenario {
        ScenarioName::Seed | ScenarioName::Mixed => {
            let pool = images::seed_pool(args.images)?;
            let _ = scenarios::POOL.set(pool);
        }
        ScenarioName::Upload => {
            let img = images::generate(images::Format::Jpeg, 1_300_000, 13)?;
            let _ = scenarios::POOL.set(vec![img]);
        }
        ScenarioName::DownloadById | ScenarioName::DownloadByName => {
            let target = upload_one(&base).await?;
            let _ = scenarios::TARGET.set(target);
        }
    }
    eprintln!(
        "test data ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = scenarios::API_KEY.set(args.api_key.clone());

    let mut goose_args: Vec<String> = vec![
        "--host".into(),
        base.as_str().trim_end_matches('/').into(),
        "--users".into(),
        users.to_string(),
        "--timeout".into(),
        args.timeout.to_string(),
        "--no-telnet".into(),
    ];
    let (label, transaction, name, bound) = match args.scenario {
        ScenarioName::Seed => {
            // Users arrive evenly over the window; each uploads once and stops.
            if users >= 2 {
                goose_args.extend(["--increase-time".into(), format!("{}s", args.window)]);
            }
            goose_args.extend(["--iterations".into(), "1".into()]);
            (
                format!("seed-{}s", args.window),
                transaction!(seed_upload),
                "seed",
                args.window + args.timeout,
            )
        }
        other => {
            // Everyone starts within about a second, then runs for --run-time.
            goose_args.extend([
                "--increase-rate".into(),
                users.to_string(),
                "--run-time".into(),
                format!("{}s", args.run_time),
            ]);
            let (label, t) = match other {
                ScenarioName::Upload => ("upload", transaction!(upload_loop)),
                ScenarioName::DownloadById => ("download-by-id", transaction!(download_by_id)),
                ScenarioName::DownloadByName => {
                    ("download-by-name", transaction!(download_by_name))
                }
                _ => ("mixed", transaction!(mixed_flow)),
            };
            (
                label.to_string(),
                t,
                label,
                args.run_time + 5 + args.timeout,
            )
        }
    };
    goose_args.extend(args.goose.iter().cloned());
    let config = GooseConfiguration::parse_args_default(&goose_args)
        .map_err(|e| anyhow::anyhow!("goose options {goose_args:?}: {e}"))?;
    let attack = GooseAttack::initialize_with_config(config)?
        .register_scenario(scenario!(name).register_transaction(transaction));

    // A hard stop on top of goose's own bounds.
    let deadline = Duration::from_secs(bound + 60);
    match tokio::time::timeout(deadline, attack.execute()).await {
        Ok(result) => {
            result.map_err(|e| anyhow::anyhow!("goose: {e}"))?;
        }
        Err(_) => eprintln!("stopped after the hard limit of {} s", deadline.as_secs()),
    }

    let ok: &[&str] = match args.scenario {
        ScenarioName::Seed | ScenarioName::Upload => &["201"],
        ScenarioName::Mixed => &["200", "201"],
        _ => &["200"],
    };
    let mut summary = stats::summarize(&args.label.unwrap_or(label), ok);
    summary.db = args.db;
    if !matches!(args.scenario, ScenarioName::Seed | ScenarioName::Upload) {
        summary.last_upload_s = None;
        summary.upload_bytes = None;
        summary.ingest_mb_per_s = None;
    }
    let json = serde_json::to_string(&summary)?;
    println!("{json}");
    if let Some(path) = args.summary {
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

use scenarios::{download_by_id, download_by_name, mixed_flow, seed_upload};

/// upload: the same 1.3 MB image over and over.
async fn upload_loop(user: &mut GooseUser) -> TransactionResult {
    seed_upload(user).await
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match dispatch(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mediastore-load: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Floor {
            dir,
            writers,
            seconds,
            images: n,
            summary,
        } => {
            if writers == 0 || writers > 64 || !(0.5..=120.0).contains(&seconds) {
                bail!("--writers 1..=64 and --seconds 0.5..=120");
            }
            let pool = images::seed_pool(n)?;
            let floor = floor::measure(&dir, &pool, writers, seconds)?;
            let json = serde_json::to_string(&floor)?;
            println!("{json}");
            if let Some(path) = summary {
                std::fs::write(&path, json + "\n")?;
            }
            Ok(())
        }
        Command::UploadOne { host } => {
            let base = loopback_only(&host)?;
            let (id, name) = upload_one(&base).await?;
            println!("{id} {name}");
            Ok(())
        }
        Command::EventSink(args) => sink::run(args).await,
        Command::Table { dir } => table::print(&dir),
    }
}

#[cfg(test)]
mod tests {
    use super::loopback_only;

    #[test]
    fn only_loopback_hosts() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.3.2.1",
            "http://localhost:1",
            "http://[::1]:8080",
        ] {
            assert!(loopback_only(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://example.com",
            "http://[::2]",
            "ftp://127.0.0.1",
            "http://0.0.0.0",
        ] {
            assert!(loopback_only(bad).is_err(), "{bad}");
        }
    }
}
