//! Evaluation: confusion matrix, per-class precision/recall/F1, macro-F1, and
//! stratified k-fold splits.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::linear::Rng;

/// Precision, recall and F1 of one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// The class label.
    pub label: String,
    /// Correct predictions of the class / all predictions of the class.
    pub precision: f64,
    /// Correct predictions of the class / all examples of the class.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of examples of the class.
    pub support: usize,
}

/// Metrics of predictions against gold labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Fraction of examples predicted right.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1.
    pub macro_f1: f64,
    /// Per class, in label order.
    pub classes: Vec<ClassMetrics>,
    /// `confusion[gold][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl Evaluation {
    /// Computes the metrics; `gold` and `predicted` are class indices into `labels`.
    pub fn new(labels: &[String], gold: &[usize], predicted: &[usize]) -> Evaluation {
        assert_eq!(gold.len(), predicted.len(), "one prediction per example");
        let k = labels.len();
        let mut confusion = vec![vec![0usize; k]; k];
        for (&g, &p) in gold.iter().zip(predicted) {
            confusion[g][p] += 1;
        }
        let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
        let classes: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let support: usize = confusion[c].iter().sum();
                let predicted: usize = (0..k).map(|g| confusion[g][c]).sum();
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    label: labels[c].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let present: Vec<&ClassMetrics> = classes.iter().filter(|c| c.support > 0).collect();
        let macro_f1 = if present.is_empty() {
            0.0
        } else {
            present.iter().map(|c| c.f1).sum::<f64>() / present.len() as f64
        };
        Evaluation {
            accuracy: if gold.is_empty() {
                0.0
            } else {
                correct as f64 / gold.len() as f64
            },
            macro_f1,
            classes,
            confusion,
        }
    }
}

impl fmt::Display for Evaluation {
    /// Accuracy, a per-class table and the line `macro-F1: 0.xxxx`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n: usize = self.classes.iter().map(|c| c.support).sum();
        writeln!(f, "examples: {n}")?;
        writeln!(f, "accuracy: {:.4}", self.accuracy)?;
        writeln!(f)?;
        let width = self
            .classes
            .iter()
            .map(|c| display_width(&c.label))
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{}  precision  recall      F1  support",
            pad("class", width)
        )?;
        for c in &self.classes {
            writeln!(
                f,
                "{}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
                pad(&c.label, width),
                c.precision,
                c.recall,
                c.f1,
                c.support
            )?;
        }
        writeln!(f)?;
        write!(f, "macro-F1: {:.4}", self.macro_f1)
    }
}

/// Terminal width of a string: Chinese characters take two columns.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

fn pad(s: &str, width: usize) -> String {
    let mut out = s.to_owned();
    for _ in display_width(s)..width {
        out.push(' ');
    }
    out
}

/// Stratified k-fold: the test indices of each fold. Every class is shuffled with a
/// generator seeded by `seed`, then dealt round-robin to the folds (continuing from
/// where the previous class stopped), so each fold gets its share of every class.
pub fn stratified_folds(labels: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    assert!(k >= 2, "k-fold needs k >= 2");
    let n_classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut rng = Rng::new(seed);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for c in 0..n_classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        rng.shuffle(&mut idx);
        for i in idx {
            folds[next % k].push(i);
            next += 1;
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_predictions_score_one() {
        let labels = vec!["a".to_owned(), "b".to_owned()];
        let e = Evaluation::new(&labels, &[0, 1, 1], &[0, 1, 1]);
        assert_eq!(e.accuracy, 1.0);
        assert_eq!(e.macro_f1, 1.0);
        assert!(e.to_string().ends_with("macro-F1: 1.0000"));
    }

    #[test]
    fn folds_are_stratified_and_cover_everything() {
        let y: Vec<usize> = (0..100).map(|i| usize::from(i % 10 == 0)).collect();
        let folds = stratified_folds(&y, 5, 1);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.len(), 20);
            assert_eq!(f.iter().filter(|&&i| y[i] == 1).count(), 2);
        }
    }
}
