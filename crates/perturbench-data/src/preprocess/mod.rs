//! PerturBench's preprocessing (spec §1.4) with scanpy's arithmetic.
mod normalize;
pub use normalize::{cell_totals, cells_per_gene, genes_in_min_cells, log1p, normalize_total, TargetSum};
