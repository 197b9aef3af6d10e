//! The `perturbench` binary: the CLI of the `perturbench` library crate.

/// mimalloc keeps freed large blocks for reuse instead of returning them to the kernel at
/// once: training and preprocessing allocate and free many tensor-sized buffers, which glibc
/// maps and unmaps, paying a page fault and a zeroed page for every 4 KiB each time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    perturbench::keep_freed_memory();
    let argv: Vec<String> = std::env::args().collect();
    std::process::exit(perturbench::main_argv(argv));
}
