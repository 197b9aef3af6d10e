//! Large zero-initialised vectors backed by transparent huge pages where the kernel allows it
//! (`madvise(MADV_HUGEPAGE)`, as numpy does): filling a multi-gigabyte matrix then costs a few
//! hundred page faults instead of hundreds of thousands.

/// Vectors below this size use the normal allocator path only.
const HUGE_MIN_BYTES: usize = 8 << 20;

/// A vector of `n` copies of `T::default()`, advised to use huge pages when large.
pub(crate) fn big_vec<T: Copy + Default>(n: usize) -> Vec<T> {
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
    v.resize(n, T::default());
    v
}
