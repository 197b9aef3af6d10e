//! Bit-exact re-implementations of the random number generators PerturBench's splitter uses,
//! so that `--rng python` reproduces its labels: CPython's `random` module (MT19937 seeded with
//! `init_by_array`, `getrandbits`, `randint`, `sample`) and numpy's legacy `RandomState`
//! (MT19937 seeded with `init_genrand`, `randint`, `permutation`, `choice` without replacement).
//! Written from the published algorithms (Matsumoto & Nishimura 1998; CPython 3.11
//! `Lib/random.py`; numpy `mtrand`), not from their code.

const N: usize = 624;
const M: usize = 397;

/// The Mersenne Twister MT19937 generator of 32-bit words.
#[derive(Clone)]
pub struct Mt19937 {
    mt: [u32; N],
    idx: usize,
}

impl Mt19937 {
    /// Seeds with one 32-bit word (`init_genrand`), as numpy's legacy seeding does.
    pub fn from_u32(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { mt, idx: N }
    }

    /// Seeds with an array of 32-bit words (`init_by_array`), as CPython's `random.seed` does.
    pub fn from_key(key: &[u32]) -> Self {
        let mut g = Self::from_u32(19_650_218);
        let mt = &mut g.mt;
        let (mut i, mut j) = (1usize, 0usize);
        let len = key.len().max(1);
        for _ in 0..N.max(len) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key.get(j).copied().unwrap_or(0))
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        g
    }

    fn twist(&mut self) {
        for k in 0..N {
            let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
            let mut v = self.mt[(k + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.mt[k] = v;
        }
        self.idx = 0;
    }

    /// The next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.idx >= N {
            self.twist();
        }
        let mut y = self.mt[self.idx];
        self.idx += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }
}

/// CPython's `random.Random` (3.x) for the operations the splitter uses.
#[derive(Clone)]
pub struct PyRandom(Mt19937);

impl PyRandom {
    /// `random.seed(n)` for an integer `n` (its absolute value split into 32-bit words).
    pub fn seed(n: i64) -> Self {
        let mut a = n.unsigned_abs();
        let mut key = Vec::new();
        while a > 0 {
            key.push((a & 0xffff_ffff) as u32);
            a >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        PyRandom(Mt19937::from_key(&key))
    }

    /// `getrandbits(k)` for `k <= 32`.
    fn getrandbits(&mut self, k: u32) -> u64 {
        if k == 0 {
            return 0;
        }
        (self.0.next_u32() >> (32 - k)) as u64
    }

    /// `_randbelow(n)`: uniform in `0..n` by rejection on `n.bit_length()` bits (`n` < 2^32).
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        let mut r = self.getrandbits(k);
        while r >= n {
            r = self.getrandbits(k);
        }
        r
    }

    /// `randint(a, b)`: uniform in `a..=b`.
    pub fn randint(&mut self, a: i64, b: i64) -> i64 {
        a + self.randbelow((b - a + 1) as u64) as i64
    }

    /// `sample(population, k)`: `k` distinct items in selection order.
    pub fn sample<T: Clone>(&mut self, population: &[T], k: usize) -> Vec<T> {
        let n = population.len();
        assert!(k <= n, "sample larger than population");
        let mut setsize = 21usize;
        if k > 5 {
            let exp = ((k as f64 * 3.0).ln() / 4f64.ln()).ceil() as u32;
            setsize += 4usize.pow(exp);
        }
        let mut result = Vec::with_capacity(k);
        if n <= setsize {
            let mut pool: Vec<T> = population.to_vec();
            for i in 0..k {
                let j = self.randbelow((n - i) as u64) as usize;
                result.push(pool[j].clone());
                pool[j] = pool[n - i - 1].clone();
            }
        } else {
            let mut selected = std::collections::HashSet::with_capacity(k);
            for _ in 0..k {
                let mut j = self.randbelow(n as u64) as usize;
                while selected.contains(&j) {
                    j = self.randbelow(n as u64) as usize;
                }
                selected.insert(j);
                result.push(population[j].clone());
            }
        }
        result
    }
}

/// numpy's legacy `np.random.RandomState` for the operations the splitter and sklearn use.
#[derive(Clone)]
pub struct NpRandomState(Mt19937);

impl NpRandomState {
    /// `RandomState(seed)` for `0 <= seed < 2^32`.
    pub fn new(seed: u32) -> Self {
        NpRandomState(Mt19937::from_u32(seed))
    }

    /// Legacy `random_interval(max)`: uniform in `0..=max` by masked rejection (`max` < 2^32).
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for s in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> s;
        }
        loop {
            let v = (self.0.next_u32() as u64) & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `randint(high)`: uniform in `0..high` (masked rejection, as the legacy generator).
    pub fn randint(&mut self, high: u64) -> u64 {
        self.interval(high - 1)
    }

    /// `permutation(n)`: a shuffled `0..n` (Fisher–Yates from the end, legacy `shuffle`).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }

    /// `shuffle(x)` in place.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.interval(i as u64) as usize;
            v.swap(i, j);
        }
    }

    /// `choice(a, size, replace=False)`: the first `size` items of a permutation of `a`.
    pub fn choice_without_replacement<T: Clone>(&mut self, a: &[T], size: usize) -> Vec<T> {
        self.permutation(a.len())
            .into_iter()
            .take(size)
            .map(|i| a[i].clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3.11.7 and numpy 2.4.6:
    //   import random; random.seed(42); [random.getrandbits(32) for _ in range(3)]
    //   random.seed(42); random.randint(1, 10), random.sample(range(100), 5)
    //   random.seed(2**40 + 5); random.randint(0, 1000)
    //   random.seed(3); random.sample(range(20), 8); random.seed(11); random.sample(range(30), 30)
    //   np.random.RandomState(42).randint(100000, size=3); RandomState(0).permutation(10)
    #[test]
    fn cpython_random_matches() {
        let mut r = PyRandom::seed(42);
        let words: Vec<u64> = (0..3).map(|_| r.getrandbits(32)).collect();
        assert_eq!(words, PY_WORDS_42);
        let mut r = PyRandom::seed(42);
        assert_eq!(r.randint(1, 10), PY_RANDINT_42);
        let pop: Vec<u32> = (0..100).collect();
        assert_eq!(r.sample(&pop, 5), PY_SAMPLE_42);
        let mut r = PyRandom::seed((1i64 << 40) + 5);
        assert_eq!(r.randint(0, 1000), PY_RANDINT_BIG);
        let mut r = PyRandom::seed(7);
        let big: Vec<u32> = (0..1000).collect();
        assert_eq!(r.sample(&big, 6), PY_SAMPLE_SET_7);
        let mut r = PyRandom::seed(3);
        assert_eq!(r.sample(&pop[..20], 8), PY_SAMPLE_POOL_3);
        let mut r = PyRandom::seed(11);
        assert_eq!(r.sample(&pop[..30], 30), PY_SHUFFLE_11);
    }

    #[test]
    fn numpy_legacy_matches() {
        let mut g = NpRandomState::new(42);
        let v: Vec<u64> = (0..3).map(|_| g.randint(100_000)).collect();
        assert_eq!(v, NP_RANDINT_42);
        let mut g = NpRandomState::new(0);
        assert_eq!(g.permutation(10), NP_PERM_0);
    }

    include!("pyrandom_expected.rs");
}
