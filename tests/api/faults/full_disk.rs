//! A full disk: a small tmpfs mounted as the upload directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use mediastore::config::StorageSettings;

use super::downloaded;
use crate::helpers::{Stack, assert_problem, spawn_app_with};
use crate::images;

/// A tmpfs of `size` mounted at a new directory; unmounted on drop. Mounting needs root, which
/// the test command has on this machine kind: without it the test fails, saying so.
struct Tmpfs {
    mount_point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mount_point = dir.path().join("uploads");
        std::fs::create_dir(&mount_point).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount_point)
            .output()
            .expect("running mount");
        assert!(
            output.status.success(),
            "the full-disk test mounts a {size} tmpfs as the upload directory, which needs \
             root (tests/run has it on this machine kind) and could not: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self {
            mount_point,
            _dir: dir,
        }
    }

    fn path(&self) -> &Path {
        &self.mount_point
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("--lazy")
            .arg(&self.mount_point)
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_is_507_keeps_nothing_partial_serves_what_it_has_and_takes_uploads_after_deletes()
 {
    let disk = Tmpfs::mount("1m");
    let app = spawn_app_with(Stack::SQLITE_FS, |s| {
        s.storage = StorageSettings::fs(disk.path().to_path_buf());
    })
    .await;
    let kept = images::large_png(256 * 1024);
    let kept = app.upload_ok(kept, "kept.png").await;
    let freed = app
        .upload_ok(images::large_png(256 * 1024 + 1), "freed.png")
        .await;

    let too_big = images::large_png(640 * 1024);
    let refused = app.post_upload(too_big.clone(), "too-big.png").await;
    assert_problem(refused, 507, "storage_full").await;

    app.assert_no_staged_files();
    assert_eq!(
        app.record_count().await,
        2,
        "no record of the refused upload"
    );
    let mut stored = vec![kept.name.clone(), freed.name.clone()];
    stored.sort();
    assert_eq!(app.stored_names().await, stored, "no partial file");
    for path in kept.paths() {
        assert_eq!(downloaded(&app, path).await, images::large_png(256 * 1024));
    }
    assert_eq!(app.get("/readyz").await.status(), 200);

    assert_eq!(app.delete(freed.id).await.status(), 204);
    let accepted = app.upload_ok(too_big.clone(), "too-big.png").await;
    assert_eq!(downloaded(&app, &accepted.url).await, too_big);
}
