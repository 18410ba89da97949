//! Outside knowledge for the experiments: the government's label tree and unlabelled
//! messages of the same forum (xlsx).
use std::collections::{HashMap, HashSet};

use zhili_nlp::{Segmenter, normalize};

/// Rows (一级, 二级, 三级) of `label_tree.tsv`, header skipped.
pub fn read_tree(path: &str) -> Vec<[String; 3]> {
    let text = std::fs::read_to_string(path).expect("read tree");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut p = l.split('\t').map(|s| s.trim().to_owned());
            Some([p.next()?, p.next()?, p.next()?])
        })
        .collect()
}

/// The texts of an xlsx file's first sheet: the named columns joined by "，".
pub fn read_xlsx(path: &str, cols: &[&str]) -> Vec<String> {
    use calamine::{Data, Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path).expect("open xlsx");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("sheet");
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string().trim().to_owned())
        .collect();
    eprintln!("{path}: columns {header:?}");
    let ix: Vec<usize> = cols
        .iter()
        .filter_map(|c| header.iter().position(|h| h == c))
        .collect();
    assert!(!ix.is_empty(), "none of {cols:?} in {header:?}");
    rows.map(|r| {
        ix.iter()
            .filter_map(|&i| match r.get(i) {
                Some(Data::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("，")
    })
    .filter(|s| !s.trim().is_empty())
    .collect()
}

/// Per class of `labels`: the tree's 2nd/3rd-level words distinctive of that class
/// (found under no other first-level class of the tree).
pub fn class_words(
    seg: &Segmenter,
    tree: &[[String; 3]],
    labels: &[String],
) -> Vec<HashSet<String>> {
    let mut owners: HashMap<String, HashSet<String>> = HashMap::new();
    for [a, b, c] in tree {
        for name in [b, c] {
            if name == "其他" {
                continue;
            }
            for t in seg.tokens(&normalize(name)) {
                owners.entry(t.to_owned()).or_default().insert(a.clone());
            }
        }
    }
    labels
        .iter()
        .map(|l| {
            owners
                .iter()
                .filter(|(_, o)| o.len() == 1 && o.contains(l))
                .map(|(w, _)| w.clone())
                .collect()
        })
        .collect()
}

fn bigrams(d: &[String]) -> HashSet<u64> {
    use std::hash::{Hash, Hasher};
    d.windows(2)
        .map(|w| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            w.hash(&mut h);
            h.finish()
        })
        .collect()
}

/// Whether each of `cand` near-duplicates one of `base`: ≥ `frac` of the smaller
/// document's word bigrams shared (bigrams in > 200 base documents ignored for the search).
pub fn near_dups(base: &[Vec<String>], cand: &[Vec<String>], frac: f64) -> Vec<bool> {
    let bs: Vec<HashSet<u64>> = base.iter().map(|d| bigrams(d)).collect();
    let mut post: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, s) in bs.iter().enumerate() {
        for &g in s {
            post.entry(g).or_default().push(i as u32);
        }
    }
    cand.iter()
        .map(|d| {
            let s = bigrams(d);
            if s.is_empty() {
                return false;
            }
            let mut counts: HashMap<u32, usize> = HashMap::new();
            for g in &s {
                if let Some(p) = post.get(g)
                    && p.len() <= 200
                {
                    for &i in p {
                        *counts.entry(i).or_default() += 1;
                    }
                }
            }
            counts.iter().any(|(&i, &n)| {
                let m = s.len().min(bs[i as usize].len()).max(1);
                n as f64 / m as f64 >= frac
            })
        })
        .collect()
}
