//! Batch imports of new events from files (petition exports, 12345 back-loads): every
//! row goes through the same create path as the API (checks, area, deadline, timeline
//! and audit), all rows in one transaction. A row already stored under its (channel,
//! external id) is skipped, so importing a file twice stores nothing new.
//!
//! Each row is checked by attempting its create inside the transaction: the checks
//! are then exactly the API's, and every bad row is found, not only the first. When
//! the import is refused (all-or-nothing with a bad row, or a dry run) the
//! transaction is rolled back, so nothing of it is stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use zhili_domain::{Actor, NewEvent, OrgKind, Role};

use crate::backend::Tx;
use crate::events::{Acting, Intake, create};
use crate::records::AuditRecord;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// One row of a file, already parsed into a checked event.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The row (or line) number as the user sees it in the file.
    pub row: usize,
    pub event: NewEvent,
    /// A township named rather than coded (凤山街道, 余姚市凤山街道, 凤山, or a village
    /// of it); resolved here against the orgs. Ignored when the event has a grid or
    /// township code.
    pub township_name: Option<String>,
    /// A category named rather than coded (噪音扰民, 城市管理/噪音扰民).
    pub category_name: Option<String>,
    /// When the matter was received by the other system; the import time otherwise.
    pub reported_at: Option<DateTime<Utc>>,
}

impl ImportRow {
    pub fn new(row: usize, event: NewEvent) -> Self {
        ImportRow {
            row,
            event,
            township_name: None,
            category_name: None,
            reported_at: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Any bad row and nothing is stored (the default: a file is fixed and re-imported).
    AllOrNothing,
    /// The good rows are stored, the bad ones reported.
    GoodRowsOnly,
    /// Everything is checked, nothing is stored.
    DryRun,
}

impl ImportMode {
    pub fn code(self) -> &'static str {
        match self {
            ImportMode::AllOrNothing => "all_or_nothing",
            ImportMode::GoodRowsOnly => "good_rows_only",
            ImportMode::DryRun => "dry_run",
        }
    }
}

/// What the import is and when it happens.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Names the import in the audit log, e.g. the file name.
    pub source: String,
    pub mode: ImportMode,
    pub now: DateTime<Utc>,
}

/// A refused row: its number, the field (intake's name, e.g. `township`,
/// `category`; the caller maps it to the file's column) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub row: usize,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Events stored by this import.
    pub created: usize,
    /// Rows whose (channel, external id) was stored before: skipped, not errors.
    pub skipped_existing: usize,
    /// Rows that passed every check (equal to `created` unless nothing was stored).
    pub good: usize,
    pub bad_rows: Vec<BadRow>,
    /// Whether the import's changes were committed.
    pub stored: bool,
}

impl Store {
    /// Stores `rows` as new events on behalf of `actor`, in one transaction, calling
    /// `progress` with the number of rows done. Bad rows are returned in the report,
    /// not as an error; an `Err` means the import could not run at all (not allowed,
    /// database trouble) and nothing was stored.
    pub async fn import_new_events(
        &self,
        actor: &Actor,
        rows: &[ImportRow],
        opts: &ImportOptions,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<ImportReport, StoreError> {
        // Bulk intake is command-room work, inside the importer's own area (create
        // checks the area of every row).
        if !matches!(
            actor.role,
            Role::Admin | Role::CityOperator | Role::TownshipOperator
        ) {
            return Err(StoreError::invalid(
                "actor",
                format!(
                    "{}无权批量导入事件：须为管理员、市指挥中心或乡镇（街道）指挥室账号",
                    actor.role.label_zh()
                ),
            ));
        }
        let prefix = self.number_prefix.clone();
        let intake = Intake::new(self.deadline_rules(), &prefix, self.pii()?)
            .with_duplicates(self.duplicates)
            .with_notice(self.current_notice_version());
        let outcome = in_tx!(self, Write, |tx| {
            let mut report = import_rows(&mut tx, &intake, actor, rows, opts, progress).await?;
            let commit = match opts.mode {
                ImportMode::AllOrNothing => report.bad_rows.is_empty(),
                ImportMode::GoodRowsOnly => true,
                ImportMode::DryRun => false,
            };
            if commit {
                report.created = report.good;
                report.stored = true;
                if report.created > 0 {
                    audit_import(&mut tx, actor, opts, &report).await?;
                }
                Ok(report)
            } else {
                // Not committed: the transaction is dropped, which rolls it back.
                Err(report)
            }
        });
        Ok(match outcome {
            Ok(r) | Err(r) => r,
        })
    }
}

enum RowOutcome {
    Created,
    Existing,
    Bad(String, String),
}

async fn import_rows<T: Tx>(
    tx: &mut T,
    intake: &Intake<'_>,
    actor: &Actor,
    rows: &[ImportRow],
    opts: &ImportOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ImportReport, StoreError> {
    let names = Names::load(tx).await?;
    let acting = Acting::from(actor);
    let mut first_row_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut report = ImportReport::default();
    for (done, r) in rows.iter().enumerate() {
        let outcome = match r.event.external_id.as_deref() {
            None => RowOutcome::Bad(
                "external_id".into(),
                "批量导入的每一行都须有编号，重复导入时才能认出".into(),
            ),
            Some(ext) => match first_row_of.get(&(r.event.channel.code(), ext)) {
                Some(first) => {
                    RowOutcome::Bad("external_id".into(), format!("与第 {first} 行编号重复"))
                }
                None => {
                    first_row_of.insert((r.event.channel.code(), ext), r.row);
                    import_one(tx, intake, actor, &acting, &names, r, opts.now).await?
                }
            },
        };
        match outcome {
            RowOutcome::Created => report.good += 1,
            RowOutcome::Existing => report.skipped_existing += 1,
            RowOutcome::Bad(field, reason) => report.bad_rows.push(BadRow {
                row: r.row,
                field,
                reason,
            }),
        }
        progress(done + 1);
    }
    Ok(report)
}

async fn import_one<T: Tx>(
    tx: &mut T,
    intake: &Intake<'_>,
    actor: &Actor,
    acting: &Acting,
    names: &Names,
    r: &ImportRow,
    now: DateTime<Utc>,
) -> Result<RowOutcome, StoreError> {
    let mut event = r.event.clone();
    if let Some(name) = &r.township_name
        && event.grid_code.is_none()
        && event.township_code.is_none()
    {
        match names.township(name) {
            Ok(code) => event.township_code = Some(code),
            Err(reason) => return Ok(RowOutcome::Bad("township".into(), reason)),
        }
    }
    if let Some(name) = &r.category_name
        && event.category_code.is_none()
    {
        match names.category(name) {
            Ok(code) => event.category_code = Some(code),
            Err(reason) => return Ok(RowOutcome::Bad("category".into(), reason)),
        }
    }
    let at = r.reported_at.unwrap_or(now);
    if at > now {
        return Ok(RowOutcome::Bad("reported_at".into(), "日期晚于现在".into()));
    }
    match create(tx, intake, Some(actor), acting, None, &event, at).await {
        Ok(Ok(_)) => Ok(RowOutcome::Created),
        Ok(Err(_)) => Ok(RowOutcome::Existing),
        // Checks that fail before anything is written: the row is bad, the
        // transaction is still sound.
        Err(StoreError::Invalid { field, message }) => Ok(RowOutcome::Bad(field, message)),
        Err(e) => Err(e),
    }
}

async fn audit_import<T: Tx>(
    tx: &mut T,
    actor: &Actor,
    opts: &ImportOptions,
    report: &ImportReport,
) -> Result<(), StoreError> {
    let acting = Acting::from(actor);
    tx.insert_audit(&AuditRecord {
        at: opts.now,
        actor: acting,
        action: "events.import".into(),
        object_type: "import",
        object_id: None,
        detail: Some(serde_json::json!({
            "source": opts.source,
            "mode": opts.mode.code(),
            "created": report.created,
            "skipped_existing": report.skipped_existing,
            "bad_rows": report.bad_rows.len(),
        })),
    })
    .await?;
    Ok(())
}

/// Township and category names, loaded once per import.
struct Names {
    /// (code, name, township code) of every township and village.
    areas: Vec<(String, String, String)>,
    /// (code, name, has children) of every category.
    categories: Vec<(String, String, bool)>,
}

impl Names {
    async fn load<T: Tx>(tx: &mut T) -> Result<Names, StoreError> {
        let mut q = Sql::new("kind IN (");
        q.arg(Arg::Text(OrgKind::Township.code().into()))
            .push(", ")
            .arg(Arg::Text(OrgKind::Village.code().into()))
            .push(") ORDER BY code");
        let orgs = tx.org_where(q).await?;
        let township_code: HashMap<i64, String> = orgs
            .iter()
            .filter(|o| o.kind == OrgKind::Township.code())
            .map(|o| (o.id, o.code.clone()))
            .collect();
        let areas = orgs
            .iter()
            .filter_map(|o| {
                let t = if o.kind == OrgKind::Township.code() {
                    Some(o.id)
                } else {
                    o.township_id
                }?;
                Some((
                    o.code.clone(),
                    o.name.clone(),
                    township_code.get(&t)?.clone(),
                ))
            })
            .collect();
        let cats = tx.category_where(Sql::new("1 = 1 ORDER BY code")).await?;
        let categories = cats
            .iter()
            .map(|c| {
                let parent = cats.iter().any(|x| x.parent_id == Some(c.id));
                (c.code.clone(), c.name.clone(), parent)
            })
            .collect();
        Ok(Names { areas, categories })
    }

    /// The township code for a township or village given by code or name: the exact
    /// name, else the one name the text contains (余姚市凤山街道), else the one name
    /// the text begins (凤山). Several candidates are ambiguous, not a guess.
    fn township(&self, text: &str) -> Result<String, String> {
        let t = text.trim();
        let unique = |found: Vec<&(String, String, String)>| -> Option<Result<String, String>> {
            let mut townships: Vec<&str> = found.iter().map(|a| a.2.as_str()).collect();
            townships.sort_unstable();
            townships.dedup();
            match townships.as_slice() {
                [] => None,
                [one] => Some(Ok((*one).to_string())),
                _ => Some(Err(format!(
                    "「{t}」可指多个乡镇（街道）：{}，请写全称或编码",
                    found
                        .iter()
                        .map(|a| a.1.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                ))),
            }
        };
        let exact: Vec<_> = self.areas.iter().filter(|a| a.0 == t || a.1 == t).collect();
        if let Some(r) = unique(exact) {
            return r;
        }
        // 凤山街道舜北社区 names a street and its village: still one township.
        let contained: Vec<_> = self
            .areas
            .iter()
            .filter(|a| t.contains(a.1.as_str()))
            .collect();
        if let Some(r) = unique(contained) {
            return r;
        }
        if t.chars().count() >= 2 {
            let prefix: Vec<_> = self.areas.iter().filter(|a| a.1.starts_with(t)).collect();
            if let Some(r) = unique(prefix) {
                return r;
            }
        }
        Err(format!("未知乡镇（街道）「{t}」"))
    }

    /// The category code for a name; "大类/小类" paths are read from the right.
    fn category(&self, text: &str) -> Result<String, String> {
        let t = text.trim();
        let last = t
            .rsplit(['/', '／', '>', '＞', '-', '—'])
            .next()
            .unwrap_or(t)
            .trim();
        for name in [t, last] {
            let found: Vec<_> = self.categories.iter().filter(|c| c.1 == name).collect();
            // A leaf wins over a 大类 of the same name.
            let leaves: Vec<_> = found.iter().filter(|c| !c.2).collect();
            match (leaves.as_slice(), found.as_slice()) {
                ([one], _) => return Ok(one.0.clone()),
                ([], [one]) => return Ok(one.0.clone()),
                ([], []) => {}
                _ => {
                    return Err(format!("「{name}」对应多个事件类别，请写类别编码"));
                }
            }
        }
        Err(format!("未知事件类别「{t}」"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let a = |code: &str, name: &str, t: &str| (code.into(), name.into(), t.into());
        Names {
            areas: vec![
                a("330281001", "梨洲街道", "330281001"),
                a("330281002", "凤山街道", "330281002"),
                a("330281002001", "舜北社区", "330281002"),
                a("330281003", "凤凰镇", "330281003"),
            ],
            categories: vec![
                ("01".into(), "城市管理".into(), true),
                ("0101".into(), "噪音扰民".into(), false),
                ("02".into(), "环境".into(), true),
                ("0201".into(), "环境".into(), false),
            ],
        }
    }

    #[test]
    fn townships_are_found_by_code_name_village_or_a_clear_part() {
        let n = names();
        assert_eq!(n.township("330281002").unwrap(), "330281002");
        assert_eq!(n.township(" 凤山街道 ").unwrap(), "330281002");
        assert_eq!(n.township("余姚市凤山街道").unwrap(), "330281002");
        assert_eq!(n.township("舜北社区").unwrap(), "330281002");
        assert_eq!(n.township("凤山街道舜北社区").unwrap(), "330281002");
        assert_eq!(n.township("梨洲").unwrap(), "330281001");
        assert!(n.township("凤").is_err(), "one character is too little");
        let e = n.township("凤山街道凤凰镇").unwrap_err();
        assert!(e.contains("多个"), "{e}");
        assert!(n.township("朗霞街道").unwrap_err().contains("未知"));
    }

    #[test]
    fn categories_are_found_by_name_or_path() {
        let n = names();
        assert_eq!(n.category("噪音扰民").unwrap(), "0101");
        assert_eq!(n.category("城市管理/噪音扰民").unwrap(), "0101");
        assert_eq!(n.category("环境").unwrap(), "0201", "the leaf wins");
        assert!(n.category("违建").unwrap_err().contains("未知"));
    }
}
