//! Statements both databases run as written (SQLite accepts PostgreSQL's `$1` placeholders;
//! each appears here in ascending order, which is how SQLite numbers them).

pub const INSERT: &str = "INSERT INTO media \
    (id, name, content_type, size, sha1, width, height, original_name, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub const FIND: &str = "SELECT * FROM media WHERE id = $1";

/// `COALESCE`: a re-map keeps the first `mapped_at`.
pub const MAP: &str = "UPDATE media SET owner = $1, mapped_at = COALESCE(mapped_at, $2), \
    metadata = $3 WHERE id = $4 RETURNING *";

pub const DELETE: &str = "DELETE FROM media WHERE id = $1 RETURNING *";

pub const NAMES_AFTER: &str = "SELECT name FROM media WHERE name > $1 ORDER BY name LIMIT $2";

pub const PING: &str = "SELECT 1";
