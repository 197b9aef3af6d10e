//! Vocabularies: distinct values in order of first appearance (PerturBench spec §1.6).

use std::collections::HashMap;

/// Distinct strings in order of first appearance, with their positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Vocabulary {
    /// An empty vocabulary.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds `name` if new; returns its position.
    pub fn insert(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }
    /// Position of `name`, if present.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }
    /// All names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Vocabulary {
    /// The vocabulary of `items`, in order of first appearance.
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        let mut v = Self::new();
        for s in items {
            v.insert(s.as_ref());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_of_first_appearance() {
        let v: Vocabulary = ["b", "a", "b", "c", "a"].into_iter().collect();
        assert_eq!(v.names(), ["b", "a", "c"]);
        assert_eq!(v.get("c"), Some(2));
        assert_eq!(v.get("z"), None);
    }
}
