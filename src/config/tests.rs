//! The settings as the CLI reads them. Values are given as command-line flags (the same
//! parsers as the environment), so no test touches the process environment.

use clap::{Args, Command, FromArgMatches};

use super::*;

fn from(flags: &[&str]) -> Result<Settings, clap::Error> {
    let command = Settings::augment_args(Command::new("mediastore")).mut_args(|a| a.env(None));
    let args = std::iter::once("mediastore").chain(flags.iter().copied());
    let settings = Settings::from_arg_matches(&command.try_get_matches_from(args)?)?;
    settings
        .validate()
        .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, e))?;
    Ok(settings)
}

fn refused(flags: &[&str]) -> String {
    match from(flags) {
        Ok(_) => panic!("{flags:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_empty_environment_gives_the_documented_defaults() {
    let s = from(&[]).unwrap();
    assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(s.database_url, "sqlite://data/mediastore.db");
    assert_eq!(s.limits.max_file_bytes, 10_485_760);
    assert_eq!(s.limits.allowed_types.len(), 4);
    assert_eq!(s.unmapped_ttl, Duration::from_secs(86_400));
    assert_eq!(s.storage.kind, StorageKind::Fs);
    assert!(s.storage.s3().is_none());
    assert!(s.api_key.is_none());
    assert_eq!(format!("{:?}", Settings::default()), format!("{s:?}"));
}

#[test]
fn a_bad_number_names_its_variable() {
    let error = refused(&["--max-file-bytes", "ten"]);
    assert!(error.contains("MAX_FILE_BYTES"), "{error}");
    assert!(error.contains("'ten'"), "{error}");
    let error = refused(&["--unmapped-ttl-secs", "soon"]);
    assert!(error.contains("UNMAPPED_TTL_SECS"), "{error}");
    let error = refused(&["--max-concurrent-uploads", "0"]);
    assert!(
        error.contains("MAX_CONCURRENT_UPLOADS") && error.contains("at least 1"),
        "{error}"
    );
}

#[test]
fn an_unknown_allowed_type_is_refused() {
    let error = refused(&["--allowed-types", "image/png,application/pdf"]);
    assert!(
        error.contains("ALLOWED_TYPES") && error.contains("application/pdf"),
        "{error}"
    );
    let s = from(&["--allowed-types", "image/png, image/gif"]).unwrap();
    assert_eq!(s.limits.allowed_types.len(), 2);
}

#[test]
fn cors_origins_must_be_exact_origins() {
    assert!(refused(&["--cors-allowed-origins", "*"]).contains("CORS_ALLOWED_ORIGINS"));
    assert!(
        refused(&["--cors-allowed-origins", "https://a.example/path"])
            .contains("CORS_ALLOWED_ORIGINS")
    );
    let s = from(&[
        "--cors-allowed-origins",
        "https://a.example, http://127.0.0.1:3000",
    ])
    .unwrap();
    assert_eq!(
        s.cors_allowed_origins,
        ["https://a.example", "http://127.0.0.1:3000"]
    );
}

#[test]
fn a_database_url_of_another_kind_is_refused() {
    assert!(refused(&["--database-url", "mysql://x"]).contains("DATABASE_URL"));
}

#[test]
fn s3_storage_needs_a_bucket_and_takes_its_settings() {
    assert!(refused(&["--storage", "s3"]).contains("S3_BUCKET"));
    assert!(refused(&["--storage", "nfs"]).contains("STORAGE"));
    assert!(
        refused(&["--s3-bucket", "b", "--s3-access-key-id", "k"]).contains("S3_SECRET_ACCESS_KEY")
    );
    let s = from(&[
        "--storage=s3",
        "--s3-bucket=media",
        "--s3-endpoint=http://127.0.0.1:9000",
        "--s3-allow-http=true",
        "--s3-prefix=/prod/images/",
    ])
    .unwrap();
    assert_eq!(s.storage.kind, StorageKind::S3);
    let s3 = s.storage.s3().unwrap();
    assert_eq!(s3.prefix, "prod/images");
    assert_eq!(s3.region, "us-east-1");
    assert!(s3.allow_http);
    let plain_http = refused(&["--s3-bucket=b", "--s3-endpoint=http://10.0.0.5:3900"]);
    assert!(
        plain_http.contains("S3_ALLOW_HTTP"),
        "plain http is refused unless allowed"
    );
    assert!(refused(&["--s3-bucket=b", "--s3-prefix=a//b"]).contains("S3_PREFIX"));
}

#[test]
fn secrets_never_reach_debug_output() {
    let s = from(&[
        "--api-key=hunter2",
        "--database-url=postgres://u:pw@h/db",
        "--s3-bucket=b",
        "--s3-access-key-id=AKIA",
        "--s3-secret-access-key=s3cr3t",
    ])
    .unwrap();
    let printed = format!("{s:?}");
    assert!(!printed.contains("s3cr3t"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!printed.contains(":pw@"), "{printed}");
}
