//! The OpenAPI document: snapshot (a contract change shows in review) and route coverage.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::{Stack, spawn_app};

/// The operations README.md's API table lists, as `(method, path)`: rows such as
/// ``| `POST /v1/media` | ...`` or ``| `GET`/`HEAD /v1/files/{name}` | ...``.
fn readme_operations() -> BTreeSet<(String, String)> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(readme).unwrap();
    let section = readme.split_once("\n## API\n").expect("an API section").1;
    let section = section.split("\n## ").next().unwrap();
    let mut operations = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap().replace('`', "");
        for operation in cell.split(',') {
            let (methods, path) = operation
                .trim()
                .split_once(' ')
                .unwrap_or_else(|| panic!("not METHOD /path: {row}"));
            for method in methods.split('/') {
                operations.insert((method.to_lowercase(), path.trim().to_owned()));
            }
        }
    }
    assert!(operations.len() > 5, "the table was read: {operations:?}");
    operations
}

/// The README's operations that the document must describe: all but the document and Swagger
/// UI themselves, unless the document carries them.
fn readme_operations_in(doc: &Value) -> BTreeSet<(String, String)> {
    readme_operations()
        .into_iter()
        .filter(|(_, path)| {
            let docs_route = path == "/openapi.json" || path.starts_with("/docs");
            !docs_route || doc["paths"][path].is_object()
        })
        .collect()
}

async fn served_document() -> (crate::helpers::TestApp, Value) {
    let app = spawn_app(Stack::SQLITE_FS).await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    (app, doc)
}

#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let (_app, doc) = served_document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    // Saved for tests/run, which validates it against the OpenAPI 3.1 schema.
    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(
        artifacts.join("openapi.json"),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn every_readme_route_is_documented_with_its_errors() {
    let (_app, doc) = served_document().await;
    for (method, path) in readme_operations_in(&doc) {
        let operation = &doc["paths"][&path][&method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(
            operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path} has no tag"
        );
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has no summary"
        );
        for (status, response) in operation["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                let problem = &response["content"]["application/problem+json"];
                assert_eq!(
                    problem["schema"]["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
                // One example, or one per code when several codes share the status.
                let examples: Vec<&Value> = match problem["examples"].as_object() {
                    Some(examples) => examples.values().map(|e| &e["value"]).collect(),
                    None => vec![&problem["example"]],
                };
                for example in examples {
                    assert!(
                        example["code"].is_string(),
                        "{method} {path} {status} has no example"
                    );
                    assert_eq!(
                        example["status"].as_u64().map(|s| s.to_string()).as_ref(),
                        Some(status)
                    );
                }
            }
        }
    }
    for (method, path) in [("post", "/v1/media/map"), ("delete", "/v1/media/{id}")] {
        assert_eq!(
            doc["paths"][path][method]["security"][0]["api_key"],
            serde_json::json!([]),
            "{method} {path}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let (app, doc) = served_document().await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    // The README's docs routes are checked as served too, though the document leaves them out.
    for (method, path) in documented.iter().chain(&readme_operations()) {
        let concrete = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{name}", "x");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        // A route that is not served answers 405, or 404 from the router ("no such resource").
        assert_ne!(status, 405, "{method} {path}");
        assert!(
            !body.contains("no such resource"),
            "{method} {path} is documented but not routed"
        );
    }
    assert_eq!(
        documented,
        readme_operations_in(&doc),
        "the document has exactly the operations of README.md's API table"
    );
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = redirect.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], "/docs/");
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
    assert!(
        bundle.bytes().await.unwrap().len() > 100_000,
        "the bundle is vendored, not fetched"
    );
}
