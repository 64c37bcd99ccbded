//! The metadata filter alone (`media::MetadataFilter`), on any bytes as any of the four
//! formats, whatever the sniff would have said.
//!
//! Input: a control byte (bits 0-1: the format; bits 2-4: the largest chunk), a seed for the
//! chunk lengths, then the file.
//!
//! Checked: the result does not depend on how the bytes are split (whole, in random chunks,
//! and byte by byte for small inputs), the memory held stays bounded, a failed filter keeps
//! failing, the header patch lies inside the output, every input byte is stored or counted as
//! dropped, and stripping the output again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediastore::media::ImageFormat;
use mediastore_fuzz::{Rng, max_chunk, strip_split};

fuzz_target!(|data: &[u8]| {
    let [control, seed, file @ ..] = data else {
        return;
    };
    let format = ImageFormat::ALL[usize::from(control & 3)];
    let whole = strip_split(format, file, || usize::MAX);

    let max = max_chunk(control >> 2).min(file.len().max(1));
    let mut rng = Rng::new(u64::from(*seed) + 1);
    let random = strip_split(format, file, || rng.size(max));
    assert_eq!(
        whole, random,
        "{format:?}: chunks of up to {max} bytes differ from whole"
    );
    if file.len() <= 4096 {
        let bytewise = strip_split(format, file, || 1);
        assert_eq!(
            whole, bytewise,
            "{format:?}: byte by byte differs from whole"
        );
    }

    if let Ok((out, stripped)) = whole {
        assert!((1..=8).contains(&stripped.orientation));
        assert!(
            out.len() <= file.len() + 64,
            "{format:?}: {} bytes in, {} out",
            file.len(),
            out.len()
        );
        // Every input byte is stored or counted as dropped; only the new orientation block
        // is stored without having come in.
        let accounted = out.len() as u64 + stripped.bytes_dropped;
        assert!(
            (file.len() as u64..=file.len() as u64 + 64).contains(&accounted),
            "{format:?}: {} bytes in, {} out, {} dropped",
            file.len(),
            out.len(),
            stripped.bytes_dropped
        );
        let (again, restripped) = strip_split(format, &out, || usize::MAX).unwrap_or_else(|e| {
            panic!("{format:?}: the output is refused when stripped again: {e}")
        });
        assert!(
            again == out,
            "{format:?}: stripping the output again changes it"
        );
        assert_eq!(
            restripped.frames, stripped.frames,
            "{format:?}: frames differ when stripped again"
        );
    }
});
