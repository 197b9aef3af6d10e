//! The stratified half split PerturBench uses to divide held-out pairs into val and test:
//! scikit-learn's `train_test_split(items, stratify=labels, test_size=f, random_state=seed)`
//! (`StratifiedShuffleSplit` with `_approximate_mode` allocation), reproduced draw for draw on
//! numpy's legacy generator.

use super::pyrandom::NpRandomState;

/// Why a stratified split is impossible (scikit-learn raises the same conditions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StratifyError {
    /// Nothing to split.
    #[error("no (perturbation, covariate) pair is held out, so val and test would be empty (does the data have what the task holds out, e.g. combinations? a covariate with a single held-out pair drops it)")]
    Empty,
    /// A class has a single member.
    #[error("stratum '{0}' has a single held-out pair; each needs at least two")]
    Singleton(String),
    /// More classes than items on one side.
    #[error("{classes} strata but only {side} pairs on one side of the split")]
    TooManyClasses { classes: usize, side: usize },
}

/// `_approximate_mode`: allocates `n_draws` over classes proportionally, breaking ties in the
/// leftover fractions with the generator.
fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut NpRandomState) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<f64> = continuous.iter().map(|c| c.floor()).collect();
    let mut need = (n_draws as f64 - floored.iter().sum::<f64>()) as i64;
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, f)| c - f)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.partial_cmp(a).expect("finite"));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add_now = (inds.len() as i64).min(need) as usize;
            for i in rng.choice_without_replacement(&inds, add_now) {
                floored[i] += 1.0;
            }
            need -= add_now as i64;
            if need == 0 {
                break;
            }
        }
    }
    floored.into_iter().map(|f| f as usize).collect()
}

/// Splits items `0..labels.len()` stratified by `labels` into (first, second) with
/// `ceil(test_fraction * n)` items in the second part; returns the item positions of each part.
pub fn stratified_split(
    labels: &[String],
    test_fraction: f64,
    seed: u32,
) -> Result<(Vec<usize>, Vec<usize>), StratifyError> {
    let n = labels.len();
    if n == 0 {
        return Err(StratifyError::Empty);
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    let n_train = n - n_test;
    // np.unique: sorted classes and each item's class.
    let mut classes: Vec<&String> = labels.iter().collect();
    classes.sort();
    classes.dedup();
    let class_of: Vec<usize> = labels
        .iter()
        .map(|l| classes.binary_search(&l).expect("present"))
        .collect();
    let mut counts = vec![0usize; classes.len()];
    for &c in &class_of {
        counts[c] += 1;
    }
    if let Some(i) = counts.iter().position(|&c| c < 2) {
        return Err(StratifyError::Singleton(classes[i].clone()));
    }
    if n_train < classes.len() || n_test < classes.len() {
        return Err(StratifyError::TooManyClasses {
            classes: classes.len(),
            side: n_train.min(n_test),
        });
    }
    // Items of each class in their original order (stable argsort by class).
    let mut class_items: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (i, &c) in class_of.iter().enumerate() {
        class_items[c].push(i);
    }
    let mut rng = NpRandomState::new(seed);
    let n_i = approximate_mode(&counts, n_train, &mut rng);
    let remaining: Vec<usize> = counts.iter().zip(&n_i).map(|(c, t)| c - t).collect();
    let t_i = approximate_mode(&remaining, n_test, &mut rng);
    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for (c, items) in class_items.iter().enumerate() {
        let perm = rng.permutation(counts[c]);
        let permuted: Vec<usize> = perm.iter().map(|&p| items[p]).collect();
        train.extend_from_slice(&permuted[..n_i[c]]);
        test.extend_from_slice(&permuted[n_i[c]..n_i[c] + t_i[c]]);
    }
    let train_perm = rng.permutation(train.len());
    let test_perm = rng.permutation(test.len());
    Ok((
        train_perm.iter().map(|&p| train[p]).collect(),
        test_perm.iter().map(|&p| test[p]).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from scikit-learn 1.9.1 / numpy 2.4.6:
    //   from sklearn.model_selection import train_test_split
    //   y = [...]; a, b = train_test_split(list(range(len(y))), stratify=y, test_size=0.5, random_state=seed)
    /// (labels, seed, first part, second part)
    type Case = (
        &'static [&'static str],
        u32,
        &'static [usize],
        &'static [usize],
    );
    include!("stratified_expected.rs");

    #[test]
    fn matches_sklearn_train_test_split() {
        for (labels, seed, first, second) in CASES {
            let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
            let (a, b) = stratified_split(&labels, 0.5, *seed).unwrap();
            assert_eq!(a, *first, "labels {labels:?} seed {seed}");
            assert_eq!(b, *second, "labels {labels:?} seed {seed}");
        }
    }

    #[test]
    fn refuses_what_sklearn_refuses() {
        let one = vec!["a".to_string(), "a".into(), "b".into()];
        assert!(matches!(
            stratified_split(&one, 0.5, 0),
            Err(StratifyError::Singleton(_))
        ));
        assert_eq!(stratified_split(&[], 0.5, 0), Err(StratifyError::Empty));
    }
}
