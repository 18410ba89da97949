//! The classifier: training, calibrated prediction with an explanation, and
//! cross-validation.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::NlpError;
use crate::features::{
    Analyzed, FeatureConfig, Scratch, SparseVec, Vectorizer, analyze_tokens,
    named_features_of_tokens,
};
use crate::linear::{Csr, SolverConfig, train_ovr};
use crate::metrics::{Evaluation, stratified_folds};
use crate::segment::{Segmenter, normalize};

/// Everything that decides how a model is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The n-gram features.
    pub features: FeatureConfig,
    /// The one-vs-rest linear solver.
    pub solver: SolverConfig,
    /// Folds of the inner cross-validation whose held-out scores fit the confidence
    /// temperature (and the class offsets); below 2, the temperature is fitted on the
    /// training scores themselves (over-confident) and no offsets are tuned.
    pub calibration_folds: usize,
    /// Tune one additive offset per class on the inner held-out scores to maximise
    /// macro-F1.
    pub tune_offsets: bool,
    /// Threads for training the per-class models (results do not depend on it; not
    /// saved in the model file).
    #[serde(skip, default = "one")]
    pub threads: usize,
}

fn one() -> usize {
    1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureConfig::default(),
            solver: SolverConfig {
                balanced: true,
                ..SolverConfig::default()
            },
            calibration_folds: 3,
            tune_offsets: false,
            threads: 1,
        }
    }
}

/// A stage of training, reported to a progress callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Segmenting the training texts (`done` of `total` texts).
    Segmenting,
    /// Training models (`done` of `total` model fits, calibration folds included).
    Fitting,
}

/// Progress callback: `(stage, done, total)`.
pub type ProgressFn<'a> = &'a (dyn Fn(Stage, usize, usize) + Sync);

fn no_progress(_: Stage, _: usize, _: usize) {}

/// One class in a prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// The class label.
    pub label: String,
    /// Calibrated probability (softmax of the scaled scores; all classes sum to 1).
    pub confidence: f32,
    /// The raw linear score.
    pub score: f32,
}

/// A piece of the input that pushed the text towards the winning class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// A word, two words joined by a space, or a run of characters from the input.
    pub text: String,
    /// Its contribution to the winning class's score.
    pub weight: f32,
}

/// The classification of one text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The best classes, most likely first.
    pub top: Vec<ClassScore>,
    /// What weighed most for the first class, strongest first.
    pub evidence: Vec<Evidence>,
    /// How many of the text's n-grams the model knows (0: it had nothing to go on).
    pub known_features: usize,
}

impl Prediction {
    /// The winning label.
    pub fn label(&self) -> &str {
        &self.top[0].label
    }
    /// The winning class's confidence.
    pub fn confidence(&self) -> f32 {
        self.top[0].confidence
    }
}

/// A trained classifier. Cheap to share between threads (`&Classifier` is `Sync`).
#[derive(Clone, Debug)]
pub struct Classifier {
    pub(crate) config: TrainConfig,
    pub(crate) labels: Vec<String>,
    pub(crate) vectorizer: Vectorizer,
    /// Per feature, `[idf, weight of class 0, …, weight of class k−1]`: one place in
    /// memory for everything a feature needs at prediction.
    pub(crate) rows: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    /// Added to the scores before the argmax and the softmax.
    pub(crate) offsets: Vec<f32>,
    pub(crate) temperature: f32,
    pub(crate) n_train: usize,
}

/// Texts prepared for training: label indices and analysed n-grams.
struct Prepared {
    labels: Vec<String>,
    y: Vec<usize>,
    analyzed: Vec<Analyzed>,
}

fn prepare(
    seg: &Segmenter,
    texts: &[&str],
    labels: &[&str],
    features: &FeatureConfig,
    progress: ProgressFn<'_>,
) -> Result<Prepared, NlpError> {
    if texts.len() != labels.len() {
        return Err(NlpError::LengthMismatch {
            texts: texts.len(),
            labels: labels.len(),
        });
    }
    if texts.is_empty() {
        return Err(NlpError::EmptyTrainingSet);
    }
    if let Some(index) = labels.iter().position(|l| l.trim().is_empty()) {
        return Err(NlpError::EmptyLabel { index });
    }
    let mut names: Vec<String> = labels.iter().map(|l| l.trim().to_owned()).collect();
    names.sort();
    names.dedup();
    if names.len() < 2 {
        return Err(NlpError::TooFewClasses(names.len()));
    }
    let y = labels
        .iter()
        .map(|l| names.binary_search(&l.trim().to_owned()).unwrap_or(0))
        .collect();
    let total = texts.len();
    let mut analyzed = Vec::with_capacity(total);
    for (i, t) in texts.iter().enumerate() {
        let norm = normalize(t);
        let tokens = seg.tokens(&norm);
        let mut a = Analyzed::default();
        analyze_tokens(features, &tokens, &mut a);
        analyzed.push(a);
        if i % 256 == 255 || i + 1 == total {
            progress(Stage::Segmenting, i + 1, total);
        }
    }
    Ok(Prepared {
        labels: names,
        y,
        analyzed,
    })
}

/// The linear part of a model: vocabulary, weights and bias.
struct Core {
    vectorizer: Vectorizer,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Core {
    fn fit(p: &Prepared, idx: &[usize], cfg: &TrainConfig) -> Core {
        let docs: Vec<Analyzed> = idx.iter().map(|&i| p.analyzed[i].clone()).collect();
        let vectorizer = Vectorizer::fit(&cfg.features, &docs);
        let mut scratch = Scratch::default();
        let rows: Vec<SparseVec> = docs
            .iter()
            .map(|a| {
                let mut v = SparseVec::default();
                vectorizer.transform_analyzed(a, &mut scratch, &mut v);
                v
            })
            .collect();
        let x = Csr::from_rows(&rows, vectorizer.n_features());
        let y: Vec<usize> = idx.iter().map(|&i| p.y[i]).collect();
        let k = p.labels.len();
        let models = train_ovr(&x, &y, k, &cfg.solver, None, cfg.threads);
        let n = vectorizer.n_features();
        let mut weights = vec![0f32; n * k];
        for (c, m) in models.iter().enumerate() {
            for (j, &w) in m.w.iter().enumerate() {
                weights[j * k + c] = w;
            }
        }
        Core {
            vectorizer,
            weights,
            bias: models.iter().map(|m| m.b).collect(),
        }
    }

    fn scores(&self, a: &Analyzed, scratch: &mut Scratch, v: &mut SparseVec, out: &mut [f32]) {
        self.vectorizer.transform_analyzed(a, scratch, v);
        linear_scores(&self.weights, &self.bias, v, out);
    }
}

#[inline]
fn linear_scores(weights: &[f32], bias: &[f32], v: &SparseVec, out: &mut [f32]) {
    let k = bias.len();
    out[..k].copy_from_slice(bias);
    for (&j, &x) in v.indices.iter().zip(&v.values) {
        let row = &weights[j as usize * k..(j as usize + 1) * k];
        for (o, &w) in out.iter_mut().zip(row) {
            *o += x * w;
        }
    }
}

/// In-place softmax of `t · z`.
fn softmax_t(z: &mut [f32], t: f32) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = ((*v - m) * t).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
}

fn argmax(s: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in s.iter().enumerate() {
        if v > s[best] {
            best = i;
        }
    }
    best
}

/// Mean negative log-likelihood of the gold classes under `softmax(t · s)`.
fn nll(scores: &[Vec<f32>], y: &[usize], t: f32) -> f64 {
    let mut total = 0.0;
    let mut z = Vec::new();
    for (s, &g) in scores.iter().zip(y) {
        z.clear();
        z.extend_from_slice(s);
        softmax_t(&mut z, t);
        total -= f64::from(z[g].max(1e-12)).ln();
    }
    total / scores.len().max(1) as f64
}

/// The temperature that minimises the NLL (golden-section search on ln t).
fn fit_temperature(scores: &[Vec<f32>], y: &[usize]) -> f32 {
    let (mut a, mut b) = (-3.0f64, 5.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let f = |lt: f64| nll(scores, y, lt.exp() as f32);
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..40 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    ((a + b) / 2.0).exp() as f32
}

/// Per-class offsets that maximise macro-F1 of `argmax(s + offsets)`, by coordinate
/// search over a fixed grid.
fn fit_offsets(scores: &[Vec<f32>], y: &[usize], labels: &[String]) -> Vec<f32> {
    let k = labels.len();
    let eval = |off: &[f32]| {
        let pred: Vec<usize> = scores
            .iter()
            .map(|s| {
                let shifted: Vec<f32> = s.iter().zip(off).map(|(a, b)| a + b).collect();
                argmax(&shifted)
            })
            .collect();
        Evaluation::new(labels, y, &pred).macro_f1
    };
    let mut off = vec![0f32; k];
    let mut best = eval(&off);
    for _ in 0..3 {
        let mut improved = false;
        for c in 0..k {
            for d in [-0.2f32, -0.1, -0.05, -0.02, 0.02, 0.05, 0.1, 0.2] {
                let mut o = off.clone();
                o[c] += d;
                let f = eval(&o);
                if f > best + 1e-9 {
                    best = f;
                    off = o;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    off
}

/// Result of [`cross_validate`].
#[derive(Clone, Debug)]
pub struct CrossValidation {
    /// Metrics over all held-out predictions together.
    pub evaluation: Evaluation,
    /// Macro-F1 of each fold.
    pub fold_macro_f1: Vec<f64>,
    /// The held-out prediction (class index into `evaluation.classes`) of every text.
    pub predictions: Vec<usize>,
}

fn train_prepared(
    p: &Prepared,
    idx: &[usize],
    cfg: &TrainConfig,
    progress: ProgressFn<'_>,
    done: &mut usize,
    total: usize,
) -> Classifier {
    let k = p.labels.len();
    let y: Vec<usize> = idx.iter().map(|&i| p.y[i]).collect();
    let mut temperature = 1.0f32;
    let mut offsets = vec![0f32; k];
    let inner_ok = cfg.calibration_folds >= 2 && {
        let mut counts = vec![0usize; k];
        for &c in &y {
            counts[c] += 1;
        }
        counts.iter().all(|&n| n >= cfg.calibration_folds)
    };
    if inner_ok {
        let folds = stratified_folds(&y, cfg.calibration_folds, cfg.solver.seed ^ 0xca1b);
        let mut oof = vec![vec![0f32; k]; idx.len()];
        let mut scratch = Scratch::default();
        let mut v = SparseVec::default();
        for test in &folds {
            let mut is_test = vec![false; idx.len()];
            for &t in test {
                is_test[t] = true;
            }
            let train: Vec<usize> = (0..idx.len())
                .filter(|&t| !is_test[t])
                .map(|t| idx[t])
                .collect();
            let core = Core::fit(p, &train, cfg);
            for &t in test {
                core.scores(&p.analyzed[idx[t]], &mut scratch, &mut v, &mut oof[t]);
            }
            *done += 1;
            progress(Stage::Fitting, *done, total);
        }
        if cfg.tune_offsets {
            offsets = fit_offsets(&oof, &y, &p.labels);
            for s in &mut oof {
                for (a, b) in s.iter_mut().zip(&offsets) {
                    *a += b;
                }
            }
        }
        temperature = fit_temperature(&oof, &y);
    }
    let core = Core::fit(p, idx, cfg);
    *done += 1;
    progress(Stage::Fitting, *done, total);
    if !inner_ok {
        let mut scratch = Scratch::default();
        let mut v = SparseVec::default();
        let scores: Vec<Vec<f32>> = idx
            .iter()
            .map(|&i| {
                let mut s = vec![0f32; k];
                core.scores(&p.analyzed[i], &mut scratch, &mut v, &mut s);
                s
            })
            .collect();
        temperature = fit_temperature(&scores, &y);
    }
    Classifier::assemble(
        cfg.clone(),
        p.labels.clone(),
        core.vectorizer,
        &core.weights,
        core.bias,
        offsets,
        temperature,
        idx.len(),
    )
}

thread_local! {
    static FAST: std::cell::RefCell<FastScratch> = std::cell::RefCell::new(FastScratch::default());
}

#[derive(Default)]
struct FastScratch {
    analyzed: Analyzed,
    keys: Vec<u64>,
    entries: Vec<(u32, f32)>,
}

fn fits_per_model(cfg: &TrainConfig) -> usize {
    if cfg.calibration_folds >= 2 {
        cfg.calibration_folds + 1
    } else {
        1
    }
}

impl Classifier {
    /// Trains on raw or pre-segmented texts and their labels, with the shared
    /// [`Segmenter::global`].
    pub fn train(
        texts: &[&str],
        labels: &[&str],
        cfg: &TrainConfig,
    ) -> Result<Classifier, NlpError> {
        Self::train_with(Segmenter::global(), texts, labels, cfg, &no_progress)
    }

    /// [`Classifier::train`] with a given segmenter and a progress callback.
    pub fn train_with(
        seg: &Segmenter,
        texts: &[&str],
        labels: &[&str],
        cfg: &TrainConfig,
        progress: ProgressFn<'_>,
    ) -> Result<Classifier, NlpError> {
        let p = prepare(seg, texts, labels, &cfg.features, progress)?;
        let idx: Vec<usize> = (0..p.y.len()).collect();
        let mut done = 0;
        Ok(train_prepared(
            &p,
            &idx,
            cfg,
            progress,
            &mut done,
            fits_per_model(cfg),
        ))
    }

    /// The class labels, in the model's order (sorted).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The configuration the model was trained with.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The fitted vocabulary and idf.
    pub fn vectorizer(&self) -> &Vectorizer {
        &self.vectorizer
    }

    /// Number of n-gram features (columns) the model knows.
    pub fn n_features(&self) -> usize {
        self.vectorizer.n_features()
    }

    /// Number of training examples.
    pub fn n_train(&self) -> usize {
        self.n_train
    }

    /// The softmax temperature applied to the scores.
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        config: TrainConfig,
        labels: Vec<String>,
        vectorizer: Vectorizer,
        weights: &[f32],
        bias: Vec<f32>,
        offsets: Vec<f32>,
        temperature: f32,
        n_train: usize,
    ) -> Classifier {
        let k = labels.len();
        let mut rows = Vec::with_capacity(vectorizer.n_features() * (k + 1));
        for (j, &idf) in vectorizer.idf.iter().enumerate() {
            rows.push(idf);
            rows.extend_from_slice(&weights[j * k..(j + 1) * k]);
        }
        Classifier {
            config,
            labels,
            vectorizer,
            rows,
            bias,
            offsets,
            temperature,
            n_train,
        }
    }

    /// The weight of column `col` for class `class`.
    #[inline]
    pub(crate) fn weight(&self, col: u32, class: usize) -> f32 {
        self.rows[col as usize * (self.labels.len() + 1) + 1 + class]
    }

    /// Scores (offsets included) of analysed n-grams, into `out`; returns how many
    /// distinct known features the text had. Same arithmetic as
    /// [`Vectorizer::transform_analyzed`] followed by the dot products, but without
    /// building the sparse vector: each block's distinct keys are looked up once and
    /// the idf and class weights are read from one row.
    fn scores_analyzed(
        &self,
        a: &Analyzed,
        keys: &mut Vec<u64>,
        entries: &mut Vec<(u32, f32)>,
        out: &mut [f32],
    ) -> usize {
        let k = self.labels.len();
        let stride = k + 1;
        let cfg = &self.vectorizer.config;
        let mut spans = [(0usize, 0usize, 0f32, 0f32); 3];
        entries.clear();
        for (b, (block, weight)) in [
            (&a.words, cfg.word_weight),
            (&a.chars, cfg.char_weight),
            (&a.head, cfg.head_weight),
        ]
        .into_iter()
        .enumerate()
        {
            keys.clear();
            keys.extend_from_slice(block);
            keys.sort_unstable();
            let start = entries.len();
            let mut sq = 0f32;
            let mut r = 0;
            while r < keys.len() {
                let key = keys[r];
                let mut n = 0u32;
                while r < keys.len() && keys[r] == key {
                    n += 1;
                    r += 1;
                }
                if let Some(col) = self.vectorizer.column(key) {
                    let tf = if cfg.sublinear_tf {
                        1.0 + (n as f32).ln()
                    } else {
                        n as f32
                    };
                    let x = tf * self.rows[col as usize * stride];
                    sq += x * x;
                    entries.push((col, x));
                }
            }
            spans[b] = (start, entries.len(), sq.sqrt(), weight);
        }
        let total: f32 = spans
            .iter()
            .filter(|s| s.1 > s.0 && s.2 > 0.0)
            .map(|s| s.3 * s.3)
            .sum::<f32>()
            .sqrt();
        out[..k].copy_from_slice(&self.bias);
        if total > 0.0 {
            for &(start, end, norm, weight) in &spans {
                if end == start || norm <= 0.0 {
                    continue;
                }
                let scale = weight / norm / total;
                for &(col, x) in &entries[start..end] {
                    let v = x * scale;
                    let row = &self.rows[col as usize * stride + 1..(col as usize + 1) * stride];
                    for (o, &w) in out.iter_mut().zip(row) {
                        *o += v * w;
                    }
                }
            }
        }
        for (x, o) in out.iter_mut().zip(&self.offsets) {
            *x += o;
        }
        entries.len()
    }

    /// Scores (offsets included) of every class for a text, in label order, and the
    /// number of distinct known features.
    fn raw_scores(&self, seg: &Segmenter, text: &str) -> (Vec<f32>, usize) {
        let norm = normalize(text);
        self.token_scores(&seg.tokens(&norm))
    }

    /// [`Classifier::raw_scores`] of already-filtered content words.
    fn token_scores(&self, tokens: &[&str]) -> (Vec<f32>, usize) {
        let mut s = vec![0f32; self.labels.len()];
        let known = FAST.with(|f| {
            let mut f = f.borrow_mut();
            let FastScratch {
                analyzed,
                keys,
                entries,
            } = &mut *f;
            analyze_tokens(&self.vectorizer.config, tokens, analyzed);
            self.scores_analyzed(analyzed, keys, entries, &mut s)
        });
        (s, known)
    }

    /// Calibrated probabilities of every class, in label order.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let (mut s, _) = self.raw_scores(Segmenter::global(), text);
        softmax_t(&mut s, self.temperature);
        s
    }

    /// The most likely class of a text (index into [`Classifier::labels`]), without
    /// the explanation: the fast path.
    pub fn classify(&self, text: &str) -> usize {
        argmax(&self.raw_scores(Segmenter::global(), text).0)
    }

    /// The three best classes and the five strongest pieces of evidence.
    pub fn predict(&self, text: &str) -> Prediction {
        self.predict_with(Segmenter::global(), text, 3, 5)
    }

    /// The `top_k` best classes and the `n_evidence` strongest pieces of evidence.
    pub fn predict_with(
        &self,
        seg: &Segmenter,
        text: &str,
        top_k: usize,
        n_evidence: usize,
    ) -> Prediction {
        let norm = normalize(text);
        let tokens = seg.tokens(&norm);
        let (scores, known) = self.token_scores(&tokens);
        let mut probs = scores.clone();
        softmax_t(&mut probs, self.temperature);
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let top: Vec<ClassScore> = order
            .iter()
            .take(top_k.max(1))
            .map(|&c| ClassScore {
                label: self.labels[c].clone(),
                confidence: probs[c],
                score: scores[c],
            })
            .collect();
        let evidence = if n_evidence > 0 && known > 0 {
            self.evidence(&tokens, order[0], n_evidence)
        } else {
            Vec::new()
        };
        Prediction {
            top,
            evidence,
            known_features: known,
        }
    }

    /// The n-grams of `text` that add most to class `class`'s score, merged by their
    /// surface text (a word and the same characters as a character n-gram count
    /// together).
    fn evidence(&self, tokens: &[&str], class: usize, n: usize) -> Vec<Evidence> {
        let v = self.vectorizer.transform_tokens(tokens);
        let mut by_text: HashMap<String, f32> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for f in named_features_of_tokens(&self.vectorizer.config, tokens) {
            // Single characters say little, and character n-grams across a word
            // boundary ("路公" of 15路公交车) read as nonsense: neither is shown (both
            // still count in the score).
            if f.text.chars().count() < 2 || (f.is_char && !f.within_word) {
                continue;
            }
            let Some(col) = self.vectorizer.column(f.key) else {
                continue;
            };
            let Ok(pos) = v.indices.binary_search(&col) else {
                continue;
            };
            let contribution = v.values[pos] * self.weight(col, class);
            match by_text.get_mut(&f.text) {
                Some(w) => *w += contribution,
                None => {
                    by_text.insert(f.text.clone(), contribution);
                    order.push(f.text);
                }
            }
        }
        let mut ev: Vec<Evidence> = order
            .into_iter()
            .filter_map(|t| {
                let w = by_text[&t];
                (w > 0.0).then_some(Evidence { text: t, weight: w })
            })
            .collect();
        // Stable sort: ties keep text order.
        ev.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        ev.truncate(n);
        ev
    }
}

/// Stratified k-fold cross-validation: trains a model (with its own calibration) on
/// each k−1 folds and predicts the held-out fold. Texts are segmented once.
pub fn cross_validate(
    seg: &Segmenter,
    texts: &[&str],
    labels: &[&str],
    cfg: &TrainConfig,
    k: usize,
    seed: u64,
    progress: ProgressFn<'_>,
) -> Result<CrossValidation, NlpError> {
    let p = prepare(seg, texts, labels, &cfg.features, progress)?;
    let n_classes = p.labels.len();
    let mut counts = vec![0usize; n_classes];
    for &c in &p.y {
        counts[c] += 1;
    }
    let k = k.max(2);
    if let Some((c, &n)) = counts.iter().enumerate().find(|&(_, &n)| n < k) {
        return Err(NlpError::TooFewForFolds {
            k,
            label: p.labels[c].clone(),
            n,
        });
    }
    let folds = stratified_folds(&p.y, k, seed);
    let mut predictions = vec![0usize; p.y.len()];
    let mut fold_macro_f1 = Vec::with_capacity(k);
    let total = k * fits_per_model(cfg);
    let mut done = 0;
    for test in &folds {
        let mut is_test = vec![false; p.y.len()];
        for &i in test {
            is_test[i] = true;
        }
        let train: Vec<usize> = (0..p.y.len()).filter(|&i| !is_test[i]).collect();
        let model = train_prepared(&p, &train, cfg, progress, &mut done, total);
        let mut s = vec![0f32; n_classes];
        let mut gold = Vec::with_capacity(test.len());
        let mut pred = Vec::with_capacity(test.len());
        let (mut keys, mut entries) = (Vec::new(), Vec::new());
        for &i in test {
            model.scores_analyzed(&p.analyzed[i], &mut keys, &mut entries, &mut s);
            predictions[i] = argmax(&s);
            gold.push(p.y[i]);
            pred.push(predictions[i]);
        }
        fold_macro_f1.push(Evaluation::new(&p.labels, &gold, &pred).macro_f1);
    }
    Ok(CrossValidation {
        evaluation: Evaluation::new(&p.labels, &p.y, &predictions),
        fold_macro_f1,
        predictions,
    })
}
