//! `perturbench inspect`: what a file holds and how its perturbation design looks.

use crate::Global;
use perturbench_experiment::flags::DesignFlags;
use perturbench_experiment::inspect::describe;
use std::path::PathBuf;

/// Options of `perturbench inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .h5ad file.
    file: PathBuf,
    #[command(flatten)]
    design: DesignFlags,
}

/// Runs the command. The file's contents are always described; the perturbation design is
/// described under the given settings, or, when none is given and the defaults do not fit,
/// under a convention inferred from obs (GEARS' `ctrl` / `A+ctrl`) with a note saying what to
/// pass. Only an unreadable file, or settings given explicitly that do not fit, fail.
pub fn run(a: Args, g: Global) -> anyhow::Result<()> {
    let described = describe(&a.file, &a.design)?;
    if !g.quiet {
        print!("{}", described.text);
    }
    match described.error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
