//! Sparse data and hand-written linear solvers.
//!
//! Dual coordinate descent as in LIBLINEAR (Hsieh et al. 2008; Yu, Huang & Lin 2011):
//! L2-regularised L2-loss (squared hinge) or L1-loss SVM, and L2-regularised logistic
//! regression, one-vs-rest. The bias is an extra constant feature (value `bias`),
//! regularised like the others, as in LIBLINEAR. The order of coordinates comes from
//! a fixed-seed generator, so training is reproducible bit for bit.

use serde::{Deserialize, Serialize};

use crate::features::SparseVec;

/// Rows of sparse vectors in compressed sparse row form.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    pub(crate) indptr: Vec<usize>,
    pub(crate) indices: Vec<u32>,
    pub(crate) values: Vec<f32>,
    pub(crate) n_cols: usize,
}

impl Csr {
    /// Stacks rows; `n_cols` must exceed every index.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a SparseVec>, n_cols: usize) -> Csr {
        let mut m = Csr {
            indptr: vec![0],
            n_cols,
            ..Csr::default()
        };
        for r in rows {
            m.indices.extend_from_slice(&r.indices);
            m.values.extend_from_slice(&r.values);
            m.indptr.push(m.indices.len());
        }
        m
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Row `i` as (indices, values).
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// The rows at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Csr {
        let mut m = Csr {
            indptr: vec![0],
            n_cols: self.n_cols,
            ..Csr::default()
        };
        for &i in rows {
            let (ix, vs) = self.row(i);
            m.indices.extend_from_slice(ix);
            m.values.extend_from_slice(vs);
            m.indptr.push(m.indices.len());
        }
        m
    }
}

/// The loss a linear model minimises (with L2 regularisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loss {
    /// Squared hinge (L2-loss SVM).
    SquaredHinge,
    /// Hinge (L1-loss SVM).
    Hinge,
    /// Logistic regression.
    Logistic,
}

/// Settings of one binary solver run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SolverConfig {
    /// The loss.
    pub loss: Loss,
    /// Cost of errors (inverse regularisation strength).
    pub c: f64,
    /// Scale the cost of each class by `n / (2 n_class)` (balanced classes).
    pub balanced: bool,
    /// Stopping tolerance on the projected gradient.
    pub eps: f64,
    /// Maximum passes over the data.
    pub max_iter: usize,
    /// Value of the constant bias feature (0 for no bias).
    pub bias: f32,
    /// Seed of the coordinate order.
    pub seed: u64,
}

impl Default for SolverConfig {
    fn default() -> Self {
        SolverConfig {
            loss: Loss::SquaredHinge,
            c: 1.0,
            balanced: false,
            eps: 0.01,
            max_iter: 1000,
            bias: 1.0,
            seed: 42,
        }
    }
}

/// A small deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 11) as u128 * n as u128) >> 53) as usize
    }
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A binary linear model over the columns: `score = w·x + b`.
#[derive(Clone, Debug)]
pub struct Binary {
    /// One weight per column.
    pub w: Vec<f32>,
    /// The intercept (bias weight times the bias feature value).
    pub b: f32,
}

#[inline]
fn dot(w: &[f64], ix: &[u32], vs: &[f32], scale: Option<&[f32]>) -> f64 {
    let mut s = 0.0;
    match scale {
        None => {
            for (&j, &v) in ix.iter().zip(vs) {
                s += w[j as usize] * f64::from(v);
            }
        }
        Some(r) => {
            for (&j, &v) in ix.iter().zip(vs) {
                s += w[j as usize] * f64::from(v * r[j as usize]);
            }
        }
    }
    s
}

#[inline]
fn axpy(w: &mut [f64], d: f64, ix: &[u32], vs: &[f32], scale: Option<&[f32]>) {
    match scale {
        None => {
            for (&j, &v) in ix.iter().zip(vs) {
                w[j as usize] += d * f64::from(v);
            }
        }
        Some(r) => {
            for (&j, &v) in ix.iter().zip(vs) {
                w[j as usize] += d * f64::from(v * r[j as usize]);
            }
        }
    }
}

/// Trains one binary model on `x` with labels `y` (true = positive class).
///
/// `scale`, when given, multiplies every column (NB-SVM); the returned weights are
/// already multiplied back, so they apply to the unscaled `x`.
pub fn train_binary(x: &Csr, y: &[bool], cfg: &SolverConfig, scale: Option<&[f32]>) -> Binary {
    train_binary_weighted(x, y, cfg, scale, None)
}

/// [`train_binary`] with one cost multiplier per row (`weights[i] > 0`; `None` = all 1):
/// row `i` costs `C_class × weights[i]`. Only the squared-hinge loss honours weights.
pub fn train_binary_weighted(
    x: &Csr,
    y: &[bool],
    cfg: &SolverConfig,
    scale: Option<&[f32]>,
    weights: Option<&[f32]>,
) -> Binary {
    let l = x.n_rows();
    let wt = |i: usize| weights.map_or(1.0, |w| f64::from(w[i]));
    let n = x.n_cols();
    let n_pos = y.iter().filter(|&&p| p).count().max(1) as f64;
    let n_neg = (l as f64 - n_pos).max(1.0);
    let (c_pos, c_neg) = if cfg.balanced {
        (
            cfg.c * l as f64 / (2.0 * n_pos),
            cfg.c * l as f64 / (2.0 * n_neg),
        )
    } else {
        (cfg.c, cfg.c)
    };
    let bias = f64::from(cfg.bias);
    let mut w = vec![0.0f64; n];
    let mut wb = 0.0f64;
    let xsq: Vec<f64> = (0..l)
        .map(|i| {
            let (ix, vs) = x.row(i);
            let s: f64 = match scale {
                None => vs.iter().map(|&v| f64::from(v) * f64::from(v)).sum(),
                Some(r) => ix
                    .iter()
                    .zip(vs)
                    .map(|(&j, &v)| {
                        let t = f64::from(v * r[j as usize]);
                        t * t
                    })
                    .sum(),
            };
            s + bias * bias
        })
        .collect();
    let mut rng = Rng::new(cfg.seed);
    match cfg.loss {
        Loss::SquaredHinge | Loss::Hinge => {
            let l2 = cfg.loss == Loss::SquaredHinge;
            let diag = |p: bool| {
                if l2 {
                    0.5 / if p { c_pos } else { c_neg }
                } else {
                    0.0
                }
            };
            let upper = |p: bool| {
                if l2 {
                    f64::INFINITY
                } else if p {
                    c_pos
                } else {
                    c_neg
                }
            };
            let mut alpha = vec![0.0f64; l];
            // Per-row diagonal: 0.5 / (C_class × weight) for the squared hinge.
            let dg: Vec<f64> = (0..l)
                .map(|i| {
                    if weights.is_some() && l2 {
                        diag(y[i]) / wt(i)
                    } else {
                        diag(y[i])
                    }
                })
                .collect();
            let qd: Vec<f64> = (0..l).map(|i| xsq[i] + dg[i]).collect();
            let mut index: Vec<usize> = (0..l).collect();
            let mut active = l;
            let mut pg_max_old = f64::INFINITY;
            let mut pg_min_old = f64::NEG_INFINITY;
            let mut iter = 0;
            while iter < cfg.max_iter {
                let mut pg_max_new = f64::NEG_INFINITY;
                let mut pg_min_new = f64::INFINITY;
                rng.shuffle(&mut index[..active]);
                let mut s = 0;
                while s < active {
                    let i = index[s];
                    let yi = if y[i] { 1.0 } else { -1.0 };
                    let (ix, vs) = x.row(i);
                    let g = yi * (dot(&w, ix, vs, scale) + wb * bias) - 1.0 + alpha[i] * dg[i];
                    let ub = upper(y[i]);
                    let mut pg = 0.0;
                    if alpha[i] == 0.0 {
                        if g > pg_max_old {
                            active -= 1;
                            index.swap(s, active);
                            continue;
                        } else if g < 0.0 {
                            pg = g;
                        }
                    } else if alpha[i] == ub {
                        if g < pg_min_old {
                            active -= 1;
                            index.swap(s, active);
                            continue;
                        } else if g > 0.0 {
                            pg = g;
                        }
                    } else {
                        pg = g;
                    }
                    pg_max_new = pg_max_new.max(pg);
                    pg_min_new = pg_min_new.min(pg);
                    if pg.abs() > 1e-12 {
                        let old = alpha[i];
                        alpha[i] = (alpha[i] - g / qd[i]).max(0.0).min(ub);
                        let d = (alpha[i] - old) * yi;
                        axpy(&mut w, d, ix, vs, scale);
                        wb += d * bias;
                    }
                    s += 1;
                }
                iter += 1;
                if pg_max_new - pg_min_new <= cfg.eps {
                    if active == l {
                        break;
                    }
                    active = l;
                    pg_max_old = f64::INFINITY;
                    pg_min_old = f64::NEG_INFINITY;
                    continue;
                }
                pg_max_old = if pg_max_new <= 0.0 {
                    f64::INFINITY
                } else {
                    pg_max_new
                };
                pg_min_old = if pg_min_new >= 0.0 {
                    f64::NEG_INFINITY
                } else {
                    pg_min_new
                };
            }
        }
        Loss::Logistic => {
            let cost = |p: bool| if p { c_pos } else { c_neg };
            let mut alpha = vec![0.0f64; 2 * l];
            for i in 0..l {
                let c = cost(y[i]);
                alpha[2 * i] = (0.001 * c).min(1e-8);
                alpha[2 * i + 1] = c - alpha[2 * i];
                let yi = if y[i] { 1.0 } else { -1.0 };
                let (ix, vs) = x.row(i);
                axpy(&mut w, yi * alpha[2 * i], ix, vs, scale);
                wb += yi * alpha[2 * i] * bias;
            }
            let mut index: Vec<usize> = (0..l).collect();
            let mut inner_eps = 1e-2;
            let inner_eps_min = cfg.eps.min(1e-8);
            let mut iter = 0;
            while iter < cfg.max_iter {
                rng.shuffle(&mut index);
                let mut newton_iter = 0;
                let mut g_max = 0.0f64;
                for &i in &index {
                    let yi = if y[i] { 1.0 } else { -1.0 };
                    let c = cost(y[i]);
                    let (ix, vs) = x.row(i);
                    let a = xsq[i];
                    let b = yi * (dot(&w, ix, vs, scale) + wb * bias);
                    let (mut i1, mut i2, mut sign) = (2 * i, 2 * i + 1, 1.0);
                    if 0.5 * a * (alpha[i2] - alpha[i1]) + b < 0.0 {
                        i1 = 2 * i + 1;
                        i2 = 2 * i;
                        sign = -1.0;
                    }
                    let old = alpha[i1];
                    let mut z = old;
                    if c - z < 0.5 * c {
                        z *= 0.1;
                    }
                    let mut gp = a * (z - old) + sign * b + (z / (c - z)).ln();
                    g_max = g_max.max(gp.abs());
                    let mut inner = 0;
                    while inner <= 100 {
                        if gp.abs() < inner_eps {
                            break;
                        }
                        let gpp = a + c / (c - z) / z;
                        let t = z - gp / gpp;
                        if t <= 0.0 {
                            z *= 0.1;
                        } else {
                            z = t;
                        }
                        gp = a * (z - old) + sign * b + (z / (c - z)).ln();
                        newton_iter += 1;
                        inner += 1;
                    }
                    if inner > 0 {
                        alpha[i1] = z;
                        alpha[i2] = c - z;
                        let d = sign * (z - old) * yi;
                        axpy(&mut w, d, ix, vs, scale);
                        wb += d * bias;
                    }
                }
                iter += 1;
                if g_max < cfg.eps {
                    break;
                }
                if newton_iter <= l / 10 {
                    inner_eps = inner_eps_min.max(0.1 * inner_eps);
                }
            }
        }
    }
    let w: Vec<f32> = match scale {
        None => w.iter().map(|&v| v as f32).collect(),
        Some(r) => w
            .iter()
            .zip(r)
            .map(|(&v, &s)| (v * f64::from(s)) as f32)
            .collect(),
    };
    Binary {
        w,
        b: (wb * bias) as f32,
    }
}

/// NB log-count ratios of each class against the rest (Wang & Manning 2012):
/// `r = ln((α + p)/‖α + p‖₁) − ln((α + q)/‖α + q‖₁)` with `p`, `q` the summed
/// (binarised when `binary`) feature values of the class and of the rest.
pub fn nb_ratios(
    x: &Csr,
    y: &[usize],
    n_classes: usize,
    alpha: f64,
    binary: bool,
) -> Vec<Vec<f32>> {
    let n = x.n_cols();
    let mut per_class = vec![vec![0.0f64; n]; n_classes];
    for (i, &c) in y.iter().enumerate() {
        let (ix, vs) = x.row(i);
        for (&j, &v) in ix.iter().zip(vs) {
            per_class[c][j as usize] += if binary { 1.0 } else { f64::from(v) };
        }
    }
    let mut total = vec![0.0f64; n];
    for p in &per_class {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    per_class
        .iter()
        .map(|p| {
            let p_sum: f64 = p.iter().map(|v| v + alpha).sum();
            let q_sum: f64 = p.iter().zip(&total).map(|(v, t)| t - v + alpha).sum();
            p.iter()
                .zip(&total)
                .map(|(v, t)| (((v + alpha) / p_sum).ln() - ((t - v + alpha) / q_sum).ln()) as f32)
                .collect()
        })
        .collect()
}

/// One-vs-rest models for `n_classes` classes, trained on up to `threads` threads.
/// `scales[c]`, when given, are the NB-SVM column scales of class `c`.
pub fn train_ovr(
    x: &Csr,
    y: &[usize],
    n_classes: usize,
    cfg: &SolverConfig,
    scales: Option<&[Vec<f32>]>,
    threads: usize,
) -> Vec<Binary> {
    train_ovr_weighted(x, y, n_classes, cfg, scales, None, threads)
}

/// [`train_ovr`] with one cost multiplier per row (see [`train_binary_weighted`]).
pub fn train_ovr_weighted(
    x: &Csr,
    y: &[usize],
    n_classes: usize,
    cfg: &SolverConfig,
    scales: Option<&[Vec<f32>]>,
    weights: Option<&[f32]>,
    threads: usize,
) -> Vec<Binary> {
    let threads = threads.clamp(1, n_classes.max(1));
    let job = |c: usize| {
        let yc: Vec<bool> = y.iter().map(|&l| l == c).collect();
        let cfg = SolverConfig {
            seed: cfg.seed.wrapping_add(c as u64),
            ..cfg.clone()
        };
        train_binary_weighted(x, &yc, &cfg, scales.map(|s| s[c].as_slice()), weights)
    };
    if threads == 1 {
        return (0..n_classes).map(job).collect();
    }
    let mut out: Vec<Option<Binary>> = (0..n_classes).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let job = &job;
                s.spawn(move || {
                    (t..n_classes)
                        .step_by(threads)
                        .map(|c| (c, job(c)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (c, m) in h.join().expect("a training thread panicked") {
                out[c] = Some(m);
            }
        }
    });
    out.into_iter()
        .map(|m| m.expect("every class trained"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Csr, Vec<bool>) {
        let rows: Vec<SparseVec> = [
            (vec![0u32, 1], vec![0.8f32, 0.6]),
            (vec![0, 2], vec![0.6, 0.8]),
            (vec![1, 3], vec![0.6, 0.8]),
            (vec![2, 3], vec![0.8, 0.6]),
            (vec![0, 3], vec![0.7, 0.7]),
        ]
        .into_iter()
        .map(|(indices, values)| SparseVec { indices, values })
        .collect();
        (
            Csr::from_rows(&rows, 4),
            vec![true, true, false, false, true],
        )
    }

    #[test]
    fn unit_weights_change_nothing() {
        let (x, y) = toy();
        let cfg = SolverConfig::default();
        let a = train_binary(&x, &y, &cfg, None);
        let b = train_binary_weighted(&x, &y, &cfg, None, Some(&[1.0; 5]));
        assert_eq!(a.w, b.w);
        assert_eq!(a.b, b.b);
    }

    #[test]
    fn doubling_every_weight_is_doubling_c() {
        let (x, y) = toy();
        let tight = SolverConfig {
            eps: 1e-6,
            ..SolverConfig::default()
        };
        let a = train_binary_weighted(&x, &y, &tight, None, Some(&[2.0; 5]));
        let b = train_binary(&x, &y, &SolverConfig { c: 2.0, ..tight }, None);
        for (u, v) in a.w.iter().zip(&b.w) {
            assert!((u - v).abs() < 1e-4, "{u} vs {v}");
        }
        assert!((a.b - b.b).abs() < 1e-4);
    }
}
