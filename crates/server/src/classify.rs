//! The classification arrow of the intake: the trained model (when one is loaded),
//! the admins' keyword rules and the label→category map, combined by
//! `zhili_domain::classification::decide`. Rules and the map are a cache of the
//! database: reloaded at start, at once after a change on this instance, and at most
//! `REFRESH` later on every other instance (a background reload started by the next
//! event), so several instances agree within seconds without any shared memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use zhili_domain::classification::{Decision, KeywordRule, ModelOpinion, decide};
use zhili_storage::{Store, StoreError};

/// How stale the rules may get on an instance that did not make the change.
const REFRESH: Duration = Duration::from_secs(15);

/// Where a model label leads.
#[derive(Debug, Clone, PartialEq)]
enum LabelTarget {
    Category(String),
    Police,
    Ignored,
}

#[derive(Default)]
struct Cached {
    rules: Vec<KeywordRule>,
    /// Explicit mappings first, then every leaf category by code and by name.
    labels: HashMap<String, LabelTarget>,
    loaded_at: Option<Instant>,
}

/// A loaded model with the name shown in health output and stored with each
/// classification.
pub struct LoadedModel {
    pub model: zhili_nlp::Classifier,
    pub name: String,
}

impl LoadedModel {
    /// Reads a model file; a missing or corrupt file is an error that says which.
    pub fn from_file(path: &Path) -> Result<LoadedModel, String> {
        let model = zhili_nlp::Classifier::load_file(path)
            .map_err(|e| format!("无法加载分类模型 {}: {e}", path.display()))?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(LoadedModel {
            name: format!(
                "{file} ({} 类, {} 特征)",
                model.labels().len(),
                model.n_features()
            ),
            model,
        })
    }
}

/// What `/healthz` says about classification.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifierStatus {
    /// `model` or `rules` (rules alone).
    pub mode: &'static str,
    pub model: Option<String>,
    pub rules: usize,
    /// Why there is no model, when one was configured but could not be loaded.
    pub problem: Option<String>,
}

pub struct Classifier {
    model: Option<LoadedModel>,
    /// Set when a configured model could not be loaded and the server was told to
    /// run on rules alone.
    problem: Option<String>,
    threshold: f32,
    cache: RwLock<Arc<Cached>>,
    reloading: AtomicBool,
}

impl Default for Classifier {
    /// Rules alone, at the default confidence.
    fn default() -> Self {
        Classifier::new(None, None, DEFAULT_THRESHOLD)
    }
}

/// Below this confidence an event waits for a person.
pub const DEFAULT_THRESHOLD: f32 = 0.6;

impl Classifier {
    pub fn new(model: Option<LoadedModel>, problem: Option<String>, threshold: f32) -> Self {
        Classifier {
            model,
            problem,
            threshold,
            cache: RwLock::new(Arc::new(Cached::default())),
            reloading: AtomicBool::new(false),
        }
    }

    fn cached(&self) -> Arc<Cached> {
        self.cache
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Reads the rules and the label map from the database.
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let rules = store.keyword_rules().await?;
        // Only 小类 can be stored on an event: a 大类's name leads nowhere unless an
        // admin maps it.
        let categories = store.categories().await?;
        let parents: std::collections::HashSet<i64> = categories
            .iter()
            .filter_map(|c| c.parent_id)
            .map(|p| p.0)
            .collect();
        let mut labels = HashMap::new();
        for c in categories
            .into_iter()
            .filter(|c| !parents.contains(&c.id.0))
        {
            labels.insert(c.name.clone(), LabelTarget::Category(c.code.clone()));
            labels.insert(c.code.clone(), LabelTarget::Category(c.code));
        }
        for m in store.classifier_labels().await? {
            let target = match (m.category, m.police) {
                (Some(c), _) => LabelTarget::Category(c.code),
                (None, true) => LabelTarget::Police,
                (None, false) => LabelTarget::Ignored,
            };
            labels.insert(m.label, target);
        }
        let fresh = Arc::new(Cached {
            rules,
            labels,
            loaded_at: Some(Instant::now()),
        });
        match self.cache.write() {
            Ok(mut c) => *c = fresh,
            Err(e) => *e.into_inner() = fresh,
        }
        Ok(())
    }

    /// Starts a background reload when the cache is older than `REFRESH`; the event
    /// at hand is classified with what is cached.
    fn refresh_if_stale(self: &Arc<Self>, store: &Store) {
        let stale = self
            .cached()
            .loaded_at
            .is_none_or(|t| t.elapsed() > REFRESH);
        if !stale || self.reloading.swap(true, Ordering::AcqRel) {
            return;
        }
        let (me, store) = (self.clone(), store.clone());
        tokio::spawn(async move {
            if let Err(e) = me.reload(&store).await {
                tracing::warn!(error = %e, "classification rules: reload failed, keeping the old ones");
            }
            me.reloading.store(false, Ordering::Release);
        });
    }

    /// Classifies one new event's text; `sender_category` is the category its
    /// channel already named.
    pub fn decide(
        self: &Arc<Self>,
        store: &Store,
        text: &str,
        sender_category: Option<&str>,
    ) -> Decision {
        self.refresh_if_stale(store);
        let cached = self.cached();
        // The sender's category stands, so the model would only add reference
        // suggestions; skipping it keeps a 12345 burst cheap. Rules still run: they
        // mark police matters.
        let model = self.model.as_ref().filter(|_| sender_category.is_none());
        let opinion = model.map(|m| {
            let p = m
                .model
                .predict_with(zhili_nlp::Segmenter::global(), text, 6, 5);
            let mut categories = Vec::new();
            let mut police = false;
            // A text without one word the model knows gets no opinion from it.
            let top = if p.known_features == 0 {
                &[][..]
            } else {
                &p.top[..]
            };
            for (i, s) in top.iter().enumerate() {
                match cached.labels.get(&s.label) {
                    Some(LabelTarget::Category(c)) => categories.push((c.clone(), s.confidence)),
                    Some(LabelTarget::Police) if i == 0 => police = true,
                    _ => {}
                }
            }
            ModelOpinion {
                categories,
                evidence: p.evidence.into_iter().map(|e| e.text).collect(),
                police,
                model: m.name.clone(),
            }
        });
        decide(
            text,
            sender_category,
            &cached.rules,
            opinion,
            self.threshold,
        )
    }

    pub fn status(&self) -> ClassifierStatus {
        ClassifierStatus {
            mode: if self.model.is_some() {
                "model"
            } else {
                "rules"
            },
            model: self.model.as_ref().map(|m| m.name.clone()),
            rules: self.cached().rules.len(),
            problem: self.problem.clone(),
        }
    }
}
