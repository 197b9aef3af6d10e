//! From chosen pairs to cell labels: the stratified val/test division of held-out pairs and the
//! global split of control cells (spec §2.2).

use super::pyrandom::PyRandom;
use super::stratified::stratified_split;
use super::{Pair, SingleHeldout, SplitConfig, SplitError, SplitLabel};
use crate::Design;
use std::collections::HashMap;

/// Python's `repr` of a string (the quote choice and escapes of `str.__repr__`).
pub(crate) fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The reference's stratum label of a covariate combination: `str(frozenset(values))`.
pub(crate) fn stratum(values: &[String]) -> String {
    if values.is_empty() {
        // No covariate keys: the reference uses a dummy covariate "1".
        return "frozenset({'1'})".to_string();
    }
    let mut reprs: Vec<String> = values.iter().map(|v| py_repr(v)).collect();
    reprs.sort();
    reprs.dedup();
    format!("frozenset({{{}}})", reprs.join(", "))
}

/// Labels every cell: train pairs, held-out pairs divided into val/test, then controls.
pub(super) fn assign(
    design: &Design,
    cfg: &SplitConfig,
    train: &[Pair],
    heldout: &[Pair],
    task: &'static str,
) -> Result<Vec<Option<SplitLabel>>, SplitError> {
    let mut per_cov: HashMap<u32, usize> = HashMap::new();
    for &(c, _) in heldout {
        *per_cov.entry(c).or_default() += 1;
    }
    let mut train: Vec<Pair> = train.to_vec();
    let mut kept: Vec<Pair> = Vec::new();
    for &pair in heldout {
        if per_cov[&pair.0] > 1 {
            kept.push(pair);
        } else if cfg.single_heldout == SingleHeldout::Train {
            train.push(pair);
        }
    }
    let strata: Vec<String> = kept
        .iter()
        .map(|&(c, _)| stratum(&design.covariates[c as usize]))
        .collect();
    let (first, second) = stratified_split(&strata, cfg.test_fraction, cfg.seed)
        .map_err(|reason| SplitError::Stratify { task, reason })?;
    let mut pair_label: HashMap<Pair, SplitLabel> = HashMap::new();
    for p in train {
        pair_label.insert(p, SplitLabel::Train);
    }
    for i in first {
        pair_label.insert(kept[i], SplitLabel::Val);
    }
    for i in second {
        pair_label.insert(kept[i], SplitLabel::Test);
    }
    let n = design.n_cells();
    let mut labels: Vec<Option<SplitLabel>> = (0..n)
        .map(|r| {
            pair_label
                .get(&(design.cell_covariate[r], design.perturbation_of(r)))
                .copied()
        })
        .collect();
    split_controls(design, cfg, &mut labels);
    Ok(labels)
}

/// Shuffles all control cells with CPython's `random.sample` and cuts them into
/// train / val / test at `int(f·n)` and `int((f + (1−f)/2)·n)`.
fn split_controls(design: &Design, cfg: &SplitConfig, labels: &mut [Option<SplitLabel>]) {
    let controls: Vec<usize> = (0..design.n_cells())
        .filter(|&r| design.is_control(r))
        .collect();
    let n = controls.len();
    let shuffled = PyRandom::seed(cfg.seed as i64).sample(&controls, n);
    let f = cfg.train_control_fraction;
    let val_frac = (1.0 - f) / 2.0;
    let cut1 = (f * n as f64) as usize;
    let cut2 = ((val_frac + f) * n as f64) as usize;
    for (i, &r) in shuffled.iter().enumerate() {
        labels[r] = Some(if i < cut1 {
            SplitLabel::Train
        } else if i < cut2 {
            SplitLabel::Val
        } else {
            SplitLabel::Test
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs() {
        // Python: repr("k562"), repr("it's"), repr('a"b'), repr("x'y\"z"), str(frozenset({"b", "a"}))
        assert_eq!(py_repr("k562"), "'k562'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\"b"), "'a\"b'");
        assert_eq!(py_repr("x'y\"z"), "'x\\'y\"z'");
        assert_eq!(stratum(&["k562".into()]), "frozenset({'k562'})");
        assert_eq!(stratum(&["b".into(), "a".into()]), "frozenset({'a', 'b'})");
    }
}
