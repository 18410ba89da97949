//! Errors of training, prediction and model files.

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum NlpError {
    /// No training examples.
    #[error("训练数据为空 (no training examples)")]
    EmptyTrainingSet,
    /// Texts and labels differ in number.
    #[error("文本数 {texts} 与标签数 {labels} 不一致")]
    LengthMismatch {
        /// Number of texts.
        texts: usize,
        /// Number of labels.
        labels: usize,
    },
    /// Fewer than two distinct labels.
    #[error("至少需要两个类别，实际只有 {0} 个")]
    TooFewClasses(usize),
    /// An empty (or whitespace-only) label; `index` counts examples from 0.
    #[error("第 {} 个样本的标签为空", .index + 1)]
    EmptyLabel {
        /// Index of the example (0-based).
        index: usize,
    },
    /// Cross-validation asked for more folds than a class has examples.
    #[error("{k} 折交叉验证需要每个类别至少 {k} 个样本，类别“{label}”只有 {n} 个")]
    TooFewForFolds {
        /// Requested folds.
        k: usize,
        /// The smallest class.
        label: String,
        /// Its size.
        n: usize,
    },
    /// Reading or writing a model file failed.
    #[error("模型文件读写失败: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a usable model file.
    #[error("模型文件无效: {0}")]
    ModelFormat(String),
}
