//! Checking that a store holds what wfc wrote: the schema on every open, one run's tasks and
//! dependencies against its plan whenever the run is read, and everything (SQLite's
//! `integrity_check` too) on demand, for `wfc store check`.
//!
//! Every check only reads. What it finds is said exactly (which table, which run, which
//! tasks), so a person can decide whether to restore the file or start afresh.

use super::recognise::damaged;
use super::schema::SCHEMA;
use super::{Step, Stop};
use crate::plan::Plan;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

/// How many names a problem lists before it says how many more there are.
const SHOWN: usize = 5;

/// A table's columns or an index's, in order, by object name.
type Shape = BTreeMap<String, (&'static str, Vec<String>)>;

/// The tables and indexes of a store as SQLite describes them.
fn shape(conn: &Connection) -> rusqlite::Result<Shape> {
    let mut shape = Shape::new();
    let mut tables = conn.prepare(
        "SELECT m.name, c.name FROM sqlite_schema m, pragma_table_info(m.name) c \
         WHERE m.type = 'table' ORDER BY m.name, c.cid",
    )?;
    let rows = tables.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))?;
    for row in rows {
        let (table, column) = row?;
        shape
            .entry(table)
            .or_insert_with(|| ("table", Vec::new()))
            .1
            .push(column);
    }
    let mut indexes = conn.prepare(
        "SELECT m.name, m.tbl_name, c.name FROM sqlite_schema m, pragma_index_info(m.name) c \
         WHERE m.type = 'index' ORDER BY m.name, c.seqno",
    )?;
    let rows = indexes.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get(2)?,
        ))
    })?;
    for row in rows {
        let (index, table, column) = row?;
        let entry = shape
            .entry(index)
            .or_insert_with(|| ("index", vec![format!("on {table}:")]));
        entry.1.push(column);
    }
    Ok(shape)
}

/// The shape [`SCHEMA`] gives a new store, worked out once from an empty in-memory database,
/// so the schema is written down in one place only.
fn expected() -> rusqlite::Result<&'static Shape> {
    static EXPECTED: OnceLock<Shape> = OnceLock::new();
    if let Some(shape) = EXPECTED.get() {
        return Ok(shape);
    }
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(SCHEMA)?;
    Ok(EXPECTED.get_or_init(|| shape(&conn).unwrap_or_default()))
}

/// What differs between the store's tables and indexes and the ones wfc made; other tables
/// and indexes (someone's own) are not wfc's business.
pub fn shape_problems(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let found = shape(conn)?;
    let mut problems = Vec::new();
    // A store of an older version, read as it is, lacks what later versions added.
    let version = super::schema::version(conn)?;
    for (name, (kind, columns)) in expected()? {
        if version < super::schema::added_in(name) {
            continue;
        }
        // The columns a table of this store's version has.
        let columns: Vec<String> = columns
            .iter()
            .filter(|column| version >= super::schema::column_added_in(name, column))
            .cloned()
            .collect();
        match found.get(name) {
            None => problems.push(format!("{kind} `{name}` is missing")),
            Some((found_kind, _)) if found_kind != kind => {
                problems.push(format!("`{name}` is a {found_kind}, not a {kind}"));
            }
            Some((_, found_columns)) if *found_columns != columns => problems.push(format!(
                "{kind} `{name}` has columns ({}) instead of ({})",
                found_columns.join(", "),
                columns.join(", ")
            )),
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// Fails unless the store has every table and index of wfc's schema, with their columns. It
/// reads only the schema, which SQLite keeps in memory: well under a millisecond.
pub fn check_shape(conn: &Connection, path: &Path) -> Step<()> {
    let problems = shape_problems(conn)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Stop::Backend(damaged(path, &problems.join("; "))))
    }
}

/// What is wrong with run `run`'s rows, measured against its plan: tasks or dependencies its
/// plan has and the tables lack, or the other way round.
pub fn run_problems(tx: &Connection, run: &str, plan: &Plan) -> rusqlite::Result<Vec<String>> {
    let mut problems = Vec::new();
    let rows: HashSet<String> = tx
        .prepare_cached("SELECT id FROM tasks WHERE run = ?1")?
        .query_map([run], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let planned: Vec<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
    let lacking: Vec<String> = planned
        .iter()
        .filter(|id| !rows.contains(**id))
        .map(|id| format!("`{id}`"))
        .collect();
    if lacking.len() == planned.len() && !planned.is_empty() {
        problems.push(format!(
            "table `tasks` has none of its {} tasks (its creation was interrupted, or they were \
             deleted)",
            planned.len()
        ));
    } else if !lacking.is_empty() {
        problems.push(format!(
            "table `tasks` lacks {} of its {} tasks: {}",
            lacking.len(),
            planned.len(),
            listed(&lacking)
        ));
    }
    let planned_set: HashSet<&str> = planned.iter().copied().collect();
    let mut stray: Vec<String> = rows
        .iter()
        .filter(|id| !planned_set.contains(id.as_str()))
        .map(|id| format!("`{id}`"))
        .collect();
    stray.sort();
    if !stray.is_empty() {
        problems.push(format!(
            "table `tasks` has {} its plan does not have: {}",
            plural(stray.len(), "task"),
            listed(&stray)
        ));
    }
    let edges: HashSet<(String, String)> = tx
        .prepare_cached("SELECT child, parent FROM deps WHERE run = ?1")?
        .query_map([run], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let planned_edges: HashSet<(&str, &str)> = plan
        .tasks
        .iter()
        .flat_map(|t| t.deps.iter().map(|d| (t.id.as_str(), d.as_str())))
        .collect();
    let mut seen = HashSet::new();
    let lacking: Vec<String> = plan
        .tasks
        .iter()
        .flat_map(|t| t.deps.iter().map(move |d| (t.id.as_str(), d.as_str())))
        .filter(|edge| seen.insert(*edge))
        .filter(|(child, parent)| !edges.contains(&(child.to_string(), parent.to_string())))
        .map(|(child, parent)| format!("`{child}` after `{parent}`"))
        .collect();
    if !lacking.is_empty() {
        problems.push(format!(
            "table `deps` lacks {} of its {} dependencies: {}",
            lacking.len(),
            planned_edges.len(),
            listed(&lacking)
        ));
    }
    let mut stray: Vec<String> = edges
        .iter()
        .filter(|(child, parent)| !planned_edges.contains(&(child.as_str(), parent.as_str())))
        .map(|(child, parent)| format!("`{child}` after `{parent}`"))
        .collect();
    stray.sort();
    if !stray.is_empty() {
        problems.push(format!(
            "table `deps` has {} its plan does not have: {}",
            plural(stray.len(), "dependency"),
            listed(&stray)
        ));
    }
    Ok(problems)
}

/// The tasks of run `run` whose count of unfinished dependencies (schema version 6) is not
/// what their dependencies' states say: a store changed by hand, or a bug in keeping the
/// counts. A wrong count would run a task too early or never. Read by `wfc store check` only:
/// it reads every dependency of the run.
pub fn count_problems(tx: &Connection, run: &str) -> rusqlite::Result<Vec<String>> {
    let wrong: Vec<String> = tx
        .prepare_cached(concat!(
            "SELECT t.id, t.unfinished_deps, (SELECT count(*) FROM deps d \
             LEFT JOIN tasks p ON p.run = d.run AND p.id = d.parent \
             WHERE d.run = t.run AND d.child = t.id AND (p.state IS NULL OR p.state NOT IN ",
            done_states!(),
            ")) AS actual FROM tasks t WHERE t.run = ?1 AND t.unfinished_deps != actual \
             ORDER BY t.position"
        ))?
        .query_map([run], |row| {
            // A count a bug or a hand drove below zero is shown as it is.
            let counted: i64 = row.get(1)?;
            let noun = if counted == 1 {
                "dependency"
            } else {
                "dependencies"
            };
            Ok(format!(
                "`{}` counts {counted} unfinished {noun}, not {}",
                row.get::<_, String>(0)?,
                row.get::<_, i64>(2)?
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(if wrong.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "table `tasks` has {} whose count of unfinished dependencies is wrong: {}",
            plural(wrong.len(), "task"),
            listed(&wrong)
        )]
    })
}

/// Fails unless run `run`'s task and dependency rows are the ones its plan made.
pub fn check_run(tx: &Connection, path: &Path, run: &str, plan: &Plan) -> Step<()> {
    let problems = run_problems(tx, run, plan)?;
    if problems.is_empty() {
        return Ok(());
    }
    let mut error = damaged(path, &format!("run `{run}`: {}", problems.join("; ")));
    if let Some(hint) = &mut error.hint {
        hint.push_str("; `wfc store check` checks every run and page of the store");
    }
    Err(Stop::Backend(error))
}

/// What SQLite's `integrity_check` finds (at most `limit` problems), and every row that names
/// a run or task that does not exist.
pub fn file_problems(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<String>> {
    let mut problems: Vec<String> = conn
        .prepare(&format!("PRAGMA integrity_check({limit})"))?
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|line| line != "ok")
        .collect();
    let mut orphans = conn.prepare("PRAGMA foreign_key_check")?;
    let rows = orphans.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<i64>>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in rows {
        let (table, _, parent) = row?;
        *counts.entry((table, parent)).or_default() += 1;
    }
    for ((table, parent), count) in counts {
        problems.push(format!(
            "table `{table}` has {} naming a missing row of `{parent}`",
            plural(count, "row")
        ));
    }
    Ok(problems)
}

/// `items` joined, the first [`SHOWN`] of them.
fn listed(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

fn plural(count: usize, noun: &str) -> String {
    match (count, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{count} {stem}ies"),
        _ => format!("{count} {noun}s"),
    }
}
