//! Experiment only (it did not beat the SVM, see BENCHMARKS.md): a one-hidden-layer network over the sparse TF-IDF vector ("wide MLP"):
//! `softmax(W2 · relu(W1ᵀx + b1) + b2)`, trained by per-example SGD with a linearly
//! decaying learning rate (as fastText does) and dropout on the hidden layer.

use zhili_nlp::linear::Csr;

/// xorshift64*, as in the library.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (((self.next_u64() >> 11) as u128 * (i + 1) as u128) >> 53) as usize;
            v.swap(i, j);
        }
    }
}

/// Settings of [`Mlp::train`].
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// Hidden units.
    pub hidden: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Initial learning rate (decays linearly to zero).
    pub lr: f32,
    /// Probability of dropping a hidden unit while training.
    pub dropout: f32,
    /// Scale of the initial input weights.
    pub init: f32,
    /// ReLU hidden units (`false`: linear, as fastText).
    pub relu: bool,
    /// Learning rate of the output layer relative to `lr`.
    pub out_lr: f32,
    /// Seed of initialisation, order and dropout.
    pub seed: u64,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden: 64,
            epochs: 10,
            lr: 0.2,
            dropout: 0.5,
            init: 0.5,
            out_lr: 1.0,
            relu: true,
            seed: 42,
        }
    }
}

/// The trained network.
#[derive(Clone, Debug)]
pub struct Mlp {
    pub relu: bool,
    pub hidden: usize,
    pub n_classes: usize,
    /// `n_features × hidden`, row-major.
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    /// `n_classes × hidden`, row-major.
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

impl Mlp {
    /// Trains on `x` with class indices `y`.
    pub fn train(x: &Csr, y: &[usize], n_classes: usize, cfg: &MlpConfig) -> Mlp {
        let h = cfg.hidden;
        let mut rng = Rng::new(cfg.seed);
        let mut uniform =
            |a: f32| ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a;
        let a1 = cfg.init * 3f32.sqrt();
        let w1: Vec<f32> = (0..x.n_cols() * h).map(|_| uniform(a1)).collect();
        let a2 = (6.0 / (h + n_classes) as f32).sqrt();
        let w2: Vec<f32> = (0..n_classes * h).map(|_| uniform(a2)).collect();
        let mut m = Mlp {
            relu: cfg.relu,
            hidden: h,
            n_classes,
            w1,
            b1: vec![0.0; h],
            w2,
            b2: vec![0.0; n_classes],
        };
        let mut rng = Rng::new(cfg.seed ^ 0x5bd1_e995);
        let l = x.n_rows();
        let total = (cfg.epochs * l).max(1) as f32;
        let mut order: Vec<usize> = (0..l).collect();
        let mut pre = vec![0f32; h];
        let mut act = vec![0f32; h];
        let mut dh = vec![0f32; h];
        let mut z = vec![0f32; n_classes];
        let keep = 1.0 - cfg.dropout;
        let mut step = 0usize;
        for _ in 0..cfg.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let lr = cfg.lr * (1.0 - step as f32 / total);
                step += 1;
                let lr2 = lr * cfg.out_lr;
                let (ix, vs) = x.row(i);
                pre.copy_from_slice(&m.b1);
                for (&j, &v) in ix.iter().zip(vs) {
                    let row = &m.w1[j as usize * h..(j as usize + 1) * h];
                    for (p, &w) in pre.iter_mut().zip(row) {
                        *p += v * w;
                    }
                }
                for k in 0..h {
                    let dropped = cfg.dropout > 0.0
                        && (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 >= keep;
                    act[k] = if (pre[k] > 0.0 || !cfg.relu) && !dropped {
                        pre[k] / keep
                    } else {
                        0.0
                    };
                }
                for (c, zc) in z.iter_mut().enumerate() {
                    let row = &m.w2[c * h..(c + 1) * h];
                    *zc = m.b2[c] + row.iter().zip(&act).map(|(w, a)| w * a).sum::<f32>();
                }
                softmax(&mut z);
                z[y[i]] -= 1.0; // dz
                dh.iter_mut().for_each(|d| *d = 0.0);
                for (c, &g) in z.iter().enumerate() {
                    let row = &mut m.w2[c * h..(c + 1) * h];
                    for k in 0..h {
                        dh[k] += g * row[k];
                        row[k] -= lr2 * g * act[k];
                    }
                    m.b2[c] -= lr2 * g;
                }
                for k in 0..h {
                    dh[k] = if act[k] != 0.0 { dh[k] / keep } else { 0.0 };
                    m.b1[k] -= lr * dh[k];
                }
                for (&j, &v) in ix.iter().zip(vs) {
                    let row = &mut m.w1[j as usize * h..(j as usize + 1) * h];
                    let s = lr * v;
                    for (w, &d) in row.iter_mut().zip(&dh) {
                        *w -= s * d;
                    }
                }
            }
        }
        m
    }

    /// Class scores (logits) of one sparse row.
    pub fn scores(&self, ix: &[u32], vs: &[f32], out: &mut [f32]) {
        let h = self.hidden;
        let mut pre = self.b1.clone();
        for (&j, &v) in ix.iter().zip(vs) {
            let row = &self.w1[j as usize * h..(j as usize + 1) * h];
            for (p, &w) in pre.iter_mut().zip(row) {
                *p += v * w;
            }
        }
        if self.relu {
            for p in &mut pre {
                *p = p.max(0.0);
            }
        }
        for (c, o) in out.iter_mut().enumerate().take(self.n_classes) {
            let row = &self.w2[c * h..(c + 1) * h];
            *o = self.b2[c] + row.iter().zip(&pre).map(|(w, a)| w * a).sum::<f32>();
        }
    }
}

/// In-place softmax.
pub fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
}
