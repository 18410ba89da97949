//! Classification data: the keyword rules an admin keeps per category (or for police
//! matters), how a model's labels map to categories, and the triage queue where an
//! operator decides the category of an event the classifier was not sure about. The
//! decision itself is pure (`zhili_domain::classification`); this module stores what
//! it needs and what came of it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::classification::{
    Choice, Classification, KeywordRule, RuleMode, RuleTarget, Suggestion, SuggestionSource,
    parse_terms,
};
use zhili_domain::{Actor, Role, Status};

use crate::backend::{TimelineInsert, Tx};
use crate::events::{EventRepo, capacities, detail, parse_state, recount, row_in_scope};
use crate::records::{AuditRecord, EventDetail, Named};
use crate::reference::category_by_code;
use crate::sql::{Arg, Sql};
use crate::{Acting, Store, StoreError, in_tx};

/// At most this many terms in one rule, each at most `TERM_MAX` characters: a rule
/// is a phrase or two, not a document.
const TERMS_MAX: usize = 8;
const TERM_MAX: usize = 20;

/// A keyword rule as the admin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRecord {
    pub id: i64,
    /// The folded terms, space-separated.
    pub terms: String,
    pub category: Option<Named>,
    pub police: bool,
    pub mode: &'static str,
    pub mode_label: &'static str,
    pub note: Option<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A new or changed rule, as typed in.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub terms: String,
    /// Category code (小类); leave empty for a police rule.
    pub category: Option<String>,
    pub police: bool,
    /// `fill` (default) or `override`.
    pub mode: Option<String>,
    pub note: Option<String>,
}

/// How one model label maps to a category (or to the police).
#[derive(Debug, Clone, Serialize)]
pub struct LabelMapping {
    pub label: String,
    pub category: Option<Named>,
    pub police: bool,
}

/// One row of training data made by an operator's choice in the triage queue.
#[derive(Debug, Clone, Serialize)]
pub struct TriageExample {
    pub number: String,
    pub text: String,
    pub category_code: String,
    pub category_name: String,
    pub chosen_by: String,
    pub chosen_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    terms: String,
    category_id: Option<i64>,
    category_code: Option<String>,
    category_name: Option<String>,
    police: bool,
    mode: String,
    note: Option<String>,
    updated_by: String,
    updated_at: DateTime<Utc>,
}

const RULE_SELECT: &str = "SELECT r.id, r.terms, r.category_id, c.code AS category_code, \
 c.name AS category_name, r.police, r.mode, r.note, r.updated_by, r.updated_at \
 FROM classification_rules r LEFT JOIN categories c ON c.id = r.category_id";

fn named(id: Option<i64>, code: Option<String>, name: Option<String>) -> Option<Named> {
    match (id, code, name) {
        (Some(id), Some(code), Some(name)) => Some(Named { id, code, name }),
        _ => None,
    }
}

fn rule_mode(code: &str) -> Result<RuleMode, StoreError> {
    RuleMode::parse(code).ok_or_else(|| StoreError::Corrupt(format!("rule mode {code}")))
}

impl RuleRow {
    fn record(self) -> Result<RuleRecord, StoreError> {
        let mode = rule_mode(&self.mode)?;
        Ok(RuleRecord {
            id: self.id,
            terms: self.terms,
            category: named(self.category_id, self.category_code, self.category_name),
            police: self.police,
            mode: mode.code(),
            mode_label: mode.label_zh(),
            note: self.note,
            updated_by: self.updated_by,
            updated_at: self.updated_at,
        })
    }
}

fn require_admin(actor: &Actor) -> Result<(), StoreError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "role",
            "只有系统管理员可以修改分类规则",
        ))
    }
}

/// A leaf category's id, or an error naming `field`.
async fn leaf_category<T: Tx>(tx: &mut T, field: &str, code: &str) -> Result<i64, StoreError> {
    match category_by_code(tx, code).await? {
        None => Err(StoreError::invalid(field, format!("未知事件类别 {code}"))),
        Some((_, true)) => Err(StoreError::invalid(
            field,
            format!("{code} 是大类，请选择小类"),
        )),
        Some((c, false)) => Ok(c.id.0),
    }
}

impl Store {
    /// Every keyword rule, for the admin page and for the classifier's cache.
    pub async fn classification_rules(&self) -> Result<Vec<RuleRecord>, StoreError> {
        let mut q = Sql::new(RULE_SELECT);
        q.push(" ORDER BY r.id");
        let rows: Vec<RuleRow> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        rows.into_iter().map(RuleRow::record).collect()
    }

    /// The rules as the classifier applies them.
    pub async fn keyword_rules(&self) -> Result<Vec<KeywordRule>, StoreError> {
        self.classification_rules()
            .await?
            .into_iter()
            .map(|r| {
                Ok(KeywordRule {
                    id: r.id,
                    terms: parse_terms(&r.terms),
                    target: match r.category {
                        Some(c) => RuleTarget::Category(c.code),
                        None => RuleTarget::Police,
                    },
                    mode: rule_mode(r.mode)?,
                })
            })
            .collect()
    }

    /// Adds a rule (`id` None) or replaces one; admins only, audited.
    pub async fn put_classification_rule(
        &self,
        actor: &Actor,
        id: Option<i64>,
        input: &RuleInput,
        now: DateTime<Utc>,
    ) -> Result<RuleRecord, StoreError> {
        require_admin(actor)?;
        let terms = parse_terms(&input.terms);
        if terms.is_empty() {
            return Err(StoreError::invalid("terms", "请填写至少一个关键词"));
        }
        if terms.len() > TERMS_MAX {
            return Err(StoreError::invalid(
                "terms",
                format!("最多 {TERMS_MAX} 个关键词"),
            ));
        }
        if let Some(t) = terms.iter().find(|t| t.chars().count() > TERM_MAX) {
            return Err(StoreError::invalid(
                "terms",
                format!("关键词“{t}”超过 {TERM_MAX} 个字"),
            ));
        }
        let mode = match input.mode.as_deref().map(str::trim) {
            None | Some("") => RuleMode::Fill,
            Some(m) => RuleMode::parse(m).ok_or_else(|| {
                StoreError::invalid("mode", format!("可选：{}", RuleMode::codes().join(", ")))
            })?,
        };
        let category = input
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        if category.is_some() == input.police {
            return Err(StoreError::invalid(
                "category",
                "请选择一个事件类别，或标为警情（二者选一）",
            ));
        }
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(200).collect::<String>());
        let by = Acting::from(actor);
        let joined = terms.join(" ");
        let new_id = in_tx!(self, Write, |tx| {
            let category_id = match category {
                Some(code) => Some(leaf_category(&mut tx, "category", code).await?),
                None => None,
            };
            let cat = match category_id {
                Some(c) => Arg::I64(c),
                None => Arg::OptI64(None),
            };
            let rule_id = match id {
                None => {
                    let mut q = Sql::new(
                        "INSERT INTO classification_rules (terms, category_id, police, mode, note, updated_by, updated_at) VALUES (",
                    );
                    q.arg(Arg::Text(joined.clone()))
                        .push(", ")
                        .arg(cat)
                        .push(", ")
                        .arg(Arg::Bool(input.police))
                        .push(", ")
                        .arg(Arg::Text(mode.code().into()))
                        .push(", ")
                        .arg(Arg::OptText(note.clone()))
                        .push(", ")
                        .arg(Arg::Text(by.name.clone()))
                        .push(", ")
                        .arg(Arg::Time(now))
                        .push(") RETURNING id");
                    tx.rows::<(i64,)>(q)
                        .await?
                        .into_iter()
                        .next()
                        .map(|r| r.0)
                        .ok_or_else(|| StoreError::Corrupt("rule insert returned no id".into()))?
                }
                Some(id) => {
                    let mut q = Sql::new("UPDATE classification_rules SET terms = ");
                    q.arg(Arg::Text(joined.clone()))
                        .push(", category_id = ")
                        .arg(cat)
                        .push(", police = ")
                        .arg(Arg::Bool(input.police))
                        .push(", mode = ")
                        .arg(Arg::Text(mode.code().into()))
                        .push(", note = ")
                        .arg(Arg::OptText(note.clone()))
                        .push(", updated_by = ")
                        .arg(Arg::Text(by.name.clone()))
                        .push(", updated_at = ")
                        .arg(Arg::Time(now))
                        .push(" WHERE id = ")
                        .arg(Arg::I64(id));
                    if tx.exec(q).await? == 0 {
                        return Err(StoreError::NotFound);
                    }
                    id
                }
            };
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: if id.is_some() {
                    "classification_rule.update"
                } else {
                    "classification_rule.create"
                }
                .into(),
                object_type: "classification_rule",
                object_id: Some(rule_id.to_string()),
                detail: Some(serde_json::json!({
                    "terms": joined, "category": category, "police": input.police, "mode": mode.code(),
                })),
            })
            .await?;
            Ok::<_, StoreError>(rule_id)
        })?;
        self.classification_rules()
            .await?
            .into_iter()
            .find(|r| r.id == new_id)
            .ok_or(StoreError::NotFound)
    }

    pub async fn delete_classification_rule(
        &self,
        actor: &Actor,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        require_admin(actor)?;
        let by = Acting::from(actor);
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new("DELETE FROM classification_rules WHERE id = ");
            q.arg(Arg::I64(id));
            if tx.exec(q).await? == 0 {
                return Err(StoreError::NotFound);
            }
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "classification_rule.delete".into(),
                object_type: "classification_rule",
                object_id: Some(id.to_string()),
                detail: None,
            })
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// How the model's labels map to categories. A label with no row maps to the
    /// leaf category whose code or name it is (a model trained on this city's own
    /// events needs no mapping).
    pub async fn classifier_labels(&self) -> Result<Vec<LabelMapping>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            label: String,
            category_id: Option<i64>,
            code: Option<String>,
            name: Option<String>,
            police: bool,
        }
        let q = Sql::new(
            "SELECT l.label, l.category_id, c.code, c.name, l.police FROM classifier_labels l \
             LEFT JOIN categories c ON c.id = l.category_id ORDER BY l.label",
        );
        let rows: Vec<Row> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        Ok(rows
            .into_iter()
            .map(|r| LabelMapping {
                label: r.label,
                category: named(r.category_id, r.code, r.name),
                police: r.police,
            })
            .collect())
    }

    /// Maps a model label to a leaf category, to the police, or (both empty) to
    /// nothing; admins only, audited.
    pub async fn put_classifier_label(
        &self,
        actor: &Actor,
        label: &str,
        category: Option<&str>,
        police: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        require_admin(actor)?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(StoreError::invalid(
                "label",
                "标签不能为空，且不超过 100 个字",
            ));
        }
        let category = category.map(str::trim).filter(|c| !c.is_empty());
        if category.is_some() && police {
            return Err(StoreError::invalid("category", "类别与警情只能选一个"));
        }
        let by = Acting::from(actor);
        in_tx!(self, Write, |tx| {
            let category_id = match category {
                Some(code) => Arg::I64(leaf_category(&mut tx, "category", code).await?),
                None => Arg::OptI64(None),
            };
            let mut q = Sql::new(
                "INSERT INTO classifier_labels (label, category_id, police, updated_by, updated_at) VALUES (",
            );
            q.arg(Arg::Text(label.into()))
                .push(", ")
                .arg(category_id)
                .push(", ")
                .arg(Arg::Bool(police))
                .push(", ")
                .arg(Arg::Text(by.name.clone()))
                .push(", ")
                .arg(Arg::Time(now))
                .push(
                    ") ON CONFLICT (label) DO UPDATE SET category_id = excluded.category_id, \
                     police = excluded.police, updated_by = excluded.updated_by, \
                     updated_at = excluded.updated_at",
                );
            tx.exec(q).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "classifier_label.put".into(),
                object_type: "classifier_label",
                object_id: Some(label.to_string()),
                detail: Some(serde_json::json!({ "category": category, "police": police })),
            })
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// The operators' triage choices, as training data (`zhili train --text-column
    /// text --label-column label` reads the CSV the server makes of it). Admins and
    /// the city see all; a township operator sees their own.
    pub async fn triage_examples(&self, actor: &Actor) -> Result<Vec<TriageExample>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            number: String,
            text: String,
            code: String,
            name: String,
            classification: String,
        }
        let mut q = Sql::new(
            "SELECT e.number, e.text, c.code, c.name, e.classification FROM events e \
             JOIN categories c ON c.id = e.category_id WHERE e.classification LIKE ",
        );
        q.arg(Arg::Text("%\"chosen\"%".into()));
        match (actor.role, actor.org_id) {
            (Role::Admin | Role::CityOperator | Role::CityLeader, _) => {}
            (Role::TownshipOperator, Some(t)) => {
                q.push(" AND e.township_id = ").arg(Arg::I64(t.0));
            }
            _ => return Err(StoreError::invalid("role", "无权导出分类记录")),
        }
        q.push(" ORDER BY e.id");
        let rows: Vec<Row> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let c: Classification = serde_json::from_str(&r.classification).ok()?;
                let chosen = c.chosen?;
                Some(TriageExample {
                    number: r.number,
                    text: r.text,
                    category_code: r.code,
                    category_name: r.name,
                    chosen_by: chosen.by,
                    chosen_at: chosen.at,
                })
            })
            .collect())
    }
}

impl Store {
    /// Every categorised event as (text, category code), oldest first: the city's
    /// own history as training data (the demo trains its model from it).
    pub async fn training_examples(&self) -> Result<Vec<(String, String)>, StoreError> {
        let q = Sql::new(
            "SELECT e.text, c.code FROM events e JOIN categories c ON c.id = e.category_id ORDER BY e.id",
        );
        Ok(in_tx!(self, Read, |tx| tx
            .rows::<(String, String)>(q)
            .await)?)
    }
}

impl EventRepo<'_> {
    /// An operator decides the category of an event (from the triage queue, or to
    /// correct one): the category is stored, the event leaves the queue, its handling
    /// deadline is counted from the category's limit, and the choice is kept as
    /// training data. Timeline and audit in the same transaction.
    pub async fn classify(
        &self,
        id: i64,
        category: &str,
        now: DateTime<Utc>,
    ) -> Result<EventDetail, StoreError> {
        let actor = self.actor();
        let acting = Acting::from(actor);
        let store = self.the_store();
        let rules = store.deadline_rules();
        in_tx!(store, Write, |tx| {
            let row = row_in_scope(&mut tx, actor.scope(), id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let state = parse_state(&row)?;
            if !capacities(actor, &row, &state).operator {
                return Err(StoreError::invalid(
                    "role",
                    "只有负责该事件的指挥室可以分类",
                ));
            }
            if matches!(
                state.status,
                Status::Closed | Status::Rejected | Status::Transferred
            ) {
                return Err(StoreError::invalid(
                    "status",
                    format!("事件{}，不能再分类", state.status.label_zh()),
                ));
            }
            let category_id = leaf_category(&mut tx, "category", category).await?;
            let mut c: Classification = match row.classification.as_deref() {
                Some(json) => serde_json::from_str(json)
                    .map_err(|e| StoreError::Corrupt(format!("classification of {id}: {e}")))?,
                None => Classification::default(),
            };
            let suggested = c.suggestions.first().map(|s| s.category.clone());
            c.chosen = Some(Choice {
                category: category.to_string(),
                by: acting.name.clone(),
                at: now,
            });
            if !c.suggestions.iter().any(|s| s.category == category) {
                c.suggestions.insert(
                    0,
                    Suggestion {
                        category: category.to_string(),
                        confidence: 1.0,
                        source: SuggestionSource::Operator,
                        rule_id: None,
                    },
                );
                c.suggestions.truncate(3);
            }
            let json = serde_json::to_string(&c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut q = Sql::new("UPDATE events SET category_id = ");
            q.arg(Arg::I64(category_id))
                .push(", needs_triage = ")
                .arg(Arg::Bool(false))
                .push(", classification = ")
                .arg(Arg::Text(json))
                .push(", updated_at = ")
                .arg(Arg::Time(now))
                .push(", version = version + 1 WHERE id = ")
                .arg(Arg::I64(id))
                .push(" AND version = ")
                .arg(Arg::I64(row.version));
            if tx.exec(q).await? != 1 {
                return Err(StoreError::Conflict);
            }
            // The category decides the units the matrix suggests.
            crate::routing::reroute(
                &mut tx,
                id,
                category_id,
                row.township_id,
                row.village_id,
                row.grid_id,
            )
            .await?;
            let row = row_in_scope(&mut tx, actor.scope(), id)
                .await?
                .ok_or(StoreError::NotFound)?;
            if !recount(&mut tx, &rules, &row).await? {
                return Err(StoreError::Conflict);
            }
            let name = row.category_name.clone().unwrap_or_default();
            let note = match suggested.as_deref() {
                Some(s) if s != category => format!("人工分类：{name}（{category}），系统建议 {s}"),
                _ => format!("人工分类：{name}（{category}）"),
            };
            tx.insert_timeline(&TimelineInsert {
                event_id: id,
                at: now,
                actor_id: acting.user_id.map(|u| u.0),
                actor_name: acting.name.clone(),
                action: "classify".into(),
                from_status: Some(row.status.clone()),
                to_status: row.status.clone(),
                note: Some(note),
                data: None,
            })
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "event.classify".into(),
                object_type: "event",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({ "category": category, "suggested": suggested })),
            })
            .await?;
            detail(&mut tx, store.pii()?, actor, id)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }
}
