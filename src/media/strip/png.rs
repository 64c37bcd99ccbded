//! PNG: chunks are walked from the signature to IEND; text, time and EXIF chunks are dropped.
//! Kept chunks pass through unchanged, so their CRCs stay valid.

use super::exif::{self, MINIMAL_TIFF_LEN};
use super::stream::{Driver, Sink, Step, Walk};
use super::{MalformedImage, Stripped};

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// PNG chunk lengths are limited to 2^31 - 1.
const MAX_CHUNK: u32 = 0x7FFF_FFFF;
const DROPPED: [&[u8; 4]; 4] = [b"tEXt", b"zTXt", b"iTXt", b"tIME"];

#[derive(Debug, Clone, Copy)]
enum Phase {
    Signature,
    /// A chunk's length and type.
    ChunkHeader,
    /// The first 4 bytes of an acTL payload (num_frames); `rest` follows, CRC included.
    AnimationControl {
        rest: u64,
    },
    /// The collected payload of an eXIf chunk of `len` bytes.
    Exif {
        len: u32,
    },
    ChunkEnd,
    /// IEND has passed.
    End,
}

pub(super) struct Png {
    phase: Phase,
    image_data_seen: bool,
    orientation: u8,
    exif_seen: bool,
    frames: Option<u32>,
}

impl Png {
    pub fn driver() -> Driver<Png> {
        let walk = Png {
            phase: Phase::Signature,
            image_data_seen: false,
            orientation: 1,
            exif_seen: false,
            frames: None,
        };
        Driver::new(walk, Step::Need(SIGNATURE.len()))
    }

    fn chunk(&mut self, header: &[u8], sink: &mut Sink) -> Result<Step, MalformedImage> {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind: &[u8; 4] = header[4..8].try_into().expect("a chunk header is 8 bytes");
        if len > MAX_CHUNK {
            return Err(MalformedImage::new("PNG chunk length exceeds 2^31 - 1"));
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(MalformedImage::new(
                "PNG has garbage where a chunk type must be",
            ));
        }
        // Payload and CRC.
        let body = u64::from(len) + 4;
        self.phase = Phase::ChunkEnd;
        if DROPPED.contains(&kind) {
            sink.drop(8);
            return Ok(Step::Drop(body));
        }
        if kind == b"eXIf" {
            sink.drop(8);
            if self.exif_seen {
                return Ok(Step::Drop(body));
            }
            self.phase = Phase::Exif { len };
            return Ok(Step::Collect(len.into()));
        }
        sink.keep(header);
        match kind {
            b"IDAT" => self.image_data_seen = true,
            b"IEND" => self.phase = Phase::End,
            b"acTL" if len >= 4 => {
                self.phase = Phase::AnimationControl { rest: body - 4 };
                return Ok(Step::Need(4));
            }
            _ => {}
        }
        Ok(Step::Keep(body))
    }

    /// An eXIf chunk holding only Orientation, with its CRC.
    fn minimal_exif_chunk(orientation: u8) -> Vec<u8> {
        let mut chunk = (MINIMAL_TIFF_LEN as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(b"eXIf");
        chunk.extend_from_slice(&exif::minimal_tiff(orientation));
        let crc = crc32fast::hash(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        chunk
    }
}

impl Walk for Png {
    fn resume(&mut self, got: &[u8], sink: &mut Sink) -> Result<Step, MalformedImage> {
        match self.phase {
            Phase::Signature => {
                if got != SIGNATURE {
                    return Err(MalformedImage::new(
                        "PNG does not start with the PNG signature",
                    ));
                }
                sink.keep(got);
                self.phase = Phase::ChunkHeader;
                Ok(Step::Need(8))
            }
            Phase::ChunkHeader => self.chunk(got, sink),
            Phase::AnimationControl { rest } => {
                self.frames = Some(u32::from_be_bytes([got[0], got[1], got[2], got[3]]));
                sink.keep(got);
                self.phase = Phase::ChunkEnd;
                Ok(Step::Keep(rest))
            }
            Phase::Exif { len } => {
                self.exif_seen = true;
                self.orientation = exif::orientation(got, got.len() as u64 == u64::from(len))?;
                // The PNG specification places eXIf before IDAT, and decoders may ignore one
                // after it: a late one is only reported, not written back.
                if self.orientation != 1 && !self.image_data_seen {
                    sink.keep(&Self::minimal_exif_chunk(self.orientation));
                }
                self.phase = Phase::ChunkEnd;
                Ok(Step::Drop(4))
            }
            Phase::ChunkEnd => {
                self.phase = Phase::ChunkHeader;
                Ok(Step::Need(8))
            }
            Phase::End => Ok(Step::Done),
        }
    }

    fn finish(&mut self, _sink: &mut Sink) -> Result<Stripped, MalformedImage> {
        Ok(Stripped {
            orientation: self.orientation,
            frames: self.frames,
            header_patch: None,
            bytes_dropped: 0,
        })
    }
}

#[cfg(test)]
mod tests;
