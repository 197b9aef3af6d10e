//! `perturbench report`: one self-contained HTML page (inline SVG charts, no network) from
//! benchmark, train, evaluate and tune output directories.

use crate::Global;
use std::path::{Path, PathBuf};

/// Options of `perturbench report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directories of benchmark, train, evaluate or tune.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(long)]
    out: PathBuf,
}

/// Reads `dirs` and writes the report to `out` (atomically).
pub fn write(dirs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let input = perturbench_report::load(dirs)?;
    let html = perturbench_report::render(&input);
    perturbench_io::write_atomic(out, html.as_bytes())?;
    Ok(())
}

/// `perturbench report`.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    write(&a.dirs, &a.out)?;
    if !g.quiet {
        println!("wrote {}", a.out.display());
    }
    Ok(())
}
