//! AnnData objects handed over from Python, read in place: obs/var columns are converted,
//! the arrays of `X` (numpy / scipy CSR) are borrowed without copying.
//!
//! The Python side (`perturbench._memory.Cells`) prepares each AnnData: it answers
//! `column_names()`, `column(name)`, `obs_names()`, `var_names()`, `x()` and
//! `uns_lists(key)` with plain Python values, and keeps the arrays whose addresses `x()`
//! returns alive (C-contiguous, aligned) for as long as it exists.

use perturbench_io::{Column, Floats, Frame, Ints, MemoryMatrix, Uns, MISSING_CODE};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::collections::BTreeMap;

/// A numpy array as `x()` describes it: its data address, dtype name and length.
type ArrayRef = (usize, String, usize);

/// The slice behind an [`ArrayRef`].
///
/// # Safety
/// The address must point to `len` initialised, aligned values of `T` that stay alive and
/// unchanged for `'a` (the Python object that returned it keeps the array).
unsafe fn slice<'a, T>(addr: usize, len: usize) -> &'a [T] {
    if len == 0 {
        return &[];
    }
    std::slice::from_raw_parts(addr as *const T, len)
}

/// Float values of an array (float32 or float64).
///
/// # Safety
/// As [`slice`].
unsafe fn floats<'a>(a: &ArrayRef, what: &str) -> PyResult<Floats<'a>> {
    match a.1.as_str() {
        "float32" => Ok(Floats::F32(slice(a.0, a.2))),
        "float64" => Ok(Floats::F64(slice(a.0, a.2))),
        d => Err(PyValueError::new_err(format!(
            "{what}: dtype {d}, expected float32 or float64"
        ))),
    }
}

/// Integer values of an array (int32 or int64).
///
/// # Safety
/// As [`slice`].
unsafe fn ints<'a>(a: &ArrayRef, what: &str) -> PyResult<Ints<'a>> {
    match a.1.as_str() {
        "int32" => Ok(Ints::I32(slice(a.0, a.2))),
        "int64" => Ok(Ints::I64(slice(a.0, a.2))),
        d => Err(PyValueError::new_err(format!(
            "{what}: dtype {d}, expected int32 or int64"
        ))),
    }
}

/// The label of an object in messages (its `name` attribute).
pub fn name(cells: &Bound<'_, PyAny>) -> PyResult<String> {
    cells.getattr("name")?.extract()
}

/// One obs column as `Cells.column` encodes it: `(kind, values, ...)`.
fn column(t: &Bound<'_, PyAny>) -> PyResult<Column> {
    let kind: String = t.get_item(0)?.extract()?;
    let item = |i: usize| t.get_item(i);
    Ok(match kind.as_str() {
        "cat" => {
            let codes: Vec<i64> = item(1)?.extract()?;
            Column::Categorical {
                codes: codes
                    .into_iter()
                    .map(|c| if c < 0 { MISSING_CODE } else { c as u32 })
                    .collect(),
                categories: item(2)?.extract()?,
                ordered: item(3)?.extract()?,
            }
        }
        "str" => Column::Str(item(1)?.extract()?),
        "nstr" => Column::NullableStr {
            values: item(1)?.extract()?,
            mask: item(2)?.extract()?,
        },
        "float" => Column::Float(item(1)?.extract()?),
        "int" => Column::Int(item(1)?.extract()?),
        "bool" => Column::Bool(item(1)?.extract()?),
        "nint" => Column::NullableInt {
            values: item(1)?.extract()?,
            mask: item(2)?.extract()?,
        },
        "nbool" => Column::NullableBool {
            values: item(1)?.extract()?,
            mask: item(2)?.extract()?,
        },
        k => return Err(PyValueError::new_err(format!("unknown column kind {k}"))),
    })
}

/// The obs frame: the columns `only` (those present; all when None) and, with `index`, the
/// cell names.
pub fn obs(cells: &Bound<'_, PyAny>, only: Option<&[&str]>, index: bool) -> PyResult<Frame> {
    let names: Vec<String> = cells.call_method0("column_names")?.extract()?;
    let index = if index {
        cells.call_method0("obs_names")?.extract()?
    } else {
        Vec::new()
    };
    let mut frame = Frame::with_index(index);
    for n in names {
        if only.is_some_and(|o| !o.contains(&n.as_str())) {
            continue;
        }
        let c = column(&cells.call_method1("column", (n.as_str(),))?)?;
        frame.columns.push((n, c));
    }
    Ok(frame)
}

/// Whether obs has the column `name`.
pub fn has_column(cells: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    let names: Vec<String> = cells.call_method0("column_names")?.extract()?;
    Ok(names.iter().any(|n| n == name))
}

/// The var frame (gene names only).
pub fn var(cells: &Bound<'_, PyAny>) -> PyResult<Frame> {
    Ok(Frame::with_index(
        cells.call_method0("var_names")?.extract()?,
    ))
}

/// `uns[key]` as a dictionary of gene lists, when the object has one.
pub fn uns_lists(cells: &Bound<'_, PyAny>, key: &str) -> PyResult<BTreeMap<String, Uns>> {
    let lists: Option<BTreeMap<String, Vec<String>>> =
        cells.call_method1("uns_lists", (key,))?.extract()?;
    let mut uns = BTreeMap::new();
    if let Some(l) = lists {
        let dict = l.into_iter().map(|(k, v)| (k, Uns::StrList(v))).collect();
        uns.insert(key.to_string(), Uns::Dict(dict));
    }
    Ok(uns)
}

/// X, borrowed: `("csr", rows, cols, indptr, indices, data)` or `("dense", rows, cols,
/// values)`, each array an [`ArrayRef`]; None when the object has no X.
///
/// # Safety
/// The arrays must stay alive and unchanged for `'a`: `cells` keeps them, so `'a` must not
/// outlive the Python object.
pub unsafe fn x<'a>(cells: &Bound<'_, PyAny>) -> PyResult<Option<MemoryMatrix<'a>>> {
    let label = name(cells)?;
    let t = cells.call_method0("x")?;
    if t.is_none() {
        return Ok(None);
    }
    let kind: String = t.get_item(0)?.extract()?;
    let shape: (usize, usize) = (t.get_item(1)?.extract()?, t.get_item(2)?.extract()?);
    let array = |i: usize| -> PyResult<ArrayRef> { t.get_item(i)?.extract() };
    let m = match kind.as_str() {
        "csr" => MemoryMatrix::Csr {
            shape,
            indptr: ints(&array(3)?, &format!("{label}: X.indptr"))?,
            indices: ints(&array(4)?, &format!("{label}: X.indices"))?,
            data: floats(&array(5)?, &format!("{label}: X.data"))?,
        },
        "dense" => MemoryMatrix::Dense {
            shape,
            values: floats(&array(3)?, &format!("{label}: X"))?,
        },
        k => {
            return Err(PyValueError::new_err(format!(
                "{label}: unknown X kind {k}"
            )))
        }
    };
    Ok(Some(m))
}
