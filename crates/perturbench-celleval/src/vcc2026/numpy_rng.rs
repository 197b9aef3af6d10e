//! Bit-exact reproductions of numpy's (>= 1.17) `SeedSequence`, the `PCG64` bit generator
//! that `np.random.default_rng(int)` builds, and `Generator.permutation` of a 1-D array, so
//! that a seeded shuffle made here matches the one a Python reference made.

const POOL_SIZE: usize = 4;
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;

/// The 128-bit LCG multiplier of PCG64.
const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// One hash step: mixes `value` with the running constant `hc` and advances `hc`.
fn hashmix(value: u32, hc: &mut u32) -> u32 {
    let mut v = value ^ *hc;
    *hc = hc.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*hc);
    v ^ (v >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> XSHIFT)
}

/// numpy's `np.random.SeedSequence(entropy)` for a non-negative integer entropy (no
/// `spawn_key`, default pool size 4): the mixed entropy pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSequence {
    pool: [u32; POOL_SIZE],
}

impl SeedSequence {
    /// `SeedSequence(entropy)`: the integer is split into little-endian u32 words (`0` is
    /// the single word `[0]`), zero-padded to the pool size and hashed into the pool. A u64
    /// has at most 2 words, so numpy's mixing of words beyond the pool never applies.
    pub fn new(entropy: u64) -> Self {
        let words = [entropy as u32, (entropy >> 32) as u32, 0, 0];
        let mut hc = INIT_A;
        let mut pool = words.map(|w| hashmix(w, &mut hc));
        for src in 0..POOL_SIZE {
            for dst in 0..POOL_SIZE {
                if src != dst {
                    let h = hashmix(pool[src], &mut hc);
                    pool[dst] = mix(pool[dst], h);
                }
            }
        }
        Self { pool }
    }

    /// `generate_state(n_words)` with the default dtype `uint32`.
    pub fn generate_state_u32(&self, n_words: usize) -> Vec<u32> {
        let mut hc = INIT_B;
        (0..n_words)
            .map(|i| {
                let mut v = self.pool[i % POOL_SIZE] ^ hc;
                hc = hc.wrapping_mul(MULT_B);
                v = v.wrapping_mul(hc);
                v ^ (v >> XSHIFT)
            })
            .collect()
    }

    /// `generate_state(n_words, np.uint64)`: `2 * n_words` u32 words paired little-endian.
    pub fn generate_state_u64(&self, n_words: usize) -> Vec<u64> {
        self.generate_state_u32(2 * n_words)
            .chunks_exact(2)
            .map(|p| u64::from(p[0]) | (u64::from(p[1]) << 32))
            .collect()
    }
}

/// `np.random.SeedSequence(entropy).generate_state(n)` (dtype `uint32`).
pub fn generate_state_u32(entropy: u64, n: usize) -> Vec<u32> {
    SeedSequence::new(entropy).generate_state_u32(n)
}

/// numpy's `PCG64` bit generator (XSL-RR 128/64), including its buffered 32-bit draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    /// The high half of the last u64 split by [`Pcg64::next_u32`], if not yet handed out.
    buffered_u32: Option<u32>,
}

impl Pcg64 {
    /// `np.random.default_rng(seed)`'s bit generator: PCG64 seeded from
    /// `SeedSequence(seed).generate_state(4, np.uint64)`.
    pub fn from_seed(seed: u64) -> Self {
        let w = SeedSequence::new(seed).generate_state_u64(4);
        let initstate = (u128::from(w[0]) << 64) | u128::from(w[1]);
        let initseq = (u128::from(w[2]) << 64) | u128::from(w[3]);
        Self::from_state_inc(initstate, initseq)
    }

    /// PCG's `srandom(initstate, initseq)` as numpy's `pcg64_set_seed` calls it.
    pub fn from_state_inc(initstate: u128, initseq: u128) -> Self {
        let mut rng = Self {
            state: 0,
            inc: (initseq << 1) | 1,
            buffered_u32: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// numpy's `next_uint64` (`bit_generator.random_raw()`): advance, then XSL-RR output.
    /// It leaves any buffered 32-bit half untouched, as numpy does.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let xored = ((s >> 64) as u64) ^ (s as u64);
        xored.rotate_right((s >> 122) as u32)
    }

    /// numpy's PCG64 `next_uint32`: the low half of a fresh u64, then its high half.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(hi) = self.buffered_u32.take() {
            return hi;
        }
        let v = self.next_u64();
        self.buffered_u32 = Some((v >> 32) as u32);
        v as u32
    }

    /// numpy's `random_interval(bitgen, max)`: a uniform integer in `0..=max` by masked
    /// rejection, drawing 32-bit words when `max` fits in u32 and 64-bit words otherwise.
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        if max <= u64::from(u32::MAX) {
            loop {
                let v = u64::from(self.next_u32()) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let v = self.next_u64() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `Generator.permutation(arr)` for a 1-D array: a shuffled copy (Fisher–Yates from
    /// the end, `j = random_interval(i)`), advancing the state as numpy does.
    pub fn permutation<T: Clone>(&mut self, items: &[T]) -> Vec<T> {
        let mut out = items.to_vec();
        for i in (1..out.len()).rev() {
            let j = self.random_interval(i as u64) as usize;
            out.swap(i, j);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    //! Expected values from numpy 2.4.6 on CPython 3.11.7 (x86_64 Linux), produced by the
    //! Python expressions quoted above each table.
    use super::*;

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
            assert_eq!(SeedSequence::new(s).generate_state_u64(3), want, "seed {s}");
        }
    }

    #[test]
    fn raw_and_u32_streams_match_numpy() {
        for (s, want) in RAW {
            let mut rng = Pcg64::from_seed(s);
            let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
            assert_eq!(got, want, "seed {s}");
        }
        // c = np.random.default_rng(0).bit_generator.ctypes: five c.next_uint32(c.state),
        // then two c.next_uint64(c.state), then one c.next_uint32(c.state).
        let mut rng = Pcg64::from_seed(0);
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
            let p = Pcg64::from_seed(s).permutation(&(0..n).collect::<Vec<_>>());
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
            let mut rng = Pcg64::from_seed(s);
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
