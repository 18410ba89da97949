//! How a new event's category is decided when the sender named none: the model's
//! suggestions, keyword rules that fill in where no model speaks (a new city without
//! history starts with rules alone) or override it, and the confidence below which a
//! person decides in the township's triage queue. Pure: the server runs the model and
//! loads the rules; this module only combines what they say.

use serde::{Deserialize, Serialize};

use crate::codes::coded_enum;

coded_enum!(
    /// Where a category suggestion came from.
    SuggestionSource {
        Sender = "sender" / "上报时选定",
        Model = "model" / "分类模型",
        Rule = "rule" / "关键词规则",
        Operator = "operator" / "人工分类",
    }
);

coded_enum!(
    /// What a keyword rule does when it matches: `Fill` suggests its category where
    /// the model has nothing to say (or there is no model); `Override` decides the
    /// category whatever the model says.
    RuleMode {
        Fill = "fill" / "补充",
        Override = "override" / "优先",
    }
);

/// One candidate category with the confidence it was given (0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Category code (小类).
    pub category: String,
    pub confidence: f32,
    pub source: SuggestionSource,
    /// The keyword rule behind a rule suggestion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<i64>,
}

/// The operator's decision in the triage queue (kept as training data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub category: String,
    pub by: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Everything the classifier said about one event, stored with it (JSON) so that the
/// operator sees why, and the choice made from it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Classification {
    /// Best first, at most three.
    pub suggestions: Vec<Suggestion>,
    /// The words that weighed most for the model's first suggestion, or the matched
    /// keywords of a rule.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// A model or rule says this belongs to the police (110), not to us.
    #[serde(default)]
    pub police: bool,
    /// The model file's name and fingerprint, when a model spoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<Choice>,
}

/// What a keyword rule points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleTarget {
    /// A category code (小类).
    Category(String),
    /// A police matter, for the 110 exchange.
    Police,
}

/// An admin's keyword rule: it matches when the text contains every one of its terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordRule {
    pub id: i64,
    pub terms: Vec<String>,
    pub target: RuleTarget,
    pub mode: RuleMode,
}

/// Lower-cases, folds full-width ASCII and drops whitespace, so that "ＫＴＶ 噪音" and
/// "ktv噪音" match the same rule.
pub fn fold_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits an admin's term list ("群租 消防通道", "群租，消防通道") into folded terms.
pub fn parse_terms(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；'))
        .map(fold_text)
        .filter(|t| !t.is_empty())
        .collect()
}

impl KeywordRule {
    /// `folded` is the text after [`fold_text`].
    pub fn matches(&self, folded: &str) -> bool {
        !self.terms.is_empty() && self.terms.iter().all(|t| folded.contains(t.as_str()))
    }
}

/// What the model said, its labels already turned into categories (labels that map to
/// no category are left out; a label mapped to the police sets `police`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelOpinion {
    /// (category code, confidence), best first.
    pub categories: Vec<(String, f32)>,
    pub evidence: Vec<String>,
    pub police: bool,
    pub model: String,
}

/// The outcome for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub classification: Classification,
    /// The category to store now, when it is certain enough.
    pub category: Option<String>,
    /// No certain category: the event waits in the triage queue.
    pub needs_triage: bool,
}

/// Combines the sender's category, the rules and the model. The sender's category
/// stands (a 12345 operator has already classified the call); an override rule beats
/// the model; fill rules speak only where the model has no category to offer. A rule
/// match counts as certain when it names one category alone; two or more matching
/// categories share the confidence and go to triage unless one clears `threshold`.
pub fn decide(
    text: &str,
    sender_category: Option<&str>,
    rules: &[KeywordRule],
    model: Option<ModelOpinion>,
    threshold: f32,
) -> Decision {
    let folded = fold_text(text);
    let hits: Vec<&KeywordRule> = rules.iter().filter(|r| r.matches(&folded)).collect();
    let police_rule = hits.iter().any(|r| r.target == RuleTarget::Police);
    let rule_suggestions = |mode: RuleMode| -> (Vec<Suggestion>, Vec<String>) {
        let mut seen: Vec<(&str, i64)> = Vec::new();
        let mut evidence = Vec::new();
        for r in hits.iter().filter(|r| r.mode == mode) {
            if let RuleTarget::Category(c) = &r.target {
                if !seen.iter().any(|(s, _)| s == c) {
                    seen.push((c, r.id));
                }
                for t in &r.terms {
                    if !evidence.contains(t) {
                        evidence.push(t.clone());
                    }
                }
            }
        }
        let share = if seen.is_empty() {
            0.0
        } else {
            1.0 / seen.len() as f32
        };
        let suggestions = seen
            .into_iter()
            .take(3)
            .map(|(c, id)| Suggestion {
                category: c.to_string(),
                confidence: share,
                source: SuggestionSource::Rule,
                rule_id: Some(id),
            })
            .collect();
        (suggestions, evidence)
    };
    let model_police = model.as_ref().is_some_and(|m| m.police);
    let model_name = model.as_ref().map(|m| m.model.clone());
    let (overrides, override_evidence) = rule_suggestions(RuleMode::Override);
    let (suggestions, evidence) = if !overrides.is_empty() {
        (overrides, override_evidence)
    } else if let Some(m) = model.filter(|m| !m.categories.is_empty()) {
        let s = m
            .categories
            .into_iter()
            .take(3)
            .map(|(category, confidence)| Suggestion {
                category,
                confidence,
                source: SuggestionSource::Model,
                rule_id: None,
            })
            .collect();
        (s, m.evidence)
    } else {
        rule_suggestions(RuleMode::Fill)
    };
    let mut classification = Classification {
        suggestions,
        evidence,
        police: police_rule || model_police,
        model: model_name,
        chosen: None,
    };
    if let Some(code) = sender_category {
        classification.suggestions.retain(|s| s.category != code);
        classification.suggestions.insert(
            0,
            Suggestion {
                category: code.to_string(),
                confidence: 1.0,
                source: SuggestionSource::Sender,
                rule_id: None,
            },
        );
        classification.suggestions.truncate(3);
        return Decision {
            classification,
            category: Some(code.to_string()),
            needs_triage: false,
        };
    }
    let category = classification
        .suggestions
        .first()
        .filter(|s| s.confidence >= threshold)
        .map(|s| s.category.clone());
    Decision {
        needs_triage: category.is_none(),
        category,
        classification,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: i64, terms: &str, target: RuleTarget, mode: RuleMode) -> KeywordRule {
        KeywordRule {
            id,
            terms: parse_terms(terms),
            target,
            mode,
        }
    }

    fn cat(c: &str) -> RuleTarget {
        RuleTarget::Category(c.into())
    }

    fn opinion(cats: &[(&str, f32)]) -> ModelOpinion {
        ModelOpinion {
            categories: cats.iter().map(|(c, p)| (c.to_string(), *p)).collect(),
            evidence: vec!["群租房".into()],
            police: false,
            model: "m".into(),
        }
    }

    #[test]
    fn terms_fold_width_case_and_separators() {
        assert_eq!(
            parse_terms("ＫＴＶ，噪音 深夜"),
            vec!["ktv", "噪音", "深夜"]
        );
        let r = rule(1, "KTV 噪音", cat("0301"), RuleMode::Fill);
        assert!(r.matches(&fold_text("楼下ｋｔｖ 每晚噪音很大")));
        assert!(
            !r.matches(&fold_text("楼下KTV每晚很吵")),
            "every term must appear"
        );
        assert!(!rule(2, " ，", cat("0301"), RuleMode::Fill).matches("任何文字"));
    }

    #[test]
    fn rules_alone_decide_when_one_category_matches_and_triage_when_several() {
        let rules = [
            rule(1, "群租", cat("0101"), RuleMode::Fill),
            rule(2, "噪音", cat("0301"), RuleMode::Fill),
        ];
        let d = decide("隔壁群租房住了二十人", None, &rules, None, 0.6);
        assert_eq!(d.category.as_deref(), Some("0101"));
        assert!(!d.needs_triage);
        assert_eq!(d.classification.suggestions[0].rule_id, Some(1));
        assert_eq!(d.classification.evidence, vec!["群租"]);

        let d = decide("群租房里夜里噪音大", None, &rules, None, 0.6);
        assert_eq!(d.category, None);
        assert!(d.needs_triage);
        assert_eq!(d.classification.suggestions.len(), 2);

        let d = decide("路灯坏了", None, &rules, None, 0.6);
        assert!(d.needs_triage && d.classification.suggestions.is_empty());
    }

    #[test]
    fn the_model_beats_fill_rules_and_override_rules_beat_the_model() {
        let fill = [rule(1, "群租", cat("0101"), RuleMode::Fill)];
        let m = opinion(&[("0202", 0.8), ("0101", 0.1)]);
        let d = decide("群租房", None, &fill, Some(m.clone()), 0.6);
        assert_eq!(d.category.as_deref(), Some("0202"));
        assert_eq!(
            d.classification.suggestions[0].source,
            SuggestionSource::Model
        );

        let over = [rule(9, "群租", cat("0101"), RuleMode::Override)];
        let d = decide("群租房", None, &over, Some(m), 0.6);
        assert_eq!(d.category.as_deref(), Some("0101"));
        assert_eq!(d.classification.suggestions[0].rule_id, Some(9));
    }

    #[test]
    fn low_model_confidence_waits_for_a_person_with_three_suggestions() {
        let m = opinion(&[("0202", 0.4), ("0101", 0.3), ("0301", 0.2), ("0401", 0.1)]);
        let d = decide("说不清的事", None, &[], Some(m), 0.6);
        assert!(d.needs_triage);
        assert_eq!(d.category, None);
        let codes: Vec<_> = d
            .classification
            .suggestions
            .iter()
            .map(|s| s.category.as_str())
            .collect();
        assert_eq!(codes, ["0202", "0101", "0301"]);
    }

    #[test]
    fn the_senders_category_stands_and_police_rules_only_mark() {
        let rules = [
            rule(1, "打架", RuleTarget::Police, RuleMode::Fill),
            rule(2, "噪音", cat("0301"), RuleMode::Override),
        ];
        let d = decide("有人打架，噪音很大", Some("0505"), &rules, None, 0.6);
        assert_eq!(d.category.as_deref(), Some("0505"));
        assert!(!d.needs_triage);
        assert!(d.classification.police);
        assert_eq!(
            d.classification.suggestions[0].source,
            SuggestionSource::Sender
        );
        let d = decide("有人打架", None, &rules, None, 0.6);
        assert!(d.classification.police && d.needs_triage);
    }

    #[test]
    fn a_classification_survives_json() {
        let d = decide("群租", None, &[], Some(opinion(&[("0101", 0.9)])), 0.6);
        let json = serde_json::to_string(&d.classification).unwrap();
        let back: Classification = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d.classification);
    }
}
