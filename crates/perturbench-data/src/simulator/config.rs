//! Simulator settings: presets modelled on real screens and the knobs behind them.

use std::fmt;
use std::str::FromStr;

/// The kind of perturbation, which decides what happens to a target gene.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modality {
    /// CRISPR activation: the target gene's mean rises several-fold.
    CrisprA,
    /// CRISPR interference / knockout: the target gene's mean falls.
    CrisprI,
    /// Chemical perturbations: no target gene.
    Drug,
}

impl Modality {
    /// The label written to `obs['perturbation_type']`.
    pub fn label(self) -> &'static str {
        match self {
            Modality::CrisprA => "CRISPRa",
            Modality::CrisprI => "CRISPRi",
            Modality::Drug => "drug",
        }
    }
}

/// Named starting points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// A few thousand cells for tests: 2 cell types, CRISPRi singles and pairs.
    Small,
    /// Like Norman 2019: one cell type (K562), CRISPRa, ~100 singles and ~100 pairs, ~100k cells.
    NormanLike,
    /// Like sci-Plex 3: three cell lines, ~190 drugs at one dose, low depth, noisy chemistry.
    SciplexLike,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 3] = [Preset::Small, Preset::NormanLike, Preset::SciplexLike];
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preset::Small => "small",
            Preset::NormanLike => "norman-like",
            Preset::SciplexLike => "sciplex-like",
        })
    }
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Preset::ALL
            .iter()
            .copied()
            .find(|p| p.to_string() == s)
            .ok_or_else(|| {
                format!("unknown preset '{s}'; expected small, norman-like or sciplex-like")
            })
    }
}

/// Every setting of a simulation. Effect sizes are natural-log fold changes of the NB mean.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The preset these settings started from.
    pub preset: Preset,
    /// Number of genes.
    pub n_genes: usize,
    /// Cell type names (the `cell_type` covariate).
    pub cell_types: Vec<String>,
    /// Perturbation modality.
    pub modality: Modality,
    /// Single perturbations (drugs for `Drug`).
    pub n_singles: usize,
    /// Two-gene combinations (genetic modalities only).
    pub n_combos: usize,
    /// Mean cells per (cell type, perturbation) group; each group draws 0.6–1.4× this.
    pub cells_per_group: usize,
    /// Control cells per cell type.
    pub controls_per_cell_type: usize,
    /// Median UMIs per cell.
    pub library_median: f64,
    /// Standard deviation of ln(library size).
    pub library_sd_ln: f64,
    /// Per cell type: multiplier of sequencing depth.
    pub cell_type_depth: Vec<f64>,
    /// Median gene mean (UMIs per cell) at 2,000 UMIs per cell.
    pub gene_mean_median: f64,
    /// Spread (sd of ln) of gene means.
    pub gene_mean_sd_ln: f64,
    /// Fraction of genes whose baseline differs between cell types.
    pub cell_type_specific_genes: f64,
    /// Multiplier of the dispersion trend (2 for noisy chemistries).
    pub dispersion_scale: f64,
    /// Fraction of perturbations with strong effects.
    pub strong_fraction: f64,
    /// Range of the number of DE genes of a strong perturbation.
    pub strong_de_genes: (usize, usize),
    /// Range of |log fold change| of a strong perturbation's DE genes.
    pub strong_lfc: (f64, f64),
    /// Range of the number of genes a weak perturbation moves.
    pub weak_de_genes: (usize, usize),
    /// Range of |log fold change| of a weak perturbation's genes.
    pub weak_lfc: (f64, f64),
    /// Range of the fold change of an activated target gene (CRISPRa).
    pub activation_fold: (f64, f64),
    /// Range of the remaining fraction of a knocked-down target (CRISPRi/KO).
    pub knockdown_fraction: (f64, f64),
    /// sd of ln of the per-cell-type magnitude of shared effects (≈2× spread at 0.35).
    pub cell_type_magnitude_sd_ln: f64,
    /// Extra cell-type-specific DE genes of strong perturbations, as a fraction of their DE genes.
    pub cell_type_specific_effects: f64,
    /// Range of the norm of a combination's interaction relative to its additive effect.
    pub interaction: (f64, f64),
}

impl SimConfig {
    /// The settings of a preset.
    pub fn preset(p: Preset) -> SimConfig {
        let base = SimConfig {
            preset: p,
            n_genes: 400,
            cell_types: vec!["k562".into(), "rpe1".into()],
            modality: Modality::CrisprI,
            n_singles: 12,
            n_combos: 6,
            cells_per_group: 60,
            controls_per_cell_type: 200,
            library_median: 8_000.0,
            library_sd_ln: 0.45,
            cell_type_depth: vec![1.0, 0.7],
            gene_mean_median: 0.01,
            gene_mean_sd_ln: 1.8,
            cell_type_specific_genes: 0.3,
            dispersion_scale: 1.0,
            strong_fraction: 0.3,
            strong_de_genes: (10, 60),
            strong_lfc: (0.5, 2.5),
            weak_de_genes: (0, 8),
            weak_lfc: (0.05, 0.25),
            activation_fold: (3.0, 30.0),
            knockdown_fraction: (0.2, 0.75),
            cell_type_magnitude_sd_ln: 0.35,
            cell_type_specific_effects: 0.3,
            interaction: (0.05, 0.3),
        };
        match p {
            Preset::Small => base,
            Preset::NormanLike => SimConfig {
                n_genes: 5_000,
                cell_types: vec!["k562".into()],
                modality: Modality::CrisprA,
                n_singles: 100,
                n_combos: 100,
                cells_per_group: 450,
                controls_per_cell_type: 10_000,
                library_median: 13_500.0,
                library_sd_ln: 0.41,
                cell_type_depth: vec![1.0],
                // Deeper sequencing: lower per-gene panel means keep 85–95 % zeros.
                gene_mean_median: 0.0075,
                ..base
            },
            Preset::SciplexLike => SimConfig {
                n_genes: 2_000,
                cell_types: vec!["a549".into(), "k562".into(), "mcf7".into()],
                modality: Modality::Drug,
                n_singles: 190,
                n_combos: 0,
                cells_per_group: 100,
                controls_per_cell_type: 1_000,
                library_median: 2_500.0,
                library_sd_ln: 0.66,
                cell_type_depth: vec![1.0, 1.3, 0.8],
                dispersion_scale: 2.0,
                ..base
            },
        }
    }

    /// Number of (cell type, perturbation) groups with cells, controls excluded.
    pub fn n_groups(&self) -> usize {
        self.cell_types.len() * (self.n_singles + self.n_combos)
    }

    /// Expected number of cells.
    pub fn expected_cells(&self) -> usize {
        self.n_groups() * self.cells_per_group + self.cell_types.len() * self.controls_per_cell_type
    }

    /// Applies `--cells`, `--genes` and `--perturbations` (total distinct perturbations,
    /// split between singles and combos in the preset's ratio). `None` keeps a setting.
    pub fn with_overrides(
        mut self,
        cells: Option<usize>,
        genes: Option<usize>,
        perturbations: Option<usize>,
    ) -> Result<SimConfig, super::SimError> {
        use super::SimError::Option as Opt;
        if let Some(p) = perturbations {
            if p == 0 {
                return Err(Opt {
                    option: "--perturbations",
                    message: "must be at least 1".into(),
                });
            }
            let total = (self.n_singles + self.n_combos) as f64;
            let combos = (p as f64 * self.n_combos as f64 / total).round() as usize;
            // Every combination needs two singles.
            let singles = (p - combos).max(2.min(p));
            self.n_singles = singles;
            self.n_combos = p.saturating_sub(singles);
        }
        if let Some(g) = genes {
            self.n_genes = g;
        }
        if let Some(c) = cells {
            let expected = self.expected_cells() as f64;
            if c == 0 {
                return Err(Opt {
                    option: "--cells",
                    message: "must be at least 1".into(),
                });
            }
            let scale = c as f64 / expected;
            self.cells_per_group = ((self.cells_per_group as f64 * scale).round() as usize).max(1);
            self.controls_per_cell_type =
                ((self.controls_per_cell_type as f64 * scale).round() as usize).max(2);
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks that the settings can be simulated.
    pub fn validate(&self) -> Result<(), super::SimError> {
        use super::SimError::Option as Opt;
        let genetic = self.modality != Modality::Drug;
        if self.n_genes < 20 {
            return Err(Opt {
                option: "--genes",
                message: format!("{} genes are too few; use at least 20", self.n_genes),
            });
        }
        if genetic && self.n_singles > self.n_genes / 2 {
            return Err(Opt {
                option: "--genes",
                message: format!(
                    "{} single perturbations each target a gene; use at least {} genes",
                    self.n_singles,
                    2 * self.n_singles
                ),
            });
        }
        let max_pairs = self.n_singles * self.n_singles.saturating_sub(1) / 2;
        if self.n_combos > max_pairs {
            return Err(Opt {
                option: "--perturbations",
                message: format!(
                    "{} combinations need more than {} singles",
                    self.n_combos, self.n_singles
                ),
            });
        }
        if self.n_singles == 0 {
            return Err(Opt {
                option: "--perturbations",
                message: "at least one single perturbation is needed".into(),
            });
        }
        if self.cell_types.is_empty() || self.cell_type_depth.len() != self.cell_types.len() {
            return Err(Opt {
                option: "cell types",
                message: "one depth multiplier per cell type is needed".into(),
            });
        }
        if !(self.library_median > 0.0 && self.library_sd_ln >= 0.0) {
            return Err(Opt {
                option: "library size",
                message: "median must be positive and sd non-negative".into(),
            });
        }
        Ok(())
    }
}
