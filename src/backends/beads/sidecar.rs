//! The sidecar: what beads cannot hold, in files beside the beads store (`DIR/.wfc/beads/`).
//!
//! Beads keeps the issues, their dependencies and their status. A run also needs its plan
//! snapshot, the wfc state of each task (a failed attempt that will be retried is `open` in
//! beads, as is a task that never ran), leases, attempts, results and the event log. Each
//! run has a folder `runs/RUN/` with:
//!
//! - `plan.json`: the plan snapshot, written once when the run is created, and
//!   `plan-N.json` the plan of generation N once `wfc resume --replan` replaced it (written
//!   before the `run.json` that names its generation, so a crash leaves the old plan in force);
//! - `run.json`: the run's state and every task's wfc state, rewritten whole on each change;
//! - `events.jsonl`: the run's event log, one JSON object a line, only ever appended to;
//! - `lock` and `events.lock`: empty files whose `flock` serialises writers.
//!
//! Writes replace `run.json` atomically (a temporary file, `fsync`, `rename`, `fsync` of the
//! folder), so a reader never sees half a file and a crash leaves the old or the new state.
//! Readers take no lock. A writer holds the run's lock for the whole read-modify-write, and
//! for the beads command that goes with it, so two engine processes on one store never
//! interleave their changes to a run.

use crate::plan::Plan;
use crate::runtime::{
    BackendError, BackendErrorKind, BackendResult, EventRecord, Millis, NewEvent, RunPlace,
    RunState, TaskKey, TaskRecord, TaskState,
};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The version of `run.json` this wfc writes and reads.
pub const SIDECAR_VERSION: u32 = 1;

/// The longest run id the beads backend stores: `wfc-run:` and the id must fit a beads label
/// (at most 50 characters).
pub const MAX_RUN_ID: usize = 42;

/// A run as `run.json` holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// [`SIDECAR_VERSION`].
    pub version: u32,
    /// The run's id.
    pub id: String,
    /// The workflow it runs, copied out of the plan so listing runs reads no plan.
    pub workflow: String,
    /// Where the workflow came from, copied out of the plan.
    pub source: String,
    /// The run's state.
    pub state: RunState,
    /// When it was created.
    pub created_at: Millis,
    /// When it ended.
    pub finished_at: Option<Millis>,
    /// True while `create_tasks` is creating the run's issues in beads; a run that stays so
    /// was interrupted half-way and cannot be resumed.
    pub creating: bool,
    /// The tasks, in the order they were created (plan order).
    pub tasks: Vec<TaskEntry>,
    /// Where the run works; absent in the files of a wfc that did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<RunPlace>,
    /// The generation of the run's plan: 0 until `wfc resume --replan` replaces it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub plan_generation: u32,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// One task's wfc state and the beads issue that mirrors it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskEntry {
    /// The task's id in the plan.
    pub id: String,
    /// The beads issue's id.
    pub issue: String,
    /// Its index in the plan.
    pub position: usize,
    /// 0 (most urgent) to 4.
    pub priority: u8,
    /// Whether it is a gate.
    pub is_gate: bool,
    /// The tasks it waits for (also `blocks` edges in beads).
    pub deps: Vec<String>,
    /// Where it is in its life.
    pub state: TaskState,
    /// Attempts started.
    pub attempts: u32,
    /// Its `retry` plus one.
    pub max_attempts: u32,
    /// The worker holding it, while claimed or running.
    pub worker: Option<String>,
    /// When that worker's lease ends.
    pub lease_until: Option<Millis>,
    /// When its current or last attempt started.
    pub started_at: Option<Millis>,
    /// When it reached a final state.
    pub finished_at: Option<Millis>,
    /// Its result, once it succeeded.
    pub result: Option<String>,
    /// Why its last attempt failed or was interrupted.
    pub last_error: Option<String>,
    /// Its output commit, once it succeeded in a run isolated in git worktrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The JSON of its typed output, once it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typed_output: Option<String>,
}

impl TaskEntry {
    /// The record the port hands out.
    pub fn record(&self, run: &str) -> TaskRecord {
        TaskRecord {
            key: TaskKey::new(run, self.id.clone()),
            state: self.state,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            worker: self.worker.clone(),
            lease_until: self.lease_until,
            started_at: self.started_at,
            finished_at: self.finished_at,
            result: self.result.clone(),
            last_error: self.last_error.clone(),
            output: self.output.clone(),
            typed_output: self.typed_output.clone(),
        }
    }

    /// Takes what a lifecycle transition changed in `record` (everything but the key).
    pub fn set_record(&mut self, record: TaskRecord) {
        self.state = record.state;
        self.attempts = record.attempts;
        self.max_attempts = record.max_attempts;
        self.worker = record.worker;
        self.lease_until = record.lease_until;
        self.started_at = record.started_at;
        self.finished_at = record.finished_at;
        self.result = record.result;
        self.last_error = record.last_error;
        self.output = record.output;
        self.typed_output = record.typed_output;
    }
}

impl RunFile {
    /// The task `id`, or `NotFound`.
    pub fn task(&self, id: &str) -> BackendResult<&TaskEntry> {
        self.tasks
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| no_task(&self.id, id))
    }

    /// The task `id` to change, or `NotFound`.
    pub fn task_mut(&mut self, id: &str) -> BackendResult<&mut TaskEntry> {
        let run = self.id.clone();
        self.tasks
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| no_task(&run, id))
    }

    /// The pending tasks whose dependencies all succeeded, by the sidecar's account.
    pub fn pending_and_unblocked(&self) -> Vec<&TaskEntry> {
        let states: HashMap<&str, TaskState> = self
            .tasks
            .iter()
            .map(|t| (t.id.as_str(), t.state))
            .collect();
        self.tasks
            .iter()
            .filter(|t| {
                t.state == TaskState::Pending
                    && t.deps.iter().all(|dep| {
                        states
                            .get(dep.as_str())
                            .is_some_and(|s| s.satisfies_dependents())
                    })
            })
            .collect()
    }

    /// Whether `task` is pending and every task it waits for succeeded: the one-task form of
    /// [`RunFile::pending_and_unblocked`], for a claim, without its map of every task.
    pub fn is_pending_and_unblocked(&self, task: &TaskEntry) -> bool {
        task.state == TaskState::Pending
            && task.deps.iter().all(|dep| {
                self.tasks
                    .iter()
                    .any(|t| t.id == *dep && t.state.satisfies_dependents())
            })
    }

    /// The error for a run whose creation was interrupted.
    pub fn half_created(&self) -> BackendError {
        BackendError::storage(
            format!(
                "run `{}` was interrupted while its beads issues were being created, so it has \
                 no complete task list",
                self.id
            ),
            format!(
                "start the workflow again with `wfc run`; the issues already created carry the \
                 label wfc-run:{} and can be closed or deleted with `br`/`bd`",
                self.id
            ),
        )
    }
}

fn no_task(run: &str, task: &str) -> BackendError {
    BackendError::not_found(format!("run `{run}` has no task `{task}`"))
}

/// The error for a run that does not exist.
pub fn no_run(run: &str) -> BackendError {
    BackendError::not_found(format!("there is no run `{run}`"))
}

/// Whether `id` can name a run in this backend: it becomes a folder name and part of a beads
/// label, so only ASCII letters, digits, `-` and `_`, not starting with `-`.
pub fn valid_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RUN_ID
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The sidecar folder of one beads store.
#[derive(Clone, Debug)]
pub struct Sidecar {
    root: PathBuf,
}

/// A run's lock, held until dropped.
pub struct RunLock {
    _lock: Flock<File>,
}

impl Sidecar {
    /// The sidecar at `root` (created on first write).
    pub fn new(root: PathBuf) -> Self {
        Sidecar { root }
    }

    fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// The folder of run `id`; `id` must be valid.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.runs().join(id)
    }

    /// Creates run `id` with its plan and no tasks; `Conflict` if it exists.
    pub fn create_run(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        if !valid_run_id(id) {
            return Err(BackendError::conflict(format!(
                "`{id}` cannot name a run in a beads store: use at most {MAX_RUN_ID} ASCII \
                 letters, digits, `-` and `_`"
            )));
        }
        let runs = self.runs();
        std::fs::create_dir_all(&runs).map_err(|e| self.io_error("create", &runs, &e))?;
        let dir = self.run_dir(id);
        // Creating the folder is the atomic test-and-set: of two processes creating the same
        // run, exactly one succeeds.
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackendError::conflict(format!(
                    "a run `{id}` exists already"
                )))
            }
            Err(error) => return Err(self.io_error("create", &dir, &error)),
        }
        self.write_plan(id, 0, plan)?;
        let run = RunFile {
            version: SIDECAR_VERSION,
            id: id.to_string(),
            workflow: plan.workflow.clone(),
            source: plan.source.clone(),
            state: RunState::Running,
            created_at: now,
            finished_at: None,
            creating: false,
            tasks: Vec::new(),
            place: place.cloned(),
            plan_generation: 0,
        };
        self.write_run(&run)
    }

    /// Takes run `id`'s lock, waiting for another writer to finish; `NotFound` if there is no
    /// such run.
    pub fn lock(&self, id: &str) -> BackendResult<RunLock> {
        self.lock_file(&self.existing_run_dir(id)?.join("lock"))
    }

    /// The folder of run `id` if the run exists (has a state file), else `NotFound`.
    fn existing_run_dir(&self, id: &str) -> BackendResult<PathBuf> {
        let dir = self.run_dir(id);
        if valid_run_id(id) && dir.join("run.json").is_file() {
            Ok(dir)
        } else {
            Err(no_run(id))
        }
    }

    fn lock_file(&self, path: &Path) -> BackendResult<RunLock> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| self.io_error("open", path, &e))?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Ok(lock) => return Ok(RunLock { _lock: lock }),
                Err((back, Errno::EINTR)) => file = back,
                Err((_, errno)) => {
                    return Err(BackendError::storage(
                        format!("cannot lock `{}`: {errno}", path.display()),
                        "the beads sidecar needs a file system with file locks (flock); a \
                         network share may not have them",
                    ))
                }
            }
        }
    }

    /// Run `id`'s state; `NotFound` if there is no such run.
    pub fn read_run(&self, id: &str) -> BackendResult<RunFile> {
        if !valid_run_id(id) {
            return Err(no_run(id));
        }
        let path = self.run_dir(id).join("run.json");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(no_run(id)),
            Err(error) => return Err(self.io_error("read", &path, &error)),
        };
        let run: RunFile =
            serde_json::from_slice(&bytes).map_err(|e| self.json_error(&path, &e))?;
        if run.version != SIDECAR_VERSION {
            return Err(BackendError::storage(
                format!(
                    "`{}` has version {}; this wfc reads version {SIDECAR_VERSION}",
                    path.display(),
                    run.version
                ),
                "use the wfc that wrote it, or start the workflow again",
            ));
        }
        Ok(run)
    }

    /// The file of run `id`'s plan of `generation`.
    fn plan_path(&self, id: &str, generation: u32) -> PathBuf {
        match generation {
            0 => self.run_dir(id).join("plan.json"),
            n => self.run_dir(id).join(format!("plan-{n}.json")),
        }
    }

    /// Writes run `id`'s plan of `generation`, which is in force once `run.json` names it.
    pub fn write_plan(&self, id: &str, generation: u32, plan: &Plan) -> BackendResult<()> {
        let path = self.plan_path(id, generation);
        let bytes = serde_json::to_vec(plan).map_err(|e| self.json_error(&path, &e))?;
        write_atomically(&path, &bytes).map_err(|e| self.io_error("write", &path, &e))
    }

    /// Run `id`'s plan snapshot of `generation`.
    pub fn read_plan(&self, id: &str, generation: u32) -> BackendResult<Plan> {
        let path = self.plan_path(id, generation);
        let bytes = std::fs::read(&path).map_err(|e| self.io_error("read", &path, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| self.json_error(&path, &e))
    }

    /// Replaces `run.json` of `run.id` atomically. The caller holds the run's lock.
    pub fn write_run(&self, run: &RunFile) -> BackendResult<()> {
        let path = self.run_dir(&run.id).join("run.json");
        let bytes = serde_json::to_vec(run).map_err(|e| self.json_error(&path, &e))?;
        write_atomically(&path, &bytes).map_err(|e| self.io_error("write", &path, &e))
    }

    /// The ids of every run that has a state file.
    pub fn run_ids(&self) -> BackendResult<Vec<String>> {
        let runs = self.runs();
        let entries = match std::fs::read_dir(&runs) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(self.io_error("read", &runs, &error)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io_error("read", &runs, &e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            // A folder without `run.json` is a run whose creation has only just begun.
            if valid_run_id(&name) && entry.path().join("run.json").is_file() {
                ids.push(name);
            }
        }
        Ok(ids)
    }

    /// The state of every run, skipping runs removed while they were listed.
    pub fn read_runs(&self) -> BackendResult<Vec<RunFile>> {
        let mut files = Vec::new();
        for id in self.run_ids()? {
            match self.read_run(&id) {
                Ok(file) => files.push(file),
                Err(error) if error.kind == BackendErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(files)
    }

    /// Appends `events` to run `id`'s log and returns the last sequence number written.
    pub fn append_events(&self, id: &str, events: &[NewEvent]) -> BackendResult<i64> {
        let dir = self.existing_run_dir(id)?;
        let _lock = self.lock_file(&dir.join("events.lock"))?;
        let path = dir.join("events.jsonl");
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| self.io_error("open", &path, &e))?;
        let (mut seq, torn) = last_seq(&mut file).map_err(|e| self.io_error("read", &path, &e))?;
        let mut text = String::new();
        // A crash in the middle of an append can leave a line without its end; start after it.
        if torn {
            text.push('\n');
        }
        for event in events {
            seq += 1;
            let record = EventRecord {
                seq,
                at: event.at,
                kind: event.kind.clone(),
                task: event.task.clone(),
                data: event.data.clone(),
            };
            let line = serde_json::to_string(&record).map_err(|e| self.json_error(&path, &e))?;
            text.push_str(&line);
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .map_err(|e| self.io_error("append to", &path, &e))?;
        Ok(seq)
    }

    /// Up to `limit` events of run `id` with a sequence number above `after`.
    pub fn read_events(
        &self,
        id: &str,
        after: i64,
        limit: usize,
    ) -> BackendResult<Vec<EventRecord>> {
        let path = self.existing_run_dir(id)?.join("events.jsonl");
        // Bytes, not a string: a crash mid-append can cut a multi-byte character, and the log
        // must stay readable after it.
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(self.io_error("read", &path, &error)),
        };
        Ok(bytes
            .split(|&byte| byte == b'\n')
            // A torn line (a crash mid-append) is skipped, not an error.
            .filter_map(|line| serde_json::from_slice::<EventRecord>(line).ok())
            .filter(|event| event.seq > after)
            .take(limit)
            .collect())
    }

    fn io_error(&self, what: &str, path: &Path, error: &std::io::Error) -> BackendError {
        BackendError::storage(
            format!("beads sidecar: cannot {what} `{}`: {error}", path.display()),
            format!(
                "wfc keeps what beads cannot hold in `{}`: it must be a folder this user can \
                 write to",
                self.root.display()
            ),
        )
    }

    fn json_error(&self, path: &Path, error: &serde_json::Error) -> BackendError {
        BackendError::storage(
            format!("beads sidecar: `{}` is not valid: {error}", path.display()),
            "it was damaged or changed by another program; restore it from a backup, or start \
             the workflow again",
        )
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix,
/// and the new content survives a crash once this returns.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // One temporary name per process and thread, so writers that do not share a lock (the
    // plan, written once) cannot clobber each other's temporary file.
    let temp = dir.join(format!(
        ".{name}.{}.{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename is durable once the folder is synced.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The sequence number of the last whole event in the log, and whether the file ends in the
/// middle of a line. Reads only the end of the file unless its last lines are very long.
fn last_seq(file: &mut File) -> std::io::Result<(i64, bool)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((0, false));
    }
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let torn = tail.last() != Some(&b'\n');
        let text = String::from_utf8_lossy(&tail);
        // The first line of a window that does not start at the beginning may be cut.
        let lines: Vec<&str> = text.lines().collect();
        let whole = if start == 0 {
            &lines[..]
        } else {
            &lines[1.min(lines.len())..]
        };
        let found = whole
            .iter()
            .rev()
            .find_map(|line| serde_json::from_str::<EventRecord>(line).ok());
        if let Some(event) = found {
            return Ok((event.seq, torn));
        }
        if start == 0 {
            return Ok((0, torn));
        }
        window = window.saturating_mul(4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            version: crate::plan::PLAN_VERSION,
            source: "s.wf".into(),
            workflow: "w".into(),
            params: Vec::new(),
            isolation: Default::default(),
            event_sinks: Vec::new(),
            budget_usd: None,
            secrets: Vec::new(),
            tasks: Vec::new(),
        }
    }

    fn event(kind: &str) -> NewEvent {
        NewEvent {
            at: 1,
            kind: kind.into(),
            task: None,
            data: serde_json::json!({ "text": "x".repeat(100) }),
        }
    }

    #[test]
    fn the_event_log_survives_a_torn_last_line() {
        let root = std::env::temp_dir().join(format!("wfc-sidecar-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let sidecar = Sidecar::new(root.clone());
        sidecar.create_run("r", &plan(), None, 1).expect("run");
        assert_eq!(
            sidecar
                .create_run("r", &plan(), None, 2)
                .expect_err("twice")
                .kind,
            crate::runtime::BackendErrorKind::Conflict
        );
        let events: Vec<NewEvent> = (0..1_000).map(|i| event(&format!("e{i}"))).collect();
        assert_eq!(sidecar.append_events("r", &events).expect("append"), 1_000);
        // A crash in the middle of an append leaves half a line.
        let log = sidecar.run_dir("r").join("events.jsonl");
        let mut file = OpenOptions::new().append(true).open(&log).expect("log");
        file.write_all(b"{\"seq\":1001,\"at\":1,\"ki")
            .expect("torn");
        assert_eq!(
            sidecar
                .append_events("r", &[event("after")])
                .expect("append"),
            1_001
        );
        let read = sidecar.read_events("r", 998, 10).expect("read");
        let kinds: Vec<&str> = read.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["e998", "e999", "after"]);
        assert_eq!(read[2].seq, 1_001);
        assert_eq!(sidecar.run_ids().expect("ids"), ["r"]);
        assert!(sidecar.read_run("../r").is_err());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_event_log_survives_a_torn_multi_byte_character() {
        let root = std::env::temp_dir().join(format!("wfc-sidecar-utf8-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let sidecar = Sidecar::new(root.clone());
        sidecar.create_run("r", &plan(), None, 1).expect("run");
        sidecar
            .append_events("r", &[event("before")])
            .expect("append");
        // A crash in the middle of `ü` (0xC3 0xBC) leaves a line that is not UTF-8.
        let log = sidecar.run_dir("r").join("events.jsonl");
        let mut file = OpenOptions::new().append(true).open(&log).expect("log");
        file.write_all(b"{\"seq\":2,\"kind\":\"\xC3").expect("torn");
        assert_eq!(
            sidecar
                .append_events("r", &[event("after")])
                .expect("append"),
            2
        );
        let read = sidecar.read_events("r", 0, 10).expect("read");
        let kinds: Vec<&str> = read.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["before", "after"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn run_ids_are_folder_and_label_safe() {
        assert!(valid_run_id("20261124-130000-abcde"));
        assert!(valid_run_id("r1"));
        for bad in ["", "../x", "a/b", "-x", ".hidden", "a b", &"x".repeat(43)] {
            assert!(!valid_run_id(bad), "{bad}");
        }
    }
}
