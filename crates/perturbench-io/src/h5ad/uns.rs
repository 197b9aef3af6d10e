//! Reading `uns`, `obsm` and `varm`.

use super::frame::strings_of;
use super::H5adReader;
use crate::error::{H5Context, IoError};
use crate::h5util::{encoding_type, kind_of, read_i64, Kind};
use crate::{Dense, Uns};
use hdf5::{Dataset, Group, LocationType};
use std::collections::BTreeMap;

impl H5adReader {
    /// Reads `uns`: strings, scalars, arrays and dictionaries of those; other entries are skipped.
    pub fn read_uns(&self) -> Result<BTreeMap<String, Uns>, IoError> {
        let path = self.path_str();
        if !self.file.link_exists("uns") {
            return Ok(BTreeMap::new());
        }
        let g = self.file.group("uns").at(path, "uns")?;
        match self.read_uns_dict(&g, "uns")? {
            Some(Uns::Dict(d)) => Ok(d),
            _ => Ok(BTreeMap::new()),
        }
    }

    fn read_uns_dict(&self, g: &Group, key: &str) -> Result<Option<Uns>, IoError> {
        let path = self.path_str();
        match encoding_type(g).at(path, key)?.as_deref() {
            None | Some("dict") => {}
            Some(_) => return Ok(None),
        }
        let mut out = BTreeMap::new();
        for name in g.member_names().at(path, key)? {
            let child = format!("{key}/{name}");
            let value = match g.loc_type_by_name(&name).at(path, &child)? {
                LocationType::Group => {
                    let sub = g.group(&name).at(path, &child)?;
                    self.read_uns_dict(&sub, &child)?
                }
                LocationType::Dataset => {
                    let ds = g.dataset(&name).at(path, &child)?;
                    read_uns_dataset(path, &child, &ds)?
                }
                _ => None,
            };
            match value {
                Some(v) => {
                    out.insert(name, v);
                }
                None => self.note_skipped(&child),
            }
        }
        Ok(Some(Uns::Dict(out)))
    }

    /// Reads the dense 2-D arrays of `obsm` or `varm` (`group` names which); other entries are skipped.
    pub fn read_dense_dict(&self, group: &str) -> Result<BTreeMap<String, Dense>, IoError> {
        let path = self.path_str();
        let mut out = BTreeMap::new();
        if !self.file.link_exists(group) {
            return Ok(out);
        }
        if self.file.loc_type_by_name(group).at(path, group)? != LocationType::Group {
            return Err(IoError::Legacy {
                path: path.into(),
                evidence: format!("{group} is a compound dataset, not a group"),
            });
        }
        let g = self.file.group(group).at(path, group)?;
        for name in g.member_names().at(path, group)? {
            let key = format!("{group}/{name}");
            if g.loc_type_by_name(&name).at(path, &key)? != LocationType::Dataset {
                self.note_skipped(&key);
                continue;
            }
            let ds = g.dataset(&name).at(path, &key)?;
            if !kind_of(&ds).at(path, &key)?.is_numeric() || ds.ndim() > 2 {
                self.note_skipped(&key);
                continue;
            }
            let shape = ds.shape();
            let (nrows, ncols) = if shape.len() == 2 {
                (shape[0], shape[1])
            } else {
                (shape[0], 1)
            };
            let data = ds.read_raw::<f32>().at(path, &key)?;
            out.insert(name, Dense { nrows, ncols, data });
        }
        Ok(out)
    }
}

fn read_uns_dataset(path: &str, key: &str, ds: &Dataset) -> Result<Option<Uns>, IoError> {
    let enc = encoding_type(ds).at(path, key)?;
    if matches!(enc.as_deref(), Some(e) if !matches!(e, "string" | "numeric-scalar" | "string-array" | "array"))
    {
        return Ok(None);
    }
    let kind = kind_of(ds).at(path, key)?;
    let scalar = ds.is_scalar();
    let shape = ds.shape();
    Ok(Some(match kind {
        k if k.is_string() => {
            let v = strings_of(path, key, ds)?;
            if scalar {
                Uns::Str(v.into_iter().next().unwrap_or_default())
            } else {
                Uns::StrList(v)
            }
        }
        Kind::Bool if scalar => Uns::Bool(ds.read_scalar::<bool>().at(path, key)?),
        Kind::Int(_) | Kind::UInt(_) | Kind::Bool => {
            let v = read_i64(ds).at(path, key)?;
            if scalar {
                Uns::Int(v[0])
            } else {
                Uns::IntArray { shape, data: v }
            }
        }
        Kind::Float(size) => {
            let v = ds.read_raw::<f64>().at(path, key)?;
            if scalar {
                Uns::Float(v[0])
            } else {
                Uns::Array {
                    shape,
                    data: v,
                    f32: size == 4,
                }
            }
        }
        _ => return Ok(None),
    }))
}
