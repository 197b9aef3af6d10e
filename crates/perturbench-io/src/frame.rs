//! Data frames as AnnData stores them (`obs`, `var`): an index of names and typed columns.

/// Sentinel code of a missing value in a categorical column (stored as `-1` in h5ad).
pub const MISSING_CODE: u32 = u32::MAX;

/// One column of a data frame, in the encodings an h5ad file can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Categorical strings: one code per row into `categories`; [`MISSING_CODE`] = missing.
    Categorical {
        codes: Vec<u32>,
        categories: Vec<String>,
        ordered: bool,
    },
    /// Plain strings (`string-array`).
    Str(Vec<String>),
    /// Floating-point numbers (any float width on disk).
    Float(Vec<f64>),
    /// Integers (any integer width on disk).
    Int(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Integers with missing values (`nullable-integer`): `mask[i]` = value `i` is missing.
    NullableInt { values: Vec<i64>, mask: Vec<bool> },
    /// Booleans with missing values (`nullable-boolean`).
    NullableBool { values: Vec<bool>, mask: Vec<bool> },
    /// Strings with missing values (`nullable-string-array`).
    NullableStr {
        values: Vec<String>,
        mask: Vec<bool>,
    },
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Categorical { codes, .. } => codes.len(),
            Column::Str(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::NullableInt { values, .. } => values.len(),
            Column::NullableBool { values, .. } => values.len(),
            Column::NullableStr { values, .. } => values.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Short description of the type, e.g. `categorical(34)` or `float`.
    pub fn type_name(&self) -> String {
        match self {
            Column::Categorical {
                categories,
                ordered,
                ..
            } => {
                format!(
                    "categorical({}{})",
                    categories.len(),
                    if *ordered { ", ordered" } else { "" }
                )
            }
            Column::Str(_) => "string".into(),
            Column::Float(_) => "float".into(),
            Column::Int(_) => "int".into(),
            Column::Bool(_) => "bool".into(),
            Column::NullableInt { .. } => "nullable int".into(),
            Column::NullableBool { .. } => "nullable bool".into(),
            Column::NullableStr { .. } => "nullable string".into(),
        }
    }

    /// The value of row `i` as text (`None` when missing); numbers use Rust's shortest form.
    pub fn value_string(&self, i: usize) -> Option<String> {
        match self {
            Column::Categorical {
                codes, categories, ..
            } => {
                let c = codes[i];
                (c != MISSING_CODE).then(|| categories[c as usize].clone())
            }
            Column::Str(v) => Some(v[i].clone()),
            Column::Float(v) => Some(v[i].to_string()),
            Column::Int(v) => Some(v[i].to_string()),
            Column::Bool(v) => Some(v[i].to_string()),
            Column::NullableInt { values, mask } => (!mask[i]).then(|| values[i].to_string()),
            Column::NullableBool { values, mask } => (!mask[i]).then(|| values[i].to_string()),
            Column::NullableStr { values, mask } => (!mask[i]).then(|| values[i].clone()),
        }
    }

    /// Builds a categorical column from strings, categories in order of first appearance.
    pub fn categorical_from_strings<S: AsRef<str>>(values: &[S]) -> Column {
        let mut categories: Vec<String> = Vec::new();
        let mut lookup = std::collections::HashMap::<&str, u32>::new();
        let mut codes = Vec::with_capacity(values.len());
        for v in values {
            let v = v.as_ref();
            let code = *lookup.entry(v).or_insert_with(|| {
                categories.push(v.to_string());
                (categories.len() - 1) as u32
            });
            codes.push(code);
        }
        Column::Categorical {
            codes,
            categories,
            ordered: false,
        }
    }

    /// Rows `rows` of this column, in that order (categories are kept as they are).
    pub fn select(&self, rows: &[usize]) -> Column {
        fn pick<T: Clone>(v: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter().map(|&r| v[r].clone()).collect()
        }
        match self {
            Column::Categorical {
                codes,
                categories,
                ordered,
            } => Column::Categorical {
                codes: pick(codes, rows),
                categories: categories.clone(),
                ordered: *ordered,
            },
            Column::Str(v) => Column::Str(pick(v, rows)),
            Column::Float(v) => Column::Float(pick(v, rows)),
            Column::Int(v) => Column::Int(pick(v, rows)),
            Column::Bool(v) => Column::Bool(pick(v, rows)),
            Column::NullableInt { values, mask } => Column::NullableInt {
                values: pick(values, rows),
                mask: pick(mask, rows),
            },
            Column::NullableBool { values, mask } => Column::NullableBool {
                values: pick(values, rows),
                mask: pick(mask, rows),
            },
            Column::NullableStr { values, mask } => Column::NullableStr {
                values: pick(values, rows),
                mask: pick(mask, rows),
            },
        }
    }
}

/// A data frame: row names (the index) and named columns in their stored order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    /// Name of the index column as stored (`_index` by default).
    pub index_name: String,
    /// Row names (cell barcodes for `obs`, gene names for `var`).
    pub index: Vec<String>,
    /// Columns in `column-order`.
    pub columns: Vec<(String, Column)>,
}

impl Frame {
    /// A frame with the given row names and no columns.
    pub fn with_index(index: Vec<String>) -> Self {
        Frame {
            index_name: "_index".into(),
            index,
            columns: Vec::new(),
        }
    }

    /// Number of rows: the index length, or, for a frame read without its index
    /// ([`crate::H5adReader::read_frame_columns`]), the length of its columns.
    pub fn nrows(&self) -> usize {
        if self.index.is_empty() {
            if let Some((_, c)) = self.columns.first() {
                return c.len();
            }
        }
        self.index.len()
    }

    /// The column called `name`, if present.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Names of all columns, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Adds a column, replacing one of the same name.
    pub fn set_column(&mut self, name: impl Into<String>, col: Column) {
        let name = name.into();
        if let Some(slot) = self.columns.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = col;
        } else {
            self.columns.push((name, col));
        }
    }

    /// Rows `rows` of this frame, in that order.
    pub fn select(&self, rows: &[usize]) -> Frame {
        Frame {
            index_name: self.index_name.clone(),
            index: rows.iter().map(|&r| self.index[r].clone()).collect(),
            columns: self
                .columns
                .iter()
                .map(|(n, c)| (n.clone(), c.select(rows)))
                .collect(),
        }
    }
}
