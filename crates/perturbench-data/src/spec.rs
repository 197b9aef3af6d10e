//! Which obs columns carry perturbations and covariates, and how perturbations are spelled.

/// How a dataset encodes perturbations. Defaults equal PerturBench's data configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerturbationSpec {
    /// obs column with the perturbation of each cell (PerturBench: `condition`).
    pub key: String,
    /// Label of control cells (PerturBench: `control`).
    pub control: String,
    /// Delimiter joining the names of a combination (PerturBench: `+`).
    pub delimiter: String,
    /// obs columns whose combination defines a covariate group (e.g. `cell_type`).
    pub covariate_keys: Vec<String>,
}

impl Default for PerturbationSpec {
    fn default() -> Self {
        PerturbationSpec {
            key: "condition".into(),
            control: "control".into(),
            delimiter: "+".into(),
            covariate_keys: Vec::new(),
        }
    }
}

impl PerturbationSpec {
    /// The default spec with the given covariate keys.
    pub fn with_covariates<S: Into<String>>(keys: impl IntoIterator<Item = S>) -> Self {
        PerturbationSpec {
            covariate_keys: keys.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// Checks that the spec is usable: non-empty key, control and delimiter, no repeated keys.
    pub fn validate(&self) -> Result<(), crate::DataError> {
        let bad = |m: &str| Err(crate::DataError::Spec(m.to_string()));
        if self.key.is_empty() {
            return bad("the perturbation key is empty");
        }
        if self.control.is_empty() {
            return bad("the control label is empty");
        }
        if self.delimiter.is_empty() {
            return bad("the combination delimiter is empty");
        }
        if self.control.contains(&self.delimiter) {
            return bad("the control label contains the combination delimiter");
        }
        for (i, k) in self.covariate_keys.iter().enumerate() {
            if k.is_empty() {
                return bad("a covariate key is empty");
            }
            if self.covariate_keys[..i].contains(k) {
                return Err(crate::DataError::Spec(format!(
                    "covariate key '{k}' is given twice"
                )));
            }
            if *k == self.key {
                return Err(crate::DataError::Spec(format!(
                    "'{k}' is both the perturbation key and a covariate key"
                )));
            }
        }
        Ok(())
    }
}
