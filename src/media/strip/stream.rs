//! The streaming machinery shared by every format: a format only decides, segment by segment,
//! what to keep, drop or read; this driver moves the bytes across `push` boundaries so that no
//! format has to care where one network chunk ends and the next begins.

use std::ops::Range;

use bytes::Bytes;

use super::{MalformedImage, Stripped};

/// The most a format may have read whole to decide: an EXIF block. 64 KiB is the JPEG APP1
/// maximum, so a JPEG EXIF block always fits; a larger PNG or WebP one is read only this far.
pub const EXIF_CAP: usize = 64 * 1024;

/// What a format wants done with the bytes that come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Hold exactly this many bytes (a marker, a chunk header) and hand them to `resume`.
    Need(usize),
    /// Pass this many bytes through to the output.
    Keep(u64),
    /// Discard this many bytes as they stream past.
    Drop(u64),
    /// Discard this many bytes but hold the first `EXIF_CAP` of them for `resume` to read.
    Collect(u64),
    /// Hand every byte to `scan` (JPEG entropy-coded data, whose end only a scan can find).
    Scan,
    /// The image has ended: whatever follows is discarded.
    Done,
}

/// One image format's rules, driven by [`Driver`].
pub(super) trait Walk {
    /// Decides the next step. `got` holds the bytes of the last `Need` or `Collect` (empty after
    /// `Keep` or `Drop`); the format's own state tells which it was.
    fn resume(&mut self, got: &[u8], sink: &mut Sink) -> Result<Step, MalformedImage>;

    /// Consumes `sink.input()[pos..]` while in `Step::Scan`, returning the new position and the
    /// next step once the scanned data has ended.
    fn scan(
        &mut self,
        _pos: usize,
        _sink: &mut Sink,
    ) -> Result<(usize, Option<Step>), MalformedImage> {
        Err(MalformedImage::new("internal: this format has no scan"))
    }

    /// What the format learnt, once the image has ended (`bytes_dropped` is filled in by the
    /// caller). May still append output, e.g. a chunk that belongs after the image data.
    fn finish(&mut self, sink: &mut Sink) -> Result<Stripped, MalformedImage>;
}

/// Running totals over the whole upload.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub written: u64,
    pub dropped: u64,
}

/// Where kept bytes go during one `push`. Kept input is coalesced into as few `Bytes` as
/// possible: when the input came as `Bytes`, kept ranges are slices of it (no copy).
pub(super) struct Sink<'a> {
    input: &'a [u8],
    shared: Option<&'a Bytes>,
    out: &'a mut Vec<Bytes>,
    counters: &'a mut Counters,
    /// A range of `input` kept but not yet emitted, so that adjacent ranges merge.
    run: Option<Range<usize>>,
    /// Bytes kept that are not a slice of `shared` (headers held across pushes, new chunks).
    owned: Vec<u8>,
}

impl<'a> Sink<'a> {
    pub fn new(
        input: &'a [u8],
        shared: Option<&'a Bytes>,
        out: &'a mut Vec<Bytes>,
        counters: &'a mut Counters,
    ) -> Self {
        Sink {
            input,
            shared,
            out,
            counters,
            run: None,
            owned: Vec::new(),
        }
    }

    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// Offset in the stored output of the next byte kept.
    pub fn written(&self) -> u64 {
        self.counters.written
    }

    /// Keeps `input()[range]`.
    pub fn keep_input(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        self.counters.written += range.len() as u64;
        if self.shared.is_none() {
            self.owned.extend_from_slice(&self.input[range]);
            return;
        }
        self.flush_owned();
        self.run = match self.run.take() {
            Some(run) if run.end == range.start => Some(run.start..range.end),
            Some(run) => {
                self.emit_run(run);
                Some(range)
            }
            None => Some(range),
        };
    }

    /// Keeps bytes that are not (or no longer) in this push's input.
    pub fn keep(&mut self, bytes: &[u8]) {
        if let Some(run) = self.run.take() {
            self.emit_run(run);
        }
        self.counters.written += bytes.len() as u64;
        self.owned.extend_from_slice(bytes);
    }

    pub fn drop(&mut self, len: u64) {
        self.counters.dropped += len;
    }

    fn emit_run(&mut self, run: Range<usize>) {
        if let Some(shared) = self.shared {
            self.out.push(shared.slice(run));
        }
    }

    fn flush_owned(&mut self) {
        if !self.owned.is_empty() {
            self.out.push(Bytes::from(std::mem::take(&mut self.owned)));
        }
    }

    /// Emits what is pending; the sink must not be used afterwards.
    pub fn flush(&mut self) {
        if let Some(run) = self.run.take() {
            self.emit_run(run);
        }
        self.flush_owned();
    }
}

/// Moves bytes through a [`Walk`] across any split of the input.
pub(super) struct Driver<W> {
    walk: W,
    step: Step,
    /// The bytes of a pending `Need` (at most a few dozen) or `Collect` (at most `EXIF_CAP`).
    held: Vec<u8>,
}

impl<W: Walk> Driver<W> {
    pub fn new(walk: W, first: Step) -> Self {
        Driver {
            walk,
            step: first,
            held: Vec::new(),
        }
    }

    pub fn held(&self) -> usize {
        // Every other field of a format is a few bytes of fixed size.
        self.held.capacity()
    }

    pub fn push(&mut self, sink: &mut Sink) -> Result<(), MalformedImage> {
        let input = sink.input();
        let mut pos = 0;
        loop {
            let left = input.len() - pos;
            match self.step {
                Step::Done => {
                    sink.drop(left as u64);
                    return Ok(());
                }
                Step::Need(want) => {
                    let take = (want - self.held.len()).min(left);
                    self.held.extend_from_slice(&input[pos..pos + take]);
                    pos += take;
                    if self.held.len() < want {
                        return Ok(());
                    }
                }
                Step::Keep(len) | Step::Drop(len) | Step::Collect(len) => {
                    let take = len.min(left as u64) as usize;
                    let bytes = pos..pos + take;
                    pos += take;
                    match self.step {
                        Step::Keep(_) => sink.keep_input(bytes),
                        Step::Collect(_) => {
                            let room = EXIF_CAP.saturating_sub(self.held.len()).min(take);
                            self.held
                                .extend_from_slice(&input[bytes.start..bytes.start + room]);
                            sink.drop(take as u64);
                        }
                        _ => sink.drop(take as u64),
                    }
                    let len = len - take as u64;
                    if len > 0 {
                        self.step = match self.step {
                            Step::Keep(_) => Step::Keep(len),
                            Step::Collect(_) => Step::Collect(len),
                            _ => Step::Drop(len),
                        };
                        return Ok(());
                    }
                }
                Step::Scan => {
                    let (next_pos, next) = self.walk.scan(pos, sink)?;
                    pos = next_pos;
                    match next {
                        Some(step) => self.step = step,
                        None => return Ok(()),
                    }
                    continue;
                }
            }
            let got = std::mem::take(&mut self.held);
            self.step = self.walk.resume(&got, sink)?;
            // The buffer is reused for small headers only; a collected EXIF block is freed.
            if got.capacity() <= 64 {
                self.held = got;
                self.held.clear();
            }
            if let Step::Collect(len) = self.step {
                // Exactly, so that growth never doubles past the cap.
                self.held.reserve_exact(len.min(EXIF_CAP as u64) as usize);
            }
        }
    }

    pub fn finish(&mut self, sink: &mut Sink) -> Result<Stripped, MalformedImage> {
        if self.step != Step::Done {
            return Err(MalformedImage::new("truncated"));
        }
        self.walk.finish(sink)
    }
}
