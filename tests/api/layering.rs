//! The layers of `src/lib.rs`, checked: a module may import only the modules below it, and
//! only `http` (and the start-up and CLI above it) may know actix-web or utoipa.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules of this crate it may import.
const ALLOWED: &[(&str, &[&str])] = &[
    ("media", &[]),
    ("breaker", &[]),
    ("access", &[]),
    ("config", &["media", "access"]),
    ("db", &["media", "config", "breaker"]),
    ("storage", &["media", "config", "breaker"]),
    ("ingest", &["access", "media", "config", "db", "storage"]),
    ("lifecycle", &["media", "config", "db", "storage"]),
    ("verify", &["media", "config", "db", "storage"]),
    ("migrate_store", &["media", "config", "db", "storage"]),
    ("variants", &["media", "config", "storage"]),
    ("events", &["breaker", "config", "db"]),
    ("jobs", &["media", "config", "db", "storage", "variants"]),
    (
        "commands",
        &[
            "lifecycle",
            "verify",
            "migrate_store",
            "media",
            "config",
            "db",
            "storage",
        ],
    ),
    (
        "http",
        &[
            "ingest", "variants", "access", "media", "config", "db", "storage",
        ],
    ),
    ("telemetry", &["config"]),
    (
        "startup",
        &[
            "http",
            "lifecycle",
            "variants",
            "events",
            "jobs",
            "media",
            "config",
            "db",
            "storage",
        ],
    ),
];

/// The only modules that may name the web framework and the OpenAPI generator.
const WEB_LAYER: &[&str] = &["http", "startup", "main"];
const WEB_CRATES: &[&str] = &["actix_web", "actix_multipart", "actix_cors", "utoipa"];

fn source_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `src/http/media.rs` is in `http`; `src/startup.rs` is `startup`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    Path::new(first)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Every module of this crate that `code` names (`crate::x`, or `crate::{x, y}`), outside
/// comments.
fn crate_modules_named(code: &str) -> BTreeSet<String> {
    let path = regex::Regex::new(r"(?:^|[^A-Za-z0-9_])crate::([A-Za-z0-9_]+)").unwrap();
    let group = regex::Regex::new(r"(?:^|[^A-Za-z0-9_])crate::\{([^}]*)\}").unwrap();
    let mut named = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        named.extend(path.captures_iter(line).map(|c| c[1].to_owned()));
        for c in group.captures_iter(line) {
            named.extend(c[1].split(',').filter_map(|item| {
                let name = item.trim().split("::").next()?.trim();
                (!name.is_empty() && name != "self").then(|| name.to_owned())
            }));
        }
    }
    named
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let mut breaches = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let code = std::fs::read_to_string(file).unwrap();
        if module != "main" && module != "lib" {
            let allowed = ALLOWED
                .iter()
                .find(|(name, _)| *name == module)
                .unwrap_or_else(|| panic!("{module} is not in the layering table"))
                .1;
            for named in crate_modules_named(&code) {
                if named != module && !allowed.contains(&named.as_str()) {
                    breaches.push(format!("{} imports crate::{named}", file.display()));
                }
            }
        }
        if !WEB_LAYER.contains(&module.as_str()) {
            for web in WEB_CRATES {
                if code.contains(&format!("{web}::")) {
                    breaches.push(format!("{} names {web}", file.display()));
                }
            }
        }
    }
    assert!(files.len() > 20, "the scan found the sources");
    assert_eq!(breaches, Vec::<String>::new());
}

#[test]
fn the_scan_sees_single_and_grouped_imports_but_not_comments() {
    let code = "use crate::db::MediaRepo;\nuse crate::{http::AppState, storage};\n// crate::config\nlet x = crate::media::sniff(b);";
    let named: Vec<_> = crate_modules_named(code).into_iter().collect();
    assert_eq!(named, ["db", "http", "media", "storage"]);
}
