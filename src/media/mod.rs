//! Pure media rules: formats, stored names, limits and metadata. No I/O, no HTTP, no SQL.

mod format;
mod limits;
mod metadata;
mod name;

pub use format::{ImageFormat, SNIFF_BYTES, Sniffed, sniff};
pub use limits::{Dimensions, Limits};
pub use metadata::Metadata;
pub use name::{InvalidName, StoredName};
