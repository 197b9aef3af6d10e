//! PerturBench's preprocessing (spec §1.4) with scanpy's arithmetic.
mod hvg;
mod loess;
pub use hvg::{highly_variable_genes, seurat_v3_among, HvgFlavor, HvgResult};
mod normalize;
mod pipeline;
pub use loess::{loess_fit, loess_fit_direct};
pub use normalize::{
    cell_totals, cells_per_gene, genes_in_min_cells, log1p, normalize_total, TargetSum,
};
pub use pipeline::{preprocess, InputKind, PreprocessError, PreprocessOptions, Preprocessed};
