//! Reading Orientation out of an EXIF block, and writing the one-tag block that replaces it.
//!
//! EXIF is a TIFF structure: a byte-order mark, the offset of IFD0, then IFD0's 12-byte
//! entries. Only IFD0 is read: Orientation lives there, and everything else is dropped unread.

use super::MalformedImage;

/// The JPEG APP1 identifier, which WebP EXIF chunks sometimes carry too.
pub(super) const EXIF_PREFIX: &[u8] = b"Exif\0\0";

const ORIENTATION_TAG: u16 = 0x0112;
const SHORT: u16 = 3;

/// The Orientation (1..=8) in `block`, 1 when the tag is absent or holds a value outside 1..=8
/// (viewers treat those as upright too).
///
/// `complete` is false when only a prefix of a larger block was held: then a structure that
/// runs past the prefix cannot be judged, and the orientation is taken as unknown (1) rather
/// than the file as malformed.
pub(super) fn orientation(block: &[u8], complete: bool) -> Result<u8, MalformedImage> {
    let tiff = block.strip_prefix(EXIF_PREFIX).unwrap_or(block);
    match read_orientation(tiff) {
        Err(Bounds) if !complete => Ok(1),
        Err(Bounds) => Err(MalformedImage::new("EXIF IFD0 lies outside the EXIF block")),
        Ok(None) => Err(MalformedImage::new("EXIF block is not TIFF")),
        Ok(Some(orientation)) => Ok(orientation),
    }
}

/// An offset or count pointed outside the block.
struct Bounds;

/// `Ok(None)` when the block does not start with a TIFF header.
fn read_orientation(tiff: &[u8]) -> Result<Option<u8>, Bounds> {
    let big_endian = match tiff.get(..4) {
        Some(b"MM\0*") => true,
        Some(b"II*\0") => false,
        Some(_) => return Ok(None),
        None => return Err(Bounds),
    };
    let u16_at = |at: usize| -> Result<u16, Bounds> {
        let b: [u8; 2] = tiff
            .get(at..at + 2)
            .ok_or(Bounds)?
            .try_into()
            .map_err(|_| Bounds)?;
        Ok(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let ifd0 = {
        let b: [u8; 4] = tiff
            .get(4..8)
            .ok_or(Bounds)?
            .try_into()
            .map_err(|_| Bounds)?;
        let offset = if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        usize::try_from(offset).map_err(|_| Bounds)?
    };
    let count = usize::from(u16_at(ifd0)?);
    let entries = ifd0.checked_add(2).ok_or(Bounds)?;
    if entries + count * 12 > tiff.len() {
        return Err(Bounds);
    }
    for entry in (0..count).map(|i| entries + i * 12) {
        if u16_at(entry)? == ORIENTATION_TAG {
            let value = u16_at(entry + 8)?;
            let plausible = u16_at(entry + 2)? == SHORT && (1..=8).contains(&value);
            return Ok(Some(if plausible { value as u8 } else { 1 }));
        }
    }
    Ok(Some(1))
}

/// Length of [`minimal_tiff`]'s block.
pub(super) const MINIMAL_TIFF_LEN: usize = 26;

/// A TIFF block holding only Orientation: big-endian header, IFD0 at offset 8 with the one
/// entry (tag 0x0112, SHORT, count 1, value left-justified in the 4-byte field), no next IFD.
pub(super) fn minimal_tiff(orientation: u8) -> [u8; MINIMAL_TIFF_LEN] {
    let mut tiff = [0; MINIMAL_TIFF_LEN];
    tiff[..8].copy_from_slice(b"MM\0*\0\0\0\x08");
    tiff[8..10].copy_from_slice(&1u16.to_be_bytes());
    tiff[10..12].copy_from_slice(&ORIENTATION_TAG.to_be_bytes());
    tiff[12..14].copy_from_slice(&SHORT.to_be_bytes());
    tiff[14..18].copy_from_slice(&1u32.to_be_bytes());
    tiff[18..20].copy_from_slice(&u16::from(orientation).to_be_bytes());
    // 20..22 pad the value field; 22..26 is the next-IFD offset, 0: there is none.
    tiff
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A realistic EXIF block: IFD0 with Make, Orientation and a GPS pointer, then a GPS IFD
    /// with latitude, all in the given byte order.
    pub fn tiff_with_gps(orientation: u16, big_endian: bool) -> Vec<u8> {
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut t = Vec::new();
        t.extend_from_slice(if big_endian { b"MM\0*" } else { b"II*\0" });
        t.extend_from_slice(&w32(8));
        // IFD0: 3 entries at 8, next IFD at 8 + 2 + 36 = 46, data from 50.
        t.extend_from_slice(&w16(3));
        let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
            t.extend_from_slice(&w16(tag));
            t.extend_from_slice(&w16(kind));
            t.extend_from_slice(&w32(count));
            t.extend_from_slice(&value);
        };
        entry(&mut t, 0x010F, 2, 4, *b"ACME");
        let mut value = [0; 4];
        value[..2].copy_from_slice(&w16(orientation));
        entry(&mut t, 0x0112, 3, 1, value);
        entry(&mut t, 0x8825, 4, 1, w32(50));
        t.extend_from_slice(&w32(0));
        // GPS IFD at 50: latitude ref "N" and latitude rationals at 68.
        t.extend_from_slice(&w16(1));
        entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
        t.extend_from_slice(&w32(0));
        t.extend_from_slice(b"GPS-SECRET-48.8584N");
        t
    }

    #[test]
    fn orientation_is_read_in_both_byte_orders() {
        for big_endian in [true, false] {
            for o in 1..=8 {
                let block = tiff_with_gps(o, big_endian);
                assert_eq!(orientation(&block, true), Ok(o as u8));
            }
        }
    }

    #[test]
    fn the_jpeg_prefix_is_accepted() {
        let mut block = EXIF_PREFIX.to_vec();
        block.extend(tiff_with_gps(6, false));
        assert_eq!(orientation(&block, true), Ok(6));
    }

    #[test]
    fn absent_or_implausible_orientation_is_upright() {
        assert_eq!(orientation(&tiff_with_gps(0, true), true), Ok(1));
        assert_eq!(orientation(&tiff_with_gps(9, true), true), Ok(1));
        let mut no_tag = tiff_with_gps(6, true);
        no_tag[9] = 0; // IFD0 count 3 -> 0 (big-endian low byte)
        assert_eq!(orientation(&no_tag, true), Ok(1));
    }

    #[test]
    fn out_of_bounds_structures_are_malformed_not_panics() {
        let good = tiff_with_gps(6, false);
        let mut far_ifd = good.clone();
        far_ifd[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut many = good.clone();
        many[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        for bad in [&far_ifd[..], &many[..], &good[..9], &good[..3], &[][..]] {
            assert!(orientation(bad, true).is_err(), "{bad:?}");
            assert_eq!(orientation(bad, false), Ok(1));
        }
        assert!(orientation(b"JUNKJUNKJUNK", true).is_err());
    }

    #[test]
    fn every_prefix_and_mutation_is_handled_without_panic() {
        let good = tiff_with_gps(3, true);
        for cut in 0..good.len() {
            let _ = orientation(&good[..cut], true);
        }
        for at in 0..good.len() {
            for value in [0, 1, 0x7F, 0xFF] {
                let mut m = good.clone();
                m[at] = value;
                let _ = orientation(&m, true);
            }
        }
    }

    #[test]
    fn the_minimal_block_reads_back() {
        for o in 1..=8 {
            assert_eq!(orientation(&minimal_tiff(o), true), Ok(o));
        }
    }
}
