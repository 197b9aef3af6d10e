//! A dataset: the AnnData object plus its parsed design.

use crate::{DataError, Design, GroupIndex, PerturbationSpec};
use perturbench_io::{AnnData, H5adReader, ReadOptions};
use std::collections::HashSet;
use std::path::Path;

/// An expression dataset with its perturbation design (cells × genes).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where the data came from (a path, or a description such as `simulated:small`).
    pub source: String,
    /// The file contents.
    pub adata: AnnData,
    /// How perturbations and covariates are encoded.
    pub spec: PerturbationSpec,
    /// Each cell's perturbation and covariates.
    pub design: Design,
}

impl Dataset {
    /// Reads an `.h5ad` file and parses its design with `spec`.
    pub fn open(
        path: impl AsRef<Path>,
        spec: PerturbationSpec,
        opts: &ReadOptions,
    ) -> Result<Self, DataError> {
        let path = path.as_ref();
        let adata = H5adReader::open(path)?.read(opts)?;
        Self::from_anndata(adata, spec, path.display().to_string())
    }

    /// Wraps an in-memory object, checking gene names and parsing the design.
    pub fn from_anndata(
        adata: AnnData,
        spec: PerturbationSpec,
        source: impl Into<String>,
    ) -> Result<Self, DataError> {
        let source = source.into();
        check_unique_var_names(adata.var_names(), &source)?;
        let design = Design::from_obs(&adata.obs, &spec, &source)?;
        Ok(Dataset {
            source,
            adata,
            spec,
            design,
        })
    }

    /// The group index over all cells.
    pub fn groups(&self) -> GroupIndex {
        GroupIndex::build(&self.design)
    }

    /// Gene names.
    pub fn var_names(&self) -> &[String] {
        self.adata.var_names()
    }
}

/// Fails with the first few repeated names when `names` are not unique.
pub fn check_unique_var_names(names: &[String], source: &str) -> Result<(), DataError> {
    let mut seen = HashSet::with_capacity(names.len());
    let mut dups: Vec<&str> = Vec::new();
    for n in names {
        if !seen.insert(n.as_str()) && !dups.contains(&n.as_str()) {
            dups.push(n);
            if dups.len() == 5 {
                break;
            }
        }
    }
    if dups.is_empty() {
        Ok(())
    } else {
        Err(DataError::DuplicateVarNames {
            source_name: source.to_string(),
            first: dups.join(", "),
        })
    }
}
