//! `zhili calendar …`: working-day arithmetic on the command line, and checking a year file
//! before it is loaded.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use zhili_calendar::{Calendar, YearData, YearDataError, parse_year_file};

#[derive(Debug, Args)]
pub struct CalendarArgs {
    #[command(subcommand)]
    command: CalendarCommand,
}

#[derive(Debug, Subcommand)]
enum CalendarCommand {
    /// Print the date of the N-th working day after DATE.
    ///
    /// DATE itself is not counted (the day of receipt); N = 0 prints DATE.
    AddWorkingDays {
        /// YYYY-MM-DD
        date: NaiveDate,
        n: u32,
        #[command(flatten)]
        years: ExtraYears,
    },
    /// Print the number of working days after FROM up to and including TO.
    WorkingDaysBetween {
        /// YYYY-MM-DD
        from: NaiveDate,
        /// YYYY-MM-DD
        to: NaiveDate,
        #[command(flatten)]
        years: ExtraYears,
    },
    /// Print `yes` or `no` and why: `no: 春节`, `yes: 调休上班 (春节)`, `no: weekend`.
    IsWorkingDay {
        /// YYYY-MM-DD
        date: NaiveDate,
        #[command(flatten)]
        years: ExtraYears,
    },
    /// Check a year file: print every problem (exit code 1), or a summary of each year.
    ///
    /// Format: {"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}, …],
    /// "workdays": [{"date": …, "name": "春节"}, …]}, an array of such, or the shipped format.
    Check { file: PathBuf },
    /// Check a year file and store its years in the database, where every `zhili serve`
    /// takes them on top of the shipped ones; no release needed for a new year.
    Load {
        file: PathBuf,
        #[command(flatten)]
        store: crate::StoreArgs,
    },
}

#[derive(Debug, Args)]
struct ExtraYears {
    /// A year file to add to the shipped calendar (2004–2026) first, e.g. next year's
    /// arrangement before it is loaded into the database; repeatable.
    #[arg(long = "year-file", value_name = "FILE")]
    year_files: Vec<PathBuf>,
}

/// What a subcommand prints, and whether it succeeded.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    failure: Option<String>,
}

impl Outcome {
    fn ok(stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            failure: None,
        }
    }
}

pub async fn run(args: CalendarArgs) -> anyhow::Result<()> {
    let outcome = match args.command {
        CalendarCommand::Load { file, store } => load(&file, &store).await?,
        other => execute(other)?,
    };
    print!("{}", outcome.stdout);
    match outcome.failure {
        None => Ok(()),
        Some(why) => Err(anyhow::anyhow!(why)),
    }
}

fn execute(command: CalendarCommand) -> anyhow::Result<Outcome> {
    match command {
        CalendarCommand::AddWorkingDays { date, n, years } => {
            let cal = calendar(&years)?;
            Ok(Outcome::ok(format!("{}\n", cal.add_working_days(date, n)?)))
        }
        CalendarCommand::WorkingDaysBetween { from, to, years } => {
            let cal = calendar(&years)?;
            Ok(Outcome::ok(format!(
                "{}\n",
                cal.working_days_between(from, to)?
            )))
        }
        CalendarCommand::IsWorkingDay { date, years } => {
            let cal = calendar(&years)?;
            let kind = cal.day_kind(date)?;
            let answer = if kind.is_working_day() { "yes" } else { "no" };
            Ok(Outcome::ok(format!("{answer}: {kind}\n")))
        }
        CalendarCommand::Check { file } => check(&file),
        CalendarCommand::Load { .. } => unreachable!("handled in run"),
    }
}

/// Validates the whole file first: a file with any problem stores nothing.
async fn load(path: &Path, store_args: &crate::StoreArgs) -> anyhow::Result<Outcome> {
    let checked = check(path)?;
    if checked.failure.is_some() {
        return Ok(checked);
    }
    let years = read_year_file(path)?;
    let settings = store_args.settings(store_args.flags())?;
    let store = crate::open_store(&settings).await?;
    let by = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let recounted = store
        .load_calendar_years(&years, &format!("{by}（命令行）"), chrono::Utc::now())
        .await?;
    let mut out = String::new();
    for y in &years {
        let _ = writeln!(
            out,
            "loaded: {} ({} holidays, {} make-up working days)",
            y.year(),
            y.holidays().len(),
            y.workdays().len()
        );
    }
    if recounted > 0 {
        let _ = writeln!(out, "recounted: {recounted} estimated deadlines");
    }
    store.close().await;
    Ok(Outcome::ok(out))
}

fn calendar(extra: &ExtraYears) -> anyhow::Result<Calendar> {
    let mut cal = Calendar::shipped().clone();
    for path in &extra.year_files {
        for year in read_year_file(path)? {
            cal = cal.with_year(year);
        }
    }
    Ok(cal)
}

fn read_year_file(path: &Path) -> anyhow::Result<Vec<YearData>> {
    let text = read(path)?;
    parse_year_file(&text).with_context(|| format!("年份文件无效 {}", path.display()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("无法读取 {}", path.display()))
}

fn check(path: &Path) -> anyhow::Result<Outcome> {
    let text = read(path)?;
    match parse_year_file(&text) {
        Ok(years) => {
            let mut out = String::new();
            for y in years {
                let _ = writeln!(
                    out,
                    "ok: {} ({} holidays, {} make-up working days)",
                    y.year(),
                    y.holidays().len(),
                    y.workdays().len()
                );
            }
            Ok(Outcome::ok(out))
        }
        Err(YearDataError::Invalid(problems)) => {
            let mut out = String::new();
            for p in &problems.0 {
                let _ = writeln!(out, "{p}");
            }
            Ok(Outcome {
                stdout: out,
                failure: Some(format!(
                    "{}: {} problem(s)",
                    path.display(),
                    problems.0.len()
                )),
            })
        }
        Err(e) => Err(e).with_context(|| format!("年份文件无效 {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: CalendarCommand,
    }

    fn exec(args: &[&str]) -> anyhow::Result<Outcome> {
        let cli = Cli::try_parse_from(std::iter::once("calendar").chain(args.iter().copied()))?;
        execute(cli.command)
    }

    fn stdout(args: &[&str]) -> String {
        let outcome = exec(args).unwrap();
        assert_eq!(outcome.failure, None);
        outcome.stdout
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zhili-calendar-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A made-up 2027 (the real one is published around November 2026).
    fn fictional_2027() -> String {
        let mut holidays = Vec::new();
        let mut push = |name: &str, dates: &[&str]| {
            for d in dates {
                holidays.push(format!(r#"{{"date": "2027-{d}", "name": "{name}"}}"#));
            }
        };
        push("元旦", &["01-01", "01-02", "01-03"]);
        push(
            "春节",
            &[
                "02-06", "02-07", "02-08", "02-09", "02-10", "02-11", "02-12",
            ],
        );
        push("清明", &["04-03", "04-04", "04-05"]);
        push("劳动节", &["05-01", "05-02", "05-03", "05-04", "05-05"]);
        push("端午", &["06-09"]);
        push("中秋", &["09-15"]);
        push(
            "国庆节",
            &[
                "10-01", "10-02", "10-03", "10-04", "10-05", "10-06", "10-07",
            ],
        );
        format!(
            r#"{{"year": 2027, "holidays": [{}], "workdays": [{{"date": "2027-02-20", "name": "春节"}}]}}"#,
            holidays.join(", ")
        )
    }

    #[test]
    fn add_working_days_prints_the_date() {
        assert_eq!(
            stdout(&["add-working-days", "2024-02-08", "2"]),
            "2024-02-18\n"
        );
        assert_eq!(
            stdout(&["add-working-days", "2024-02-08", "0"]),
            "2024-02-08\n"
        );
        assert_eq!(
            stdout(&["working-days-between", "2024-02-08", "2024-02-18"]),
            "2\n"
        );
    }

    #[test]
    fn is_working_day_gives_the_reason() {
        assert_eq!(stdout(&["is-working-day", "2024-02-12"]), "no: 春节\n");
        assert_eq!(
            stdout(&["is-working-day", "2024-02-18"]),
            "yes: 调休上班 (春节)\n"
        );
        assert_eq!(stdout(&["is-working-day", "2024-03-02"]), "no: weekend\n");
        assert_eq!(stdout(&["is-working-day", "2024-03-04"]), "yes: weekday\n");
    }

    #[test]
    fn an_uncovered_year_is_an_error_unless_its_file_is_given() {
        let e = exec(&["is-working-day", "2027-02-08"]).unwrap_err();
        assert!(e.to_string().contains("does not cover 2027"), "{e}");
        let path = temp_file("2027.json", &fictional_2027());
        let path = path.to_str().unwrap();
        assert_eq!(
            stdout(&["is-working-day", "2027-02-08", "--year-file", path]),
            "no: 春节\n"
        );
        assert_eq!(
            stdout(&["add-working-days", "2026-12-30", "2", "--year-file", path]),
            "2027-01-04\n"
        );
    }

    #[test]
    fn check_summarises_a_good_file() {
        let path = temp_file("good.json", &fictional_2027());
        assert_eq!(
            stdout(&["check", path.to_str().unwrap()]),
            "ok: 2027 (27 holidays, 1 make-up working days)\n"
        );
    }

    #[test]
    fn check_prints_every_problem_and_fails() {
        let bad = fictional_2027()
            .replace("2027-02-20", "2027-02-17")
            .replace("2027-01-03", "2026-01-03");
        let path = temp_file("bad.json", &bad);
        let outcome = exec(&["check", path.to_str().unwrap()]).unwrap();
        assert_eq!(
            outcome.stdout,
            "2026-01-03: not in 2027\n\
             2027-02-17: make-up working day (调休上班) on a Wednesday; it must be a Saturday or Sunday\n"
        );
        assert!(outcome.failure.unwrap().ends_with("2 problem(s)"));
    }

    #[test]
    fn check_refuses_what_is_not_a_year_file() {
        let path = temp_file("not.json", "{\"hello\": 1}");
        assert!(exec(&["check", path.to_str().unwrap()]).is_err());
        assert!(exec(&["check", "/nonexistent/2027.json"]).is_err());
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    fn store_args(dir: &Path) -> crate::StoreArgs {
        crate::StoreArgs {
            config: None,
            database_url: Some(format!("sqlite:{}", dir.join("zhili.db").display())),
            data_dir: Some(dir.to_path_buf()),
        }
    }

    #[tokio::test]
    async fn a_valid_year_file_is_stored_and_a_bad_one_stores_nothing() {
        let dir = std::env::temp_dir().join(format!("zhili-cal-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("2025.json");
        let year = Calendar::shipped().year(2025).unwrap().clone();
        std::fs::write(&good, year.to_json()).unwrap();
        let bad = dir.join("bad.json");
        // 2025-10-08 is a Wednesday: not a possible make-up working day.
        std::fs::write(
            &bad,
            r#"{"year": 2025, "holidays": [{"date": "2025-01-01", "name": "元旦"}], "workdays": [{"date": "2025-10-08"}]}"#,
        )
        .unwrap();

        let out = load(&bad, &store_args(&dir)).await.unwrap();
        assert!(out.failure.is_some(), "{out:?}");
        let store =
            crate::open_store(&store_args(&dir).settings(store_args(&dir).flags()).unwrap())
                .await
                .unwrap();
        assert!(store.calendar_years().await.unwrap().is_empty());

        let out = load(&good, &store_args(&dir)).await.unwrap();
        assert_eq!(out.failure, None);
        assert!(out.stdout.starts_with("loaded: 2025"), "{}", out.stdout);
        let stored = store.calendar_years().await.unwrap();
        assert_eq!(stored.len(), 1);
        let back = YearData::from_json(&stored[0].1).unwrap();
        assert_eq!(back, year);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
