//! Reads every `.h5ad` in ../shared/data and compares with values computed by Python anndata.
//!
//! Expected values were obtained with anndata 0.12.19 / scipy 1.17 / numpy 2.x:
//! ```python
//! a = anndata.read_h5ad(f)
//! a.shape, a.X.nnz, float(a.X.astype(np.float64).sum())
//! list(a.obs[c].cat.categories)
//! hashlib.sha256("\n".join(a.var_names).encode()).hexdigest()   # same for obs_names
//! float(layer.astype(np.float64).sum()); float(np.asarray(obsm, np.float64).sum())
//! ```
//! The tests skip (with a printed reason) when ../shared/data is absent.

use perturbench_io::{read_h5ad, Column, H5adReader, IoError, MatrixEncoding};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PERTURBENCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("perturbench_devel.h5ad").exists() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: shared data not found at {} (set PERTURBENCH_SHARED_DATA)",
            dir.display()
        );
        None
    }
}

fn sha(names: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(names.join("\n").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn categories(col: Option<&Column>) -> Vec<String> {
    match col {
        Some(Column::Categorical { categories, .. }) => categories.clone(),
        other => panic!("expected a categorical column, got {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    // X values are converted to f32 on read; relative 1e-6 covers the rounding of the sum.
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

struct Expect {
    file: &'static str,
    shape: (usize, usize),
    nnz: usize,
    sum: f64,
    cats: &'static [(&'static str, &'static [&'static str])],
    var_sha: &'static str,
    obs_sha: &'static str,
    layers: &'static [(&'static str, f64)],
    obsm: &'static [(&'static str, (usize, usize), f64)],
}

const EXPECT: &[Expect] = &[
    Expect {
        file: "kang2018_ifnb_pbmc_scgen.h5ad",
        shape: (1975, 6998),
        nnz: 643449,
        sum: 574351.6324418485,
        cats: &[
            ("condition", &["IFNb", "control"]),
            (
                "cell_type",
                &[
                    "CD4T",
                    "CD14+Mono",
                    "B",
                    "CD8T",
                    "NK",
                    "FCGR3A+Mono",
                    "Dendritic",
                ],
            ),
        ],
        var_sha: "b6ba27d4a77a7fa0c1c3069fc34abd59fc6f036061e6641612455bd0087b2f23",
        obs_sha: "7538841d5378a477611a7cf11d52a4c3db281e0d2a847b75ce6229e6f3e2783b",
        layers: &[("counts", 2156428.0)],
        obsm: &[
            ("X_pca", (1975, 50), -222.4286129846082),
            ("X_umap", (1975, 2), 1296.8857242949307),
        ],
    },
    Expect {
        file: "norman2019_gears_format_50x50_scx.h5ad",
        shape: (50, 50),
        nnz: 167,
        sum: 184.1653055548668,
        cats: &[
            ("cell_type", &["A549"]),
            ("dose_val", &["1", "1+1"]),
            ("split", &["test", "train", "val"]),
        ],
        var_sha: "ee762c0acb1e2207b72a8ae564c43fd5860c0f7739e33fa2bdfee7ba45eebd06",
        obs_sha: "46fb58c00fb7aa7e3a4b47d7becf4b73e73fb1b5b0a29af12cb3686c6e2018a5",
        layers: &[("counts", 446.0)],
        obsm: &[],
    },
    Expect {
        file: "papalexi2021_eccite_thp1_sceptredata.h5ad",
        shape: (20729, 299),
        nnz: 1390126,
        sum: 4299765.0,
        cats: &[
            (
                "condition",
                &[
                    "ATF2",
                    "BRD4",
                    "CAV1",
                    "CD86",
                    "CMTM6",
                    "CUL3",
                    "ETV7",
                    "IFNGR1",
                    "IFNGR2",
                    "IRF1",
                    "IRF7",
                    "JAK2",
                    "MARCH8",
                    "MYC",
                    "NFKBIA",
                    "PDCD1LG2",
                    "POU2F2",
                    "SMAD4",
                    "SPI1",
                    "STAT1",
                    "STAT2",
                    "STAT3",
                    "STAT5A",
                    "TNFRSF14",
                    "UBE2L6",
                    "control",
                    "unassigned",
                ],
            ),
            ("bio_rep", &["rep_1", "rep_2", "rep_3"]),
        ],
        var_sha: "7fe012bffab1c30e130814038697acdb206a8096090be958033c9081fe83e75f",
        obs_sha: "960ef67fb9b1c4e57f786422f9e8ca234a17e9ab0301bdc0306c5b3b5ffa0caf",
        layers: &[],
        obsm: &[("grna_counts", (20729, 110), 4619963.0)],
    },
    Expect {
        file: "perturbench_devel.h5ad",
        shape: (5961, 500),
        nnz: 211790,
        sum: 406134.54352438205,
        cats: &[
            (
                "condition",
                &[
                    "BPGM+SAMD1",
                    "CBL+CNN1",
                    "CEBPE+RUNX1T1",
                    "CNN1+MAPK1",
                    "FOXL2+HOXB9",
                    "FOXO4",
                    "HK2",
                    "IER5L",
                    "KLF1",
                    "KLF1+MAP2K6",
                    "KLF1+TGFBR2",
                    "KMT2A",
                    "MAP2K3",
                    "MAP2K3+MAP2K6",
                    "MAP2K3+SLC38A2",
                    "MAP2K6",
                    "MAP3K21",
                    "MAP4K3",
                    "MAP4K5",
                    "MAPK1",
                    "MAPK1+TGFBR2",
                    "MIDN",
                    "NIT1",
                    "PLK4",
                    "PTPN12+PTPN9",
                    "SAMD1+PTPN12",
                    "SET+KLF1",
                    "SGK1",
                    "SGK1+TBX3",
                    "SLC38A2",
                    "TGFBR2",
                    "TMSB4X",
                    "ZBTB10+PTPN12",
                    "control",
                ],
            ),
            ("cell_type", &["A172", "T98G", "U87MG", "k562"]),
            ("dose", &["1", "1+1"]),
        ],
        var_sha: "dab8229594885e6163a4e9c8267994e36b302472dfd33807ccc4285c557405f4",
        obs_sha: "83bf23a8b4e9ee6f441b008356164d22f584077d12e91031c0e8703f5ac6b065",
        layers: &[],
        obsm: &[],
    },
    Expect {
        file: "perturbench_devel_with_counts.h5ad",
        shape: (5961, 500),
        nnz: 211790,
        sum: 406134.54352438205,
        cats: &[("cell_type", &["A172", "T98G", "U87MG", "k562"])],
        var_sha: "dab8229594885e6163a4e9c8267994e36b302472dfd33807ccc4285c557405f4",
        obs_sha: "83bf23a8b4e9ee6f441b008356164d22f584077d12e91031c0e8703f5ac6b065",
        layers: &[("counts", 958614.0)],
        obsm: &[],
    },
];

#[test]
fn every_shared_file_matches_python_anndata() {
    let Some(dir) = data_dir() else { return };
    for e in EXPECT {
        let path = dir.join(e.file);
        let ad = read_h5ad(&path).unwrap_or_else(|err| panic!("{}: {err}", e.file));
        assert_eq!((ad.n_obs(), ad.n_vars()), e.shape, "{} shape", e.file);
        assert_eq!(ad.x.nnz(), e.nnz, "{} nnz", e.file);
        assert!(
            close(ad.x.sum(), e.sum),
            "{} sum {} vs {}",
            e.file,
            ad.x.sum(),
            e.sum
        );
        for (col, cats) in e.cats {
            assert_eq!(
                categories(ad.obs.column(col)),
                *cats,
                "{} obs/{col}",
                e.file
            );
        }
        assert_eq!(sha(ad.var_names()), e.var_sha, "{} var names", e.file);
        assert_eq!(sha(ad.obs_names()), e.obs_sha, "{} obs names", e.file);
        assert_eq!(ad.layers.len(), e.layers.len(), "{} layers", e.file);
        for (name, sum) in e.layers {
            let l = &ad.layers[*name];
            assert!(
                close(l.sum(), *sum),
                "{} layer {name} sum {} vs {sum}",
                e.file,
                l.sum()
            );
        }
        for (name, shape, sum) in e.obsm {
            let m = &ad.obsm[*name];
            assert_eq!((m.nrows, m.ncols), *shape, "{} obsm {name}", e.file);
            let s: f64 = m.data.iter().map(|&v| v as f64).sum();
            assert!(
                (s - sum).abs() <= 1e-4 * sum.abs().max(1.0),
                "{} obsm {name} sum {s} vs {sum}",
                e.file
            );
        }
        // Canonical form: strictly increasing indices within every row.
        for r in 0..ad.n_obs() {
            assert!(
                ad.x.row(r).0.windows(2).all(|w| w[0] < w[1]),
                "{} row {r} not canonical",
                e.file
            );
        }
    }
}

#[test]
fn devel_is_float64_unsorted_on_disk_and_canonical_in_memory() {
    let Some(dir) = data_dir() else { return };
    let r = H5adReader::open(dir.join("perturbench_devel.h5ad")).unwrap();
    let info = r.matrix_info("X").unwrap();
    assert_eq!(info.encoding, MatrixEncoding::Csr);
    assert_eq!(info.dtype, "float64");
    assert!(info.compression.starts_with("gzip"));
    // Row 0 of devel as stored (h5py: `X/indices[0:15]`) is in decreasing order
    // 474, 409, ..., 29, 24; sorted, it starts 24, 29, 86, 100, 187 with values
    // 0.40959056, 0.40959056, 0.40959056, 0.40959056, 3.12529637 (numpy argsort of the row).
    let x = r.read_matrix("X").unwrap();
    let (idx, val) = x.row(0);
    assert_eq!(idx.len(), 15);
    assert_eq!(&idx[..5], &[24, 29, 86, 100, 187]);
    assert_eq!(idx[14], 474);
    assert_eq!(val[4], 3.125_296_4_f32);
    assert_eq!(val[0], 0.409_590_56_f32);
    let rows = r.read_matrix_rows("X", 100..200).unwrap();
    assert_eq!(rows, x.select_rows(&(100..200).collect::<Vec<_>>()));
}

#[test]
fn papalexi_int32_counts_become_f32_exactly() {
    let Some(dir) = data_dir() else { return };
    let ad = read_h5ad(dir.join("papalexi2021_eccite_thp1_sceptredata.h5ad")).unwrap();
    assert!(ad.x.data().iter().all(|v| v.fract() == 0.0 && *v >= 1.0));
    let ids = ad.uns["grna_ids"].as_str_list().unwrap();
    assert_eq!(ids.len(), 110);
}

#[test]
fn legacy_layout_is_refused_with_advice() {
    let Some(dir) = data_dir() else { return };
    let path = dir.join("kang2018_ifnb_pbmc_scgen_legacy_format.h5ad");
    let err = read_h5ad(&path).unwrap_err();
    assert!(matches!(err, IoError::Legacy { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("kang2018_ifnb_pbmc_scgen_legacy_format.h5ad"),
        "{msg}"
    );
    assert!(msg.contains("write_h5ad"), "{msg}");
}

#[test]
fn selected_obs_columns_equal_the_full_frame_without_cell_names() {
    let Some(dir) = data_dir() else { return };
    let r = perturbench_io::H5adReader::open(dir.join("perturbench_devel.h5ad")).unwrap();
    let full = r.read_frame("obs").unwrap();
    let part = r
        .read_frame_columns("obs", &["cell_type", "condition", "no_such_column"])
        .unwrap();
    assert!(part.index.is_empty());
    assert_eq!(part.nrows(), full.nrows());
    // Columns come in the file's column order, only those asked for and present.
    let names: Vec<&str> = part.column_names();
    let expected: Vec<&str> = full
        .column_names()
        .into_iter()
        .filter(|n| *n == "cell_type" || *n == "condition")
        .collect();
    assert_eq!(names, expected);
    for n in names {
        assert_eq!(part.column(n), full.column(n));
    }
}
