//! Writing [`AnnData`] as `.h5ad` that Python anndata (>= 0.8) reads: CSR `X` and layers,
//! dataframes with categoricals, dense `obsm`/`varm`, simple `uns`; gzip or no compression.

use crate::error::IoError;
use crate::frame::{Column, Frame, MISSING_CODE};
use crate::{AnnData, Csr, Dense, Uns};
use hdf5::types::{H5Type, VarLenUnicode};
use hdf5::{Group, Location};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// Compression of written datasets. Never blosc/zstd, so plain h5py can read the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression (fastest to read and write).
    None,
    /// gzip (deflate) at the given level, 1..=9.
    Gzip(u8),
}

/// Options of [`write_h5ad`].
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Compression of the datasets.
    pub compression: Compression,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compression: Compression::Gzip(4),
        }
    }
}

/// Elements per chunk of a compressed 1-D dataset (1 MiB of f32).
const CHUNK_ELEMS: usize = 1 << 18;

/// Uncompressed matrix arrays at least this large are placed after HDF5 has closed the file,
/// with positioned writes on all cores into the space HDF5 reserved for them.
const DEFER_MIN_BYTES: usize = 8 << 20;

/// Raw array bytes and the file offsets they belong at, written once HDF5 has closed the file.
type Deferred<'a> = super::placed::Placed<'a>;

/// Numeric element types whose memory is their native HDF5 representation (no padding).
trait Plain: H5Type + Copy {}
impl Plain for f32 {}
impl Plain for i32 {}
impl Plain for i64 {}

type WResult<T> = Result<T, String>;

fn h5<T>(r: hdf5::Result<T>, what: &str) -> WResult<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// Writes `ad` to `path` atomically: the data go to a temporary file in the same directory,
/// which is renamed over `path` only when complete. On error nothing is left behind.
pub fn write_h5ad(
    path: impl AsRef<Path>,
    ad: &AnnData,
    opts: &WriteOptions,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let werr = |message: String| IoError::Write {
        path: shown.clone(),
        message,
    };
    ad.check_shapes()
        .map_err(|m| werr(format!("inconsistent AnnData: {m}")))?;
    let tmp = crate::table::temp_sibling(path);
    let result = (|| -> WResult<()> {
        let file = h5(
            hdf5::File::with_options()
                .with_fapl(|f| f.file_locking(false))
                .create(&tmp),
            "cannot create file",
        )?;
        let deferred = write_all(&file, ad, opts)?;
        h5(file.close(), "closing file")?;
        super::placed::write_placed(&tmp, &deferred)?;
        std::fs::rename(&tmp, path)
            .map_err(|e| format!("cannot move the finished file into place: {e}"))
    })();
    if let Err(m) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(m));
    }
    Ok(())
}

fn write_all<'a>(file: &hdf5::File, ad: &'a AnnData, opts: &WriteOptions) -> WResult<Deferred<'a>> {
    let c = opts.compression;
    let mut deferred = Deferred::new();
    set_encoding(file, "anndata", "0.1.0")?;
    write_csr(file, "X", &ad.x, c, None, &mut deferred)?;
    write_frame(file, "obs", &ad.obs, c)?;
    write_frame(file, "var", &ad.var, c)?;
    let layers = dict_group(file, "layers")?;
    for (k, m) in &ad.layers {
        // A layer with X's sparsity pattern (e.g. the counts behind log-normalised values)
        // stores it once: its `indices` and `indptr` are hard links to X's datasets.
        let shared = (m.same_pattern(&ad.x)).then_some("/X");
        write_csr(&layers, k, m, c, shared, &mut deferred)?;
    }
    for (name, map) in [("obsm", &ad.obsm), ("varm", &ad.varm)] {
        let g = dict_group(file, name)?;
        for (k, m) in map {
            write_dense(&g, k, m, c)?;
        }
    }
    dict_group(file, "obsp")?;
    dict_group(file, "varp")?;
    let uns = dict_group(file, "uns")?;
    write_uns_dict(&uns, &ad.uns, c)?;
    Ok(deferred)
}

fn vstr(s: &str) -> WResult<VarLenUnicode> {
    VarLenUnicode::from_str(s).map_err(|e| format!("string {s:?} cannot be stored: {e}"))
}

fn set_str_attr(loc: &Location, name: &str, value: &str) -> WResult<()> {
    let a = h5(loc.new_attr::<VarLenUnicode>().create(name), name)?;
    h5(a.write_scalar(&vstr(value)?), name)
}

fn set_encoding(loc: &Location, ty: &str, version: &str) -> WResult<()> {
    set_str_attr(loc, "encoding-type", ty)?;
    set_str_attr(loc, "encoding-version", version)
}

fn dict_group(parent: &Group, name: &str) -> WResult<Group> {
    let g = h5(parent.create_group(name), name)?;
    set_encoding(&g, "dict", "0.1.0")?;
    Ok(g)
}

/// Creates a 1-D dataset holding `data`, chunked and compressed when asked and non-empty.
fn write_1d<T: H5Type>(
    g: &Group,
    name: &str,
    data: &[T],
    c: Compression,
) -> WResult<hdf5::Dataset> {
    let mut b = g.new_dataset::<T>().shape(data.len());
    if let (Compression::Gzip(level), true) = (c, !data.is_empty()) {
        b = b.chunk(data.len().min(CHUNK_ELEMS)).deflate(level);
    }
    let ds = h5(b.create(name), name)?;
    if !data.is_empty() {
        h5(ds.write_raw(data), name)?;
    }
    Ok(ds)
}

/// Like [`write_1d`]; large uncompressed arrays are only reserved in the file and their bytes
/// queued in `deferred` (written by `placed::write_placed` after HDF5 closes the file).
fn write_1d_plain<'a, T: Plain>(
    g: &Group,
    name: &str,
    data: &'a [T],
    c: Compression,
    deferred: &mut Deferred<'a>,
) -> WResult<hdf5::Dataset> {
    let bytes = std::mem::size_of_val(data);
    if c != Compression::None || bytes < DEFER_MIN_BYTES {
        return write_1d(g, name, data, c);
    }
    let ds = h5(
        g.new_dataset::<T>()
            .shape(data.len())
            .alloc_time(Some(hdf5::plist::dataset_create::AllocTime::Early))
            .fill_time(hdf5::plist::dataset_create::FillTime::Never)
            .create(name),
        name,
    )?;
    let offset = ds
        .offset()
        .ok_or_else(|| format!("{name}: HDF5 reserved no contiguous space for the array"))?;
    // SAFETY: T is f32, i32 or i64 (Plain): every byte of its memory is initialised data, and
    // the byte view covers exactly `data`, borrowed for 'a.
    let raw = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), bytes) };
    deferred.push((offset, raw));
    Ok(ds)
}

fn write_2d<T: H5Type>(
    g: &Group,
    name: &str,
    rows: usize,
    cols: usize,
    data: &[T],
    c: Compression,
) -> WResult<hdf5::Dataset> {
    let mut b = g.new_dataset::<T>().shape((rows, cols));
    if let (Compression::Gzip(level), true) = (c, rows * cols > 0) {
        let chunk_rows = (CHUNK_ELEMS / cols.max(1)).clamp(1, rows);
        b = b.chunk((chunk_rows, cols)).deflate(level);
    }
    let ds = h5(b.create(name), name)?;
    if rows * cols > 0 {
        h5(ds.write_raw(data), name)?;
    }
    Ok(ds)
}

/// Writes `m` as the CSR group `name`; with `pattern_of`, the path of an already written CSR
/// group with the same sparsity pattern, its `indices` and `indptr` are hard links to that
/// group's (readers see ordinary datasets).
fn write_csr<'a>(
    parent: &Group,
    name: &str,
    m: &'a Csr,
    c: Compression,
    pattern_of: Option<&str>,
    deferred: &mut Deferred<'a>,
) -> WResult<()> {
    let g = h5(parent.create_group(name), name)?;
    set_encoding(&g, "csr_matrix", "0.1.0")?;
    let shape = [m.nrows() as i64, m.ncols() as i64];
    let a = h5(g.new_attr::<i64>().shape(2).create("shape"), "shape")?;
    h5(a.write_raw(&shape[..]), "shape")?;
    write_1d_plain(&g, "data", m.data(), c, deferred)?;
    if let Some(src) = pattern_of {
        for part in ["indices", "indptr"] {
            h5(
                g.link_hard(&format!("{src}/{part}"), part),
                &format!("{name}/{part} (link to {src}/{part})"),
            )?;
        }
        return Ok(());
    }
    // Column indices are < ncols <= i32::MAX and row pointers < 2^63: write the stored
    // integers as int32 / int64 without converting (same bits).
    if m.ncols() <= i32::MAX as usize {
        // SAFETY: u32 and i32 have the same size and alignment; every index is <= i32::MAX.
        let idx =
            unsafe { std::slice::from_raw_parts(m.indices().as_ptr().cast::<i32>(), m.nnz()) };
        write_1d_plain(&g, "indices", idx, c, deferred)?;
    } else {
        let idx: Vec<i64> = m.indices().iter().map(|&i| i as i64).collect();
        write_1d(&g, "indices", &idx, c)?;
    }
    // SAFETY: u64 and i64 have the same size and alignment; row pointers are < 2^63.
    let indptr =
        unsafe { std::slice::from_raw_parts(m.indptr().as_ptr().cast::<i64>(), m.indptr().len()) };
    write_1d_plain(&g, "indptr", indptr, c, deferred)?;
    Ok(())
}

fn write_dense(g: &Group, name: &str, m: &Dense, c: Compression) -> WResult<()> {
    let ds = write_2d(g, name, m.nrows, m.ncols, &m.data, c)?;
    set_encoding(&ds, "array", "0.2.0")
}

fn write_strings(g: &Group, name: &str, v: &[String], c: Compression) -> WResult<hdf5::Dataset> {
    let data: Vec<VarLenUnicode> = v.iter().map(|s| vstr(s)).collect::<WResult<_>>()?;
    let ds = write_1d(g, name, &data, c)?;
    set_encoding(&ds, "string-array", "0.2.0")?;
    Ok(ds)
}

fn write_frame(parent: &Group, name: &str, f: &Frame, c: Compression) -> WResult<()> {
    let g = h5(parent.create_group(name), name)?;
    set_encoding(&g, "dataframe", "0.2.0")?;
    let index_name = if f.index_name.is_empty() {
        "_index"
    } else {
        f.index_name.as_str()
    };
    set_str_attr(&g, "_index", index_name)?;
    let order: Vec<VarLenUnicode> = f
        .columns
        .iter()
        .map(|(n, _)| vstr(n))
        .collect::<WResult<_>>()?;
    if order.is_empty() {
        // An empty list is stored like h5py stores `[]`: an empty float64 array.
        h5(
            g.new_attr::<f64>().shape(0).create("column-order"),
            "column-order",
        )?;
    } else {
        let a = h5(
            g.new_attr::<VarLenUnicode>()
                .shape(order.len())
                .create("column-order"),
            "column-order",
        )?;
        h5(a.write_raw(&order[..]), "column-order")?;
    }
    write_strings(&g, index_name, &f.index, c)?;
    for (cname, col) in &f.columns {
        if cname == index_name {
            return Err(format!(
                "{name}: column '{cname}' has the same name as the index"
            ));
        }
        write_column(&g, cname, col, c).map_err(|e| format!("{name}/{cname}: {e}"))?;
    }
    Ok(())
}

fn write_column(g: &Group, name: &str, col: &Column, c: Compression) -> WResult<()> {
    match col {
        Column::Categorical {
            codes,
            categories,
            ordered,
        } => {
            let cg = h5(g.create_group(name), name)?;
            set_encoding(&cg, "categorical", "0.2.0")?;
            let a = h5(cg.new_attr::<bool>().create("ordered"), "ordered")?;
            h5(a.write_scalar(ordered), "ordered")?;
            let n = categories.len();
            let code = |x: u32| if x == MISSING_CODE { -1i64 } else { x as i64 };
            let ds = if n < i8::MAX as usize {
                write_1d(
                    &cg,
                    "codes",
                    &codes.iter().map(|&x| code(x) as i8).collect::<Vec<_>>(),
                    c,
                )?
            } else if n < i16::MAX as usize {
                write_1d(
                    &cg,
                    "codes",
                    &codes.iter().map(|&x| code(x) as i16).collect::<Vec<_>>(),
                    c,
                )?
            } else {
                write_1d(
                    &cg,
                    "codes",
                    &codes.iter().map(|&x| code(x) as i32).collect::<Vec<_>>(),
                    c,
                )?
            };
            set_encoding(&ds, "array", "0.2.0")?;
            write_strings(&cg, "categories", categories, c)?;
        }
        Column::Str(v) => {
            write_strings(g, name, v, c)?;
        }
        Column::Float(v) => {
            let ds = write_1d(g, name, v, c)?;
            set_encoding(&ds, "array", "0.2.0")?
        }
        Column::Int(v) => {
            let ds = write_1d(g, name, v, c)?;
            set_encoding(&ds, "array", "0.2.0")?
        }
        Column::Bool(v) => {
            let ds = write_1d(g, name, v, c)?;
            set_encoding(&ds, "array", "0.2.0")?
        }
        Column::NullableInt { values, mask } => {
            let ng = nullable_group(g, name, "nullable-integer", mask, c)?;
            write_1d(&ng, "values", values, c)?;
        }
        Column::NullableBool { values, mask } => {
            let ng = nullable_group(g, name, "nullable-boolean", mask, c)?;
            write_1d(&ng, "values", values, c)?;
        }
        Column::NullableStr { values, mask } => {
            let ng = nullable_group(g, name, "nullable-string-array", mask, c)?;
            write_strings(&ng, "values", values, c)?;
        }
    }
    Ok(())
}

fn nullable_group(
    g: &Group,
    name: &str,
    enc: &str,
    mask: &[bool],
    c: Compression,
) -> WResult<Group> {
    let ng = h5(g.create_group(name), name)?;
    set_encoding(&ng, enc, "0.1.0")?;
    write_1d(&ng, "mask", mask, c)?;
    Ok(ng)
}

fn write_uns_dict(g: &Group, d: &BTreeMap<String, Uns>, c: Compression) -> WResult<()> {
    for (k, v) in d {
        write_uns(g, k, v, c).map_err(|e| format!("uns/{k}: {e}"))?;
    }
    Ok(())
}

fn write_scalar<T: H5Type>(g: &Group, name: &str, v: &T, enc: &str) -> WResult<()> {
    let ds = h5(g.new_dataset::<T>().create(name), name)?;
    h5(ds.write_scalar(v), name)?;
    set_encoding(&ds, enc, "0.2.0")
}

fn write_uns(g: &Group, name: &str, v: &Uns, c: Compression) -> WResult<()> {
    match v {
        Uns::Str(s) => write_scalar(g, name, &vstr(s)?, "string")?,
        Uns::Int(x) => write_scalar(g, name, x, "numeric-scalar")?,
        Uns::Float(x) => write_scalar(g, name, x, "numeric-scalar")?,
        Uns::Bool(x) => write_scalar(g, name, x, "numeric-scalar")?,
        Uns::StrList(v) => {
            write_strings(g, name, v, c)?;
        }
        Uns::Array { shape, data, f32 } => {
            let ds = write_nd(g, name, shape, data, *f32, c)?;
            set_encoding(&ds, "array", "0.2.0")?;
        }
        Uns::IntArray { shape, data } => {
            check_shape(shape, data.len())?;
            let ds = if shape.len() == 2 {
                write_2d(g, name, shape[0], shape[1], data, c)?
            } else {
                write_1d(g, name, data, c)?
            };
            set_encoding(&ds, "array", "0.2.0")?;
        }
        Uns::Dict(d) => {
            let sub = dict_group(g, name)?;
            write_uns_dict(&sub, d, c)?;
        }
    }
    Ok(())
}

fn check_shape(shape: &[usize], len: usize) -> WResult<()> {
    if shape.is_empty() || shape.len() > 2 || shape.iter().product::<usize>() != len {
        return Err(format!(
            "array of shape {shape:?} with {len} values: only 1-D and 2-D arrays are written"
        ));
    }
    Ok(())
}

fn write_nd(
    g: &Group,
    name: &str,
    shape: &[usize],
    data: &[f64],
    as_f32: bool,
    c: Compression,
) -> WResult<hdf5::Dataset> {
    check_shape(shape, data.len())?;
    let (r, k) = if shape.len() == 2 {
        (shape[0], shape[1])
    } else {
        (shape[0], 0)
    };
    if as_f32 {
        let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
        if shape.len() == 2 {
            write_2d(g, name, r, k, &v, c)
        } else {
            write_1d(g, name, &v, c)
        }
    } else if shape.len() == 2 {
        write_2d(g, name, r, k, data, c)
    } else {
        write_1d(g, name, data, c)
    }
}
