//! The experimental design of a dataset: each cell's perturbation and covariate combination,
//! parsed once per category from obs (integer work afterwards, never string work per cell).

use crate::perturbation::{parse_perturbation, ParseError};
use crate::{DataError, PerturbationSet, PerturbationSpec, Vocabulary};
use perturbench_io::{Column, Frame, MISSING_CODE};
use std::collections::HashMap;

/// Per-cell perturbations and covariates of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Distinct perturbation strings as written in obs (categories of the perturbation column).
    pub conditions: Vec<String>,
    /// Per condition: its position in the order pandas' `groupby` visits the perturbation
    /// column (category order for categoricals, sorted text otherwise).
    pub condition_groupby_rank: Vec<u32>,
    /// Per covariate key: the number of categories its column declares when categorical
    /// (including unused ones), `None` for plain columns.
    pub covariate_declared_levels: Vec<Option<usize>>,
    /// Per condition: its names in written order (empty for the control).
    pub condition_names: Vec<Vec<String>>,
    /// Per condition: index into `perturbations` (`A+B` and `B+A` share one).
    pub condition_set: Vec<u32>,
    /// Per cell: index into `conditions`.
    pub cell_condition: Vec<u32>,
    /// Distinct perturbation sets, in order of first appearance over cells.
    pub perturbations: Vec<PerturbationSet>,
    /// Covariate keys, in spec order.
    pub covariate_keys: Vec<String>,
    /// Distinct covariate combinations (one value per key), in order of first appearance.
    pub covariates: Vec<Vec<String>>,
    /// Per cell: index into `covariates` (all 0, one empty combination, without covariate keys).
    pub cell_covariate: Vec<u32>,
    /// Per covariate combination: each value's position in pandas' `groupby` order of its key.
    pub covariate_groupby_rank: Vec<Vec<u32>>,
    /// Index of the control in `perturbations`, when any cell is a control.
    pub control: Option<u32>,
}

/// A column reduced to codes per row, its categories, and each category's position in the
/// order pandas' `groupby` visits groups (category order for categoricals, sorted values for
/// plain columns), plus the number of categories a categorical declares (used or not).
struct Coded {
    codes: Vec<u32>,
    categories: Vec<String>,
    groupby_rank: Vec<u32>,
    declared: Option<usize>,
}

fn coded(col: &Column) -> Coded {
    let sorted_ranks = |cats: &[String]| -> Vec<u32> {
        let mut order: Vec<usize> = (0..cats.len()).collect();
        order.sort_by(|&a, &b| cats[a].cmp(&cats[b]));
        let mut rank = vec![0u32; cats.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r as u32;
        }
        rank
    };
    match col {
        Column::Categorical {
            codes, categories, ..
        } => Coded {
            codes: codes.clone(),
            categories: categories.clone(),
            groupby_rank: (0..categories.len() as u32).collect(),
            declared: Some(categories.len()),
        },
        Column::Float(v) => {
            // Numbers group in numeric order.
            let mut cats = Vocabulary::new();
            let codes: Vec<u32> = v.iter().map(|x| cats.insert(&x.to_string())).collect();
            let mut order: Vec<usize> = (0..cats.len()).collect();
            let vals: Vec<f64> = cats
                .names()
                .iter()
                .map(|s| s.parse().unwrap_or(f64::NAN))
                .collect();
            order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
            let mut rank = vec![0u32; cats.len()];
            for (r, &i) in order.iter().enumerate() {
                rank[i] = r as u32;
            }
            Coded {
                codes,
                categories: cats.names().to_vec(),
                groupby_rank: rank,
                declared: None,
            }
        }
        Column::Int(v) => {
            let mut cats = Vocabulary::new();
            let codes: Vec<u32> = v.iter().map(|x| cats.insert(&x.to_string())).collect();
            let vals: Vec<i64> = cats
                .names()
                .iter()
                .map(|s| s.parse().unwrap_or(0))
                .collect();
            let mut order: Vec<usize> = (0..cats.len()).collect();
            order.sort_by_key(|&i| vals[i]);
            let mut rank = vec![0u32; cats.len()];
            for (r, &i) in order.iter().enumerate() {
                rank[i] = r as u32;
            }
            Coded {
                codes,
                categories: cats.names().to_vec(),
                groupby_rank: rank,
                declared: None,
            }
        }
        other => {
            // Strings (plain or nullable) and booleans group by their text, sorted.
            let mut cats = Vocabulary::new();
            let codes: Vec<u32> = (0..other.len())
                .map(|i| {
                    other
                        .value_string(i)
                        .map_or(MISSING_CODE, |s| cats.insert(&s))
                })
                .collect();
            let categories = cats.names().to_vec();
            let groupby_rank = sorted_ranks(&categories);
            Coded {
                codes,
                categories,
                groupby_rank,
                declared: None,
            }
        }
    }
}

fn column<'a>(
    obs: &'a Frame,
    key: &str,
    role: &'static str,
    source: &str,
) -> Result<&'a Column, DataError> {
    obs.column(key).ok_or_else(|| DataError::MissingKey {
        source_name: source.to_string(),
        key: key.to_string(),
        role,
        available: obs.column_names().join(", "),
    })
}

impl Design {
    /// Parses the design from obs with `spec`; `source` names the file in errors.
    /// Fails when a key is missing, a value is missing, a perturbation has an empty component,
    /// or no cell is a control.
    pub fn from_obs(
        obs: &Frame,
        spec: &PerturbationSpec,
        source: &str,
    ) -> Result<Design, DataError> {
        spec.validate()?;
        let missing = |key: &str, row: usize| DataError::MissingValue {
            source_name: source.to_string(),
            key: key.to_string(),
            row,
            cell: obs.index.get(row).cloned().unwrap_or_default(),
        };
        let pcol = column(obs, &spec.key, "perturbation key", source)?;
        let Coded {
            codes,
            categories,
            groupby_rank: category_rank,
            ..
        } = coded(pcol);
        if let Some(row) = codes.iter().position(|&c| c == MISSING_CODE) {
            return Err(missing(&spec.key, row));
        }
        // Conditions that actually occur, in order of first appearance.
        let mut used = vec![u32::MAX; categories.len()];
        let mut conditions = Vec::new();
        let mut condition_groupby_rank = Vec::new();
        let mut cell_condition = Vec::with_capacity(codes.len());
        for &c in &codes {
            let slot = &mut used[c as usize];
            if *slot == u32::MAX {
                *slot = conditions.len() as u32;
                conditions.push(categories[c as usize].clone());
                condition_groupby_rank.push(category_rank[c as usize]);
            }
            cell_condition.push(*slot);
        }
        let mut condition_names = Vec::with_capacity(conditions.len());
        let mut condition_set = Vec::with_capacity(conditions.len());
        let mut perturbations: Vec<PerturbationSet> = Vec::new();
        let mut set_index: HashMap<PerturbationSet, u32> = HashMap::new();
        for cond in &conditions {
            let names =
                parse_perturbation(cond, spec).map_err(|ParseError::EmptyComponent(v)| {
                    DataError::EmptyComponent {
                        source_name: source.to_string(),
                        key: spec.key.clone(),
                        value: v,
                        delimiter: spec.delimiter.clone(),
                    }
                })?;
            let set = PerturbationSet::new(&names);
            let id = *set_index.entry(set.clone()).or_insert_with(|| {
                perturbations.push(set);
                (perturbations.len() - 1) as u32
            });
            condition_names.push(names.into_iter().map(String::from).collect());
            condition_set.push(id);
        }
        let control = perturbations
            .iter()
            .position(|p| p.is_control())
            .map(|i| i as u32);
        if control.is_none() {
            let examples: Vec<&str> = conditions.iter().take(8).map(String::as_str).collect();
            return Err(DataError::ControlAbsent {
                source_name: source.to_string(),
                key: spec.key.clone(),
                control: spec.control.clone(),
                examples: examples.join(", "),
            });
        }

        // Covariate combinations.
        let mut key_codes = Vec::new();
        let mut covariate_declared_levels = Vec::new();
        for key in &spec.covariate_keys {
            let col = column(obs, key, "covariate key", source)?;
            let c = coded(col);
            if let Some(row) = c.codes.iter().position(|&x| x == MISSING_CODE) {
                return Err(missing(key, row));
            }
            covariate_declared_levels.push(c.declared);
            key_codes.push((c.codes, c.categories, c.groupby_rank));
        }
        let n = obs.nrows();
        let mut combo_index: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut covariates = Vec::new();
        let mut covariate_groupby_rank = Vec::new();
        let mut cell_covariate = Vec::with_capacity(n);
        let mut tuple = Vec::with_capacity(key_codes.len());
        for row in 0..n {
            tuple.clear();
            tuple.extend(key_codes.iter().map(|(c, _, _)| c[row]));
            let id = match combo_index.get(&tuple) {
                Some(&id) => id,
                None => {
                    let id = covariates.len() as u32;
                    covariates.push(
                        key_codes
                            .iter()
                            .zip(&tuple)
                            .map(|((_, cats, _), &c)| cats[c as usize].clone())
                            .collect(),
                    );
                    covariate_groupby_rank.push(
                        key_codes
                            .iter()
                            .zip(&tuple)
                            .map(|((_, _, rank), &c)| rank[c as usize])
                            .collect(),
                    );
                    combo_index.insert(tuple.clone(), id);
                    id
                }
            };
            cell_covariate.push(id);
        }
        Ok(Design {
            conditions,
            condition_groupby_rank,
            covariate_declared_levels,
            condition_names,
            condition_set,
            cell_condition,
            perturbations,
            covariate_keys: spec.covariate_keys.clone(),
            covariates,
            cell_covariate,
            covariate_groupby_rank,
            control,
        })
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.cell_condition.len()
    }

    /// Index into `perturbations` of cell `row`.
    pub fn perturbation_of(&self, row: usize) -> u32 {
        self.condition_set[self.cell_condition[row] as usize]
    }

    /// True when cell `row` is a control.
    pub fn is_control(&self, row: usize) -> bool {
        Some(self.perturbation_of(row)) == self.control
    }

    /// Covariate combination `id` as PerturBench labels it: values joined with `_` in key order.
    pub fn covariate_label(&self, id: u32) -> String {
        self.covariates[id as usize].join("_")
    }

    /// Vocabulary of single perturbation names over `rows`, in order of first appearance
    /// (controls contribute nothing), as PerturBench's `perturbation_uniques`.
    pub fn perturbation_vocabulary(&self, rows: impl IntoIterator<Item = usize>) -> Vocabulary {
        let mut seen = vec![false; self.conditions.len()];
        let mut v = Vocabulary::new();
        for r in rows {
            let c = self.cell_condition[r] as usize;
            if !seen[c] {
                seen[c] = true;
                for name in &self.condition_names[c] {
                    v.insert(name);
                }
            }
        }
        v
    }

    /// Per covariate key, its distinct values over `rows` in order of first appearance.
    pub fn covariate_vocabularies(&self, rows: impl IntoIterator<Item = usize>) -> Vec<Vocabulary> {
        let mut seen = vec![false; self.covariates.len()];
        let mut out = vec![Vocabulary::new(); self.covariate_keys.len()];
        for r in rows {
            let c = self.cell_covariate[r] as usize;
            if !seen[c] {
                seen[c] = true;
                for (k, value) in self.covariates[c].iter().enumerate() {
                    out[k].insert(value);
                }
            }
        }
        out
    }
}
