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

/// Rewrites X/data and X/indices with the given chunking and filters (values f64, indices i64).
fn restore_with(path: &std::path::Path, chunk: Option<usize>, filters: &[Filter], x: &Csr) {
    let f = hdf5::File::open_rw(path).unwrap();
    let g = f.group("X").unwrap();
    g.unlink("data").unwrap();
    g.unlink("indices").unwrap();
    let data: Vec<f64> = x.data().iter().map(|&v| v as f64).collect();
    let idx: Vec<i64> = x.indices().iter().map(|&v| v as i64).collect();
    let mut b = g.new_dataset::<f64>().shape(data.len());
    let mut bi = g.new_dataset::<i64>().shape(idx.len());
    if let Some(c) = chunk {
        b = b.chunk(c).set_filters(filters);
        bi = bi.chunk(c).set_filters(filters);
    }
    b.create("data").unwrap().write_raw(&data[..]).unwrap();
    bi.create("indices").unwrap().write_raw(&idx[..]).unwrap();
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
    for (name, chunk, filters) in cases {
        let p = dir.path().join(format!("{name}.h5ad"));
        write_h5ad(
            &p,
            &ad,
            &WriteOptions {
                compression: Compression::Gzip(4),
            },
        )
        .unwrap();
        restore_with(&p, chunk, &filters, &ad.x);
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
    write_h5ad(
        &p,
        &ad,
        &WriteOptions {
            compression: Compression::None,
        },
    )
    .unwrap();
    restore_with(&p, Some(100), &[Filter::Deflate(4)], &ad.x);
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
