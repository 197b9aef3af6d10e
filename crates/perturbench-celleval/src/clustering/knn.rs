//! Exact k-nearest neighbours, as scanpy 1.11.5's `pp.neighbors` finds them with the
//! Euclidean metric for fewer than 8,192 observations (scikit-learn's brute-force
//! `KNeighborsTransformer`; from 8,192 on scanpy switches to approximate pynndescent
//! neighbours, this module stays exact): every point is its own first neighbour at distance
//! 0, followed by the others by increasing distance.

use rayon::prelude::*;

/// The `k` nearest neighbours of every point, the point itself first.
#[derive(Debug, Clone, PartialEq)]
pub struct Knn {
    /// `indices[i]`: `i` itself, then its `k - 1` nearest other points (closest first).
    pub indices: Vec<Vec<usize>>,
    /// `distances[i][j]`: Euclidean distance from `i` to `indices[i][j]` (0 for itself).
    pub distances: Vec<Vec<f64>>,
}

impl Knn {
    /// The number of columns (neighbours per point, the point itself included).
    pub fn k(&self) -> usize {
        self.indices.first().map_or(0, Vec::len)
    }
}

/// Euclidean distance of two points of the same dimension.
fn euclidean(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// The `k` nearest neighbours (the point itself included, so `k - 1` others) of every row of
/// `points`; `k` is capped at the number of points. Ties go to the lower index. Rows are
/// computed in parallel (rayon).
pub fn exact_knn(points: &[Vec<f64>], k: usize) -> Knn {
    let k = k.min(points.len());
    let rows: Vec<(Vec<usize>, Vec<f64>)> = points
        .par_iter()
        .enumerate()
        .map(|(i, p)| neighbours(points, i, p, k))
        .collect();
    let (indices, distances) = rows.into_iter().unzip();
    Knn { indices, distances }
}

/// The `k` nearest neighbours of point `i` (= `p`), itself first.
fn neighbours(points: &[Vec<f64>], i: usize, p: &[f64], k: usize) -> (Vec<usize>, Vec<f64>) {
    let mut others: Vec<(f64, usize)> = points
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(j, q)| (euclidean(p, q), j))
        .collect();
    others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut idx = Vec::with_capacity(k);
    let mut dst = Vec::with_capacity(k);
    if k > 0 {
        idx.push(i);
        dst.push(0.0);
    }
    for &(d, j) in others.iter().take(k.saturating_sub(1)) {
        idx.push(j);
        dst.push(d);
    }
    (idx, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_first_then_by_distance() {
        let pts = vec![
            vec![0.0, 0.0],
            vec![3.0, 4.0],
            vec![1.0, 0.0],
            vec![0.0, 2.0],
        ];
        let knn = exact_knn(&pts, 3);
        assert_eq!(knn.k(), 3);
        assert_eq!(knn.indices[0], [0, 2, 3]);
        assert_eq!(knn.distances[0], [0.0, 1.0, 2.0]);
        assert_eq!(knn.indices[1], [1, 3, 2]);
        assert_eq!(exact_knn(&pts, 10).k(), 4);
    }
}
