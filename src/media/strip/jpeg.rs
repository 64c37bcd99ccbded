//! JPEG: marker segments are walked up to each Start Of Scan; metadata segments are dropped;
//! entropy-coded data is scanned for the marker that ends it, up to the End Of Image.

use super::exif::{self, EXIF_PREFIX, MINIMAL_TIFF_LEN};
use super::stream::{Driver, Sink, Step, Walk};
use super::{MalformedImage, Stripped};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const COM: u8 = 0xFE;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;
const TEM: u8 = 0x01;

/// What the bytes handed to `resume` are.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Soi,
    /// The 0xFF that must start a marker.
    MarkerStart,
    /// The marker code (or a fill 0xFF).
    MarkerCode,
    /// The two length bytes of this marker's segment.
    Length(u8),
    /// The identifier at the start of this APPn payload (`len` counts the payload only).
    Identifier {
        marker: u8,
        len: u16,
    },
    /// A segment has been kept or dropped.
    SegmentEnd,
    /// The collected TIFF block of an EXIF APP1.
    Exif {
        len: u16,
    },
    /// The Start Of Scan header has passed: entropy-coded data follows.
    ScanStart,
}

pub(super) struct Jpeg {
    phase: Phase,
    /// An 0xFF at the end of the last push, during a scan: a marker or stuffing may follow.
    scan_ff: bool,
    orientation: u8,
    exif_seen: bool,
}

impl Jpeg {
    pub fn driver() -> Driver<Jpeg> {
        let walk = Jpeg {
            phase: Phase::Soi,
            scan_ff: false,
            orientation: 1,
            exif_seen: false,
        };
        Driver::new(walk, Step::Need(2))
    }

    /// Decides a marker whose 0xFF and code have been read (neither is kept yet).
    fn marker(&mut self, code: u8, sink: &mut Sink) -> Result<Step, MalformedImage> {
        match code {
            SOI => Err(MalformedImage::new("JPEG has a second Start Of Image")),
            EOI => {
                sink.keep(&[0xFF, EOI]);
                Ok(Step::Done)
            }
            // Markers that stand alone, without a length.
            0xD0..=0xD7 | TEM => {
                sink.keep(&[0xFF, code]);
                self.phase = Phase::MarkerStart;
                Ok(Step::Need(1))
            }
            _ => {
                self.phase = Phase::Length(code);
                Ok(Step::Need(2))
            }
        }
    }

    fn segment(&mut self, marker: u8, len: u16, sink: &mut Sink) -> Result<Step, MalformedImage> {
        let payload = len
            .checked_sub(2)
            .ok_or(MalformedImage::new("JPEG segment length below 2"))?;
        let header = [0xFF, marker, (len >> 8) as u8, len as u8];
        let identifier = match marker {
            APP0 | APP14 => 5,
            APP1 => EXIF_PREFIX.len(),
            APP2 => ICC_PROFILE.len(),
            _ => 0,
        };
        if identifier > 0 && usize::from(payload) >= identifier {
            self.phase = Phase::Identifier {
                marker,
                len: payload,
            };
            // Nothing of the segment is kept or counted yet: its identifier decides.
            return Ok(Step::Need(identifier));
        }
        self.phase = if marker == SOS {
            Phase::ScanStart
        } else {
            Phase::SegmentEnd
        };
        if (APP0..=0xEF).contains(&marker) || marker == COM {
            sink.drop(4);
            Ok(Step::Drop(payload.into()))
        } else {
            sink.keep(&header);
            Ok(Step::Keep(payload.into()))
        }
    }

    fn identified(&mut self, marker: u8, len: u16, id: &[u8], sink: &mut Sink) -> Step {
        let rest = u64::from(len) - id.len() as u64;
        let keep = match marker {
            APP0 => id == b"JFIF\0",
            APP2 => id == ICC_PROFILE,
            APP14 => id == b"Adobe",
            _ => false,
        };
        if keep {
            let len = len + 2;
            sink.keep(&[0xFF, marker, (len >> 8) as u8, len as u8]);
            sink.keep(id);
            self.phase = Phase::SegmentEnd;
            return Step::Keep(rest);
        }
        sink.drop(4 + id.len() as u64);
        if marker == APP1 && id.starts_with(b"Exif\0") && !self.exif_seen {
            self.phase = Phase::Exif { len };
            return Step::Collect(rest);
        }
        self.phase = Phase::SegmentEnd;
        Step::Drop(rest)
    }
}

const ICC_PROFILE: &[u8] = b"ICC_PROFILE\0";

/// An APP1 segment holding only an EXIF Orientation tag.
fn minimal_app1(orientation: u8) -> Vec<u8> {
    let len = (2 + EXIF_PREFIX.len() + MINIMAL_TIFF_LEN) as u16;
    let mut segment = vec![0xFF, APP1, (len >> 8) as u8, len as u8];
    segment.extend_from_slice(EXIF_PREFIX);
    segment.extend_from_slice(&exif::minimal_tiff(orientation));
    segment
}

impl Walk for Jpeg {
    fn resume(&mut self, got: &[u8], sink: &mut Sink) -> Result<Step, MalformedImage> {
        match self.phase {
            Phase::Soi => {
                if got != [0xFF, SOI] {
                    return Err(MalformedImage::new(
                        "JPEG does not start with Start Of Image",
                    ));
                }
                sink.keep(got);
                self.phase = Phase::MarkerStart;
                Ok(Step::Need(1))
            }
            Phase::MarkerStart => {
                if got != [0xFF] {
                    return Err(MalformedImage::new(
                        "JPEG has garbage where a marker must be",
                    ));
                }
                self.phase = Phase::MarkerCode;
                Ok(Step::Need(1))
            }
            Phase::MarkerCode => match got[0] {
                // Fill bytes may precede a marker; they carry nothing.
                0xFF => {
                    sink.drop(1);
                    Ok(Step::Need(1))
                }
                0x00 => Err(MalformedImage::new(
                    "JPEG has garbage where a marker must be",
                )),
                code => self.marker(code, sink),
            },
            Phase::Length(marker) => {
                self.segment(marker, u16::from_be_bytes([got[0], got[1]]), sink)
            }
            Phase::Identifier { marker, len } => Ok(self.identified(marker, len, got, sink)),
            Phase::Exif { len } => {
                let complete = got.len() + EXIF_PREFIX.len() == usize::from(len);
                self.orientation = exif::orientation(got, complete)?;
                self.exif_seen = true;
                if self.orientation != 1 {
                    sink.keep(&minimal_app1(self.orientation));
                }
                self.phase = Phase::MarkerStart;
                Ok(Step::Need(1))
            }
            Phase::SegmentEnd => {
                self.phase = Phase::MarkerStart;
                Ok(Step::Need(1))
            }
            Phase::ScanStart => {
                self.scan_ff = false;
                Ok(Step::Scan)
            }
        }
    }

    fn scan(
        &mut self,
        pos: usize,
        sink: &mut Sink,
    ) -> Result<(usize, Option<Step>), MalformedImage> {
        let input = sink.input();
        let mut at = pos;
        if self.scan_ff {
            // The last push ended on an 0xFF, not kept yet: this byte tells what it was.
            let Some(&code) = input.get(at) else {
                return Ok((at, None));
            };
            self.scan_ff = false;
            match code {
                // A fill byte: the 0xFF that follows it decides.
                0xFF => sink.keep(&[0xFF]),
                0x00 | 0xD0..=0xD7 => {
                    sink.keep(&[0xFF, code]);
                    at += 1;
                }
                marker => return Ok((at + 1, Some(self.marker(marker, sink)?))),
            }
        }
        let start = at;
        loop {
            // Every byte of the picture passes here: memchr scans with SIMD.
            let Some(ff) = memchr::memchr(0xFF, &input[at..]) else {
                sink.keep_input(start..input.len());
                return Ok((input.len(), None));
            };
            at += ff;
            match input.get(at + 1) {
                None => {
                    sink.keep_input(start..at);
                    self.scan_ff = true;
                    return Ok((input.len(), None));
                }
                // Stuffing and restart markers are part of the entropy-coded data.
                Some(0x00 | 0xD0..=0xD7) => at += 2,
                Some(0xFF) => at += 1,
                Some(&marker) => {
                    sink.keep_input(start..at);
                    return Ok((at + 2, Some(self.marker(marker, sink)?)));
                }
            }
        }
    }

    fn finish(&mut self, _sink: &mut Sink) -> Result<Stripped, MalformedImage> {
        Ok(Stripped {
            orientation: self.orientation,
            frames: None,
            header_patch: None,
            bytes_dropped: 0,
        })
    }
}

#[cfg(test)]
mod tests;
