//! numpy's `np.random.default_rng(seed)` (SeedSequence + PCG64, XSL-RR output) for the draws
//! the data-scaling notebook makes, `integers(0, high)` (Lemire's bounded method on the
//! buffered 32-bit stream), and cell-eval's ceiling split makes, `permutation(array)` (a
//! Fisher–Yates shuffle drawing with masked rejection). Written from the published algorithms (O'Neill's PCG; numpy's
//! SeedSequence design), checked against numpy.

const MULT: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

/// `numpy.random.SeedSequence(entropy).generate_state(n)` for a non-negative integer entropy.
fn seed_sequence_words(entropy: u64, n_words: usize) -> Vec<u32> {
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
        let w = seed_sequence_words(seed, 8);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_default_rng() {
        // numpy 2.4.6: g = np.random.default_rng(12345); [int(g.integers(0, 2**16)) for _ in range(6)]
        //              g = np.random.default_rng(0); [int(g.integers(0, 10)) for _ in range(6)]
        //              np.random.SeedSequence(12345).generate_state(4)
        assert_eq!(seed_sequence_words(12345, 4), SS_12345);
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
}
