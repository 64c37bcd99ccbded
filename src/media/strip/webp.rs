//! WebP: the chunks of the RIFF container are walked to the RIFF size; XMP and EXIF chunks are
//! dropped. The RIFF size and the VP8X flags describe the whole file but precede it, so their
//! corrected values are returned as a header patch for the caller to apply once complete.

use super::exif::{self, MINIMAL_TIFF_LEN};
use super::stream::{Driver, Sink, Step, Walk};
use super::{MalformedImage, Stripped};

const HEADER_LEN: usize = 12;
const CHUNK_HEADER_LEN: u64 = 8;
/// Where the VP8X flags byte sits when VP8X is the first chunk, as the container requires.
const VP8X_FLAGS_AT: u64 = HEADER_LEN as u64 + CHUNK_HEADER_LEN;
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;
const FLAG_ANIMATION: u8 = 0x02;

#[derive(Debug, Clone, Copy)]
enum Phase {
    Header,
    ChunkHeader,
    /// The VP8X flags byte; `rest` of the chunk (padding included) follows.
    Flags {
        rest: u64,
    },
    /// The collected payload of an EXIF chunk of `len` bytes, padded by `pad`.
    Exif {
        len: u32,
        pad: u64,
    },
    ChunkEnd,
}

pub(super) struct Webp {
    phase: Phase,
    /// The RIFF header as stored, to patch.
    header: [u8; HEADER_LEN],
    /// Bytes of the RIFF payload not yet walked.
    riff_left: u64,
    chunks: u32,
    /// The first chunk's header and flags byte, when it is VP8X.
    vp8x: Option<([u8; 8], u8)>,
    orientation: u8,
    exif_seen: bool,
    frames: u32,
    /// The last chunk had an odd length and no pad byte: one is owed before appending.
    pad_owed: bool,
}

impl Webp {
    pub fn driver() -> Driver<Webp> {
        let walk = Webp {
            phase: Phase::Header,
            header: [0; HEADER_LEN],
            riff_left: 0,
            chunks: 0,
            vp8x: None,
            orientation: 1,
            exif_seen: false,
            frames: 0,
            pad_owed: false,
        };
        Driver::new(walk, Step::Need(HEADER_LEN))
    }

    fn next_chunk(&mut self) -> Result<Step, MalformedImage> {
        if self.riff_left == 0 {
            return Ok(Step::Done);
        }
        if self.riff_left < CHUNK_HEADER_LEN {
            return Err(MalformedImage::new(
                "WebP chunk header runs past the RIFF size",
            ));
        }
        self.phase = Phase::ChunkHeader;
        Ok(Step::Need(CHUNK_HEADER_LEN as usize))
    }

    fn chunk(&mut self, header: &[u8], sink: &mut Sink) -> Result<Step, MalformedImage> {
        let fourcc: &[u8; 4] = header[..4].try_into().expect("a chunk header is 8 bytes");
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let mut pad = u64::from(len & 1);
        let left = self.riff_left - CHUNK_HEADER_LEN;
        if u64::from(len) + pad > left {
            // Some writers omit the pad byte of the last chunk; anything longer is malformed.
            if u64::from(len) != left {
                return Err(MalformedImage::new("WebP chunk runs past the RIFF size"));
            }
            pad = 0;
            self.pad_owed = len % 2 == 1 && !matches!(fourcc, b"XMP " | b"EXIF");
        }
        self.riff_left = left - u64::from(len) - pad;
        self.chunks += 1;
        self.phase = Phase::ChunkEnd;
        match fourcc {
            b"XMP " => {
                sink.drop(CHUNK_HEADER_LEN);
                Ok(Step::Drop(u64::from(len) + pad))
            }
            b"EXIF" if !self.exif_seen => {
                sink.drop(CHUNK_HEADER_LEN);
                self.phase = Phase::Exif { len, pad };
                Ok(Step::Collect(len.into()))
            }
            b"EXIF" => {
                sink.drop(CHUNK_HEADER_LEN);
                Ok(Step::Drop(u64::from(len) + pad))
            }
            b"VP8X" if self.chunks == 1 && len >= 1 => {
                let mut stored = [0; 8];
                stored.copy_from_slice(header);
                self.vp8x = Some((stored, 0));
                sink.keep(header);
                self.phase = Phase::Flags {
                    rest: u64::from(len) + pad - 1,
                };
                Ok(Step::Need(1))
            }
            _ => {
                if fourcc == b"ANMF" {
                    self.frames += 1;
                }
                sink.keep(header);
                Ok(Step::Keep(u64::from(len) + pad))
            }
        }
    }

    /// An EXIF chunk holding only Orientation (its length is even: no padding).
    fn minimal_exif_chunk(orientation: u8) -> Vec<u8> {
        let mut chunk = b"EXIF".to_vec();
        chunk.extend_from_slice(&(MINIMAL_TIFF_LEN as u32).to_le_bytes());
        chunk.extend_from_slice(&exif::minimal_tiff(orientation));
        chunk
    }
}

impl Walk for Webp {
    fn resume(&mut self, got: &[u8], sink: &mut Sink) -> Result<Step, MalformedImage> {
        match self.phase {
            Phase::Header => {
                if &got[..4] != b"RIFF" || &got[8..12] != b"WEBP" {
                    return Err(MalformedImage::new(
                        "WebP does not start with a RIFF WEBP header",
                    ));
                }
                let size = u32::from_le_bytes([got[4], got[5], got[6], got[7]]);
                self.riff_left = u64::from(size)
                    .checked_sub(4)
                    .ok_or(MalformedImage::new("WebP RIFF size too small"))?;
                self.header.copy_from_slice(got);
                sink.keep(got);
                self.next_chunk()
            }
            Phase::ChunkHeader => self.chunk(got, sink),
            Phase::Flags { rest } => {
                if let Some((_, flags)) = &mut self.vp8x {
                    *flags = got[0];
                }
                sink.keep(got);
                self.phase = Phase::ChunkEnd;
                Ok(Step::Keep(rest))
            }
            Phase::Exif { len, pad } => {
                self.exif_seen = true;
                self.orientation = exif::orientation(got, got.len() as u64 == u64::from(len))?;
                self.phase = Phase::ChunkEnd;
                Ok(Step::Drop(pad))
            }
            Phase::ChunkEnd => self.next_chunk(),
        }
    }

    fn finish(&mut self, sink: &mut Sink) -> Result<Stripped, MalformedImage> {
        let mut flags = self.vp8x.map(|(_, flags)| flags);
        // Metadata chunks belong to the extended format: without VP8X there is no EXIF chunk
        // to write, and the orientation is only reported.
        if let Some(flags) = &mut flags {
            *flags &= !(FLAG_XMP | FLAG_EXIF);
            if self.orientation != 1 {
                if self.pad_owed {
                    sink.keep(&[0]);
                }
                sink.keep(&Self::minimal_exif_chunk(self.orientation));
                *flags |= FLAG_EXIF;
            }
        }
        let riff_size = u32::try_from(sink.written() - 8)
            .map_err(|_| MalformedImage::new("WebP larger than RIFF allows"))?;
        let mut patch = self.header.to_vec();
        patch[4..8].copy_from_slice(&riff_size.to_le_bytes());
        let mut stored = self.header.to_vec();
        if let (Some((chunk, old)), Some(new)) = (self.vp8x, flags) {
            debug_assert_eq!(patch.len() as u64 + chunk.len() as u64, VP8X_FLAGS_AT);
            patch.extend_from_slice(&chunk);
            patch.push(new);
            stored.extend_from_slice(&chunk);
            stored.push(old);
        }
        let animated = flags.is_some_and(|f| f & FLAG_ANIMATION != 0) || self.frames > 0;
        Ok(Stripped {
            orientation: self.orientation,
            frames: animated.then_some(self.frames),
            header_patch: (patch != stored).then_some((0, patch)),
            bytes_dropped: 0,
        })
    }
}

#[cfg(test)]
mod tests;
