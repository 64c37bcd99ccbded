//! Variants as rules (SPEC §10): which variant a path names, the box it fits in, the format to
//! answer in, and where a made variant is kept. No pixels here; `crate::variants` makes them.

use std::fmt;

use super::StoredName;

/// How a source fits a preset's box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Fills the box exactly and crops the centre (the box shrinks with a smaller source).
    Cover,
    /// Fits within the box, keeping the aspect ratio.
    Inside,
}

/// A named preset: `thumb:200x200:cover`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub fit: Fit,
}

impl Preset {
    /// Parses `name:WxH:cover|inside`; the name is lowercase letters, digits, `-` and `_`, and
    /// must not look like a width variant (`w<N>`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw.trim().split(':').collect();
        let [name, size, fit] = parts.as_slice() else {
            return Err(format!("{raw:?}: expected name:WIDTHxHEIGHT:cover|inside"));
        };
        let well_formed = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !well_formed || parse_width_name(name).is_some() {
            return Err(format!(
                "{name:?}: a preset name is up to 32 of a-z, 0-9, - and _, and not w<N>"
            ));
        }
        let (width, height) = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .filter(|&(w, h): &(u32, u32)| (1..=10_000).contains(&w) && (1..=10_000).contains(&h))
            .ok_or_else(|| format!("{size:?}: expected WIDTHxHEIGHT, each 1 to 10000"))?;
        let fit = match *fit {
            "cover" => Fit::Cover,
            "inside" => Fit::Inside,
            other => return Err(format!("{other:?}: expected cover or inside")),
        };
        Ok(Self {
            name: (*name).to_owned(),
            width,
            height,
            fit,
        })
    }
}

/// `w640` → 640.
fn parse_width_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('w')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What a variant makes of its source: a box and a fit. Its [`Recipe::key`] names the stored
/// variant, so changing a preset's box makes new variants instead of serving stale ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    Box {
        width: u32,
        height: u32,
        fit: Fit,
    },
    /// `w<N>`: N wide at most, any height (for `srcset`).
    Width(u32),
}

impl Recipe {
    /// The variant named `name` among `presets` and `widths`; `None` for anything else.
    pub fn find(name: &str, presets: &[Preset], widths: &[u32]) -> Option<Self> {
        if let Some(width) = parse_width_name(name) {
            return widths.contains(&width).then_some(Self::Width(width));
        }
        let preset = presets.iter().find(|p| p.name == name)?;
        Some(Self::Box {
            width: preset.width,
            height: preset.height,
            fit: preset.fit,
        })
    }

    /// A file-name-safe key: `cover-640x480`, `inside-1600x1600`, `w320`.
    pub fn key(&self) -> String {
        match *self {
            Self::Box { width, height, fit } => {
                let fit = match fit {
                    Fit::Cover => "cover",
                    Fit::Inside => "inside",
                };
                format!("{fit}-{width}x{height}")
            }
            Self::Width(width) => format!("w{width}"),
        }
    }

    /// The output size for a `source` of that size (upright), and the centred crop of the
    /// source to take first (x, y, width, height) when covering. Never larger than the source.
    pub fn plan(&self, source: (u32, u32)) -> Plan {
        let (sw, sh) = (source.0.max(1), source.1.max(1));
        let whole = (0, 0, sw, sh);
        match *self {
            Self::Width(width) => Plan::new(inside(sw, sh, width, u32::MAX), whole),
            Self::Box {
                width,
                height,
                fit: Fit::Inside,
            } => Plan::new(inside(sw, sh, width, height), whole),
            Self::Box {
                width,
                height,
                fit: Fit::Cover,
            } => {
                // The box, shrunk to the source where the source is smaller.
                let (bw, bh) = (width.min(sw), height.min(sh));
                // The largest centred region of the source with the box's aspect ratio.
                let (cw, ch) = if u64::from(sw) * u64::from(bh) > u64::from(sh) * u64::from(bw) {
                    (
                        div_round(u64::from(sh) * u64::from(bw), bh).clamp(1, sw),
                        sh,
                    )
                } else {
                    (
                        sw,
                        div_round(u64::from(sw) * u64::from(bh), bw).clamp(1, sh),
                    )
                };
                Plan::new((bw, bh), ((sw - cw) / 2, (sh - ch) / 2, cw, ch))
            }
        }
    }
}

fn inside(sw: u32, sh: u32, bw: u32, bh: u32) -> (u32, u32) {
    if sw <= bw && sh <= bh {
        return (sw, sh);
    }
    // Scale by the tighter side, rounding the other.
    if u64::from(sw) * u64::from(bh) >= u64::from(sh) * u64::from(bw) {
        (bw, div_round(u64::from(sh) * u64::from(bw), sw).max(1))
    } else {
        (div_round(u64::from(sw) * u64::from(bh), sh).max(1), bh)
    }
}

fn div_round(numerator: u64, denominator: u32) -> u32 {
    let d = u64::from(denominator);
    u32::try_from((numerator + d / 2) / d).unwrap_or(u32::MAX)
}

/// What a recipe does to a source of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub width: u32,
    pub height: u32,
    /// The region of the (upright) source to resize: x, y, width, height.
    pub crop: (u32, u32, u32, u32),
}

impl Plan {
    fn new((width, height): (u32, u32), crop: (u32, u32, u32, u32)) -> Self {
        Self {
            width,
            height,
            crop,
        }
    }
}

/// The formats a variant is encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
    Avif,
}

impl OutputFormat {
    pub const ALL: [Self; 4] = [Self::Jpeg, Self::Png, Self::Webp, Self::Avif];

    /// The `?format=` value: `jpeg`, `png`, `webp`, `avif`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            other => other.extension(),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "jpeg" | "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::Webp),
            "avif" => Some(Self::Avif),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The modern format `accept` lists by name with q > 0: AVIF (when enabled), else WebP.
/// `None` means "what you would send anyone": JPEG, or PNG for a source with transparency.
/// Wildcards (`image/*`, `*/*`) never pick a modern format: browsers name the ones they take.
pub fn negotiate(accept: &str, avif_enabled: bool) -> Option<OutputFormat> {
    let listed = |mime: &str| {
        accept.split(',').any(|item| {
            let mut params = item.split(';');
            let kind = params.next().unwrap_or_default().trim();
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            kind.eq_ignore_ascii_case(mime) && q > 0.0
        })
    };
    if avif_enabled && listed("image/avif") {
        Some(OutputFormat::Avif)
    } else if listed("image/webp") {
        Some(OutputFormat::Webp)
    } else {
        None
    }
}

/// Where a made variant is kept: beside its source, under the source's name, by recipe and
/// format. Only [`VariantName::new`] makes one, so it is always safe as a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantName {
    source: StoredName,
    file_name: String,
}

impl VariantName {
    pub fn new(source: &StoredName, recipe: &Recipe, format: OutputFormat) -> Self {
        Self {
            source: source.clone(),
            file_name: format!("{}.{}", recipe.key(), format.extension()),
        }
    }

    /// A kept variant's file name as listed in the store; `None` if it is not one of ours.
    pub fn parse(source: &StoredName, file_name: &str) -> Option<Self> {
        let (key, extension) = file_name.rsplit_once('.')?;
        OutputFormat::ALL
            .iter()
            .find(|f| f.extension() == extension)?;
        let (fit, size) = key.split_once('-').unwrap_or(("", key));
        let ours = match fit {
            "cover" | "inside" => size
                .split_once('x')
                .is_some_and(|(w, h)| is_number(w) && is_number(h)),
            _ => key.strip_prefix('w').is_some_and(is_number),
        };
        ours.then(|| Self {
            source: source.clone(),
            file_name: file_name.to_owned(),
        })
    }

    pub fn source(&self) -> &StoredName {
        &self.source
    }

    pub fn format(&self) -> OutputFormat {
        let extension = self.file_name.rsplit('.').next().unwrap_or_default();
        OutputFormat::ALL
            .into_iter()
            .find(|f| f.extension() == extension)
            .expect("made or parsed with a known extension")
    }

    /// `cover-640x480.webp`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
}

fn is_number(digits: &str) -> bool {
    !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Display for VariantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.source, self.file_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presets() -> Vec<Preset> {
        "thumb:200x200:cover,card:640x480:cover,large:1600x1600:inside"
            .split(',')
            .map(|p| Preset::parse(p).unwrap())
            .collect()
    }

    #[test]
    fn presets_and_listed_widths_are_found_and_nothing_else() {
        let widths = [320, 640];
        let card = Recipe::find("card", &presets(), &widths).unwrap();
        assert_eq!(card.key(), "cover-640x480");
        assert_eq!(
            Recipe::find("w320", &presets(), &widths),
            Some(Recipe::Width(320))
        );
        for unknown in [
            "w321",
            "w0320",
            "w",
            "W320",
            "cards",
            "",
            "../card",
            "w99999999999",
        ] {
            assert_eq!(
                Recipe::find(unknown, &presets(), &widths),
                None,
                "{unknown:?}"
            );
        }
    }

    #[test]
    fn bad_presets_are_refused() {
        for bad in [
            "card",
            "card:640x480",
            "card:640:cover",
            "card:0x480:cover",
            "Card:1x1:cover",
            "w320:10x10:cover",
            "card:640x480:fill",
            "a/b:1x1:cover",
        ] {
            assert!(Preset::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cover_is_exact_and_centred_inside_fits_and_neither_upscales() {
        let card = Recipe::Box {
            width: 640,
            height: 480,
            fit: Fit::Cover,
        };
        assert_eq!(
            card.plan((4000, 3000)),
            Plan::new((640, 480), (0, 0, 4000, 3000))
        );
        assert_eq!(
            card.plan((3000, 3000)),
            Plan::new((640, 480), (0, 375, 3000, 2250))
        );
        assert_eq!(
            card.plan((300, 200)),
            Plan::new((300, 200), (0, 0, 300, 200))
        );
        assert_eq!(
            card.plan((1000, 100)),
            Plan::new((640, 100), (180, 0, 640, 100))
        );
        let large = Recipe::Box {
            width: 1600,
            height: 1600,
            fit: Fit::Inside,
        };
        assert_eq!(
            large.plan((4000, 3000)),
            Plan::new((1600, 1200), (0, 0, 4000, 3000))
        );
        assert_eq!(
            large.plan((3000, 4000)),
            Plan::new((1200, 1600), (0, 0, 3000, 4000))
        );
        assert_eq!(large.plan((800, 600)).width, 800);
        assert_eq!(
            Recipe::Width(320).plan((4000, 3000)),
            Plan::new((320, 240), (0, 0, 4000, 3000))
        );
        assert_eq!(Recipe::Width(320).plan((100, 5000)).width, 100);
    }

    #[test]
    fn only_names_a_recipe_makes_parse_as_kept_variants() {
        let source =
            StoredName::parse("2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400123.jpg")
                .unwrap();
        for recipe in [
            Recipe::Width(320),
            presets()
                .iter()
                .map(|p| Recipe::find(&p.name, &presets(), &[]).unwrap())
                .next()
                .unwrap(),
        ] {
            for format in OutputFormat::ALL {
                let name = VariantName::new(&source, &recipe, format);
                assert_eq!(VariantName::parse(&source, name.file_name()), Some(name));
            }
        }
        for stray in [
            "w320",
            "w320.gif",
            "cover-1x.jpg",
            "../w320.jpg",
            "fill-2x2.png",
            "w.jpg",
            ".jpg",
        ] {
            assert_eq!(VariantName::parse(&source, stray), None, "{stray:?}");
        }
    }

    #[test]
    fn negotiation_takes_named_modern_formats_only() {
        let browser = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
        assert_eq!(negotiate(browser, true), Some(OutputFormat::Avif));
        assert_eq!(negotiate(browser, false), Some(OutputFormat::Webp));
        assert_eq!(negotiate("image/*", true), None);
        assert_eq!(negotiate("*/*", true), None);
        assert_eq!(negotiate("image/webp;q=0, image/avif;q=0", true), None);
        assert_eq!(negotiate("IMAGE/WEBP", false), Some(OutputFormat::Webp));
    }
}
