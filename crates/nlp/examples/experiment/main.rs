//! Experiments on the tipdm file: `cargo run --release --example experiment -- key=value…`.
//!
//! heads=KIND/C/VIEW,… with KIND in svm, l1svm, lr, nbsvm, nbsvmb, mlp and VIEW in
//! wc (words+chars, default), w (words only), c (chars only).
//!
//! Outside knowledge and extra heads (svm only):
//! - `tree=label_tree.tsv tw=W` the tree's paths (2nd + 3rd level; `tdoc=123` adds the
//!   1st) of the data's classes as extra training documents of cost weight W; `tfit=1`
//!   lets them into the vocabulary; `tfeat=W` a block "text has a word of class k's
//!   2nd/3rd-level names" instead/as well.
//! - `unl=a.xlsx,b.xlsx` (columns `ucols=留言主题,留言详情`) self-training: messages
//!   that are not near-copies of labelled ones, pseudo-labelled when softmax(`temp` ×
//!   score) ≥ `ut`, cost weight `uw`, at most `ucap` × the class's labelled rows per
//!   class, `rounds` times; `ufit=1` lets them into the vocabulary / idf.
//! - `knn=K kb=B kp=P` adds B × Σ over the K most cosine-similar training rows of
//!   sim^P to their class's score.
//! - `ovo=L` re-ranks the top two by L × a pairwise SVM's score + the score gap.
mod extra;
mod mlp;

use std::collections::BTreeMap;
use std::time::Instant;

use zhili_nlp::features::{Analyzed, analyze_tokens};
use zhili_nlp::linear::{Csr, nb_ratios, train_ovr, train_ovr_weighted};
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
    let toks = |t: &str| -> Vec<String> {
        seg.tokens(&normalize(t))
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    // The label tree: extra short documents (tw > 0) and/or a class-word block (tfeat > 0).
    let tree = match args.get("tree") {
        Some(p) => extra::read_tree(p),
        None => Vec::new(),
    };
    let tw: f32 = get("tw", "0").parse().unwrap();
    let tfeat: f32 = get("tfeat", "0").parse().unwrap();
    let tdoc = get("tdoc", "23");
    let mut tree_docs: Vec<Vec<String>> = Vec::new();
    let mut tree_y: Vec<usize> = Vec::new();
    if tw > 0.0 {
        let mut seen = std::collections::HashSet::new();
        for [a, b, c] in &tree {
            let Some(k) = labels.iter().position(|l| l == a) else {
                continue;
            };
            let mut t = String::new();
            if tdoc.contains('1') {
                t.push_str(a);
                t.push('，');
            }
            if tdoc.contains('2') {
                t.push_str(b);
                t.push('，');
            }
            if tdoc.contains('3') && c != "其他" {
                t.push_str(c);
            }
            let d = toks(&t);
            if d.is_empty() || !seen.insert((k, d.clone())) {
                continue;
            }
            tree_docs.push(d);
            tree_y.push(k);
        }
        eprintln!("{} tree documents", tree_docs.len());
    }
    let cwords = if tfeat > 0.0 {
        let cw = extra::class_words(seg, &tree, &labels);
        for (l, w) in labels.iter().zip(&cw) {
            eprintln!("{l}: {} tree words", w.len());
        }
        cw
    } else {
        Vec::new()
    };
    // Unlabelled messages for self-training.
    let mut unl_docs: Vec<Vec<String>> = Vec::new();
    if let Some(ps) = args.get("unl") {
        let cols_s = get("ucols", "留言主题,留言详情");
        let cols: Vec<&str> = cols_s.split(',').collect();
        for p in ps.split(',') {
            for t in extra::read_xlsx(p, &cols) {
                let d = toks(&t);
                if d.len() >= 3 {
                    unl_docs.push(d);
                }
            }
        }
        let n0 = unl_docs.len();
        let mut uniq = std::collections::HashSet::new();
        unl_docs.retain(|d| uniq.insert(d.clone()));
        let n1 = unl_docs.len();
        let dup = extra::near_dups(&docs, &unl_docs, get("dupfrac", "0.5").parse().unwrap());
        let mut it = dup.iter();
        unl_docs.retain(|_| !*it.next().unwrap());
        eprintln!(
            "unlabelled: {n0} read, {n1} distinct, {} after dropping near-copies of labelled ones",
            unl_docs.len()
        );
    }
    let ut: f32 = get("ut", "0.9").parse().unwrap();
    let uw: f32 = get("uw", "0.5").parse().unwrap();
    let temp: f32 = get("temp", "1").parse().unwrap();
    let rounds: usize = get("rounds", "1").parse().unwrap();
    let prior: f32 = get("prior", "0").parse().unwrap();
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
    // analyzed[v] = labelled docs, then tree docs, then unlabelled docs
    let n_lab = docs.len();
    let n_tree = tree_docs.len();
    let all_docs: Vec<&Vec<String>> = docs.iter().chain(&tree_docs).chain(&unl_docs).collect();
    let analyzed: BTreeMap<String, Vec<Analyzed>> = views
        .iter()
        .map(|v| {
            let cfg = view_cfg(v);
            let a = all_docs
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
            let mut tr_docs: Vec<Analyzed> = train.iter().map(|&i| an[i].clone()).collect();
            if get("tfit", "0") == "1" {
                tr_docs.extend(an[n_lab..n_lab + n_tree].iter().cloned());
            }
            if get("ufit", "0") == "1" {
                tr_docs.extend(an[n_lab + n_tree..].iter().cloned());
            }
            let vec = Vectorizer::fit(&view_cfg(v), &tr_docs);
            let mut scratch = Default::default();
            let nf = vec.n_features();
            let rows: Vec<SparseVec> = (0..all_docs.len())
                .map(|i| {
                    let mut out = SparseVec::default();
                    vec.transform_analyzed(&an[i], &mut scratch, &mut out);
                    if tfeat > 0.0 {
                        for (k, set) in cwords.iter().enumerate() {
                            let n = all_docs[i].iter().filter(|w| set.contains(*w)).count();
                            if n > 0 {
                                out.indices.push((nf + k) as u32);
                                out.values
                                    .push(tfeat * (1.0 + n as f32).ln() / 2f32.ln().max(1.0));
                            }
                        }
                    }
                    out
                })
                .collect();
            let all = Csr::from_rows(&rows, nf + cwords.len());
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
            let models = if kind == "svm" && (n_tree > 0 || !unl_docs.is_empty()) {
                // labelled training rows + tree rows (weight tw) + pseudo-labelled rows
                let mut idx: Vec<usize> = train.clone();
                let mut yy = ytr.clone();
                let mut ww = vec![1f32; train.len()];
                for (t, &k) in tree_y.iter().enumerate() {
                    idx.push(n_lab + t);
                    yy.push(k);
                    ww.push(tw);
                }
                let mut m = train_ovr_weighted(
                    &all.select(&idx),
                    &yy,
                    n_classes,
                    &sc,
                    None,
                    Some(&ww),
                    threads,
                );
                for _ in 0..if unl_docs.is_empty() { 0 } else { rounds } {
                    let (mut i2, mut y2, mut w2) = (idx.clone(), yy.clone(), ww.clone());
                    let mut counts = vec![0usize; n_classes];
                    let mut cand: Vec<(f32, usize, usize)> = Vec::new();
                    for u in n_lab + n_tree..all_docs.len() {
                        let (ix, vs) = all.row(u);
                        let mut sc: Vec<f32> = m
                            .iter()
                            .map(|b| {
                                b.b + ix
                                    .iter()
                                    .zip(vs)
                                    .map(|(&j, &v)| b.w[j as usize] * v)
                                    .sum::<f32>()
                            })
                            .collect();
                        let top = argmax(&sc);
                        let mx = sc[top];
                        let z: f32 = sc
                            .iter_mut()
                            .map(|v| {
                                *v = (temp * (*v - mx)).exp();
                                *v
                            })
                            .sum();
                        if sc[top] / z >= ut {
                            cand.push((sc[top] / z, u, top));
                        }
                    }
                    // at most ucap × (the class's labelled training rows) per class, most confident first
                    let ucap: f32 = get("ucap", "1000").parse().unwrap();
                    cand.sort_by(|a, b| b.0.total_cmp(&a.0));
                    let n_k: Vec<usize> = (0..n_classes)
                        .map(|k| ytr.iter().filter(|&&c| c == k).count())
                        .collect();
                    for (_, u, top) in cand {
                        if (counts[top] as f32) < ucap * n_k[top] as f32 {
                            i2.push(u);
                            y2.push(top);
                            w2.push(uw);
                            counts[top] += 1;
                        }
                    }
                    eprintln!("  pseudo-labelled {:?}", counts);
                    m = train_ovr_weighted(
                        &all.select(&i2),
                        &y2,
                        n_classes,
                        &sc,
                        None,
                        Some(&w2),
                        threads,
                    );
                }
                m
            } else {
                train_ovr(xtr, &ytr, n_classes, &sc, scales_ref, threads)
            };
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
            // kNN on cosine similarity (rows are L2-normalised): add beta × Σ_top-k sim^p per class.
            let knn: usize = get("knn", "0").parse().unwrap();
            if knn > 0 && kind == "svm" {
                let beta: f32 = get("kb", "1").parse().unwrap();
                let pw: f32 = get("kp", "1").parse().unwrap();
                let ncols = all.n_cols();
                let mut post: Vec<Vec<(u32, f32)>> = vec![Vec::new(); ncols];
                for (r, &i) in train.iter().enumerate() {
                    let (ix, vs) = all.row(i);
                    for (&j, &v) in ix.iter().zip(vs) {
                        post[j as usize].push((r as u32, v));
                    }
                }
                let chunk: Vec<Vec<(usize, Vec<f32>)>> = std::thread::scope(|sc| {
                    let hs: Vec<_> = (0..threads.max(1))
                        .map(|t| {
                            let post = &post;
                            let train = &train;
                            let y = &y;
                            sc.spawn(move || {
                                let mut acc = vec![0f32; train.len()];
                                test.iter()
                                    .skip(t)
                                    .step_by(threads.max(1))
                                    .map(|&i| {
                                        acc.iter_mut().for_each(|a| *a = 0.0);
                                        let (ix, vs) = all.row(i);
                                        for (&j, &v) in ix.iter().zip(vs) {
                                            for &(r, u) in &post[j as usize] {
                                                acc[r as usize] += v * u;
                                            }
                                        }
                                        let mut best: Vec<(f32, usize)> =
                                            acc.iter().copied().zip(0..).collect();
                                        best.select_nth_unstable_by(knn, |a, b| {
                                            b.0.total_cmp(&a.0)
                                        });
                                        let mut out = vec![0f32; n_classes];
                                        for &(sim, r) in &best[..knn] {
                                            out[y[train[r]]] += sim.max(0.0).powf(pw);
                                        }
                                        (i, out)
                                    })
                                    .collect::<Vec<_>>()
                            })
                        })
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap()).collect()
                });
                for (i, out) in chunk.into_iter().flatten() {
                    for c in 0..n_classes {
                        oof[h][i][c] += beta * out[c];
                    }
                }
            }
            // One-vs-one re-ranking of the top two: pairwise SVMs on the two classes' rows.
            let ovo: f32 = get("ovo", "0").parse().unwrap();
            if ovo > 0.0 && kind == "svm" {
                let mut pair: BTreeMap<(usize, usize), zhili_nlp::linear::Binary> = BTreeMap::new();
                let mut jobs = Vec::new();
                for a in 0..n_classes {
                    for b in a + 1..n_classes {
                        jobs.push((a, b));
                    }
                }
                let pc = SolverConfig {
                    c: get("ovo_c", &c.to_string()).parse().unwrap(),
                    ..sc.clone()
                };
                let results: Vec<((usize, usize), zhili_nlp::linear::Binary)> =
                    std::thread::scope(|s| {
                        let hs: Vec<_> = (0..threads.max(1))
                            .map(|t| {
                                let jobs = &jobs;
                                let train = &train;
                                let pc = &pc;
                                let y = &y;
                                s.spawn(move || {
                                    jobs.iter()
                                        .skip(t)
                                        .step_by(threads.max(1))
                                        .map(|&(a, b)| {
                                            let rows: Vec<usize> = train
                                                .iter()
                                                .copied()
                                                .filter(|&i| y[i] == a || y[i] == b)
                                                .collect();
                                            let yb: Vec<bool> =
                                                rows.iter().map(|&i| y[i] == a).collect();
                                            (
                                                (a, b),
                                                zhili_nlp::linear::train_binary(
                                                    &all.select(&rows),
                                                    &yb,
                                                    pc,
                                                    None,
                                                ),
                                            )
                                        })
                                        .collect::<Vec<_>>()
                                })
                            })
                            .collect();
                        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
                    });
                pair.extend(results);
                for &i in test {
                    let s = &mut oof[h][i];
                    let mut o: Vec<usize> = (0..n_classes).collect();
                    o.sort_by(|x, z| s[*z].total_cmp(&s[*x]));
                    let (p, q) = (o[0], o[1]);
                    let (a, b) = (p.min(q), p.max(q));
                    let m = &pair[&(a, b)];
                    let (ix, vs) = all.row(i);
                    let mut d = m.b;
                    for (&j, &v) in ix.iter().zip(vs) {
                        d += m.w[j as usize] * v;
                    }
                    // d > 0 favours a
                    let d_p = if p == a { d } else { -d };
                    if ovo * d_p + (s[p] - s[q]) < 0.0 {
                        s.swap(p, q);
                    }
                }
            }
        }
    }
    eprintln!("cv in {:?}", t1.elapsed());
    {
        let nll = |t: f32| -> f64 {
            oof[0]
                .iter()
                .zip(&y)
                .map(|(s, &c)| {
                    let mx = s.iter().fold(f32::MIN, |a, &b| a.max(b));
                    let z: f64 = s.iter().map(|&v| f64::from(t * (v - mx)).exp()).sum();
                    z.ln() - f64::from(t * (s[c] - mx))
                })
                .sum()
        };
        let best = (1..200)
            .map(|i| i as f32 * 0.1)
            .min_by(|a, b| nll(*a).total_cmp(&nll(*b)))
            .unwrap();
        eprintln!("OOF temperature {best:.1}");
    }
    let _ = prior;
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
