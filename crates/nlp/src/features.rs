//! N-gram features and TF-IDF.
//!
//! A document gives two blocks of features, each TF-IDF weighted (sublinear tf
//! `1 + ln tf`, smooth idf `ln((1+N)/(1+df)) + 1`) and L2-normalised on its own:
//! - **words**: jieba word n-grams (unigrams and bigrams by default) over the content
//!   words of [`Segmenter::tokens`](crate::Segmenter::tokens);
//! - **chars**: character n-grams (1–2 by default) over the concatenation of those
//!   content words (so they span the places where stop words and punctuation were);
//! - **head**: the word n-grams of the first 15 content words once more (a message's
//!   title and opening say most about its topic).
//!
//! The blocks are scaled by their weights and the whole vector is L2-normalised.
//! Every n-gram is identified by a 64-bit hash of its kind, length and text; the
//! vocabulary maps the hashes seen in at least `min_df` training documents to columns,
//! so an n-gram never seen in training is simply ignored. Hash collisions between
//! distinct n-grams are vanishingly rare (2^-64 per pair) and harmless.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::segment::{Segmenter, normalize};

/// Which n-grams make the features, and how they are weighted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Word n-gram lengths `word_ngrams.0 ..= word_ngrams.1`; `(0, 0)` for none.
    pub word_ngrams: (u8, u8),
    /// Character n-gram lengths `char_ngrams.0 ..= char_ngrams.1`; `(0, 0)` for none.
    pub char_ngrams: (u8, u8),
    /// Keep only n-grams seen in at least this many training documents.
    pub min_df: u32,
    /// `1 + ln(tf)` instead of raw counts.
    pub sublinear_tf: bool,
    /// Weight of the (unit-norm) word block before the final normalisation.
    pub word_weight: f32,
    /// Weight of the (unit-norm) character block before the final normalisation.
    pub char_weight: f32,
    /// Word n-grams of the first `head_words` content words again, as a third block
    /// (the title and opening of a message say most about its topic); 0 for none.
    pub head_words: u16,
    /// Weight of the (unit-norm) head block before the final normalisation.
    pub head_weight: f32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            word_ngrams: (1, 2),
            char_ngrams: (1, 2),
            min_df: 2,
            sublinear_tf: true,
            word_weight: 1.0,
            char_weight: 1.0,
            head_words: 15,
            head_weight: 0.5,
        }
    }
}

impl FeatureConfig {
    fn word_range(&self) -> std::ops::RangeInclusive<usize> {
        range(self.word_ngrams)
    }
    fn char_range(&self) -> std::ops::RangeInclusive<usize> {
        range(self.char_ngrams)
    }
}

fn range((lo, hi): (u8, u8)) -> std::ops::RangeInclusive<usize> {
    if lo == 0 || hi < lo {
        #[allow(clippy::reversed_empty_ranges)]
        return 1..=0;
    }
    lo as usize..=hi as usize
}

/// A sparse vector: sorted column indices and their values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseVec {
    /// Column indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f32>,
}

impl SparseVec {
    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// The n-gram keys of one document, by block (before vocabulary lookup).
#[derive(Clone, Debug, Default)]
pub struct Analyzed {
    /// Keys of the word n-grams (with repetitions).
    pub words: Vec<u64>,
    /// Keys of the character n-grams (with repetitions).
    pub chars: Vec<u64>,
    /// Keys of the word n-grams of the head (with repetitions).
    pub head: Vec<u64>,
}

/// One n-gram found in a text, with its key and its surface form (for explanations).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedFeature {
    /// The hash key.
    pub key: u64,
    /// `true` for a character n-gram, `false` for a word n-gram.
    pub is_char: bool,
    /// The n-gram lies inside one word (a character n-gram not crossing a word
    /// boundary, or a single word).
    pub within_word: bool,
    /// The text: a word, words joined by a space, or characters.
    pub text: String,
}

// ---------------------------------------------------------------------------------
// hashing

const K: u64 = 0x517c_c1b7_2722_0a95;

#[inline(always)]
fn step(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(K)
}

#[inline(always)]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

#[inline]
fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = step(0x9e37_79b9_7f4a_7c15, b.len() as u64);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        h = step(
            h,
            u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        );
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = step(h, u64::from_le_bytes(buf));
    }
    h
}

#[inline(always)]
fn word_seed(n: usize) -> u64 {
    0x1000 + n as u64
}

#[inline(always)]
fn char_seed(n: usize) -> u64 {
    0x2000 + n as u64
}

#[inline(always)]
fn head_seed(n: usize) -> u64 {
    0x3000 + n as u64
}

#[inline(always)]
fn fold_key(seed: u64, parts: &[u64]) -> u64 {
    let mut h = seed;
    for &x in parts {
        h = step(h, x);
    }
    fmix(h)
}

/// A hasher for keys that are already uniformly mixed 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

pub(crate) type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

// ---------------------------------------------------------------------------------
// analysis

/// Content words of a raw or pre-segmented text (see [`Segmenter::tokens`]).
pub fn content_words(seg: &Segmenter, text: &str) -> Vec<String> {
    let norm = normalize(text);
    seg.tokens(&norm).into_iter().map(str::to_owned).collect()
}

/// Computes the n-gram keys of `text` into `out` (cleared first).
pub fn analyze_into(cfg: &FeatureConfig, seg: &Segmenter, text: &str, out: &mut Analyzed) {
    out.words.clear();
    out.chars.clear();
    let norm = normalize(text);
    let tokens = seg.tokens(&norm);
    analyze_tokens(cfg, &tokens, out);
}

/// Computes the n-gram keys of already-filtered content words.
pub fn analyze_tokens(cfg: &FeatureConfig, tokens: &[&str], out: &mut Analyzed) {
    out.words.clear();
    out.chars.clear();
    out.head.clear();
    let wr = cfg.word_range();
    if !wr.is_empty() {
        let hs: Vec<u64> = tokens.iter().map(|t| hash_bytes(t.as_bytes())).collect();
        let head = &hs[..hs.len().min(usize::from(cfg.head_words))];
        for n in wr {
            for win in hs.windows(n) {
                out.words.push(fold_key(word_seed(n), win));
            }
            for win in head.windows(n) {
                out.head.push(fold_key(head_seed(n), win));
            }
        }
    }
    let cr = cfg.char_range();
    if !cr.is_empty() {
        let cs: Vec<u64> = tokens
            .iter()
            .flat_map(|t| t.chars())
            .map(|c| c as u64)
            .collect();
        for n in cr {
            if n > cs.len() {
                break;
            }
            for win in cs.windows(n) {
                out.chars.push(fold_key(char_seed(n), win));
            }
        }
    }
}

/// All n-grams of `text` with their surface forms, in text order (one entry per
/// distinct key). Used to explain a prediction with words from the input.
pub fn named_features(cfg: &FeatureConfig, seg: &Segmenter, text: &str) -> Vec<NamedFeature> {
    let norm = normalize(text);
    named_features_of_tokens(cfg, &seg.tokens(&norm))
}

/// [`named_features`] of already-filtered content words.
pub fn named_features_of_tokens(cfg: &FeatureConfig, tokens: &[&str]) -> Vec<NamedFeature> {
    let mut seen = KeyMap::<()>::default();
    let mut out = Vec::new();
    let hs: Vec<u64> = tokens.iter().map(|t| hash_bytes(t.as_bytes())).collect();
    for n in cfg.word_range() {
        for (i, win) in hs.windows(n).enumerate() {
            let key = fold_key(word_seed(n), win);
            if seen.insert(key, ()).is_none() {
                out.push(NamedFeature {
                    key,
                    is_char: false,
                    within_word: n == 1,
                    text: tokens[i..i + n].join(" "),
                });
            }
        }
    }
    let head = &hs[..hs.len().min(usize::from(cfg.head_words))];
    for n in cfg.word_range() {
        for (i, win) in head.windows(n).enumerate() {
            let key = fold_key(head_seed(n), win);
            if seen.insert(key, ()).is_none() {
                out.push(NamedFeature {
                    key,
                    is_char: false,
                    within_word: n == 1,
                    text: tokens[i..i + n].join(" "),
                });
            }
        }
    }
    let chars: Vec<char> = tokens.iter().flat_map(|t| t.chars()).collect();
    // The token each character belongs to.
    let owner: Vec<usize> = tokens
        .iter()
        .enumerate()
        .flat_map(|(i, t)| std::iter::repeat_n(i, t.chars().count()))
        .collect();
    for n in cfg.char_range() {
        if n > chars.len() {
            break;
        }
        for (i, win) in chars.windows(n).enumerate() {
            let codes: Vec<u64> = win.iter().map(|&c| c as u64).collect();
            let key = fold_key(char_seed(n), &codes);
            if seen.insert(key, ()).is_none() {
                out.push(NamedFeature {
                    key,
                    is_char: true,
                    within_word: owner[i] == owner[i + n - 1],
                    text: win.iter().collect(),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// vocabulary and TF-IDF

/// The fitted vocabulary: n-gram keys → columns, with their idf.
#[derive(Clone, Debug)]
pub struct Vectorizer {
    pub(crate) config: FeatureConfig,
    /// Key of each column, sorted ascending.
    pub(crate) keys: Vec<u64>,
    pub(crate) idf: Vec<f32>,
    pub(crate) index: KeyMap<u32>,
}

/// Reusable buffers for [`Vectorizer::transform_analyzed`].
#[derive(Debug, Default)]
pub struct Scratch {
    words: Vec<(u32, f32)>,
    chars: Vec<(u32, f32)>,
    head: Vec<(u32, f32)>,
    merged: Vec<(u32, f32)>,
}

impl Vectorizer {
    /// Fits the vocabulary and idf on analysed documents.
    pub fn fit(config: &FeatureConfig, docs: &[Analyzed]) -> Vectorizer {
        let mut df = KeyMap::<u32>::default();
        let mut uniq: Vec<u64> = Vec::new();
        for d in docs {
            uniq.clear();
            uniq.extend_from_slice(&d.words);
            uniq.extend_from_slice(&d.chars);
            uniq.extend_from_slice(&d.head);
            uniq.sort_unstable();
            uniq.dedup();
            for &k in &uniq {
                *df.entry(k).or_insert(0) += 1;
            }
        }
        let mut kept: Vec<(u64, u32)> = df
            .into_iter()
            .filter(|&(_, n)| n >= config.min_df.max(1))
            .collect();
        kept.sort_unstable_by_key(|&(k, _)| k);
        let n_docs = docs.len() as f64;
        let keys: Vec<u64> = kept.iter().map(|&(k, _)| k).collect();
        let idf: Vec<f32> = kept
            .iter()
            .map(|&(_, n)| (((1.0 + n_docs) / (1.0 + f64::from(n))).ln() + 1.0) as f32)
            .collect();
        Vectorizer::from_parts(config.clone(), keys, idf)
    }

    pub(crate) fn from_parts(config: FeatureConfig, keys: Vec<u64>, idf: Vec<f32>) -> Vectorizer {
        let mut index = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
        for (i, &k) in keys.iter().enumerate() {
            index.insert(k, i as u32);
        }
        Vectorizer {
            config,
            keys,
            idf,
            index,
        }
    }

    /// The feature configuration.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Number of columns.
    pub fn n_features(&self) -> usize {
        self.keys.len()
    }

    /// Column of an n-gram key, if it is in the vocabulary.
    pub fn column(&self, key: u64) -> Option<u32> {
        self.index.get(&key).copied()
    }

    /// The TF-IDF vector of a raw or pre-segmented text.
    pub fn transform(&self, seg: &Segmenter, text: &str) -> SparseVec {
        let norm = normalize(text);
        self.transform_tokens(&seg.tokens(&norm))
    }

    /// The TF-IDF vector of already-filtered content words.
    pub fn transform_tokens(&self, tokens: &[&str]) -> SparseVec {
        let mut scratch = Scratch::default();
        let mut out = SparseVec::default();
        let mut a = Analyzed::default();
        analyze_tokens(&self.config, tokens, &mut a);
        self.transform_analyzed(&a, &mut scratch, &mut out);
        out
    }

    /// The TF-IDF vector of analysed keys, into `out` (cleared first).
    pub fn transform_analyzed(&self, a: &Analyzed, scratch: &mut Scratch, out: &mut SparseVec) {
        self.block(&a.words, &mut scratch.words);
        self.block(&a.chars, &mut scratch.chars);
        self.block(&a.head, &mut scratch.head);
        let ww = self.config.word_weight;
        let cw = self.config.char_weight;
        let hw = self.config.head_weight;
        let m = &mut scratch.merged;
        m.clear();
        m.extend(scratch.words.iter().map(|&(i, v)| (i, v * ww)));
        m.extend(scratch.chars.iter().map(|&(i, v)| (i, v * cw)));
        m.extend(scratch.head.iter().map(|&(i, v)| (i, v * hw)));
        m.sort_unstable_by_key(|&(i, _)| i);
        let norm: f32 = m.iter().map(|&(_, v)| v * v).sum::<f32>().sqrt();
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        out.indices.clear();
        out.values.clear();
        for &(i, v) in m.iter() {
            out.indices.push(i);
            out.values.push(v * inv);
        }
    }

    /// One block: counts → tf-idf, L2-normalised, unsorted.
    fn block(&self, keys: &[u64], out: &mut Vec<(u32, f32)>) {
        out.clear();
        for &k in keys {
            if let Some(&col) = self.index.get(&k) {
                out.push((col, 1.0));
            }
        }
        if out.is_empty() {
            return;
        }
        out.sort_unstable_by_key(|&(i, _)| i);
        // Run-length count in place.
        let mut w = 0;
        let mut r = 0;
        while r < out.len() {
            let col = out[r].0;
            let mut n = 0u32;
            while r < out.len() && out[r].0 == col {
                n += 1;
                r += 1;
            }
            let tf = if self.config.sublinear_tf {
                1.0 + (n as f32).ln()
            } else {
                n as f32
            };
            out[w] = (col, tf * self.idf[col as usize]);
            w += 1;
        }
        out.truncate(w);
        let norm: f32 = out.iter().map(|&(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for e in out.iter_mut() {
                e.1 /= norm;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_and_word_keys_differ_for_same_text() {
        let cfg = FeatureConfig {
            word_ngrams: (1, 1),
            char_ngrams: (2, 2),
            ..FeatureConfig::default()
        };
        let mut a = Analyzed::default();
        analyze_tokens(&cfg, &["物业"], &mut a);
        assert_eq!(a.words.len(), 1);
        assert_eq!(a.chars.len(), 1);
        assert_ne!(a.words[0], a.chars[0]);
    }

    #[test]
    fn named_features_match_analyzed_keys() {
        let seg = Segmenter::global();
        let cfg = FeatureConfig::default();
        let text = "小区群租房噪音扰民，物业不管";
        let mut a = Analyzed::default();
        analyze_into(&cfg, seg, text, &mut a);
        let named = named_features(&cfg, seg, text);
        for k in a.words.iter().chain(a.chars.iter()) {
            assert!(named.iter().any(|n| n.key == *k), "key {k} has no name");
        }
    }
}
