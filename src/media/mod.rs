//! Pure media rules: formats, stored names, dimensions, metadata, the mapping rules and the
//! variant rules. No I/O, no HTTP, no SQL, and nothing else of this crate.

mod dimensions;
mod format;
mod mapping;
mod metadata;
mod name;
mod strip;
mod variant;

pub use dimensions::Dimensions;
pub use format::{ImageFormat, SNIFF_BYTES, Sniffed, sniff};
pub use mapping::{MapItem, MapRefusal, Mappable, plan_mapping};
pub use metadata::Metadata;
pub use name::{InvalidName, StoredName};
pub use strip::{EXIF_CAP, MalformedImage, MetadataFilter, Stripped};
pub use variant::{Fit, OutputFormat, Plan, Preset, Recipe, VariantName, negotiate};
