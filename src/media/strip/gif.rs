//! GIF: blocks are walked from the header to the trailer; comment extensions and application
//! extensions other than the looping ones are dropped.

use super::stream::{Driver, Sink, Step, Walk};
use super::{MalformedImage, Stripped};

/// Header (6) and logical screen descriptor (7).
const HEADER_LEN: usize = 13;
const EXTENSION: u8 = 0x21;
const IMAGE: u8 = 0x2C;
const TRAILER: u8 = 0x3B;
const COMMENT: u8 = 0xFE;
const APPLICATION: u8 = 0xFF;
/// Application identifiers (with authentication code) that carry only the loop count.
const LOOPING: [&[u8]; 2] = [b"NETSCAPE2.0", b"ANIMEXTS1.0"];
const APPLICATION_ID_LEN: u8 = 11;

#[derive(Debug, Clone, Copy)]
enum Phase {
    Header,
    /// A block introducer.
    Block,
    /// The label after an extension introducer.
    ExtensionLabel,
    /// The size of an application extension's first sub-block.
    ApplicationSize,
    /// The identifier sub-block of an application extension.
    ApplicationId,
    /// The size byte of the next data sub-block; 0 ends them.
    SubBlock {
        keep: bool,
    },
    /// An image descriptor after its introducer.
    ImageDescriptor,
    /// The LZW minimum code size that precedes an image's data sub-blocks.
    CodeSize,
}

pub(super) struct Gif {
    phase: Phase,
    frames: u32,
}

impl Gif {
    pub fn driver() -> Driver<Gif> {
        Driver::new(
            Gif {
                phase: Phase::Header,
                frames: 0,
            },
            Step::Need(HEADER_LEN),
        )
    }

    fn sub_blocks(&mut self, keep: bool) -> Step {
        self.phase = Phase::SubBlock { keep };
        Step::Need(1)
    }
}

/// Length of the colour table that a packed-fields byte announces, 0 when none.
fn colour_table_len(packed: u8) -> u64 {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

impl Walk for Gif {
    fn resume(&mut self, got: &[u8], sink: &mut Sink) -> Result<Step, MalformedImage> {
        match self.phase {
            Phase::Header => {
                if &got[..6] != b"GIF87a" && &got[..6] != b"GIF89a" {
                    return Err(MalformedImage::new("GIF does not start with a GIF header"));
                }
                sink.keep(got);
                self.phase = Phase::Block;
                // The global colour table follows, then the first block introducer.
                match colour_table_len(got[10]) {
                    0 => Ok(Step::Need(1)),
                    len => Ok(Step::Keep(len)),
                }
            }
            Phase::Block => match got.first() {
                // After a colour table kept in full.
                None => Ok(Step::Need(1)),
                Some(&EXTENSION) => {
                    self.phase = Phase::ExtensionLabel;
                    Ok(Step::Need(1))
                }
                Some(&IMAGE) => {
                    self.phase = Phase::ImageDescriptor;
                    Ok(Step::Need(9))
                }
                Some(&TRAILER) => {
                    sink.keep(got);
                    Ok(Step::Done)
                }
                Some(_) => Err(MalformedImage::new("GIF has garbage where a block must be")),
            },
            Phase::ExtensionLabel => match got[0] {
                COMMENT => {
                    sink.drop(2);
                    Ok(self.sub_blocks(false))
                }
                APPLICATION => {
                    self.phase = Phase::ApplicationSize;
                    Ok(Step::Need(1))
                }
                // Graphic control, plain text and unknown extensions render or may.
                label => {
                    sink.keep(&[EXTENSION, label]);
                    Ok(self.sub_blocks(true))
                }
            },
            Phase::ApplicationSize => {
                if got[0] == 0 {
                    sink.drop(3);
                    self.phase = Phase::Block;
                    return Ok(Step::Need(1));
                }
                if got[0] == APPLICATION_ID_LEN {
                    self.phase = Phase::ApplicationId;
                    return Ok(Step::Need(APPLICATION_ID_LEN.into()));
                }
                // Not a well-formed identifier: no looping extension, so dropped with the rest.
                sink.drop(3);
                self.phase = Phase::SubBlock { keep: false };
                Ok(Step::Drop(got[0].into()))
            }
            Phase::ApplicationId => {
                if LOOPING.contains(&got) {
                    sink.keep(&[EXTENSION, APPLICATION, APPLICATION_ID_LEN]);
                    sink.keep(got);
                    return Ok(self.sub_blocks(true));
                }
                sink.drop(3 + got.len() as u64);
                Ok(self.sub_blocks(false))
            }
            Phase::SubBlock { keep } => match (got.first(), keep) {
                // A sub-block's data has passed: its successor's size comes next.
                (None, _) => Ok(Step::Need(1)),
                (Some(&0), _) => {
                    if keep {
                        sink.keep(got)
                    } else {
                        sink.drop(1)
                    }
                    self.phase = Phase::Block;
                    Ok(Step::Need(1))
                }
                (Some(&len), true) => {
                    sink.keep(got);
                    Ok(Step::Keep(len.into()))
                }
                (Some(&len), false) => {
                    sink.drop(1);
                    Ok(Step::Drop(len.into()))
                }
            },
            Phase::ImageDescriptor => {
                self.frames += 1;
                sink.keep(&[IMAGE]);
                sink.keep(got);
                self.phase = Phase::CodeSize;
                match colour_table_len(got[8]) {
                    0 => Ok(Step::Need(1)),
                    len => Ok(Step::Keep(len)),
                }
            }
            Phase::CodeSize => match got.first() {
                // After a local colour table kept in full.
                None => Ok(Step::Need(1)),
                Some(_) => {
                    sink.keep(got);
                    Ok(self.sub_blocks(true))
                }
            },
        }
    }

    fn finish(&mut self, _sink: &mut Sink) -> Result<Stripped, MalformedImage> {
        Ok(Stripped {
            orientation: 1,
            frames: Some(self.frames),
            header_patch: None,
            bytes_dropped: 0,
        })
    }
}

#[cfg(test)]
mod tests;
