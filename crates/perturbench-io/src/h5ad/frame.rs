//! Reading `obs` / `var` data frames and their column encodings.

use super::H5adReader;
use crate::error::{H5Context, IoError};
use crate::frame::{Column, Frame, MISSING_CODE};
use crate::h5util::{
    attr_bool, attr_string, attr_string_list, encoding_type, kind_of, read_i64, read_strings, Kind,
};
use hdf5::{Dataset, Group, LocationType};

impl H5adReader {
    /// Reads the data frame stored at `key` (`obs` or `var`).
    pub fn read_frame(&self, key: &str) -> Result<Frame, IoError> {
        self.read_frame_impl(key, None)
    }

    /// Reads only the columns `names` of the dataframe at `key` (those present), without its
    /// index: the returned frame's `index` is empty and its rows are counted from the columns.
    /// For per-cell work on files too large to hold every cell name.
    pub fn read_frame_columns(&self, key: &str, names: &[&str]) -> Result<Frame, IoError> {
        self.read_frame_impl(key, Some(names))
    }

    fn read_frame_impl(&self, key: &str, only: Option<&[&str]>) -> Result<Frame, IoError> {
        let path = self.path_str();
        if !self.file.link_exists(key) {
            return Err(IoError::format(path, key, "not found in the file"));
        }
        if self.file.loc_type_by_name(key).at(path, key)? != LocationType::Group {
            return Err(IoError::Legacy {
                path: path.into(),
                evidence: format!("{key} is a compound dataset, not a dataframe group"),
            });
        }
        let g = self.file.group(key).at(path, key)?;
        match encoding_type(&g).at(path, key)?.as_deref() {
            Some("dataframe") => {}
            Some(other) => {
                return Err(IoError::format(
                    path,
                    key,
                    format!("encoding '{other}', expected 'dataframe'"),
                ))
            }
            None => {
                return Err(IoError::format(
                    path,
                    key,
                    "group has no 'encoding-type' attribute; expected a dataframe",
                ))
            }
        }
        let index_name = attr_string(&g, "_index").at(path, key)?.ok_or_else(|| {
            IoError::format(
                path,
                key,
                "missing the '_index' attribute that names the index column",
            )
        })?;
        let index_key = format!("{key}/{index_name}");
        let index = match only {
            Some(_) => Vec::new(),
            None => self.read_index(&g, &index_name, &index_key)?,
        };
        let order = attr_string_list(&g, "column-order")
            .at(path, key)?
            .ok_or_else(|| IoError::format(path, key, "missing the 'column-order' attribute"))?;
        let mut columns = Vec::with_capacity(order.len());
        for name in order {
            if only.is_some_and(|o| !o.contains(&name.as_str())) {
                continue;
            }
            let ckey = format!("{key}/{name}");
            if !g.link_exists(&name) {
                return Err(IoError::format(
                    path,
                    &ckey,
                    "listed in column-order but not present",
                ));
            }
            match self.read_column(&g, &name, &ckey)? {
                Some(col) => {
                    let expected = match only {
                        None => index.len(),
                        Some(_) => columns
                            .first()
                            .map_or(col.len(), |(_, c): &(String, Column)| c.len()),
                    };
                    if col.len() != expected {
                        return Err(IoError::format(
                            path,
                            &ckey,
                            format!(
                                "has {} values, expected {} (the length of the index)",
                                col.len(),
                                expected
                            ),
                        ));
                    }
                    columns.push((name, col));
                }
                None => self.note_skipped(&ckey),
            }
        }
        Ok(Frame {
            index_name,
            index,
            columns,
        })
    }

    /// The index column of a dataframe group as strings.
    fn read_index(
        &self,
        g: &Group,
        index_name: &str,
        index_key: &str,
    ) -> Result<Vec<String>, IoError> {
        let path = self.path_str();
        Ok(match self.read_column(g, index_name, index_key)? {
            Some(Column::Str(v)) => v,
            Some(c) => (0..c.len())
                .map(|i| c.value_string(i).unwrap_or_default())
                .collect(),
            None => {
                return Err(IoError::format(
                    path,
                    index_key,
                    "index column is missing or unreadable",
                ))
            }
        })
    }

    /// Reads one column; `Ok(None)` for encodings perturbench does not use.
    fn read_column(
        &self,
        parent: &Group,
        name: &str,
        key: &str,
    ) -> Result<Option<Column>, IoError> {
        let path = self.path_str();
        match parent.loc_type_by_name(name).at(path, key)? {
            LocationType::Dataset => {
                let ds = parent.dataset(name).at(path, key)?;
                read_array_column(path, key, &ds).map(Some)
            }
            LocationType::Group => {
                let g = parent.group(name).at(path, key)?;
                let enc = encoding_type(&g).at(path, key)?;
                match enc.as_deref() {
                    Some("categorical") => read_categorical(path, key, &g).map(Some),
                    Some("nullable-integer") => {
                        let (values, mask) = nullable_parts(path, key, &g)?;
                        let values = read_i64(&values).at(path, &format!("{key}/values"))?;
                        Ok(Some(Column::NullableInt { values, mask }))
                    }
                    Some("nullable-boolean") => {
                        let (values, mask) = nullable_parts(path, key, &g)?;
                        let values = read_i64(&values).at(path, &format!("{key}/values"))?;
                        Ok(Some(Column::NullableBool {
                            values: values.into_iter().map(|v| v != 0).collect(),
                            mask,
                        }))
                    }
                    Some("nullable-string-array") => {
                        let (values, mask) = nullable_parts(path, key, &g)?;
                        let values = strings_of(path, &format!("{key}/values"), &values)?;
                        Ok(Some(Column::NullableStr { values, mask }))
                    }
                    _ => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }
}

/// Reads a plain dataset column: strings, numbers or booleans.
fn read_array_column(path: &str, key: &str, ds: &Dataset) -> Result<Column, IoError> {
    if ds.ndim() != 1 {
        return Err(IoError::format(
            path,
            key,
            format!("column has {} dimensions, expected 1", ds.ndim()),
        ));
    }
    Ok(match kind_of(ds).at(path, key)? {
        k if k.is_string() => Column::Str(strings_of(path, key, ds)?),
        Kind::Bool => Column::Bool(ds.read_raw::<bool>().at(path, key)?),
        Kind::Float(_) => Column::Float(ds.read_raw::<f64>().at(path, key)?),
        Kind::Int(_) | Kind::UInt(_) => Column::Int(read_i64(ds).at(path, key)?),
        k => {
            return Err(IoError::format(
                path,
                key,
                format!("unsupported element type {}", k.name()),
            ))
        }
    })
}

/// Reads a string dataset, naming the first element that is not UTF-8.
pub(super) fn strings_of(path: &str, key: &str, ds: &Dataset) -> Result<Vec<String>, IoError> {
    match read_strings(ds).at(path, key)? {
        Ok(v) => Ok(v),
        Err(i) => Err(IoError::format(
            path,
            key,
            format!("element {i} is not valid UTF-8"),
        )),
    }
}

fn read_categorical(path: &str, key: &str, g: &Group) -> Result<Column, IoError> {
    for part in ["codes", "categories"] {
        if !g.link_exists(part) {
            return Err(IoError::format(
                path,
                &format!("{key}/{part}"),
                "missing part of a categorical column",
            ));
        }
    }
    let ckey = format!("{key}/codes");
    let codes_ds = g.dataset("codes").at(path, &ckey)?;
    let raw = read_i64(&codes_ds).at(path, &ckey)?;
    let cat_key = format!("{key}/categories");
    let cat_ds = g.dataset("categories").at(path, &cat_key)?;
    let categories = match read_array_column(path, &cat_key, &cat_ds)? {
        Column::Str(v) => v,
        other => (0..other.len())
            .map(|i| other.value_string(i).unwrap_or_default())
            .collect(),
    };
    let n = categories.len() as i64;
    let mut codes = Vec::with_capacity(raw.len());
    for (i, c) in raw.into_iter().enumerate() {
        if c == -1 {
            codes.push(MISSING_CODE);
        } else if (0..n).contains(&c) {
            codes.push(c as u32);
        } else {
            return Err(IoError::format(
                path,
                &ckey,
                format!("code {c} at row {i} is outside 0..{n} (or -1 for missing)"),
            ));
        }
    }
    let ordered = attr_bool(g, "ordered").at(path, key)?.unwrap_or(false);
    Ok(Column::Categorical {
        codes,
        categories,
        ordered,
    })
}

fn nullable_parts(path: &str, key: &str, g: &Group) -> Result<(Dataset, Vec<bool>), IoError> {
    for part in ["values", "mask"] {
        if !g.link_exists(part) {
            return Err(IoError::format(
                path,
                &format!("{key}/{part}"),
                "missing part of a nullable column",
            ));
        }
    }
    let values = g.dataset("values").at(path, &format!("{key}/values"))?;
    let mkey = format!("{key}/mask");
    let mask_ds = g.dataset("mask").at(path, &mkey)?;
    let mask: Vec<bool> = read_i64(&mask_ds)
        .at(path, &mkey)?
        .into_iter()
        .map(|v| v != 0)
        .collect();
    if mask.len() != values.size() {
        return Err(IoError::format(
            path,
            &mkey,
            format!(
                "has {} entries but values has {}",
                mask.len(),
                values.size()
            ),
        ));
    }
    Ok((values, mask))
}
