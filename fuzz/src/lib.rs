//! What the fuzz targets share: a runtime, a scratch directory on tmpfs, a reproducible way of
//! cutting an input into chunks, and the checks every accepted upload must pass.

use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::Bytes;
use mediastore::config::Limits;
use mediastore::ingest::Received;
use mediastore::media::{Dimensions, MetadataFilter, Sniffed, StoredName, Stripped, sniff};
use mediastore::storage::{BlobStore, Wanted};
use sha1::{Digest, Sha1};

/// One single-threaded runtime per fuzzing process (libFuzzer runs one input at a time).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// A fresh directory for this process, on `/dev/shm` where there is one: the store fsyncs
/// every upload it accepts, which tmpfs makes free. `run.sh` removes them afterwards.
pub fn scratch_dir(target: &str) -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("mediastore-fuzz-{target}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// xorshift64*: the same split for the same input, so a crash reproduces.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// In `1..=max`.
    pub fn size(&mut self, max: usize) -> usize {
        1 + (self.next() % max as u64) as usize
    }
}

/// The largest chunk for a split class (the low 3 bits of a control byte): from byte by byte
/// to the whole input at once.
pub fn max_chunk(class: u8) -> usize {
    [1, 3, 17, 64, 509, 4096, 65536, usize::MAX][usize::from(class & 7)]
}

/// `data` in chunks of 1 to `max` bytes, their lengths drawn from `seed`; with `empties`, an
/// empty chunk after about one in four of them (a body stream may yield those).
pub fn split(data: &[u8], max: usize, seed: u8, empties: bool) -> Vec<Bytes> {
    let mut rng = Rng::new(u64::from(seed) + 1);
    let mut chunks = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = if max == usize::MAX {
            rest.len()
        } else {
            rng.size(max).min(rest.len())
        };
        chunks.push(Bytes::copy_from_slice(&rest[..n]));
        rest = &rest[n..];
        if empties && rng.next() % 4 == 0 {
            chunks.push(Bytes::new());
        }
    }
    chunks
}

/// The limits the upload targets run under: the defaults, but small enough files that the
/// size limit is reached, and few enough pixels that the pixel limit is too.
pub fn fuzz_limits(strip: bool) -> Limits {
    Limits {
        max_file_bytes: 256 * 1024,
        max_files_per_request: 3,
        max_image_pixels: 4_000_000,
        max_animation_frames: 100,
        strip_metadata: strip,
        ..Limits::default()
    }
}

/// A filter run over `input` in the pieces `lengths` gives, alternating the copying and the
/// zero-copy entry points, checking the bound on what it holds after every push. `Err` is the
/// refusal's reason.
pub fn strip_split(
    format: mediastore::media::ImageFormat,
    input: &[u8],
    mut lengths: impl FnMut() -> usize,
) -> Result<(Vec<u8>, Stripped), &'static str> {
    let mut filter = MetadataFilter::new(format);
    let mut out = Vec::new();
    let mut rest = input;
    let mut shared = false;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(lengths().clamp(1, rest.len()));
        rest = tail;
        let pushed = if shared {
            filter.push_bytes(Bytes::copy_from_slice(piece), &mut out)
        } else {
            filter.push(piece, &mut out)
        };
        if let Err(e) = pushed {
            // A filter that failed keeps failing.
            assert!(
                filter.push(b"\0", &mut Vec::new()).is_err(),
                "a failed filter accepted more bytes"
            );
            assert!(
                filter.finish(&mut Vec::new()).is_err(),
                "a failed filter finished"
            );
            return Err(e.reason());
        }
        shared = !shared;
        assert!(
            filter.buffered() <= 70 * 1024,
            "the filter holds {} bytes",
            filter.buffered()
        );
    }
    let stripped = filter.finish(&mut out).map_err(|e| e.reason())?;
    let mut out = out.concat();
    apply_patch(&mut out, &stripped);
    Ok((out, stripped))
}

/// Overwrites the stored bytes with the filter's header patch, as ingest does.
pub fn apply_patch(stored: &mut [u8], stripped: &Stripped) {
    if let Some((at, bytes)) = &stripped.header_patch {
        let at = usize::try_from(*at).expect("a small offset");
        assert!(
            at + bytes.len() <= stored.len(),
            "header patch at {at}+{} lies outside the {} output bytes",
            bytes.len(),
            stored.len()
        );
        stored[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

/// What must hold of every upload ingest accepts: the hash it reports is the hash of what it
/// stored, the stored bytes sniff as the format it reports and are within the limits, and
/// (when stripping) stripping them again changes nothing; `sent` (the part's bytes, when the
/// caller knows them) is stored unchanged when not stripping. The blob is removed afterwards.
pub async fn check_received(
    blobs: &BlobStore,
    received: Received,
    limits: &Limits,
    sent: Option<&[u8]>,
) {
    let len = received.staged.len;
    assert!(len > 0, "an empty file was accepted");
    assert!(
        received.dimensions.width > 0 && received.dimensions.height > 0,
        "a zero dimension was accepted: {:?}",
        received.dimensions
    );
    assert!(
        limits.allows_pixels(received.dimensions),
        "{:?} is over the pixel limit",
        received.dimensions
    );
    assert!((1..=8).contains(&received.orientation));
    if let Some(frames) = received.frames {
        assert!(frames > 1, "a still image reported as {frames} frames");
        assert!(u64::from(frames) <= limits.max_animation_frames);
    }
    assert!(limits.allows(received.format));
    let name = StoredName::new(&received.sha1_hex, 1_732_262_400_123, received.format)
        .expect("the reported SHA-1 makes a stored name");
    let (format, frames, sha1_hex, orientation, dimensions) = (
        received.format,
        received.frames,
        received.sha1_hex.clone(),
        received.orientation,
        received.dimensions,
    );
    blobs
        .put_as(received.staged, &name)
        .await
        .expect("storing an accepted upload");
    let stored = blobs
        .open(&name, Wanted::Body)
        .await
        .expect("opening it")
        .expect("it is there")
        .read_all()
        .await
        .expect("reading it");
    blobs.remove(&name).await.expect("removing it");

    assert_eq!(
        stored.len() as u64,
        len,
        "the staged length is not the stored one"
    );
    assert_eq!(
        hex::encode(Sha1::digest(&stored)),
        sha1_hex,
        "the reported SHA-1 is not the stored bytes'"
    );
    assert_eq!(
        sniff(&stored[..stored.len().min(32)]),
        Sniffed::Image(format),
        "the stored bytes are not the format reported"
    );
    // The dimensions recorded are the stored file's header's, turned as its orientation says
    // (the turn swaps, so turning back gives the header's).
    let header = imagesize::blob_size(&stored)
        .unwrap_or_else(|e| panic!("the stored {format:?}'s header does not read: {e:?}"));
    assert_eq!(
        dimensions.displayed(orientation),
        Dimensions {
            width: header.width as u64,
            height: header.height as u64,
        },
        "the recorded dimensions are not the stored header's (orientation {orientation})"
    );
    if limits.strip_metadata {
        let (again, stripped) = strip_split(format, &stored, || usize::MAX).unwrap_or_else(|e| {
            panic!("the stored {format:?} is refused when stripped again: {e}")
        });
        assert!(
            again == stored[..],
            "stripping the stored {format:?} again changes it"
        );
        assert_eq!(
            stripped.frames.filter(|&f| f > 1),
            frames,
            "frames differ when stripped again"
        );
    } else if let Some(sent) = sent {
        assert!(
            sent == &stored[..],
            "STRIP_METADATA=false stored other bytes than were sent"
        );
    }
}
