//! Honest k-fold CV through the public API (inner calibration per fold):
//! `cargo run --release -p zhili-nlp --example cv -- [FILE] [key=value…]`.
use std::time::Instant;

use zhili_nlp::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .iter()
        .find(|a| !a.contains('='))
        .cloned()
        .unwrap_or_else(|| "../shared/data/tipdm/train_segmented.tsv".to_owned());
    let get = |k: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("{k}=")).map(str::to_owned))
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {path} not found");
        return;
    };
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for line in text.lines().skip(1) {
        if let Some((t, l)) = line.rsplit_once('\t') {
            texts.push(t);
            labels.push(l);
        }
    }
    let mut cfg = TrainConfig::default();
    if let Some(v) = get("c") {
        cfg.solver.c = v.parse().unwrap();
    }
    if let Some(v) = get("offsets") {
        cfg.tune_offsets = v == "1";
    }
    if let Some(v) = get("cal") {
        cfg.calibration_folds = v.parse().unwrap();
    }
    if let Some(v) = get("min_df") {
        cfg.features.min_df = v.parse().unwrap();
    }
    if let Some(v) = get("chars") {
        let (a, b) = v.split_once(',').unwrap();
        cfg.features.char_ngrams = (a.parse().unwrap(), b.parse().unwrap());
    }
    cfg.threads = get("threads").map_or(2, |v| v.parse().unwrap());
    let k: usize = get("k").map_or(5, |v| v.parse().unwrap());
    let t = Instant::now();
    let cv = cross_validate(
        Segmenter::global(),
        &texts,
        &labels,
        &cfg,
        k,
        1,
        &|_, _, _| {},
    )
    .unwrap();
    println!("{}", cv.evaluation);
    println!("folds: {:?}", cv.fold_macro_f1);
    eprintln!("{:?}", t.elapsed());
}
