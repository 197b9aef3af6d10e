//! X stored with the HDF5 layouts h5py can produce (contiguous, chunked, deflate, shuffle +
//! deflate, fletcher32) reads back to the same matrix; the parallel direct path and the HDF5
//! fallback agree.

use hdf5::filters::Filter;
use perturbench_io::{read_h5ad, write_h5ad, AnnData, Compression, Csr, WriteOptions};

fn object() -> AnnData {
    // 301 x 7 with an irregular pattern; nnz is not a multiple of any chunk size used below.
    let (n, g) = (301usize, 7usize);
    let dense: Vec<f32> = (0..n * g)
        .map(|i| {
            if (i * 31) % 5 < 2 {
                (i % 97) as f32 * 0.125 + 1.0
            } else {
                0.0
            }
        })
        .collect();
    AnnData::new(
        Csr::from_dense(n, g, &dense).unwrap(),
        (0..n).map(|i| format!("c{i}")).collect(),
        (0..g).map(|j| format!("g{j}")).collect(),
    )
}

fn write_with(p: &std::path::Path, ad: &AnnData, compression: Compression) {
    write_h5ad(p, ad, &WriteOptions { compression }).unwrap();
}

/// Rewrites X/data and X/indices with the given chunking and filters: values f64 and indices
/// i64 (converted on reading), or with `native` f32 and i32 (read straight into memory).
fn restore_with(
    path: &std::path::Path,
    chunk: Option<usize>,
    filters: &[Filter],
    x: &Csr,
    native: bool,
) {
    fn put<T: hdf5::H5Type>(g: &hdf5::Group, name: &str, v: &[T], c: Option<usize>, f: &[Filter]) {
        let mut b = g.new_dataset::<T>().shape(v.len());
        if let Some(c) = c {
            b = b.chunk(c).set_filters(f);
        }
        b.create(name).unwrap().write_raw(v).unwrap();
    }
    let f = hdf5::File::open_rw(path).unwrap();
    let g = f.group("X").unwrap();
    g.unlink("data").unwrap();
    g.unlink("indices").unwrap();
    if native {
        let idx: Vec<i32> = x.indices().iter().map(|&v| v as i32).collect();
        put(&g, "data", x.data(), chunk, filters);
        put(&g, "indices", &idx, chunk, filters);
    } else {
        let data: Vec<f64> = x.data().iter().map(|&v| v as f64).collect();
        let idx: Vec<i64> = x.indices().iter().map(|&v| v as i64).collect();
        put(&g, "data", &data, chunk, filters);
        put(&g, "indices", &idx, chunk, filters);
    }
}

#[test]
fn every_layout_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let ad = object();
    let cases: Vec<(&str, Option<usize>, Vec<Filter>)> = vec![
        ("contiguous", None, vec![]),
        ("chunked", Some(97), vec![]),
        ("deflate", Some(97), vec![Filter::Deflate(4)]),
        (
            "shuffle_deflate",
            Some(64),
            vec![Filter::Shuffle, Filter::Deflate(6)],
        ),
        (
            "fletcher",
            Some(50),
            vec![Filter::Deflate(1), Filter::Fletcher32],
        ),
    ];
    let both = cases
        .into_iter()
        .flat_map(|c| [(c.clone(), false), (c, true)]);
    for ((name, chunk, filters), native) in both {
        let name = format!("{name}{}", if native { "_native" } else { "" });
        let p = dir.path().join(format!("{name}.h5ad"));
        write_with(&p, &ad, Compression::Gzip(4));
        restore_with(&p, chunk, &filters, &ad.x, native);
        let back = read_h5ad(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.x, ad.x, "{name}");
        // Row blocks (7 rows, so blocks cross chunk boundaries) put together give X again.
        let r = perturbench_io::H5adReader::open(&p).unwrap();
        let blocks: Vec<Csr> = r
            .row_chunks("X", 7)
            .unwrap()
            .map(|b| b.unwrap().1)
            .collect();
        let refs: Vec<&Csr> = blocks.iter().collect();
        assert_eq!(Csr::vstack(&refs).unwrap(), ad.x, "{name}: row chunks");
    }
}

#[test]
fn corrupt_compressed_chunk_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let ad = object();
    let p = dir.path().join("bad.h5ad");
    write_with(&p, &ad, Compression::None);
    restore_with(&p, Some(100), &[Filter::Deflate(4)], &ad.x, false);
    // Overwrite the first compressed chunk of X/data with garbage.
    let addr = {
        let f = hdf5::File::open(&p).unwrap();
        let ds = f.dataset("X/data").unwrap();
        let info = ds.chunk_info(0).unwrap();
        (info.addr, info.size)
    };
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.write_all_at(&vec![0xAB; addr.1 as usize], addr.0)
            .unwrap();
    }
    let err = read_h5ad(&p).unwrap_err().to_string();
    assert!(err.contains("bad.h5ad") && err.contains("X/data"), "{err}");
}

#[test]
fn large_uncompressed_arrays_written_after_closing_read_back() {
    // 2,000 x 3,000 at density 1/2: data and indices of 12 MB each pass the size above which
    // uncompressed arrays are placed with positioned writes after HDF5 closes the file.
    let (nrows, ncols) = (2000usize, 3000usize);
    // Row r holds the columns of parity (r + shift) % 2.
    let pattern = |shift: usize| {
        let mut indptr = vec![0u64];
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for r in 0..nrows {
            for c in ((r + shift) % 2..ncols).step_by(2) {
                indices.push(c as u32);
                data.push((r * 7 + c) as f32 * 0.25);
            }
            indptr.push(indices.len() as u64);
        }
        Csr::from_parts(nrows, ncols, indptr, indices, data).unwrap()
    };
    let x = pattern(0);
    let mut ad = AnnData::new(
        x.clone(),
        (0..nrows).map(|i| format!("c{i}")).collect(),
        (0..ncols).map(|j| format!("g{j}")).collect(),
    );
    // A layer with X's pattern and other values, and one with a pattern of its own.
    let doubled = x.map_rows(|_, v, out| out.iter_mut().zip(v).for_each(|(o, v)| *o = 2.0 * v));
    let other = pattern(1);
    ad.layers.insert("counts".into(), doubled.clone());
    ad.layers.insert("other".into(), other.clone());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("large.h5ad");
    write_with(&p, &ad, Compression::None);
    let back = read_h5ad(&p).unwrap();
    assert_eq!(back.x, x);
    assert_eq!(back.layers["counts"], doubled);
    assert_ne!(back.layers["counts"], x);
    assert_eq!(back.layers["other"], other);
    assert_eq!(back.obs_names(), ad.obs_names());
    // The arrays sit in contiguous (unchunked) datasets, as h5py writes them. The layer with
    // X's pattern stores only its values: its indices and indptr are X's datasets.
    let f = hdf5::File::open(&p).unwrap();
    let offset = |k: &str| f.dataset(k).unwrap().offset().unwrap();
    assert!(!f.dataset("X/data").unwrap().is_chunked());
    assert_eq!(offset("layers/counts/indices"), offset("X/indices"));
    assert_eq!(offset("layers/counts/indptr"), offset("X/indptr"));
    assert_ne!(offset("layers/counts/data"), offset("X/data"));
    assert_ne!(offset("layers/other/indices"), offset("X/indices"));
    assert_ne!(offset("layers/other/indptr"), offset("X/indptr"));
}
