//! Experiments on the tipdm file: `cargo run --release --example experiment -- key=value…`.
//!
//! heads=KIND/C/VIEW,… with KIND in svm, l1svm, lr, nbsvm, nbsvmb, mlp and VIEW in
//! wc (words+chars, default), w (words only), c (chars only).
mod mlp;

use std::collections::BTreeMap;
use std::time::Instant;

use zhili_nlp::features::{Analyzed, analyze_tokens};
use zhili_nlp::linear::{Csr, nb_ratios, train_ovr};
use zhili_nlp::*;

fn argmax(s: &[f32]) -> usize {
    s.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0
}

fn main() {
    let args: BTreeMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let get = |k: &str, d: &str| args.get(k).cloned().unwrap_or_else(|| d.to_owned());
    let path = get("data", "/work/shared/data/tipdm/train_segmented.tsv");
    let text = std::fs::read_to_string(&path).expect("read data");
    let mut labels: Vec<String> = Vec::new();
    let mut y = Vec::new();
    let mut raw = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            continue;
        }
        let (t, l) = line.rsplit_once('\t').expect("tab");
        let c = match labels.iter().position(|x| x == l) {
            Some(c) => c,
            None => {
                labels.push(l.to_owned());
                labels.len() - 1
            }
        };
        y.push(c);
        raw.push(t.to_owned());
    }
    let t0 = Instant::now();
    let seg = Segmenter::global();
    let resegment = get("reseg", "1") == "1";
    let docs: Vec<Vec<String>> = raw
        .iter()
        .map(|t| {
            if resegment {
                seg.tokens(&normalize(t))
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            } else {
                t.split_whitespace()
                    .filter(|w| {
                        get("latin", "0") == "1" || w.chars().all(zhili_nlp::segment::is_han)
                    })
                    .map(str::to_owned)
                    .collect()
            }
        })
        .collect();
    eprintln!("segmented {} docs in {:?}", docs.len(), t0.elapsed());
    let fc = FeatureConfig {
        word_ngrams: parse_pair(&get("words", "1,2")),
        char_ngrams: parse_pair(&get("chars", "1,3")),
        min_df: get("min_df", "2").parse().unwrap(),
        sublinear_tf: get("sublinear", "1") == "1",
        word_weight: get("ww", "1").parse().unwrap(),
        char_weight: get("cw", "1").parse().unwrap(),
        head_words: get("head", "0").parse().unwrap(),
        head_weight: get("hw", "0.5").parse().unwrap(),
    };
    let view_cfg = |v: &str| match v {
        "wc" => fc.clone(),
        "w" => FeatureConfig {
            char_ngrams: (0, 0),
            ..fc.clone()
        },
        "c" => FeatureConfig {
            word_ngrams: (0, 0),
            head_words: 0,
            ..fc.clone()
        },
        "w1" => FeatureConfig {
            word_ngrams: (1, 1),
            char_ngrams: (0, 0),
            ..fc.clone()
        },
        "c2" => FeatureConfig {
            word_ngrams: (0, 0),
            char_ngrams: (2, 2),
            ..fc.clone()
        },
        "wc12" => FeatureConfig {
            char_ngrams: (1, 2),
            ..fc.clone()
        },
        "wc24" => FeatureConfig {
            char_ngrams: (2, 4),
            ..fc.clone()
        },
        other => panic!("unknown view {other}"),
    };
    let heads: Vec<String> = get("heads", "svm/1")
        .split(',')
        .map(str::to_owned)
        .collect();
    let mut views: Vec<String> = heads
        .iter()
        .map(|h| h.split('/').nth(2).unwrap_or("wc").to_owned())
        .collect();
    views.sort();
    views.dedup();
    let analyzed: BTreeMap<String, Vec<Analyzed>> = views
        .iter()
        .map(|v| {
            let cfg = view_cfg(v);
            let a = docs
                .iter()
                .map(|d| {
                    let toks: Vec<&str> = d.iter().map(String::as_str).collect();
                    let mut a = Analyzed::default();
                    analyze_tokens(&cfg, &toks, &mut a);
                    a
                })
                .collect();
            (v.clone(), a)
        })
        .collect();
    let k: usize = get("k", "5").parse().unwrap();
    let folds = stratified_folds(&y, k, get("seed", "1").parse().unwrap());
    let n_classes = labels.len();
    let threads: usize = get("threads", "1").parse().unwrap();
    // oof[head][doc][class]
    let mut oof = vec![vec![vec![0f32; n_classes]; y.len()]; heads.len()];
    let t1 = Instant::now();
    for test in &folds {
        let mut is_test = vec![false; y.len()];
        for &i in test {
            is_test[i] = true;
        }
        let train: Vec<usize> = (0..y.len()).filter(|&i| !is_test[i]).collect();
        let ytr: Vec<usize> = train.iter().map(|&i| y[i]).collect();
        let mut mats: BTreeMap<String, (Csr, Csr)> = BTreeMap::new();
        for v in &views {
            let an = &analyzed[v];
            let tr_docs: Vec<Analyzed> = train.iter().map(|&i| an[i].clone()).collect();
            let vec = Vectorizer::fit(&view_cfg(v), &tr_docs);
            let mut scratch = Default::default();
            let rows: Vec<SparseVec> = (0..y.len())
                .map(|i| {
                    let mut out = SparseVec::default();
                    vec.transform_analyzed(&an[i], &mut scratch, &mut out);
                    out
                })
                .collect();
            let all = Csr::from_rows(&rows, vec.n_features());
            let xtr = all.select(&train);
            mats.insert(v.clone(), (all, xtr));
        }
        for (h, head) in heads.iter().enumerate() {
            let mut parts = head.split('/');
            let kind = parts.next().unwrap();
            let c: f64 = parts.next().map_or(1.0, |v| v.parse().unwrap());
            let view = parts.next().unwrap_or("wc");
            let (all, xtr) = &mats[view];
            if kind == "mlp" {
                let mc = mlp::MlpConfig {
                    hidden: get("hidden", "64").parse().unwrap(),
                    epochs: get("epochs", "10").parse().unwrap(),
                    lr: c as f32,
                    dropout: get("dropout", "0.5").parse().unwrap(),
                    init: get("init", "0.5").parse().unwrap(),
                    out_lr: get("out_lr", "1").parse().unwrap(),
                    relu: get("relu", "1") == "1",
                    seed: 42,
                };
                let m = mlp::Mlp::train(xtr, &ytr, n_classes, &mc);
                for &i in test {
                    let (ix, vs) = all.row(i);
                    m.scores(ix, vs, &mut oof[h][i]);
                }
                continue;
            }
            let mut sc = SolverConfig {
                c,
                balanced: get("balanced", "1") == "1",
                eps: get("eps", "0.01").parse().unwrap(),
                ..SolverConfig::default()
            };
            let scales;
            let scales_ref = match kind {
                "svm" => None,
                "l1svm" => {
                    sc.loss = Loss::Hinge;
                    None
                }
                "lr" => {
                    sc.loss = Loss::Logistic;
                    sc.eps = 0.1_f64.min(sc.eps * 10.0);
                    None
                }
                "nbsvm" | "nbsvmb" | "nblr" => {
                    let alpha: f64 = parts.next().map_or(1.0, |v| v.parse().unwrap());
                    scales = nb_ratios(xtr, &ytr, n_classes, alpha, kind == "nbsvmb");
                    if kind == "nblr" {
                        sc.loss = Loss::Logistic;
                    }
                    Some(scales.as_slice())
                }
                other => panic!("unknown head {other}"),
            };
            let models = train_ovr(xtr, &ytr, n_classes, &sc, scales_ref, threads);
            for &i in test {
                let (ix, vs) = all.row(i);
                for (c, m) in models.iter().enumerate() {
                    let mut s = m.b;
                    for (&j, &v) in ix.iter().zip(vs) {
                        s += m.w[j as usize] * v;
                    }
                    oof[h][i][c] = s;
                }
            }
        }
    }
    eprintln!("cv in {:?}", t1.elapsed());
    let f1_of = |scores: &[Vec<f32>]| {
        let pred: Vec<usize> = scores.iter().map(|s| argmax(s)).collect();
        Evaluation::new(&labels, &y, &pred)
    };
    for (h, head) in heads.iter().enumerate() {
        let e = f1_of(&oof[h]);
        println!(
            "{head:>16}  acc {:.4}  macro-F1 {:.4}",
            e.accuracy, e.macro_f1
        );
    }
    // standardise each head
    let std_oof: Vec<Vec<Vec<f32>>> = oof
        .iter()
        .map(|o| {
            let all: Vec<f32> = o.iter().flatten().copied().collect();
            let m = all.iter().sum::<f32>() / all.len() as f32;
            let sd = (all.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / all.len() as f32).sqrt();
            o.iter()
                .map(|s| s.iter().map(|v| (v - m) / sd).collect())
                .collect()
        })
        .collect();
    if heads.len() > 1 {
        let mut comb = vec![vec![0f32; n_classes]; y.len()];
        for o in &std_oof {
            for (i, s) in o.iter().enumerate() {
                for c in 0..n_classes {
                    comb[i][c] += s[c];
                }
            }
        }
        let e = f1_of(&comb);
        println!(
            "{:>16}  acc {:.4}  macro-F1 {:.4}",
            "mean", e.accuracy, e.macro_f1
        );
    }
    // optimistic: per-class offsets tuned on the OOF scores of head 0 / the mean
    if get("bias", "0") == "1" {
        let base = if heads.len() > 1 {
            let mut comb = vec![vec![0f32; n_classes]; y.len()];
            for o in &std_oof {
                for (i, s) in o.iter().enumerate() {
                    for c in 0..n_classes {
                        comb[i][c] += s[c] / std_oof.len() as f32;
                    }
                }
            }
            comb
        } else {
            std_oof[0].clone()
        };
        let mut off = vec![0f32; n_classes];
        let score = |off: &[f32]| {
            let sh: Vec<Vec<f32>> = base
                .iter()
                .map(|s| s.iter().zip(off).map(|(a, b)| a + b).collect())
                .collect();
            f1_of(&sh).macro_f1
        };
        let mut best = score(&off);
        for _ in 0..3 {
            for c in 0..n_classes {
                for d in [-0.3f32, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.3] {
                    let mut o = off.clone();
                    o[c] += d;
                    let f = score(&o);
                    if f > best {
                        best = f;
                        off = o;
                    }
                }
            }
        }
        println!(
            "{:>16}  macro-F1 {:.4} offsets {:?}",
            "bias-tuned(opt)", best, off
        );
    }
    if let Some(path) = args.get("errors") {
        use std::fmt::Write as _;
        let mut out = String::new();
        for (i, s) in oof[0].iter().enumerate() {
            let p = argmax(s);
            if p != y[i] {
                let t: String = raw[i].chars().take(200).collect();
                writeln!(out, "{}\t{}\t{}", labels[y[i]], labels[p], t).unwrap();
            }
        }
        std::fs::write(path, out).unwrap();
    }
    if get("report", "0") == "1" {
        println!("{}", f1_of(&oof[0]));
    }
}

fn parse_pair(s: &str) -> (u8, u8) {
    let (a, b) = s.split_once(',').unwrap_or((s, s));
    (a.parse().unwrap(), b.parse().unwrap())
}
