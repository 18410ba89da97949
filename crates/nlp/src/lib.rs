//! Chinese event-text classification: jieba segmentation, n-gram features, a linear
//! model trained and evaluated here. No IO but model files.
//!
//! ```no_run
//! use zhili_nlp::{Classifier, TrainConfig};
//! let texts = ["小区群租房住了二十多人", "公司拖欠工资三个月"];
//! let labels = ["城乡建设", "劳动和社会保障"];
//! let model = Classifier::train(&texts, &labels, &TrainConfig::default()).unwrap();
//! let p = model.predict("楼上群租房噪音扰民");
//! println!("{} {:.2} {:?}", p.label(), p.confidence(), p.evidence);
//! ```

pub mod error;
pub mod features;
pub mod format;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod segment;

pub use error::NlpError;
pub use features::{FeatureConfig, SparseVec, Vectorizer};
pub use format::FORMAT_VERSION;
pub use linear::{Loss, SolverConfig};
pub use metrics::{ClassMetrics, Evaluation, stratified_folds};
pub use model::{
    ClassScore, Classifier, CrossValidation, Evidence, Prediction, ProgressFn, Stage, TrainConfig,
    cross_validate,
};
pub use segment::{GOVERNANCE_WORDS, Segmenter, normalize};
