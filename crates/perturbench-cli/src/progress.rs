//! Progress bars that respect `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// A bar over `total` units, hidden when `quiet`.
pub fn bar(total: u64, message: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_message(message.to_string());
    pb
}

/// A spinner for work of unknown length, hidden when `quiet`.
pub fn spinner(message: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("static template"),
    );
    pb.set_message(message.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// A run's progress on the terminal: a spinner per stage, a bar over the training epochs,
/// result lines (unless quiet) and warnings (always, on stderr).
pub struct Progress {
    quiet: bool,
    current: std::sync::Mutex<Option<ProgressBar>>,
    last_epoch: std::sync::Mutex<String>,
}

impl Progress {
    /// Nothing shown yet.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            current: std::sync::Mutex::new(None),
            last_epoch: std::sync::Mutex::new(String::new()),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        if let Ok(mut c) = self.current.lock() {
            f(&mut c);
        }
    }

    /// Clears whatever is shown.
    pub fn finish(&self) {
        self.with_bar(|c| {
            if let Some(pb) = c.take() {
                pb.finish_and_clear();
            }
        });
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl perturbench_experiment::Observer for Progress {
    fn stage(&self, what: &str) {
        self.with_bar(|c| match c {
            Some(pb) => pb.set_message(what.to_string()),
            None => *c = Some(spinner(what, self.quiet)),
        });
    }
    fn training(&self, max_epochs: usize) {
        self.finish();
        self.with_bar(|c| *c = Some(bar(max_epochs as u64, "training", self.quiet)));
    }
    fn batch(&self, epoch: usize, done: usize, total: usize, loss: f64) {
        let last = self
            .last_epoch
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        self.with_bar(|c| {
            if let Some(pb) = c {
                pb.set_message(format!(
                    "epoch {} batch {done}/{total} loss {loss:.5}{last}",
                    epoch + 1
                ));
            }
        });
    }
    fn epoch(&self, log: &perturbench_models::nn::EpochLog) {
        if let Ok(mut l) = self.last_epoch.lock() {
            *l = format!(
                " | last epoch: train {:.5}{}",
                log.train_loss,
                log.val_loss
                    .map(|v| format!(" val {v:.5}"))
                    .unwrap_or_default()
            );
        }
        self.with_bar(|c| {
            if let Some(pb) = c {
                pb.inc(1);
            }
        });
    }
    fn trained(&self) {
        self.finish();
    }
    fn info(&self, line: &str) {
        if !self.quiet {
            self.with_bar(|c| match c {
                Some(pb) => pb.suspend(|| println!("{line}")),
                None => println!("{line}"),
            });
        }
    }
    fn warning(&self, text: &str) {
        self.with_bar(|c| match c {
            Some(pb) => pb.suspend(|| eprintln!("warning: {text}")),
            None => eprintln!("warning: {text}"),
        });
    }
    fn note(&self, text: &str) {
        eprintln!("note: {text}");
    }
}
