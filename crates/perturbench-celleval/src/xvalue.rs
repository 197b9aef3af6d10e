//! The stored values of X at the precision the file holds them: `f32` as read, or `f64`
//! when the file stores `float64` (cell-eval, pdex and scikit-learn then compute on the
//! `float64` values, so rounding them to `f32` first could merge or split ties of the rank
//! test and move means in the 8th digit).

use perturbench_io::Csr;

/// One stored value type of X.
pub(crate) trait XValue: Copy + Send + Sync + PartialEq + 'static {
    /// Sort items of the rank test: an orderable key and a group, packed.
    type Item: SortItem;
    /// Zero.
    const ZERO: Self;
    /// The value in double precision (exact).
    fn to_f64(self) -> f64;
    /// The value rounded to single precision.
    fn to_f32(self) -> f32;
    /// An integer ordering non-negative values as the values (−0 is +0): equal keys for
    /// equal values only.
    fn key(self) -> u64;
}

impl XValue for f32 {
    type Item = u64;
    const ZERO: Self = 0.0;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn key(self) -> u64 {
        if self == 0.0 {
            0
        } else {
            u64::from(self.to_bits())
        }
    }
}

impl XValue for f64 {
    type Item = u128;
    const ZERO: Self = 0.0;
    fn to_f64(self) -> f64 {
        self
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn key(self) -> u64 {
        if self == 0.0 {
            0
        } else {
            self.to_bits()
        }
    }
}

/// A (key, group) pair packed into one integer, the key in the high bits, so that integer
/// order is key order.
pub(crate) trait SortItem: Copy + Ord + Default + Send {
    /// Bytes of the key.
    const KEY_BYTES: u32;
    /// Packs a key (of at most `KEY_BYTES` bytes) and a group.
    fn pack(key: u64, group: u32) -> Self;
    /// The key.
    fn key(self) -> u64;
    /// The group.
    fn group(self) -> usize;
    /// Byte `i` of the key (0 = least significant).
    fn key_byte(self, i: u32) -> usize;
}

impl SortItem for u64 {
    const KEY_BYTES: u32 = 4;
    fn pack(key: u64, group: u32) -> Self {
        (key << 32) | u64::from(group)
    }
    fn key(self) -> u64 {
        self >> 32
    }
    fn group(self) -> usize {
        (self & 0xffff_ffff) as usize
    }
    fn key_byte(self, i: u32) -> usize {
        ((self >> (32 + 8 * i)) & 0xff) as usize
    }
}

impl SortItem for u128 {
    const KEY_BYTES: u32 = 8;
    fn pack(key: u64, group: u32) -> Self {
        (u128::from(key) << 32) | u128::from(group)
    }
    fn key(self) -> u64 {
        (self >> 32) as u64
    }
    fn group(self) -> usize {
        (self & 0xffff_ffff) as usize
    }
    fn key_byte(self, i: u32) -> usize {
        ((self >> (32 + 8 * i)) & 0xff) as usize
    }
}

/// Runs `f32_path` on X's single-precision values, or `f64_path` on its full-precision
/// ones when it has them ([`Csr::exact`]).
pub(crate) fn dispatch<R>(
    x: &Csr,
    f32_path: impl FnOnce(&[f32]) -> R,
    f64_path: impl FnOnce(&[f64]) -> R,
) -> R {
    match x.exact() {
        Some(v) => f64_path(v),
        None => f32_path(x.data()),
    }
}

/// Row `r`'s column indices and values from a value array aligned with `x`'s entries.
pub(crate) fn row_of<'a, V>(x: &'a Csr, values: &'a [V], r: usize) -> (&'a [u32], &'a [V]) {
    let p = x.indptr();
    let (s, e) = (p[r] as usize, p[r + 1] as usize);
    (&x.indices()[s..e], &values[s..e])
}

/// Row `r` of `x` as (column, value) pairs, the values at full precision when `x` has them.
pub(crate) fn row_f64(x: &Csr, r: usize) -> RowF64<'_> {
    match x.exact() {
        Some(v) => {
            let (idx, vals) = row_of(x, v, r);
            RowF64::Double(idx.iter().zip(vals.iter()))
        }
        None => {
            let (idx, vals) = x.row(r);
            RowF64::Single(idx.iter().zip(vals.iter()))
        }
    }
}

/// The iterator of [`row_f64`].
pub(crate) enum RowF64<'a> {
    Single(std::iter::Zip<std::slice::Iter<'a, u32>, std::slice::Iter<'a, f32>>),
    Double(std::iter::Zip<std::slice::Iter<'a, u32>, std::slice::Iter<'a, f64>>),
}

impl Iterator for RowF64<'_> {
    type Item = (u32, f64);
    fn next(&mut self) -> Option<(u32, f64)> {
        match self {
            RowF64::Single(it) => it.next().map(|(&c, &v)| (c, v as f64)),
            RowF64::Double(it) => it.next().map(|(&c, &v)| (c, v)),
        }
    }
}
