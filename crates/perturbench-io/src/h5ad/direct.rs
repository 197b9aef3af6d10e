//! Parallel direct reads of whole 1-D numeric datasets: contiguous storage is read with
//! positioned reads, deflate(+shuffle) chunks are read raw and inflated on all cores. This
//! bypasses HDF5's single-threaded filter pipeline, which dominates reading gzip-compressed
//! `X`. Datasets in any other form fall back to the HDF5 library (the caller handles `None`).

use hdf5::filters::Filter;
use hdf5::types::TypeDescriptor;
use hdf5::Dataset;
use rayon::prelude::*;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Element types the direct path decodes (little-endian only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
}

impl Elem {
    fn size(self) -> usize {
        match self {
            Elem::I8 | Elem::U8 => 1,
            Elem::I16 | Elem::U16 => 2,
            Elem::I32 | Elem::U32 | Elem::F32 => 4,
            Elem::I64 | Elem::U64 | Elem::F64 => 8,
        }
    }
}

/// A target type the direct path can decode into.
pub(crate) trait Target: Copy + Default + Send + Sync {
    /// Decodes little-endian elements of type `elem` from `bytes` into `out`.
    fn decode(elem: Elem, bytes: &[u8], out: &mut [Self]);
    /// The element type whose bytes equal this type's in memory (on little-endian hosts).
    const SAME: Elem;
}

/// The bytes of `out`, when `T`'s in-memory form equals the file's element type `elem`
/// (then data can be read straight into the output without a decode pass).
fn as_bytes_if_same<T: Target>(elem: Elem, out: &mut [T]) -> Option<&mut [u8]> {
    if elem != T::SAME || !cfg!(target_endian = "little") {
        return None;
    }
    let len = std::mem::size_of_val(out);
    // SAFETY: T is f32, f64, u32, i32 or i64 (plain old data, every bit pattern valid); the byte view
    // covers exactly the memory of `out` and borrows it mutably for its lifetime.
    Some(unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), len) })
}

macro_rules! decode_into {
    ($elem:expr, $bytes:expr, $out:expr, $t:ty) => {{
        macro_rules! run {
            ($src:ty) => {{
                const S: usize = std::mem::size_of::<$src>();
                for (o, b) in $out.iter_mut().zip($bytes.chunks_exact(S)) {
                    *o = <$src>::from_le_bytes(b.try_into().expect("chunk of element size")) as $t;
                }
            }};
        }
        match $elem {
            Elem::I8 => run!(i8),
            Elem::I16 => run!(i16),
            Elem::I32 => run!(i32),
            Elem::I64 => run!(i64),
            Elem::U8 => run!(u8),
            Elem::U16 => run!(u16),
            Elem::U32 => run!(u32),
            Elem::U64 => run!(u64),
            Elem::F32 => run!(f32),
            Elem::F64 => run!(f64),
        }
    }};
}

impl Target for f64 {
    const SAME: Elem = Elem::F64;
    fn decode(elem: Elem, bytes: &[u8], out: &mut [f64]) {
        decode_into!(elem, bytes, out, f64)
    }
}
impl Target for f32 {
    const SAME: Elem = Elem::F32;
    fn decode(elem: Elem, bytes: &[u8], out: &mut [f32]) {
        decode_into!(elem, bytes, out, f32)
    }
}
impl Target for i32 {
    const SAME: Elem = Elem::I32;
    fn decode(elem: Elem, bytes: &[u8], out: &mut [i32]) {
        decode_into!(elem, bytes, out, i32)
    }
}
/// Column indices: int32 on disk is read bit for bit (a negative index becomes a value above
/// `i32::MAX`, which the CSR range check rejects); other widths are converted.
impl Target for u32 {
    const SAME: Elem = Elem::I32;
    fn decode(elem: Elem, bytes: &[u8], out: &mut [u32]) {
        decode_into!(elem, bytes, out, u32)
    }
}
impl Target for i64 {
    const SAME: Elem = Elem::I64;
    fn decode(elem: Elem, bytes: &[u8], out: &mut [i64]) {
        decode_into!(elem, bytes, out, i64)
    }
}

fn elem_of(ds: &Dataset) -> Option<Elem> {
    let dt = ds.dtype().ok()?;
    if dt.byte_order() != hdf5::datatype::ByteOrder::LittleEndian {
        return None;
    }
    use hdf5::types::{FloatSize, IntSize};
    Some(match dt.to_descriptor().ok()? {
        TypeDescriptor::Integer(IntSize::U1) => Elem::I8,
        TypeDescriptor::Integer(IntSize::U2) => Elem::I16,
        TypeDescriptor::Integer(IntSize::U4) => Elem::I32,
        TypeDescriptor::Integer(IntSize::U8) => Elem::I64,
        TypeDescriptor::Unsigned(IntSize::U1) => Elem::U8,
        TypeDescriptor::Unsigned(IntSize::U2) => Elem::U16,
        TypeDescriptor::Unsigned(IntSize::U4) => Elem::U32,
        TypeDescriptor::Unsigned(IntSize::U8) => Elem::U64,
        TypeDescriptor::Float(FloatSize::U4) => Elem::F32,
        TypeDescriptor::Float(FloatSize::U8) => Elem::F64,
        _ => return None,
    })
}

/// Reads `slot.len()` elements of type `elem` stored unfiltered at byte `at` of `file`:
/// straight into `slot` when its memory has the same form, decoded otherwise.
fn read_stored_at<T: Target>(
    file: &std::fs::File,
    elem: Elem,
    at: u64,
    slot: &mut [T],
) -> std::io::Result<()> {
    if let Some(bytes) = as_bytes_if_same(elem, slot) {
        return file.read_exact_at(bytes, at);
    }
    let mut buf = vec![0u8; slot.len() * elem.size()];
    file.read_exact_at(&mut buf, at)?;
    T::decode(elem, &buf, slot);
    Ok(())
}

/// Elements decoded per task of a contiguous read.
const PIECE: usize = 1 << 20;

/// Where the elements of a 1-D dataset live in the file, for reads that bypass HDF5.
#[derive(Debug, Clone)]
pub(crate) enum Layout {
    /// One contiguous block at a byte offset.
    Contiguous { offset: u64, elem: Elem, n: usize },
    /// Chunks of `chunk` elements, stored as they are or deflated (optionally shuffled),
    /// sorted by position: (first element, filter mask, file address, stored bytes).
    Chunked {
        chunks: Vec<(usize, u32, u64, usize)>,
        chunk: usize,
        elem: Elem,
        deflate: bool,
        shuffle: bool,
        n: usize,
    },
}

impl Layout {
    /// The layout of `ds`, or `None` when the direct path does not handle its storage.
    pub(crate) fn of(ds: &Dataset) -> Option<Layout> {
        if ds.ndim() != 1 {
            return None;
        }
        let elem = elem_of(ds)?;
        let n = ds.size();
        if n == 0 {
            return None;
        }
        let filters = ds.filters();
        if !ds.is_chunked() {
            let offset = ds.offset()?;
            if !filters.is_empty() {
                return None;
            }
            return Some(Layout::Contiguous { offset, elem, n });
        }
        let (deflate, shuffle) = match filters.as_slice() {
            [] => (false, false),
            [Filter::Deflate(_)] => (true, false),
            [Filter::Shuffle, Filter::Deflate(_)] => (true, true),
            _ => return None,
        };
        let chunk = ds.chunk()?.first().copied()?;
        let count = ds.num_chunks()?;
        let mut chunks = Vec::with_capacity(count);
        for i in 0..count {
            let info = ds.chunk_info(i)?;
            chunks.push((
                info.offset[0] as usize,
                info.filter_mask,
                info.addr,
                info.size as usize,
            ));
        }
        chunks.sort_by_key(|c| c.0);
        // Chunks must tile 0..n exactly (unallocated chunks would mean fill values).
        if chunks.len() != n.div_ceil(chunk)
            || chunks.iter().enumerate().any(|(i, c)| c.0 != i * chunk)
        {
            return None;
        }
        Some(Layout::Chunked {
            chunks,
            chunk,
            elem,
            deflate,
            shuffle,
            n,
        })
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        match self {
            Layout::Contiguous { n, .. } | Layout::Chunked { n, .. } => *n,
        }
    }

    /// Reads elements `range` in parallel (positioned reads; chunks inflated on all cores).
    pub(crate) fn read_range<T: Target>(
        &self,
        file: &std::fs::File,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<T>, String> {
        let mut out: Vec<T> = crate::bigvec::big_vec(range.end - range.start);
        self.read_range_into(file, range, &mut out)?;
        Ok(out)
    }

    /// Like [`read_range`](Self::read_range), into `out` (resized; its capacity is reused).
    pub(crate) fn read_range_into<T: Target>(
        &self,
        file: &std::fs::File,
        range: std::ops::Range<usize>,
        out: &mut Vec<T>,
    ) -> Result<(), String> {
        let len = range.end - range.start;
        // Every element is overwritten below: only grown space needs initialising.
        out.truncate(len);
        out.resize(len, T::default());
        match self {
            Layout::Contiguous { offset, elem, .. } => {
                let size = elem.size();
                out.par_chunks_mut(PIECE)
                    .enumerate()
                    .try_for_each(|(i, slot)| {
                        let at = offset + ((range.start + i * PIECE) * size) as u64;
                        read_stored_at(file, *elem, at, slot).map_err(|e| format!("read: {e}"))
                    })?;
            }
            Layout::Chunked {
                chunks,
                chunk,
                elem,
                deflate,
                shuffle,
                ..
            } => {
                let size = elem.size();
                let first = range.start / chunk;
                let last = range.end.div_ceil(*chunk);
                // Output pieces, one per overlapping chunk, in order.
                let mut pieces: Vec<(&mut [T], usize, usize)> = Vec::with_capacity(last - first);
                let mut rest: &mut [T] = out.as_mut_slice();
                for c in first..last {
                    let lo = (c * chunk).max(range.start);
                    let hi = ((c + 1) * chunk).min(range.end);
                    let (head, tail) = std::mem::take(&mut rest).split_at_mut(hi - lo);
                    pieces.push((head, c, lo - c * chunk));
                    rest = tail;
                }
                pieces.into_par_iter().try_for_each(|(slot, c, skip)| {
                    let (start, mask, addr, stored) = chunks[c];
                    if !*deflate {
                        // Unfiltered chunks hold `chunk` elements as they are.
                        let at = addr + (skip * size) as u64;
                        return read_stored_at(file, *elem, at, slot)
                            .map_err(|e| format!("chunk at element {start}: {e}"));
                    }
                    let mut raw = vec![0u8; stored];
                    file.read_exact_at(&mut raw, addr)
                        .map_err(|e| format!("chunk at element {start}: {e}"))?;
                    let (shuffle_on, deflate_on) = if *shuffle {
                        (mask & 1 == 0, mask & 2 == 0)
                    } else {
                        (false, mask & 1 == 0)
                    };
                    let full = chunk * size;
                    let bytes = if deflate_on {
                        let mut dec = Vec::with_capacity(full);
                        flate2::read::ZlibDecoder::new(&raw[..])
                            .read_to_end(&mut dec)
                            .map_err(|e| {
                                format!("chunk at element {start}: cannot inflate: {e}")
                            })?;
                        dec
                    } else {
                        raw
                    };
                    let need = (skip + slot.len()) * size;
                    if bytes.len() < need {
                        return Err(format!(
                            "chunk at element {start}: {} bytes, expected at least {need}",
                            bytes.len()
                        ));
                    }
                    let bytes = if shuffle_on {
                        let m = bytes.len() / size;
                        let mut un = vec![0u8; m * size];
                        for b in 0..size {
                            for i in 0..m {
                                un[i * size + b] = bytes[b * m + i];
                            }
                        }
                        un
                    } else {
                        bytes
                    };
                    T::decode(*elem, &bytes[skip * size..need], slot);
                    Ok(())
                })?;
            }
        }
        Ok(())
    }
}

/// Reads the whole 1-D dataset `ds` of file `path` into `Vec<T>` in parallel, or `None` when
/// the dataset's storage is not one the direct path handles. `Some(Err)` reports an I/O or
/// decompression failure (a corrupt file).
pub(crate) fn read_whole<T: Target>(path: &Path, ds: &Dataset) -> Option<Result<Vec<T>, String>> {
    let layout = Layout::of(ds)?;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Some(Err(e.to_string())),
    };
    Some(layout.read_range(&file, 0..layout.len()))
}
