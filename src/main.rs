use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mediastore::config::{Settings, StorageKind};
use mediastore::startup::Application;
use mediastore::storage::BlobStore;
use mediastore::{db, lifecycle, migrate_store, telemetry, verify};

/// Content-addressed media storage service.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Sweep once: delete expired unmapped uploads and files without a record older than an hour.
    Gc,
    /// Re-hash every file and cross-check files and records; exit 1 if anything is wrong.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy every recorded blob from one back end to the other, verifying each copy's SHA-1.
    /// Resumable: run it again after an interruption. The source is left as it was.
    MigrateStore {
        /// `fs` (UPLOAD_DIR) or `s3` (the S3_* settings).
        #[arg(long)]
        from: StorageKind,
        /// `fs` or `s3`; the other one.
        #[arg(long)]
        to: StorageKind,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    telemetry::init(settings.log_format);
    // Each open connection is a file descriptor; a burst of uploads needs more than the usual 1024.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "could not raise the open-file limit");
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            db::connect(&settings.database_url, 1)
                .await?
                .migrate()
                .await?;
            println!("migrations applied");
        }
        Command::Gc => {
            let repo = db::connect(&settings.database_url, 2).await?;
            repo.migrate().await?;
            let blobs = BlobStore::from_settings(&settings)?;
            let expired =
                lifecycle::sweep_expired(repo.as_ref(), &blobs, settings.unmapped_ttl).await?;
            for record in &expired {
                println!("expired\t{}\t{}", record.id, record.name);
            }
            let orphans =
                lifecycle::remove_orphans(repo.as_ref(), &blobs, lifecycle::ORPHAN_MIN_AGE).await?;
            for name in &orphans {
                println!("orphan\t{name}");
            }
            println!(
                "removed {} expired uploads and {} orphan files",
                expired.len(),
                orphans.len()
            );
        }
        Command::Verify { json } => {
            let repo = db::connect(&settings.database_url, 2).await?;
            let report =
                verify::verify(repo.as_ref(), &BlobStore::from_settings(&settings)?).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for (label, names) in [
                    ("corrupt", &report.corrupt_files),
                    ("missing", &report.missing_files),
                    ("no-record", &report.files_without_record),
                ] {
                    names.iter().for_each(|name| println!("{label}\t{name}"));
                }
                println!(
                    "checked {} files and {} records: {} corrupt, {} missing, {} without record",
                    report.files_checked,
                    report.records_checked,
                    report.corrupt_files.len(),
                    report.missing_files.len(),
                    report.files_without_record.len()
                );
            }
            if !report.is_clean() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::MigrateStore { from, to } => {
            if from == to {
                eprintln!("--from and --to name the same store; nothing to do");
                return Ok(ExitCode::from(2));
            }
            let repo = db::connect(&settings.database_url, 2).await?;
            let (from, to) = (
                BlobStore::of_kind(from, &settings)?,
                BlobStore::of_kind(to, &settings)?,
            );
            to.create_dirs().await?; // not `prepare`: a running service may be staging
            let report = migrate_store::migrate_store(repo.as_ref(), &from, &to).await?;
            for name in &report.missing_in_source {
                println!("missing\t{name}");
            }
            for name in &report.corrupt_in_source {
                println!("corrupt\t{name}");
            }
            println!(
                "{} -> {}: copied {}, already there {}, missing {}, corrupt {}",
                from.describe(),
                to.describe(),
                report.copied,
                report.already_there,
                report.missing_in_source.len(),
                report.corrupt_in_source.len()
            );
            if !report.is_complete() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
