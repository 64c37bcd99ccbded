//! Variant settings (SPEC §10): the presets and widths a path may name, the formats, and how
//! many transforms run at once.

use crate::media::Preset;

use super::parse;

#[derive(Debug, Clone, clap::Args)]
pub struct VariantSettings {
    /// Named boxes, comma-separated `name:WIDTHxHEIGHT:cover|inside`; `cover` fills the box and
    /// crops the centre, `inside` fits within it. Never upscaled.
    #[arg(long, env = "VARIANT_PRESETS", value_delimiter = ',', value_parser = Preset::parse,
        default_value = "thumb:200x200:cover,card:640x480:cover,large:1600x1600:inside")]
    pub presets: Vec<Preset>,
    /// The widths `w<N>` may name (for `srcset`), comma-separated.
    #[arg(long, env = "VARIANT_WIDTHS", value_delimiter = ',', value_parser = parse::width,
        default_value = "320,640,960,1280,1920")]
    pub widths: Vec<u32>,
    /// Whether variants may be AVIF (chosen from `Accept` or `?format=avif`). AVIF is about 20
    /// times slower to encode than WebP.
    #[arg(long = "variant-avif", env = "VARIANT_AVIF", default_value_t = false,
        action = clap::ArgAction::Set)]
    pub avif: bool,
    /// AVIF encoder speed, 1 (slowest, smallest) to 10 (fastest).
    #[arg(long = "variant-avif-speed", env = "VARIANT_AVIF_SPEED", default_value_t = 8,
        value_parser = clap::value_parser!(u8).range(1..=10))]
    pub avif_speed: u8,
    /// Quality of lossy variants (JPEG, WebP, AVIF), 1 to 100.
    #[arg(long = "variant-quality", env = "VARIANT_QUALITY", default_value_t = 80,
        value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Transforms running at once (0: one per CPU); more wait up to UPLOAD_QUEUE_TIMEOUT_SECS,
    /// then `503 overloaded`.
    #[arg(
        long = "max-concurrent-transforms",
        env = "MAX_CONCURRENT_TRANSFORMS",
        default_value_t = 0
    )]
    pub max_concurrent_transforms: usize,
}

impl VariantSettings {
    /// Every variant name a path may use: the presets, then `w<N>` for each width.
    pub fn names(&self) -> Vec<String> {
        let presets = self.presets.iter().map(|p| p.name.clone());
        presets
            .chain(self.widths.iter().map(|w| format!("w{w}")))
            .collect()
    }

    /// The number of transforms allowed at once.
    pub fn concurrency(&self) -> usize {
        match self.max_concurrent_transforms {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl Default for VariantSettings {
    fn default() -> Self {
        super::Settings::default().variants
    }
}
