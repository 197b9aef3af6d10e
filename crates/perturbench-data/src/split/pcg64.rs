//! numpy's `np.random.default_rng(seed)` (SeedSequence + PCG64, XSL-RR output) for the draws
//! the data-scaling notebook makes, `integers(0, high)` (Lemire's bounded method on the
//! buffered 32-bit stream), and cell-eval's ceiling split makes, `permutation(array)` (a
//! Fisher–Yates shuffle drawing with masked rejection). Written from the published algorithms (O'Neill's PCG; numpy's
//! SeedSequence design), checked against numpy.

const MULT: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

/// `numpy.random.SeedSequence(entropy).generate_state(n)` (uint32 words) for a non-negative
/// integer entropy; cell-eval2's replicate anchor draws its split seeds this way.
pub fn generate_state_u32(entropy: u64, n_words: usize) -> Vec<u32> {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_L: u32 = 0xca01_f9dd;
    const MIX_R: u32 = 0x4973_f715;
    let mut words: Vec<u32> = Vec::new();
    let mut e = entropy;
    while e > 0 {
        words.push(e as u32);
        e >>= 32;
    }
    if words.is_empty() {
        words.push(0);
    }
    let mut hash_const = INIT_A;
    let mut hashmix = |v: u32| -> u32 {
        let mut v = v ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| -> u32 {
        let r = MIX_L.wrapping_mul(x).wrapping_sub(MIX_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; 4];
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(words.get(i).copied().unwrap_or(0));
    }
    for src in 0..4 {
        for dst in 0..4 {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &w in words.iter().skip(4) {
        for slot in pool.iter_mut() {
            let h = hashmix(w);
            *slot = mix(*slot, h);
        }
    }
    let mut hash_b = INIT_B;
    (0..n_words)
        .map(|i| {
            let mut v = pool[i % 4] ^ hash_b;
            hash_b = hash_b.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_b);
            v ^ (v >> 16)
        })
        .collect()
}

/// `np.random.default_rng(seed)` restricted to bounded integer draws.
pub struct NpGenerator {
    state: u128,
    inc: u128,
    buffered: Option<u32>,
}

impl NpGenerator {
    /// `default_rng(seed)`.
    pub fn new(seed: u64) -> Self {
        let w = generate_state_u32(seed, 8);
        let v: Vec<u64> = w
            .chunks(2)
            .map(|p| p[0] as u64 | (p[1] as u64) << 32)
            .collect();
        let initstate = (v[0] as u128) << 64 | v[1] as u128;
        let initseq = (v[2] as u128) << 64 | v[3] as u128;
        let mut g = NpGenerator {
            state: 0,
            inc: (initseq << 1) | 1,
            buffered: None,
        };
        g.step();
        g.state = g.state.wrapping_add(initstate);
        g.step();
        g
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(MULT).wrapping_add(self.inc);
    }

    fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        ((s >> 64) as u64 ^ s as u64).rotate_right((s >> 122) as u32)
    }

    fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.buffered.take() {
            return v;
        }
        let n = self.next_u64();
        self.buffered = Some((n >> 32) as u32);
        n as u32
    }

    /// `integers(0, high)` for `1 <= high <= 2^32`.
    pub fn integers(&mut self, high: u64) -> u64 {
        let rng = high - 1;
        if rng == 0 {
            return 0;
        }
        if rng == u32::MAX as u64 {
            return self.next_u32() as u64;
        }
        let excl = (rng + 1) as u32;
        let mut m = self.next_u32() as u64 * excl as u64;
        let mut leftover = m as u32;
        if leftover < excl {
            let threshold = (u32::MAX - rng as u32) % excl;
            while leftover < threshold {
                m = self.next_u32() as u64 * excl as u64;
                leftover = m as u32;
            }
        }
        m >> 32
    }

    /// numpy's `random_interval(max)`: a uniform integer in `[0, max]` by masked rejection
    /// (32-bit draws while `max` fits in 32 bits).
    pub fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let v = if max <= u32::MAX as u64 {
                self.next_u32() as u64 & mask
            } else {
                self.next_u64() & mask
            };
            if v <= max {
                return v;
            }
        }
    }

    /// `v` shuffled as `Generator.permutation(v)` orders a 1-d array: for `i` from the last
    /// index down to 1, swap `v[i]` with `v[interval(i)]`.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.interval(i as u64) as usize;
            v.swap(i, j);
        }
    }

    /// `Generator.permutation(items)` of a 1-d array: a shuffled copy.
    pub fn permutation<T: Clone>(&mut self, items: &[T]) -> Vec<T> {
        let mut v = items.to_vec();
        self.shuffle(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_default_rng() {
        // numpy 2.4.6: g = np.random.default_rng(12345); [int(g.integers(0, 2**16)) for _ in range(6)]
        //              g = np.random.default_rng(0); [int(g.integers(0, 10)) for _ in range(6)]
        //              np.random.SeedSequence(12345).generate_state(4)
        assert_eq!(generate_state_u32(12345, 4), SS_12345);
        let mut g = NpGenerator::new(12345);
        let v: Vec<u64> = (0..6).map(|_| g.integers(1 << 16)).collect();
        assert_eq!(v, INT16_12345);
        let mut g = NpGenerator::new(0);
        let v: Vec<u64> = (0..6).map(|_| g.integers(10)).collect();
        assert_eq!(v, INT10_0);
    }

    #[test]
    fn shuffle_matches_numpy_permutation() {
        // numpy 2.x: g = np.random.default_rng(0); g.permutation(np.arange(7)), then
        //            g.permutation(np.arange(5)) on the same generator.
        let mut g = NpGenerator::new(0);
        let mut a: Vec<usize> = (0..7).collect();
        g.shuffle(&mut a);
        assert_eq!(a, [2, 4, 3, 6, 5, 0, 1]);
        let mut b: Vec<usize> = (0..5).collect();
        g.shuffle(&mut b);
        assert_eq!(b, [4, 1, 2, 0, 3]);
    }

    include!("pcg64_expected.rs");

    /// `[int(v) for v in np.random.SeedSequence(s).generate_state(5)]`
    #[rustfmt::skip]
    const SS_U32: [(u64, [u32; 5]); 5] = [
        (0, [2968811710, 3677149159, 745650761, 2884920346, 2642120001]),
        (1, [1835504127, 1731038949, 1320224556, 2330041505, 321059914]),
        (12345, [2688385916, 3048105090, 4196366895, 3152189807, 924159892]),
        ((1 << 40) + 7, [238885397, 226915041, 1322230113, 2599373530, 2212210947]),
        (u64::MAX, [2458692877, 2931597649, 2251873402, 295448644, 1508262567]),
    ];

    /// `[hex(int(v)) for v in np.random.SeedSequence(s).generate_state(3, np.uint64)]`
    #[rustfmt::skip]
    const SS_U64: [(u64, [u64; 3]); 2] = [
        (0, [0xdb2cd7e7b0f478be, 0xabf4641a2c71ba49, 0x20c6ed6d9d7b8d41]),
        (u64::MAX, [0xaebca151928cad0d, 0x119c30448638dc7a, 0x1bbb155659e642a7]),
    ];

    /// `[int(v) for v in np.random.default_rng(s).bit_generator.random_raw(5)]`
    /// (2968811710 is `SeedSequence(0).generate_state(5)[0]`).
    #[rustfmt::skip]
    const RAW: [(u64, [u64; 5]); 3] = [
        (0, [11749869230777074271, 4976686463289251617, 755828109848996024,
             304881062738325533, 15002187965291974971]),
        (42, [14276969152011380360, 8095878257575067585, 15838336090824644132,
              12864169557245331597, 1737265434024182251]),
        (2968811710, [75482726147891585, 18282280769442881268, 14179167422219784466,
                      1553293614585412191, 5451289674422416069]),
    ];

    /// `p = np.random.default_rng(s).permutation(np.arange(n))`:
    /// `(s, n, list(p[:10]), sum(i * int(v) for i, v in enumerate(p)))`.
    #[rustfmt::skip]
    const PERMS: [(u64, usize, &[usize], usize); 14] = [
        (0, 1, &[0], 0),
        (0, 2, &[0, 1], 1),
        (0, 3, &[2, 0, 1], 2),
        (0, 7, &[2, 4, 3, 6, 5, 0, 1], 54),
        (0, 100, &[82, 36, 20, 5, 93, 16, 94, 52, 72, 90], 255943),
        (0, 1000, &[459, 206, 222, 162, 711, 814, 350, 890, 518, 264], 250431167),
        (7, 3, &[0, 2, 1], 4),
        (7, 7, &[0, 5, 6, 2, 4, 1, 3], 62),
        (7, 1000, &[816, 923, 151, 900, 213, 100, 851, 503, 643, 172], 249031891),
        (42, 2, &[1, 0], 0),
        (42, 3, &[2, 1, 0], 1),
        (42, 7, &[3, 2, 6, 4, 1, 5, 0], 55),
        (42, 100, &[59, 21, 56, 18, 33, 42, 50, 27, 92, 71], 242627),
        (42, 1000, &[978, 933, 859, 916, 127, 608, 856, 260, 147, 810], 248321539),
    ];

    #[test]
    fn seed_sequence_matches_numpy() {
        for (s, want) in SS_U32 {
            assert_eq!(generate_state_u32(s, 5), want, "seed {s}");
        }
        for (s, want) in SS_U64 {
            let w = generate_state_u32(s, 6);
            let got: Vec<u64> = w
                .chunks(2)
                .map(|p| p[0] as u64 | (p[1] as u64) << 32)
                .collect();
            assert_eq!(got, want, "seed {s}");
        }
    }

    #[test]
    fn raw_and_u32_streams_match_numpy() {
        for (s, want) in RAW {
            let mut rng = NpGenerator::new(s);
            let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
            assert_eq!(got, want, "seed {s}");
        }
        // c = np.random.default_rng(0).bit_generator.ctypes: five c.next_uint32(c.state),
        // then two c.next_uint64(c.state), then one c.next_uint32(c.state).
        let mut rng = NpGenerator::new(0);
        let u32s: Vec<u32> = (0..5).map(|_| rng.next_u32()).collect();
        let want = [3653403231, 2735729615, 2195314465, 1158725112, 1322117304];
        assert_eq!(u32s, want);
        let want = [304881062738325533, 15002187965291974971];
        assert_eq!([rng.next_u64(), rng.next_u64()], want);
        assert_eq!(rng.next_u32(), 175979945);
    }

    #[test]
    fn permutations_match_numpy() {
        for (s, n, head, checksum) in PERMS {
            let p = NpGenerator::new(s).permutation(&(0..n).collect::<Vec<_>>());
            assert_eq!(&p[..head.len()], head, "seed {s}, n {n}");
            let sum: usize = p.iter().enumerate().map(|(i, v)| i * v).sum();
            assert_eq!(sum, checksum, "seed {s}, n {n}");
        }
    }

    #[test]
    fn successive_permutations_share_state() {
        // rng = np.random.default_rng(s)
        // [rng.permutation(np.arange(k)) for k in (5, 1, 13, 2, 40)]
        let run = |s| {
            let mut rng = NpGenerator::new(s);
            [5usize, 1, 13, 2, 40].map(|k| rng.permutation(&(0..k).collect::<Vec<_>>()))
        };
        let p = run(0);
        assert_eq!(p[0], [2, 4, 3, 0, 1]);
        assert_eq!(p[1], [0]);
        assert_eq!(p[2], [2, 10, 3, 12, 0, 4, 7, 5, 1, 9, 8, 11, 6]);
        assert_eq!(p[3], [0, 1]);
        let want40 = [
            39, 11, 18, 10, 23, 28, 4, 36, 34, 27, 35, 24, 21, 2, 20, 3, 1, 33, 31, 6, 22, 13, 19,
            5, 16, 17, 26, 37, 30, 0, 8, 29, 12, 15, 32, 25, 14, 9, 38, 7,
        ];
        assert_eq!(p[4], want40);
        let q = run(2024);
        assert_eq!(q[0], [3, 4, 1, 2, 0]);
        assert_eq!(q[2], [12, 10, 5, 8, 6, 9, 11, 7, 2, 3, 4, 0, 1]);
        assert_eq!(&q[4][..10], [37, 27, 7, 30, 13, 3, 11, 14, 26, 39]);
    }
}
