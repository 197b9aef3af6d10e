//! The `perturbench` binary: the CLI of the `perturbench` library crate, with its allocator
//! settings (mimalloc stays out of the library: its static TLS cannot be loaded by `dlopen`,
//! which is how Python loads the extension module).

/// mimalloc keeps freed large blocks for reuse instead of returning them to the kernel at
/// once: training and preprocessing allocate and free many tensor-sized buffers, which glibc
/// maps and unmaps, paying a page fault and a zeroed page for every 4 KiB each time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the same index in its v2 and v3 option enums).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory in the process for reuse instead of handing it back to the kernel after
/// 10 ms (mimalloc's default): a training batch frees and reallocates tens of megabytes, and on
/// virtual machines every page faulted back in is zeroed again, which cost 15-20 % of training
/// time (latent-additive, reference width). The price is memory: freed blocks that later
/// allocations do not reuse stay resident (latent-additive at the reference width on devel:
/// 3.16 GB after 3 epochs, 2.69 GB with mimalloc's default purge delay; the PyTorch reference
/// peaks at 3.67 GB; docs/model-parity.md). `MIMALLOC_PURGE_DELAY` in the environment still
/// wins. The C library's allocator (used by HDF5) is tuned alike.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set only stores an integer option; mimalloc reads it when it
        // decides whether to purge, from any thread.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    // HDF5 allocates through the C library's malloc: every dataset write takes (and zeroes) a
    // 1 MiB conversion buffer. glibc maps such blocks afresh and unmaps them when freed, so each
    // write page-faults a new megabyte; writing 200 DEG lists took 0.1-0.2 s. Blocks below
    // 64 MiB now come from the heap, and up to 256 MiB of freed heap is kept for reuse
    // (`MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` in the environment still win).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    for (var, param, value) in [
        ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 64 << 20),
        ("MALLOC_TRIM_THRESHOLD_", libc::M_TRIM_THRESHOLD, 256 << 20),
    ] {
        if std::env::var_os(var).is_none() {
            // SAFETY: mallopt only sets a tuning parameter of glibc's allocator; it is called
            // at the start of main, before any other thread exists.
            unsafe { libc::mallopt(param, value) };
        }
    }
}

fn main() {
    keep_freed_memory();
    let argv: Vec<String> = std::env::args().collect();
    std::process::exit(perturbench::main_argv(argv));
}
