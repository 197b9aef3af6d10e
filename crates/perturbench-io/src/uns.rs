//! Unstructured annotations (`uns`): the subset of values perturbench reads and writes.

use std::collections::BTreeMap;

/// A value of `uns`: strings, scalars, arrays and nested dictionaries.
#[derive(Debug, Clone, PartialEq)]
pub enum Uns {
    /// A string scalar.
    Str(String),
    /// An integer scalar.
    Int(i64),
    /// A floating-point scalar.
    Float(f64),
    /// A boolean scalar.
    Bool(bool),
    /// A list of strings (`string-array`).
    StrList(Vec<String>),
    /// A numeric array of any rank, row-major, stored as `f64` (written as float32 when `f32` is set).
    Array {
        shape: Vec<usize>,
        data: Vec<f64>,
        f32: bool,
    },
    /// An integer array of any rank, row-major.
    IntArray { shape: Vec<usize>, data: Vec<i64> },
    /// A nested dictionary.
    Dict(BTreeMap<String, Uns>),
}

impl Uns {
    /// The string, when this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Uns::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The dictionary, when this is one.
    pub fn as_dict(&self) -> Option<&BTreeMap<String, Uns>> {
        match self {
            Uns::Dict(d) => Some(d),
            _ => None,
        }
    }
    /// The string list, when this is one.
    pub fn as_str_list(&self) -> Option<&[String]> {
        match self {
            Uns::StrList(v) => Some(v),
            _ => None,
        }
    }
}
