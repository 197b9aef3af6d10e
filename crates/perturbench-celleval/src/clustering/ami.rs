//! Adjusted mutual information of two labelings, as scikit-learn 1.x's
//! `adjusted_mutual_info_score(average_method="arithmetic")`: natural logarithms, the
//! expected mutual information under the hypergeometric model of random labelings, and
//! sklearn's special cases and sign-preserving ε clamps.

use std::collections::BTreeMap;

/// The non-zero cells of a contingency table: `(row, column) → count`.
type Cells = BTreeMap<(usize, usize), u64>;

/// Class sizes of `a` and of `b` (classes in label order) and the contingency table (rows:
/// classes of `a`, columns: classes of `b`).
fn contingency(a: &[usize], b: &[usize]) -> (Vec<u64>, Vec<u64>, Cells) {
    let index = |labels: &[usize]| -> Vec<usize> {
        let mut uniq: Vec<usize> = labels.to_vec();
        uniq.sort_unstable();
        uniq.dedup();
        labels
            .iter()
            .map(|l| uniq.binary_search(l).unwrap_or(0))
            .collect()
    };
    let (ia, ib) = (index(a), index(b));
    let na = ia.iter().max().map_or(0, |m| m + 1);
    let nb = ib.iter().max().map_or(0, |m| m + 1);
    let mut rows = vec![0u64; na];
    let mut cols = vec![0u64; nb];
    let mut table = BTreeMap::new();
    for (&x, &y) in ia.iter().zip(&ib) {
        rows[x] += 1;
        cols[y] += 1;
        *table.entry((x, y)).or_insert(0) += 1;
    }
    (rows, cols, table)
}

/// Entropy (nats) of a labeling from its class sizes (sklearn's `_entropy`).
fn entropy(sizes: &[u64]) -> f64 {
    if sizes.len() <= 1 {
        return 0.0;
    }
    let total: u64 = sizes.iter().sum();
    let lt = (total as f64).ln();
    -sizes
        .iter()
        .map(|&s| (s as f64 / total as f64) * ((s as f64).ln() - lt))
        .sum::<f64>()
}

/// Mutual information (nats) from the contingency table (sklearn's `mutual_info_score`).
fn mutual_info(rows: &[u64], cols: &[u64], table: &Cells) -> f64 {
    if rows.len() == 1 || cols.len() == 1 {
        return 0.0;
    }
    let n: u64 = rows.iter().sum();
    let ln_n = (n as f64).ln();
    let mut mi = 0.0;
    for (&(i, j), &nij) in table {
        let p = nij as f64 / n as f64;
        let log_outer = -((rows[i] * cols[j]) as f64).ln() + ln_n + ln_n;
        let term = p * ((nij as f64).ln() - ln_n) + p * log_outer;
        if term.abs() >= f64::EPSILON {
            mi += term;
        }
    }
    mi.max(0.0)
}

/// Expected mutual information of two random labelings with class sizes `a` and `b` of
/// `n` samples (sklearn's `expected_mutual_information`).
fn expected_mutual_info(a: &[u64], b: &[u64], n: u64) -> f64 {
    if a.len() == 1 || b.len() == 1 {
        return 0.0;
    }
    let lg = |x: f64| libm::lgamma(x);
    let nf = n as f64;
    let gln_n = lg(nf + 1.0);
    let mut emi = 0.0;
    for &ai in a {
        for &bj in b {
            let start = 1.max((ai + bj).saturating_sub(n));
            let end = ai.min(bj);
            for nij in start..=end {
                let nijf = nij as f64;
                let term1 = nijf / nf;
                let term2 = (nf.ln() + nijf.ln()) - (ai as f64).ln() - (bj as f64).ln();
                let gln = lg(ai as f64 + 1.0)
                    + lg(bj as f64 + 1.0)
                    + lg((n - ai) as f64 + 1.0)
                    + lg((n - bj) as f64 + 1.0)
                    - (lg(nijf + 1.0) + gln_n)
                    - lg((ai - nij) as f64 + 1.0)
                    - lg((bj - nij) as f64 + 1.0)
                    - lg((n + nij - ai - bj) as f64 + 1.0);
                emi += term1 * term2 * gln.exp();
            }
        }
    }
    emi
}

/// `adjusted_mutual_info_score(a, b)` with the arithmetic mean of the two entropies as
/// normaliser. Both labelings must have the same length; labels are arbitrary integers.
/// Two labelings with one class each (or none) score 1; one class on one side only scores 0.
pub fn adjusted_mutual_info(a: &[usize], b: &[usize]) -> f64 {
    let (rows, cols, table) = contingency(a, b);
    if (rows.len() == 1 && cols.len() == 1) || (rows.is_empty() && cols.is_empty()) {
        return 1.0;
    }
    if rows.len() == 1 || cols.len() == 1 {
        return 0.0;
    }
    let n: u64 = rows.iter().sum();
    let mi = mutual_info(&rows, &cols, &table);
    let emi = expected_mutual_info(&rows, &cols, n);
    let normalizer = (entropy(&rows) + entropy(&cols)) / 2.0;
    let eps = f64::EPSILON;
    let mut denominator = normalizer - emi;
    denominator = if denominator < 0.0 {
        denominator.min(-eps)
    } else {
        denominator.max(eps)
    };
    let mut numerator = mi - emi;
    numerator = if numerator < 0.0 {
        numerator.min(-eps)
    } else {
        numerator.max(eps)
    };
    numerator / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
    }

    #[test]
    fn matches_sklearn() {
        // from sklearn.metrics import adjusted_mutual_info_score as ami (scikit-learn in
        // /work/cevenv):
        // ami([0,0,1,1,2,2,3,3,4,4], [0,0,1,1,1,2,2,3,3,3]) -> 0.42319091789703495
        close(
            adjusted_mutual_info(
                &[0, 0, 1, 1, 2, 2, 3, 3, 4, 4],
                &[0, 0, 1, 1, 1, 2, 2, 3, 3, 3],
            ),
            0.423_190_917_897_034_95,
        );
        // ami([0,1,0,2,1,2,0,1,2,3,3,0,1], [5,5,1,1,5,1,1,5,2,2,2,9,9]) -> 0.27439557624082656
        close(
            adjusted_mutual_info(
                &[0, 1, 0, 2, 1, 2, 0, 1, 2, 3, 3, 0, 1],
                &[5, 5, 1, 1, 5, 1, 1, 5, 2, 2, 2, 9, 9],
            ),
            0.274_395_576_240_826_56,
        );
        // ami([0,0,1,1], [0,0,1,1]) -> 1.0; ami([0,0,0,0], [0,1,2,3]) -> 0.0
        close(adjusted_mutual_info(&[0, 0, 1, 1], &[0, 0, 1, 1]), 1.0);
        close(adjusted_mutual_info(&[0, 0, 0, 0], &[0, 1, 2, 3]), 0.0);
        // ami([0,1,2,3], [0,1,2,3]) -> 1.0 (expected MI equals MI; ε clamps)
        close(adjusted_mutual_info(&[0, 1, 2, 3], &[0, 1, 2, 3]), 1.0);
        // ami([3,3,3], [7,7,7]) -> 1.0
        close(adjusted_mutual_info(&[3, 3, 3], &[7, 7, 7]), 1.0);
        // ami([0,1,0,1,0,1], [0,0,1,1,2,2]) -> -0.4481886872563352
        close(
            adjusted_mutual_info(&[0, 1, 0, 1, 0, 1], &[0, 0, 1, 1, 2, 2]),
            -0.448_188_687_256_335_2,
        );
    }
}
