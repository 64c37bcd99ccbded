//! Statements both databases run as written (SQLite accepts PostgreSQL's `$1` placeholders;
//! each appears here in ascending order, which is how SQLite numbers them).

pub const INSERT: &str = "INSERT INTO media \
    (id, name, content_type, size, sha1, width, height, original_name, created_at, \
     orientation, frames, metadata_stripped, owner_hint, upload_token) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// The files an upload token has stored (and that still exist), against its `max_files`.
pub const COUNT_BY_TOKEN: &str = "SELECT COUNT(*) FROM media WHERE upload_token = $1";

pub const FIND: &str = "SELECT * FROM media WHERE id = $1";

/// `COALESCE`: a re-map keeps the first `mapped_at`.
pub const MAP: &str = "UPDATE media SET owner = $1, mapped_at = COALESCE(mapped_at, $2), \
    metadata = $3 WHERE id = $4 RETURNING *";

pub const DELETE: &str = "DELETE FROM media WHERE id = $1 RETURNING *";

pub const NAMES_AFTER: &str = "SELECT name FROM media WHERE name > $1 ORDER BY name LIMIT $2";

pub const PING: &str = "SELECT 1";

/// Inserts each of `$records` inside the transaction `$tx`; `$time` turns a timestamp into
/// what the database stores (text on SQLite, `timestamptz` on PostgreSQL).
macro_rules! insert_each {
    ($tx:expr, $records:expr, $time:expr) => {
        for r in $records {
            sqlx::query($crate::db::sql::INSERT)
                .bind(r.id)
                .bind(&r.name)
                .bind(&r.content_type)
                .bind(r.size)
                .bind(&r.sha1)
                .bind(r.width)
                .bind(r.height)
                .bind(&r.original_name)
                .bind($time(r.created_at))
                .bind(r.orientation)
                .bind(r.frames)
                .bind(r.metadata_stripped)
                .bind(&r.owner_hint)
                .bind(r.upload_token)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// Checks the mapping rules against `$found` (the rows read, and locked where the database
/// can, inside `$tx`) and applies them; evaluates to the updated records in request order.
macro_rules! apply_mapping {
    ($tx:expr, $owner:expr, $items:expr, $found:expr, $now:expr) => {{
        let metadata = $crate::db::plan($owner, $items, &$found)?;
        let mut mapped = Vec::with_capacity($items.len());
        for (item, metadata) in $items.iter().zip(metadata) {
            let record = sqlx::query_as($crate::db::sql::MAP)
                .bind($owner)
                .bind($now)
                .bind(metadata)
                .bind(item.id)
                .fetch_one(&mut *$tx)
                .await?;
            mapped.push(record);
        }
        mapped
    }};
}

/// Inside `$tx`, after the insert: refuses (and so rolls back) a token's files beyond its
/// `max_files`. The insert took the write lock (SQLite) or the token's lock (PostgreSQL), so
/// uploads with one token are counted one after another.
macro_rules! check_quota {
    ($tx:expr, $quota:expr) => {
        if let Some(quota) = $quota {
            let stored: i64 = sqlx::query_scalar($crate::db::sql::COUNT_BY_TOKEN)
                .bind(quota.token)
                .fetch_one(&mut *$tx)
                .await?;
            if stored > i64::from(quota.max_files) {
                return Err(DbError::TokenQuota {
                    max_files: quota.max_files,
                });
            }
        }
    };
}

/// Inside `$tx`: each upload's records, its token's quota checked against them, and their
/// `media.uploaded` events; several uploads when they were grouped (group commit).
macro_rules! insert_uploads {
    ($tx:expr, $along:expr, $uploads:expr, $time:expr) => {
        let now = chrono::Utc::now();
        for upload in $uploads {
            $crate::db::sql::insert_each!($tx, &upload.records, $time);
            $crate::db::sql::check_quota!($tx, upload.quota);
            $crate::db::queue::record_events!(
                $tx,
                $along,
                $crate::db::EventType::Uploaded,
                &upload.records,
                now,
                $time
            );
        }
    };
}

pub(super) use {apply_mapping, check_quota, insert_each, insert_uploads};
