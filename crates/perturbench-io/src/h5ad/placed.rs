//! Writing large array bytes into the space HDF5 reserved for them in a closed file:
//! positioned writes on all cores. Whole aligned blocks go through direct I/O (`O_DIRECT`,
//! bypassing the page cache) where the file system allows it; the unaligned ends of each array,
//! and everything on file systems without direct I/O, are ordinary buffered writes.

use rayon::prelude::*;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Raw array bytes and the file offsets they belong at.
pub(super) type Placed<'a> = Vec<(u64, &'a [u8])>;

/// Alignment of direct-I/O offsets, lengths and buffers (the largest common block size).
const BLOCK: usize = 4096;

/// Bytes written per task.
const PIECE: usize = 8 << 20;

/// One block of an aligned buffer.
#[repr(C, align(4096))]
#[derive(Clone, Copy)]
struct Block([u8; BLOCK]);

/// A reusable block-aligned buffer of [`PIECE`] bytes, for data whose memory is not aligned.
struct Bounce(Vec<Block>);

impl Bounce {
    fn new() -> Self {
        Bounce(vec![Block([0; BLOCK]); PIECE / BLOCK])
    }
    /// A copy of `src` (at most PIECE bytes) at the start of the buffer.
    fn holding(&mut self, src: &[u8]) -> &[u8] {
        // SAFETY: Block is repr(C) around a byte array, so the vector's memory is PIECE
        // initialised, contiguous bytes; the slice borrows the buffer mutably for its lifetime.
        let bytes =
            unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), PIECE) };
        bytes[..src.len()].copy_from_slice(src);
        &bytes[..src.len()]
    }
}

/// How one piece is written.
#[derive(Clone, Copy)]
enum Piece<'a> {
    /// Through the page cache.
    Buffered(u64, &'a [u8]),
    /// Whole aligned blocks, with direct I/O when available.
    Direct(u64, &'a [u8]),
}

/// Splits every array into its unaligned head and tail and its aligned body, in pieces.
fn pieces<'a>(placed: &Placed<'a>) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    for &(off, bytes) in placed {
        let end = off + bytes.len() as u64;
        let body_start = off.next_multiple_of(BLOCK as u64).min(end);
        let body_end = (end / BLOCK as u64 * BLOCK as u64).max(body_start);
        let head = (body_start - off) as usize;
        let body = (body_end - body_start) as usize;
        if head > 0 {
            out.push(Piece::Buffered(off, &bytes[..head]));
        }
        for (i, b) in bytes[head..head + body].chunks(PIECE).enumerate() {
            out.push(Piece::Direct(body_start + (i * PIECE) as u64, b));
        }
        if head + body < bytes.len() {
            out.push(Piece::Buffered(body_end, &bytes[head + body..]));
        }
    }
    out
}

/// Writes every array of `placed` into the closed file `path`.
pub(super) fn write_placed(path: &Path, placed: &Placed<'_>) -> Result<(), String> {
    if placed.is_empty() {
        return Ok(());
    }
    let open = |direct: bool| {
        let mut o = std::fs::OpenOptions::new();
        o.write(true);
        #[cfg(target_os = "linux")]
        if direct {
            use std::os::unix::fs::OpenOptionsExt;
            o.custom_flags(libc::O_DIRECT);
        }
        #[cfg(not(target_os = "linux"))]
        if direct {
            return Err(std::io::Error::from(std::io::ErrorKind::Unsupported));
        }
        o.open(path)
    };
    let buffered =
        open(false).map_err(|e| format!("cannot reopen the file to write arrays: {e}"))?;
    // File systems without direct I/O refuse the flag (EINVAL): then everything is buffered.
    let direct: Option<File> = open(true).ok();
    pieces(placed)
        .par_iter()
        .try_for_each_init(
            || None::<Bounce>,
            |bounce, &piece| match (piece, &direct) {
                (Piece::Buffered(off, b), _) | (Piece::Direct(off, b), None) => {
                    buffered.write_all_at(b, off)
                }
                (Piece::Direct(off, b), Some(d)) => {
                    let aligned = b.as_ptr() as usize % BLOCK == 0;
                    let src = if aligned {
                        b
                    } else {
                        bounce.get_or_insert_with(Bounce::new).holding(b)
                    };
                    // A refusal (e.g. an alignment the device does not accept) falls back to a
                    // buffered write of the same bytes.
                    d.write_all_at(src, off).or_else(|e| {
                        if e.raw_os_error() == Some(libc::EINVAL) {
                            buffered.write_all_at(b, off)
                        } else {
                            Err(e)
                        }
                    })
                }
            },
        )
        .map_err(|e| format!("writing array data: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_every_byte_once_with_aligned_direct_parts() {
        let data: Vec<u8> = (0..3 * PIECE + 5000).map(|i| (i % 251) as u8).collect();
        for (off, len) in [
            (0u64, 0usize),
            (10, 100),
            (4000, 200),
            (4096, 8192),
            (123, data.len()),
        ] {
            let placed: Placed = vec![(off, &data[..len])];
            let mut covered = Vec::new();
            for p in pieces(&placed) {
                let (o, b, direct) = match p {
                    Piece::Buffered(o, b) => (o, b, false),
                    Piece::Direct(o, b) => (o, b, true),
                };
                if direct {
                    assert_eq!(o % BLOCK as u64, 0);
                    assert_eq!(b.len() % BLOCK, 0);
                    assert!(b.len() <= PIECE);
                }
                covered.push((o, b.len(), b.as_ptr() as usize - data.as_ptr() as usize));
            }
            covered.sort();
            let mut next = off;
            for (o, l, src) in covered {
                assert_eq!(o, next, "gap or overlap at {o}");
                assert_eq!(src as u64, o - off, "bytes from the wrong place");
                next = o + l as u64;
            }
            assert_eq!(next, off + len as u64);
        }
    }

    #[test]
    fn written_bytes_land_at_their_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.bin");
        let total = 2 * PIECE + 3 * BLOCK + 77;
        std::fs::write(&p, vec![0xEEu8; total]).unwrap();
        // Unaligned memory (offset by one) and unaligned file offsets.
        let src: Vec<u8> = (0..PIECE + 9000).map(|i| (i % 253) as u8).collect();
        let a = &src[1..PIECE + 1];
        let b = &src[3..5003];
        let placed: Placed = vec![(1001, a), (PIECE as u64 + 2 * BLOCK as u64 + 5, b)];
        write_placed(&p, &placed).unwrap();
        let back = std::fs::read(&p).unwrap();
        assert_eq!(back.len(), total);
        assert_eq!(&back[1001..1001 + a.len()], a);
        let o = PIECE + 2 * BLOCK + 5;
        assert_eq!(&back[o..o + b.len()], b);
        assert!(back[..1001].iter().all(|&v| v == 0xEE));
        assert!(back[o + b.len()..].iter().all(|&v| v == 0xEE));
        assert!(back[1001 + a.len()..o].iter().all(|&v| v == 0xEE));
    }
}
