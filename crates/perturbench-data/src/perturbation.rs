//! Parsing perturbation strings into sets of names (PerturBench spec §1.6).

use crate::PerturbationSpec;

/// Why a perturbation string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A component between delimiters is empty (`A++B`, `+A`, `A+`).
    #[error("perturbation '{0}' has an empty component")]
    EmptyComponent(String),
}

/// Splits a perturbation string on the delimiter and drops tokens equal to the control label,
/// keeping the written order. A control cell gives an empty list.
pub fn parse_perturbation<'a>(
    value: &'a str,
    spec: &PerturbationSpec,
) -> Result<Vec<&'a str>, ParseError> {
    if value == spec.control {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for tok in value.split(spec.delimiter.as_str()) {
        if tok.is_empty() {
            return Err(ParseError::EmptyComponent(value.to_string()));
        }
        if tok != spec.control {
            out.push(tok);
        }
    }
    Ok(out)
}

/// Joins names back into a perturbation string; an empty list gives the control label.
pub fn restore_perturbation<S: AsRef<str>>(names: &[S], spec: &PerturbationSpec) -> String {
    if names.is_empty() {
        return spec.control.clone();
    }
    names
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(&spec.delimiter)
}

/// A perturbation as an order-free set of names (`A+B` equals `B+A`); empty = control.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PerturbationSet(Vec<String>);

impl PerturbationSet {
    /// The set of the given names (sorted, duplicates removed).
    pub fn new<S: AsRef<str>>(names: &[S]) -> Self {
        let mut v: Vec<String> = names.iter().map(|s| s.as_ref().to_string()).collect();
        v.sort();
        v.dedup();
        PerturbationSet(v)
    }
    /// Parses a perturbation string with `spec`.
    pub fn parse(value: &str, spec: &PerturbationSpec) -> Result<Self, ParseError> {
        Ok(Self::new(&parse_perturbation(value, spec)?))
    }
    /// The names, sorted.
    pub fn names(&self) -> &[String] {
        &self.0
    }
    /// True for the control (no names).
    pub fn is_control(&self) -> bool {
        self.0.is_empty()
    }
    /// Number of names (1 = single, 2+ = combination).
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when the set has no names (same as [`is_control`](Self::is_control)).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// True for a combination of two or more names.
    pub fn is_combo(&self) -> bool {
        self.0.len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singles_combos_and_controls() {
        let spec = PerturbationSpec::default();
        assert_eq!(
            parse_perturbation("KLF1+MAP2K6", &spec).unwrap(),
            vec!["KLF1", "MAP2K6"]
        );
        assert_eq!(parse_perturbation("KLF1", &spec).unwrap(), vec!["KLF1"]);
        assert!(parse_perturbation("control", &spec).unwrap().is_empty());
        assert_eq!(
            parse_perturbation("A++B", &spec),
            Err(ParseError::EmptyComponent("A++B".into()))
        );
        assert!(parse_perturbation("+A", &spec).is_err());
        assert_eq!(
            PerturbationSet::parse("B+A", &spec).unwrap(),
            PerturbationSet::parse("A+B", &spec).unwrap()
        );
        assert_eq!(restore_perturbation::<&str>(&[], &spec), "control");
        assert_eq!(restore_perturbation(&["A", "B"], &spec), "A+B");
    }

    #[test]
    fn gears_labels_drop_the_control_token() {
        let spec = PerturbationSpec {
            control: "ctrl".into(),
            ..Default::default()
        };
        assert_eq!(
            parse_perturbation("COL1A1+ctrl", &spec).unwrap(),
            vec!["COL1A1"]
        );
        assert!(PerturbationSet::parse("ctrl", &spec).unwrap().is_control());
        assert!(PerturbationSet::parse("MAP2K6+ELMSAN1", &spec)
            .unwrap()
            .is_combo());
    }
}
