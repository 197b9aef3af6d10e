//! `perturbench tune`: hyper-parameter optimisation of a model. A study (search space,
//! sampler, objective and the `train` arguments every trial shares) is created in a store or
//! resumed; workers in this process (`--jobs`), and any `perturbench worker` on other machines
//! pointed at the same store, run its trials; the best parameters are exported as a
//! configuration file that `perturbench train --config` reads.

use super::worker::{current_exe, launcher, Terminal};
use crate::Global;
use perturbench_experiment::orchestra::{run_tune, TuneOptions};
use perturbench_hpo::storage::{self, TrialState};
use serde_json::Value;

/// `perturbench tune`.
pub fn run(a: TuneOptions, g: Global) -> anyhow::Result<()> {
    let exe = current_exe()?;
    let t = run_tune(&a, launcher(&exe), &Terminal::new(g.quiet))?;
    let Some(stats) = t.stats else {
        if !g.quiet {
            println!(
                "created; start workers with: perturbench worker --storage {} --study {}",
                storage::redact_url(&t.storage),
                a.study
            );
        }
        return Ok(());
    };
    if !g.quiet {
        let trials = &t.trials;
        let out = &t.out;
        let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
        println!(
            "study '{}': {} complete, {} pruned, {} failed (this process: {} complete)",
            a.study,
            count(TrialState::Complete),
            count(TrialState::Pruned),
            count(TrialState::Fail),
            stats.complete
        );
        match &t.best {
            Some(b) => println!(
                "best: trial {} value {:.6} {}\nwrote {}/trials.csv and {}/best.yaml",
                b.number,
                b.value.unwrap_or(f64::NAN),
                Value::Object(b.params.clone()),
                out.display(),
                out.display()
            ),
            None => println!("no complete trial; wrote {}/trials.csv", out.display()),
        }
    }
    t.check()?;
    Ok(())
}
