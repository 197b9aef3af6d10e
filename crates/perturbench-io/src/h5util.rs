//! Small typed helpers over hdf5-metno: element kinds, attributes, strings and numbers.

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Attribute, Container, Dataset, Location};

/// The element kind of a dataset or attribute, as far as h5ad cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int(usize),
    UInt(usize),
    Float(usize),
    Bool,
    VarStr,
    FixedStr(usize),
    Other,
}

impl Kind {
    pub(crate) fn name(self) -> String {
        match self {
            Kind::Int(s) => format!("int{}", s * 8),
            Kind::UInt(s) => format!("uint{}", s * 8),
            Kind::Float(s) => format!("float{}", s * 8),
            Kind::Bool => "bool".into(),
            Kind::VarStr | Kind::FixedStr(_) => "string".into(),
            Kind::Other => "other".into(),
        }
    }
    pub(crate) fn is_numeric(self) -> bool {
        matches!(
            self,
            Kind::Int(_) | Kind::UInt(_) | Kind::Float(_) | Kind::Bool
        )
    }
    pub(crate) fn is_string(self) -> bool {
        matches!(self, Kind::VarStr | Kind::FixedStr(_))
    }
}

pub(crate) fn kind_of(c: &Container) -> hdf5::Result<Kind> {
    Ok(match c.dtype()?.to_descriptor() {
        Ok(TypeDescriptor::Integer(s)) => Kind::Int(s as usize),
        Ok(TypeDescriptor::Unsigned(s)) => Kind::UInt(s as usize),
        Ok(TypeDescriptor::Float(s)) => Kind::Float(s as usize),
        Ok(TypeDescriptor::Boolean) => Kind::Bool,
        Ok(TypeDescriptor::VarLenAscii) | Ok(TypeDescriptor::VarLenUnicode) => Kind::VarStr,
        Ok(TypeDescriptor::FixedAscii(n)) | Ok(TypeDescriptor::FixedUnicode(n)) => {
            Kind::FixedStr(n)
        }
        _ => Kind::Other,
    })
}

/// Reads every element of a string dataset or attribute; `Err(i)` when element `i` is not UTF-8.
pub(crate) fn read_strings(c: &Container) -> hdf5::Result<Result<Vec<String>, usize>> {
    read_strings_of(c, false)
}

/// Like [`read_strings`] for an attribute.
pub(crate) fn read_attr_strings(a: &Attribute) -> hdf5::Result<Result<Vec<String>, usize>> {
    read_strings_of(a, true)
}

fn read_strings_of(c: &Container, is_attr: bool) -> hdf5::Result<Result<Vec<String>, usize>> {
    let kind = kind_of(c)?;
    let raw: Vec<Vec<u8>> = match kind {
        Kind::VarStr => match c.dtype()?.to_descriptor()? {
            TypeDescriptor::VarLenAscii => c
                .read_raw::<VarLenAscii>()?
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect(),
            _ => c
                .read_raw::<VarLenUnicode>()?
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect(),
        },
        Kind::FixedStr(n) => read_fixed_strings(c, n, is_attr)?,
        _ => return Err(hdf5::Error::from("not a string dataset")),
    };
    let mut out = Vec::with_capacity(raw.len());
    for (i, b) in raw.into_iter().enumerate() {
        match String::from_utf8(b) {
            Ok(s) => out.push(s),
            Err(_) => return Ok(Err(i)),
        }
    }
    Ok(Ok(out))
}

/// Fixed-length strings: read the raw bytes with the file's own type and strip padding.
fn read_fixed_strings(c: &Container, n: usize, is_attr: bool) -> hdf5::Result<Vec<Vec<u8>>> {
    use hdf5_sys::h5a::H5Aread;
    use hdf5_sys::h5d::H5Dread;
    use hdf5_sys::h5p::H5P_DEFAULT;
    use hdf5_sys::h5s::H5S_ALL;
    let count = c.size();
    let dtype = c.dtype()?;
    let mut buf = vec![0u8; count * n];
    let rc = unsafe {
        if is_attr {
            H5Aread(c.id(), dtype.id(), buf.as_mut_ptr().cast())
        } else {
            H5Dread(
                c.id(),
                dtype.id(),
                H5S_ALL,
                H5S_ALL,
                H5P_DEFAULT,
                buf.as_mut_ptr().cast(),
            )
        }
    };
    if rc < 0 {
        return Err(hdf5::Error::from("reading fixed-length strings failed"));
    }
    Ok(buf
        .chunks(n.max(1))
        .take(count)
        .map(|s| {
            let end = s
                .iter()
                .rposition(|&b| b != 0 && b != b' ')
                .map_or(0, |p| p + 1);
            s[..end].to_vec()
        })
        .collect())
}

/// A string attribute; `None` when absent or not a string.
pub(crate) fn attr_string(loc: &Location, name: &str) -> hdf5::Result<Option<String>> {
    if !loc.attr_names()?.iter().any(|n| n == name) {
        return Ok(None);
    }
    let a: Attribute = loc.attr(name)?;
    if !kind_of(&a)?.is_string() {
        return Ok(None);
    }
    Ok(read_attr_strings(&a)?
        .ok()
        .and_then(|v| v.into_iter().next()))
}

/// A string-list attribute (e.g. `column-order`); an empty numeric array counts as an empty list.
pub(crate) fn attr_string_list(loc: &Location, name: &str) -> hdf5::Result<Option<Vec<String>>> {
    if !loc.attr_names()?.iter().any(|n| n == name) {
        return Ok(None);
    }
    let a: Attribute = loc.attr(name)?;
    let kind = kind_of(&a)?;
    if kind.is_string() {
        return Ok(read_attr_strings(&a)?.ok());
    }
    if a.size() == 0 {
        return Ok(Some(Vec::new()));
    }
    Ok(None)
}

/// A boolean attribute stored as h5py bool, integer or string.
pub(crate) fn attr_bool(loc: &Location, name: &str) -> hdf5::Result<Option<bool>> {
    if !loc.attr_names()?.iter().any(|n| n == name) {
        return Ok(None);
    }
    let a: Attribute = loc.attr(name)?;
    Ok(match kind_of(&a)? {
        Kind::Bool => Some(a.read_scalar::<bool>()?),
        Kind::Int(_) | Kind::UInt(_) => Some(a.read_scalar::<i64>()? != 0),
        k if k.is_string() => read_attr_strings(&a)?
            .ok()
            .and_then(|v| v.first().map(|s| s == "True" || s == "true")),
        _ => None,
    })
}

/// An integer-array attribute (e.g. `shape`).
pub(crate) fn attr_ints(loc: &Location, name: &str) -> hdf5::Result<Option<Vec<i64>>> {
    if !loc.attr_names()?.iter().any(|n| n == name) {
        return Ok(None);
    }
    let a: Attribute = loc.attr(name)?;
    if !matches!(kind_of(&a)?, Kind::Int(_) | Kind::UInt(_)) {
        return Ok(None);
    }
    Ok(Some(a.read_raw::<i64>()?))
}

/// The `encoding-type` attribute, if any.
pub(crate) fn encoding_type(loc: &Location) -> hdf5::Result<Option<String>> {
    attr_string(loc, "encoding-type")
}

/// Reads a numeric dataset as `i64` (bool counts as 0/1). Floats are refused.
pub(crate) fn read_i64(ds: &Dataset) -> hdf5::Result<Vec<i64>> {
    match kind_of(ds)? {
        Kind::Bool => Ok(ds.read_raw::<bool>()?.into_iter().map(i64::from).collect()),
        Kind::UInt(8) => {
            let v = ds.read_raw::<u64>()?;
            v.into_iter()
                .map(|x| {
                    i64::try_from(x).map_err(|_| hdf5::Error::from("uint64 value exceeds int64"))
                })
                .collect()
        }
        Kind::Int(_) | Kind::UInt(_) => ds.read_raw::<i64>(),
        k => Err(hdf5::Error::from(format!(
            "expected integers, found {}",
            k.name()
        ))),
    }
}
