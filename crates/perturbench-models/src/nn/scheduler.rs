//! PyTorch's `ReduceLROnPlateau` (mode min, relative threshold) and Lightning's
//! `EarlyStopping` (mode min, `min_delta`), with state that serialises for `--resume`.

use serde::{Deserialize, Serialize};

/// `torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min', threshold_mode='rel')`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReduceLrOnPlateau {
    /// Multiplier of the learning rate on a plateau.
    pub factor: f64,
    /// Epochs without improvement tolerated.
    pub patience: usize,
    /// Relative improvement that counts (torch: 1e-4).
    pub threshold: f64,
    /// Lower bound of the learning rate (torch: 0).
    pub min_lr: f64,
    /// Best value seen (`None` before the first step).
    pub best: Option<f64>,
    /// Epochs since the last improvement.
    pub bad_epochs: usize,
    /// Current learning rate.
    pub lr: f64,
}

impl ReduceLrOnPlateau {
    /// A scheduler starting at `lr` with torch's defaults for the rest.
    pub fn new(lr: f64, factor: f64, patience: usize) -> Self {
        ReduceLrOnPlateau {
            factor,
            patience,
            threshold: 1e-4,
            min_lr: 0.0,
            best: None,
            bad_epochs: 0,
            lr,
        }
    }

    /// Feeds one epoch's monitored value; returns the learning rate for the next epoch.
    pub fn step(&mut self, value: f64) -> f64 {
        // torch: a NaN metric is never better.
        let better = match self.best {
            None => !value.is_nan(),
            Some(b) => value < b * (1.0 - self.threshold),
        };
        if better {
            self.best = Some(value);
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.bad_epochs > self.patience {
            let new_lr = (self.lr * self.factor).max(self.min_lr);
            // torch's eps: changes smaller than 1e-8 are ignored.
            if self.lr - new_lr > 1e-8 {
                self.lr = new_lr;
            }
            self.bad_epochs = 0;
        }
        self.lr
    }
}

/// Lightning's `EarlyStopping(monitor='val_loss', mode='min', min_delta=0)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Best value seen.
    pub best: Option<f64>,
    /// Epochs since the last improvement.
    pub wait: usize,
}

impl EarlyStopping {
    /// A fresh monitor.
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            best: None,
            wait: 0,
        }
    }

    /// Feeds one epoch's value; true when training should stop.
    pub fn step(&mut self, value: f64) -> bool {
        let improved = match self.best {
            None => value.is_finite(),
            Some(b) => value < b,
        };
        if improved {
            self.best = Some(value);
            self.wait = 0;
            false
        } else {
            self.wait += 1;
            self.wait >= self.patience
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Learning rates of torch 2.x `ReduceLROnPlateau(SGD(lr=1.0), factor=0.2, patience=2)`
    /// fed the losses below, one `step(loss)` per epoch (computed with torch; the sequence is
    /// the same by hand: improvements at epochs 0, 1 and 6; reductions after 3 bad epochs).
    #[test]
    fn plateau_matches_torch() {
        let losses = [1.0, 0.9, 0.95, 0.9, 0.91, 0.89995, 0.5, 0.6, 0.6, 0.6];
        let expected = [1.0, 1.0, 1.0, 1.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.04];
        let mut s = ReduceLrOnPlateau::new(1.0, 0.2, 2);
        let got: Vec<f64> = losses.iter().map(|&l| s.step(l)).collect();
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-12, "{got:?}");
        }
    }

    #[test]
    fn early_stopping_waits_patience_epochs() {
        let mut e = EarlyStopping::new(2);
        assert!(!e.step(1.0));
        assert!(!e.step(1.0)); // equal is not an improvement
        assert!(e.step(1.5));
        let mut e = EarlyStopping::new(2);
        assert!(!e.step(1.0));
        assert!(!e.step(2.0));
        assert!(!e.step(0.5));
        assert!(!e.step(0.6));
        assert!(e.step(0.7));
    }
}
