//! The Leiden algorithm (Traag, Waltman & van Eck 2019) for the modularity of a weighted
//! undirected graph with a resolution parameter, structured as igraph 0.10's
//! `community_leiden(objective_function="modularity")`, which scanpy 1.11.5's
//! `tl.leiden(flavor="igraph")` runs: node weights are the vertex strengths, the
//! resolution is divided by their total (the Reichardt–Bornholdt configuration model),
//! every iteration is a queue-based fast local move, a randomised refinement of each
//! cluster (`β = 0.01`) and aggregation by the refined partition until every cluster is a
//! single node. The random draws (node orders, the refinement's choice) come from the RNG
//! passed in, not igraph's, so labels can differ from igraph's where several partitions
//! are about as good.

use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::{BTreeMap, VecDeque};

/// igraph's default randomness of the refinement step.
pub const BETA: f64 = 0.01;

/// Adjacency lists of one level: `adj[v]` = `(u, weight)`, no self-loops.
type Adjacency = Vec<Vec<(usize, f64)>>;

/// Relabels `membership` to `0..` in order of first appearance; returns the label count.
fn reindex(membership: &mut [usize]) -> usize {
    let mut map: BTreeMap<usize, usize> = BTreeMap::new();
    for m in membership.iter_mut() {
        let next = map.len();
        *m = *map.entry(*m).or_insert(next);
    }
    map.len()
}

/// Moves single nodes to the neighbouring cluster (or an empty one) that increases the
/// quality most, revisiting the neighbours of moved nodes; returns the cluster count after
/// relabelling and whether any node moved.
fn fast_move_nodes<R: Rng>(
    adj: &Adjacency,
    node_weights: &[f64],
    membership: &mut [usize],
    gamma: f64,
    rng: &mut R,
) -> (usize, bool) {
    let n = adj.len();
    let mut cluster_weight = vec![0.0; n];
    let mut cluster_size = vec![0usize; n];
    for v in 0..n {
        cluster_weight[membership[v]] += node_weights[v];
        cluster_size[membership[v]] += 1;
    }
    let mut empty: Vec<usize> = (0..n).rev().filter(|&c| cluster_size[c] == 0).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut queue: VecDeque<usize> = order.into_iter().collect();
    let mut stable = vec![false; n];
    let mut edge_weight = vec![0.0; n];
    let mut listed = vec![false; n];
    let mut candidates: Vec<usize> = Vec::new();
    let mut changed = false;
    while let Some(v) = queue.pop_front() {
        stable[v] = true;
        let current = membership[v];
        cluster_weight[current] -= node_weights[v];
        cluster_size[current] -= 1;
        if cluster_size[current] == 0 {
            empty.push(current);
        }
        candidates.clear();
        if let Some(&e) = empty.last() {
            candidates.push(e);
            listed[e] = true;
        }
        for &(u, w) in &adj[v] {
            let c = membership[u];
            if !listed[c] {
                listed[c] = true;
                candidates.push(c);
            }
            edge_weight[c] += w;
        }
        let mut best = current;
        let mut max_diff = edge_weight[current] - node_weights[v] * cluster_weight[current] * gamma;
        for &c in &candidates {
            let diff = edge_weight[c] - node_weights[v] * cluster_weight[c] * gamma;
            if diff > max_diff {
                max_diff = diff;
                best = c;
            }
        }
        for &c in &candidates {
            edge_weight[c] = 0.0;
            listed[c] = false;
        }
        cluster_weight[best] += node_weights[v];
        cluster_size[best] += 1;
        if empty.last() == Some(&best) {
            empty.pop();
        }
        if best != current {
            membership[v] = best;
            changed = true;
            for &(u, _) in &adj[v] {
                if stable[u] && membership[u] != best {
                    stable[u] = false;
                    queue.push_back(u);
                }
            }
        }
    }
    (reindex(membership), changed)
}

/// Refines one cluster (`nodes`, all with `membership == cluster`): starting from
/// singletons, each well-connected singleton (in random order) joins a well-connected
/// refined cluster of the same cluster with probability ∝ `exp(Δ/β)` over the moves with
/// `Δ ≥ 0`. Writes refined labels `next..` into `refined`; returns the next free label.
#[allow(clippy::too_many_arguments)]
fn merge_nodes<R: Rng>(
    adj: &Adjacency,
    node_weights: &[f64],
    membership: &[usize],
    nodes: &[usize],
    cluster: usize,
    gamma: f64,
    refined: &mut [usize],
    next: usize,
    rng: &mut R,
) -> usize {
    let k = nodes.len();
    let mut local = BTreeMap::new();
    for (i, &v) in nodes.iter().enumerate() {
        local.insert(v, i);
    }
    let inside = |v: usize| -> Vec<(usize, f64)> {
        adj[v]
            .iter()
            .filter(|&&(u, _)| membership[u] == cluster && u != v)
            .map(|&(u, w)| (local[&u], w))
            .collect()
    };
    let links: Vec<Vec<(usize, f64)>> = nodes.iter().map(|&v| inside(v)).collect();
    let weight: Vec<f64> = nodes.iter().map(|&v| node_weights[v]).collect();
    let total: f64 = weight.iter().sum();
    let mut of: Vec<usize> = (0..k).collect();
    let mut cluster_weight = weight.clone();
    let mut external: Vec<f64> = links.iter().map(|l| l.iter().map(|e| e.1).sum()).collect();
    let mut non_singleton = vec![false; k];
    let mut edge_weight = vec![0.0; k];
    let mut listed = vec![false; k];
    let mut order: Vec<usize> = (0..k).collect();
    order.shuffle(rng);
    let mut candidates: Vec<usize> = Vec::new();
    let mut cumulative: Vec<f64> = Vec::new();
    for i in order {
        let c0 = of[i];
        let well_connected =
            external[c0] >= cluster_weight[c0] * (total - cluster_weight[c0]) * gamma;
        if non_singleton[c0] || !well_connected {
            continue;
        }
        cluster_weight[c0] = 0.0;
        external[c0] = 0.0;
        candidates.clear();
        candidates.push(c0);
        listed[c0] = true;
        for &(j, w) in &links[i] {
            let c = of[j];
            if !listed[c] {
                listed[c] = true;
                candidates.push(c);
            }
            edge_weight[c] += w;
        }
        let (mut best, mut max_diff, mut cum) = (c0, 0.0, 0.0);
        cumulative.clear();
        for &c in &candidates {
            if external[c] >= cluster_weight[c] * (total - cluster_weight[c]) * gamma {
                let diff = edge_weight[c] - weight[i] * cluster_weight[c] * gamma;
                if diff > max_diff {
                    max_diff = diff;
                    best = c;
                }
                if diff >= 0.0 {
                    cum += (diff / BETA).exp();
                }
            }
            cumulative.push(cum);
        }
        let chosen = if cum.is_finite() && cum > 0.0 {
            let r = rng.random::<f64>() * cum;
            let at = cumulative
                .partition_point(|&x| x < r)
                .min(candidates.len() - 1);
            candidates[at]
        } else {
            best
        };
        for &c in &candidates {
            edge_weight[c] = 0.0;
            listed[c] = false;
        }
        cluster_weight[chosen] += weight[i];
        for &(j, w) in &links[i] {
            if of[j] == chosen {
                external[chosen] -= w;
            } else {
                external[chosen] += w;
            }
        }
        if chosen != c0 {
            of[i] = chosen;
            non_singleton[chosen] = true;
        }
    }
    let mut labels: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, &v) in nodes.iter().enumerate() {
        let l = labels.len();
        refined[v] = next + *labels.entry(of[i]).or_insert(l);
    }
    next + labels.len()
}

/// One Leiden iteration from `membership` (changed in place); returns whether it changed.
fn iterate<R: Rng>(
    adj: &Adjacency,
    node_weights: &[f64],
    membership: &mut [usize],
    gamma: f64,
    rng: &mut R,
) -> bool {
    let n = adj.len();
    let mut level_adj = adj.clone();
    let mut level_weights = node_weights.to_vec();
    let mut level_membership = membership.to_vec();
    let mut aggregate_of: Vec<usize> = (0..n).collect();
    let mut changed = false;
    loop {
        let (nb_clusters, moved) = fast_move_nodes(
            &level_adj,
            &level_weights,
            &mut level_membership,
            gamma,
            rng,
        );
        changed |= moved;
        let m = level_adj.len();
        if nb_clusters >= m {
            break;
        }
        let mut clusters: Vec<Vec<usize>> = vec![Vec::new(); nb_clusters];
        for v in 0..m {
            clusters[level_membership[v]].push(v);
        }
        let mut refined = vec![0usize; m];
        let mut nb_refined = 0;
        for (c, nodes) in clusters.iter().enumerate() {
            nb_refined = merge_nodes(
                &level_adj,
                &level_weights,
                &level_membership,
                nodes,
                c,
                gamma,
                &mut refined,
                nb_refined,
                rng,
            );
        }
        if nb_refined >= m {
            refined.clone_from(&level_membership);
            nb_refined = nb_clusters;
        }
        for a in aggregate_of.iter_mut() {
            *a = refined[*a];
        }
        let mut weights = vec![0.0; nb_refined];
        let mut next_membership = vec![0usize; nb_refined];
        let mut sums: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); nb_refined];
        for v in 0..m {
            let r = refined[v];
            weights[r] += level_weights[v];
            next_membership[r] = level_membership[v];
            for &(u, w) in &level_adj[v] {
                let s = refined[u];
                if s != r {
                    *sums[r].entry(s).or_insert(0.0) += w;
                }
            }
        }
        level_adj = sums.into_iter().map(|s| s.into_iter().collect()).collect();
        level_weights = weights;
        level_membership = next_membership;
    }
    for (v, m) in membership.iter_mut().enumerate() {
        *m = level_membership[aggregate_of[v]];
    }
    changed
}

/// Leiden clustering of the undirected graph on `n` vertices with `edges` `(i, j, w)`
/// (each pair once, no self-loops) for modularity at `resolution`, `n_iterations`
/// iterations from singletons. Returns one label per vertex, `0..` in order of first
/// appearance.
pub fn leiden<R: Rng>(
    n: usize,
    edges: &[(usize, usize, f64)],
    resolution: f64,
    n_iterations: usize,
    rng: &mut R,
) -> Vec<usize> {
    // igraph sees every stored entry of the symmetric connectivity matrix as an edge, so
    // each pair is connected twice: weights and strengths are doubled (the partition's
    // quality only scales; the refinement's exp(Δ/β) sees igraph's scale).
    let mut adj: Adjacency = vec![Vec::new(); n];
    for &(i, j, w) in edges {
        if i != j && i < n && j < n {
            adj[i].push((j, 2.0 * w));
            adj[j].push((i, 2.0 * w));
        }
    }
    let node_weights: Vec<f64> = adj.iter().map(|a| a.iter().map(|e| e.1).sum()).collect();
    let total: f64 = node_weights.iter().sum();
    let gamma = if total > 0.0 { resolution / total } else { 0.0 };
    let mut membership: Vec<usize> = (0..n).collect();
    for _ in 0..n_iterations {
        iterate(&adj, &node_weights, &mut membership, gamma, rng);
    }
    reindex(&mut membership);
    membership
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Two 4-cliques joined by one weak edge.
    fn two_cliques() -> Vec<(usize, usize, f64)> {
        let mut e = Vec::new();
        for base in [0, 4] {
            for i in 0..4 {
                for j in i + 1..4 {
                    e.push((base + i, base + j, 1.0));
                }
            }
        }
        e.push((3, 4, 0.1));
        e
    }

    #[test]
    fn splits_two_cliques_and_is_seeded() {
        // python-igraph (/work/cevenv): g = ig.Graph(n=8, edges=<the edges>);
        // g.es["weight"] = <weights>; g.community_leiden(objective_function="modularity",
        // weights="weight", resolution=r, n_iterations=2).membership
        // -> r=1.0: [0,0,0,0,1,1,1,1]; r=0.01: [0]*8; ig.Graph(n=3) -> [0,1,2]
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let m = leiden(8, &two_cliques(), 1.0, 2, &mut rng);
        assert_eq!(m, [0, 0, 0, 0, 1, 1, 1, 1]);
        // A very low resolution merges everything.
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(leiden(8, &two_cliques(), 0.01, 2, &mut rng), [0; 8]);
        // Same seed, same result.
        let a = leiden(8, &two_cliques(), 1.5, 2, &mut ChaCha8Rng::seed_from_u64(3));
        let b = leiden(8, &two_cliques(), 1.5, 2, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
        // No edges: every vertex alone.
        assert_eq!(leiden(3, &[], 1.0, 2, &mut rng), [0, 1, 2]);
    }
}
