use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use mediastore::config::{Settings, StorageKind, ignore_empty_variables};
use mediastore::startup::{self, Application};
use mediastore::storage::BlobStore;
use mediastore::{commands, db, lifecycle, telemetry};

/// Content-addressed media storage service. Every setting is read from its environment
/// variable (or `.env`); the flags below override them.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
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
        #[arg(long, value_enum)]
        from: StorageKind,
        /// `fs` or `s3`; the other one.
        #[arg(long, value_enum)]
        to: StorageKind,
    },
    /// The outbox: list dead letters, or queue them again.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Background jobs: pending, running and failed.
    Jobs,
}

#[derive(Subcommand)]
enum EventsCommand {
    /// List the events that exhausted their attempts.
    Dead,
    /// Queue dead letters again, with fresh attempts.
    Retry {
        /// The event id (every sink's dead letter of it).
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        id: Option<uuid::Uuid>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<ExitCode> {
    let _ = dotenvy::dotenv();
    let matches = Cli::command()
        .mut_args(ignore_empty_variables)
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Err(e) = cli.settings.validate() {
        eprintln!("{e}");
        return Ok(ExitCode::from(2));
    }
    let settings = cli.settings;
    telemetry::init(settings.log_format);
    // Each open connection is a file descriptor; a burst of uploads needs more than the usual 1024.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "could not raise the open-file limit");
    }
    // Commands write the same events as the service (`gc`'s expiries).
    let connect = |pool| {
        let options = db::PoolOptions {
            write_along: startup::write_along(&settings),
            ..db::PoolOptions::new(pool)
        };
        let url = settings.database_url.clone();
        async move { db::connect_with(&url, &options).await }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings.clone())
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            connect(1).await?.migrate().await?;
            println!("migrations applied");
        }
        Command::Gc => {
            let repo = connect(2).await?;
            repo.migrate().await?;
            let blobs = BlobStore::new(&settings.storage)?;
            let cutoff = lifecycle::expiry_cutoff(settings.unmapped_ttl);
            commands::gc(repo.as_ref(), &blobs, cutoff).await?;
        }
        Command::Verify { json } => {
            let repo = connect(2).await?;
            let blobs = BlobStore::new(&settings.storage)?;
            return Ok(commands::verify(repo.as_ref(), &blobs, json).await?);
        }
        Command::MigrateStore { from, to } => {
            if from == to {
                eprintln!("--from and --to name the same store; nothing to do");
                return Ok(ExitCode::from(2));
            }
            let repo = connect(2).await?;
            let from = BlobStore::of_kind(from, &settings.storage)?;
            let to = BlobStore::of_kind(to, &settings.storage)?;
            return Ok(commands::migrate_store(repo.as_ref(), &from, &to).await?);
        }
        Command::Events { command } => {
            let repo = connect(1).await?;
            repo.migrate().await?;
            match command {
                EventsCommand::Dead => commands::dead_events(repo.as_ref()).await?,
                EventsCommand::Retry { id, .. } => {
                    return Ok(commands::retry_events(repo.as_ref(), id).await?);
                }
            }
        }
        Command::Jobs => {
            let repo = connect(1).await?;
            repo.migrate().await?;
            commands::jobs(repo.as_ref()).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
