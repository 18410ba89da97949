//! Where the time of classifying long messages goes (tipdm sample).
use std::hint::black_box;
use std::time::Instant;

use zhili_nlp::features::{Analyzed, Scratch, analyze_tokens};
use zhili_nlp::*;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/tipdm/train_segmented.tsv".into());
    let text = std::fs::read_to_string(&path).unwrap();
    let rows: Vec<(&str, &str)> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit_once('\t'))
        .collect();
    let (t, l): (Vec<&str>, Vec<&str>) = rows.iter().copied().unzip();
    let cfg = TrainConfig {
        calibration_folds: 0,
        threads: 2,
        ..TrainConfig::default()
    };
    let m = Classifier::train(&t, &l, &cfg).unwrap();
    let long: Vec<String> = t
        .iter()
        .step_by(16)
        .take(500)
        .map(|s| s.split_whitespace().collect())
        .collect();
    let seg = Segmenter::global();
    let reps = 5;
    let t0 = Instant::now();
    for _ in 0..reps {
        for s in &long {
            black_box(normalize(s));
        }
    }
    let n = (reps * long.len()) as f64;
    println!("normalize {:.1} us", t0.elapsed().as_secs_f64() * 1e6 / n);
    let norms: Vec<String> = long.iter().map(|s| normalize(s)).collect();
    let t0 = Instant::now();
    for _ in 0..reps {
        for s in &norms {
            black_box(seg.tokens(s));
        }
    }
    println!("tokens {:.1} us", t0.elapsed().as_secs_f64() * 1e6 / n);
    let toks: Vec<Vec<&str>> = norms.iter().map(|s| seg.tokens(s)).collect();
    let fc = m.config().features.clone();
    let t0 = Instant::now();
    let mut a = Analyzed::default();
    let mut nk = 0;
    for _ in 0..reps {
        for tk in &toks {
            analyze_tokens(&fc, tk, &mut a);
            nk += a.words.len() + a.chars.len() + a.head.len();
        }
    }
    println!(
        "analyze {:.1} us, {:.0} keys",
        t0.elapsed().as_secs_f64() * 1e6 / n,
        nk as f64 / n
    );
    let an: Vec<Analyzed> = toks
        .iter()
        .map(|tk| {
            let mut a = Analyzed::default();
            analyze_tokens(&fc, tk, &mut a);
            a
        })
        .collect();
    let v = m.vectorizer();
    let mut sc = Scratch::default();
    let mut out = SparseVec::default();
    let t0 = Instant::now();
    let mut nnz = 0;
    for _ in 0..reps {
        for a in &an {
            v.transform_analyzed(a, &mut sc, &mut out);
            nnz += out.nnz();
        }
    }
    println!(
        "transform {:.1} us, {:.0} nnz",
        t0.elapsed().as_secs_f64() * 1e6 / n,
        nnz as f64 / n
    );
    let t0 = Instant::now();
    for _ in 0..reps {
        for s in &long {
            black_box(m.classify(s));
        }
    }
    println!(
        "classify total {:.1} us",
        t0.elapsed().as_secs_f64() * 1e6 / n
    );
}
