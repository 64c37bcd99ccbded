//! The test matrix: which database and which blob store a test runs on.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The sharded upload directory.
    Fs,
    /// A fresh bucket on the S3-compatible test server (see `bucket.rs`).
    S3,
}

/// One cell of the matrix, passed to every test fn that [`matrix!`](crate::matrix) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stack {
    pub db: Db,
    pub store: Store,
}

impl Stack {
    pub const SQLITE_FS: Stack = Stack::new(Db::Sqlite, Store::Fs);
    pub const POSTGRES_FS: Stack = Stack::new(Db::Postgres, Store::Fs);
    pub const SQLITE_S3: Stack = Stack::new(Db::Sqlite, Store::S3);
    pub const POSTGRES_S3: Stack = Stack::new(Db::Postgres, Store::S3);

    pub const fn new(db: Db, store: Store) -> Stack {
        Stack { db, store }
    }
}

/// Runs each named `async fn(Stack)` once per database × store, as `mod test_name { fn
/// sqlite_fs, fn postgres_fs, fn sqlite_s3, fn postgres_s3 }` (those that apply):
///
/// ```ignore
/// matrix!(dbs = [sqlite, postgres], stores = [fs]; test_a, test_b);
/// matrix!(dbs = [sqlite], stores = [fs, s3]; test_c);
/// matrix!(all; test_d); // both databases × both stores
/// ```
#[macro_export]
macro_rules! matrix {
    (@dbs $test:ident, [$($db:ident),+], $stores:tt) => {
        $( $crate::matrix!(@stores $test, $db, $stores); )+
    };
    (@stores $test:ident, $db:ident, [$($store:ident),+]) => {
        $( $crate::matrix!(@cell $test, $db, $store); )+
    };
    (@cell $test:ident, sqlite, fs) => { $crate::matrix!(@fn $test, sqlite_fs, SQLITE_FS); };
    (@cell $test:ident, postgres, fs) => { $crate::matrix!(@fn $test, postgres_fs, POSTGRES_FS); };
    (@cell $test:ident, sqlite, s3) => { $crate::matrix!(@fn $test, sqlite_s3, SQLITE_S3); };
    (@cell $test:ident, postgres, s3) => { $crate::matrix!(@fn $test, postgres_s3, POSTGRES_S3); };
    (@fn $test:ident, $cell:ident, $stack:ident) => {
        #[tokio::test]
        async fn $cell() {
            super::$test($crate::helpers::Stack::$stack).await
        }
    };
    (all; $($test:ident),+ $(,)?) => {
        $crate::matrix!(dbs = [sqlite, postgres], stores = [fs, s3]; $($test),+);
    };
    (dbs = $dbs:tt, stores = $stores:tt; $($test:ident),+ $(,)?) => {$(
        mod $test {
            $crate::matrix!(@dbs $test, $dbs, $stores);
        }
    )+};
}
