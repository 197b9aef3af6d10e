//! Large zero-initialised vectors backed by transparent huge pages where the kernel allows it
//! (`madvise(MADV_HUGEPAGE)`, as numpy does): filling a multi-gigabyte matrix then costs a few
//! hundred page faults instead of hundreds of thousands.

use rayon::prelude::*;

/// Vectors below this size use the normal allocator path only.
const HUGE_MIN_BYTES: usize = 8 << 20;

/// Elements first touched per parallel task: page faults (the kernel zeroing fresh memory)
/// are then spread over all cores instead of landing on one.
const TOUCH: usize = 1 << 18;

/// An empty vector with room for `n` elements, advised to use huge pages when large.
fn advised<T>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    let bytes = n * std::mem::size_of::<T>();
    #[cfg(target_os = "linux")]
    if bytes >= HUGE_MIN_BYTES {
        let start = v.as_mut_ptr() as usize;
        let page = 4096usize;
        let aligned = (start + page - 1) & !(page - 1);
        let end = (start + bytes) & !(page - 1);
        if end > aligned {
            // SAFETY: the range lies inside the vector's own allocation; madvise only changes
            // how the kernel backs those pages and cannot invalidate memory. Errors are ignored
            // (the advice is optional).
            unsafe {
                libc::madvise(
                    aligned as *mut libc::c_void,
                    end - aligned,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (bytes, HUGE_MIN_BYTES);
    v
}

/// A vector of `n` copies of `T::default()`, advised to use huge pages when large and first
/// touched on all cores.
pub(crate) fn big_vec<T: Copy + Default + Send + Sync>(n: usize) -> Vec<T> {
    let mut v = advised::<T>(n);
    v.spare_capacity_mut()[..n]
        .par_chunks_mut(TOUCH)
        .for_each(|c| {
            c.iter_mut().for_each(|x| {
                x.write(T::default());
            })
        });
    // SAFETY: every one of the first n elements was initialised just above.
    unsafe { v.set_len(n) };
    v
}

/// A copy of `src` made like [`big_vec`]: huge pages when large, pages first touched (and the
/// copy made) on all cores.
pub(crate) fn big_copy<T: Copy + Send + Sync>(src: &[T]) -> Vec<T> {
    let n = src.len();
    let mut v = advised::<T>(n);
    v.spare_capacity_mut()[..n]
        .par_chunks_mut(TOUCH)
        .zip(src.par_chunks(TOUCH))
        .for_each(|(d, s)| {
            d.iter_mut().zip(s).for_each(|(d, &s)| {
                d.write(s);
            })
        });
    // SAFETY: every one of the first n elements was initialised just above.
    unsafe { v.set_len(n) };
    v
}
