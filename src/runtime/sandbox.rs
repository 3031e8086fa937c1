//! The `bwrap` sandbox (`sandbox = "bwrap"`, docs/architecture.md "The sandbox"): every process
//! of an attempt — its command, its agent CLI, its verify commands — runs under bubblewrap,
//! which gives it a view of the file system of its own:
//!
//! - **Read-only:** the whole file system (`/`), including the user's checkout.
//! - **Writable:** the attempt's folder (its worktree, or the run's folder in a run that is not
//!   isolated), the worktree's git admin folder and the repository's object store (so `git
//!   add` and `git commit` work inside), a private `/tmp`, and the home paths the agent CLI
//!   keeps its own state in.
//! - **Hidden:** the user's home (an empty tmpfs) except what the adapter needs, and wfc's
//!   folder `.wfc` — the store and every other worktree — except the attempt's own worktree.
//!
//! The rule is "the most specific path wins": each mount is applied in the order of its path's
//! depth, so a folder bound back inside a hidden one (the attempt's worktree inside `.wfc`, a
//! CLI's config inside the home) is visible, and a hidden folder inside a visible one (a home
//! inside the checkout) stays hidden. The network is kept: agents call their APIs.
//!
//! Processes run in a PID namespace of their own (`--unshare-pid`), so they cannot reach other
//! processes through `/proc` (whose `/proc/PID/root` would show the whole file system and
//! `/proc/PID/environ` wfc's secrets). They stay in the attempt's process group, so the
//! runner's group signals (a time-out, a cancel) reach every one of them; `--die-with-parent`
//! and the namespace's end take down whatever is left when bwrap itself dies. No
//! `--new-session`: it would move the sandboxed processes out of the group.
//!
//! Every path is one argv element of bwrap, after the option that takes it, and the command
//! comes after `--`: nothing goes through a shell, and a path that starts with `-` is never
//! read as an option.

use super::process::ProcessSpec;
use crate::plan::Plan;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// The program that makes the sandbox, looked up on the `PATH`.
pub const BWRAP: &str = "bwrap";

/// How to get bubblewrap, for error messages.
pub const INSTALL_HINT: &str =
    "install bubblewrap (`apt install bubblewrap` on Debian and Ubuntu, `dnf install bubblewrap` on Fedora)";

/// A path in the user's home that an agent CLI needs inside the sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HomePath {
    /// The path, relative to `$HOME` (`.claude`, `.claude.json`).
    pub path: &'static str,
    /// Whether the CLI writes there (its sessions, settings, logs), not only reads it.
    pub writable: bool,
}

/// What an attempt's processes may see and touch under bwrap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BwrapSandbox {
    /// The attempt's folder: writable.
    pub work: PathBuf,
    /// The run's workspace folder: read-only, with its `.wfc` hidden.
    pub workspace: PathBuf,
    /// The paths of the home the agent CLI needs.
    pub home: Vec<HomePath>,
    /// Further folders or files the process writes (a CLI's config folder named by a variable,
    /// such as `CODEX_HOME`).
    pub writable: Vec<PathBuf>,
    /// Further files or folders the process reads (a prompt file in the temporary folder).
    pub readable: Vec<PathBuf>,
}

/// What a mount does to the path it is applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Shown read-only.
    ReadOnly,
    /// Hidden behind an empty, private tmpfs.
    Hidden,
    /// Shown writable.
    Writable,
}

/// One mount of the sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mount {
    path: PathBuf,
    kind: Kind,
}

impl BwrapSandbox {
    /// The sandbox of an attempt working in `work`, for a run in `workspace`; nothing of the
    /// home is kept yet.
    pub fn new(work: PathBuf, workspace: PathBuf) -> Self {
        BwrapSandbox {
            work,
            workspace,
            home: Vec::new(),
            writable: Vec::new(),
            readable: Vec::new(),
        }
    }

    /// `spec` run inside the sandbox: the program becomes bwrap, with the mounts, the
    /// working directory and then, after `--`, the original program and arguments. The
    /// environment is kept, with `TMPDIR` pointing at the private `/tmp`.
    pub fn wrap(&self, mut spec: ProcessSpec) -> ProcessSpec {
        let home = spec
            .env
            .iter()
            .rev()
            .find(|(name, _)| name == "HOME")
            .map(|(_, value)| PathBuf::from(value));
        let path_var = spec
            .env
            .iter()
            .rev()
            .find(|(name, _)| name == "PATH")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        let mut args: Vec<OsString> = [
            "--die-with-parent",
            "--unshare-pid",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        let cwd = std::fs::canonicalize(&spec.cwd).unwrap_or_else(|_| spec.cwd.clone());
        let program = find_program(&spec.program, &path_var, &cwd);
        for mount in self.mounts(home.as_deref(), &path_var, program.as_deref()) {
            let path = OsString::from(mount.path);
            match mount.kind {
                Kind::Hidden => args.extend(["--tmpfs".into(), path]),
                Kind::ReadOnly => args.extend(["--ro-bind".into(), path.clone(), path]),
                Kind::Writable => args.extend(["--bind".into(), path.clone(), path]),
            }
        }
        args.extend(["--chdir".into(), cwd.into_os_string(), "--".into()]);
        args.push(std::mem::replace(&mut spec.program, PathBuf::from(BWRAP)).into_os_string());
        // bwrap is told its own name; the program inside gets its full name.
        spec.arg0 = None;
        args.append(&mut spec.args);
        spec.args = args;
        spec.env.push(("TMPDIR".into(), "/tmp".into()));
        spec
    }

    /// Every mount after `/`, `/dev` and `/proc`, ordered so that the most specific wins:
    /// by the depth of the path, and at the same depth hiding before showing read-only
    /// before showing writable (so the attempt's own folder is writable even when it is the
    /// home or the checkout).
    fn mounts(&self, home: Option<&Path>, path_var: &str, program: Option<&Path>) -> Vec<Mount> {
        let home = home
            .filter(|home| home.is_absolute())
            .and_then(existing)
            .filter(|home| home.parent().is_some());
        let workspace = existing(&self.workspace);
        let mut wanted: Vec<Mount> = Vec::new();
        let mut add = |path: Option<PathBuf>, kind: Kind| {
            if let Some(path) = path {
                wanted.push(Mount { path, kind });
            }
        };
        add(Some(PathBuf::from("/tmp")), Kind::Hidden);
        add(home.clone(), Kind::Hidden);
        add(workspace.clone(), Kind::ReadOnly);
        add(
            workspace.as_ref().and_then(|w| existing(&w.join(".wfc"))),
            Kind::Hidden,
        );
        let work = existing(&self.work);
        add(work.clone(), Kind::Writable);
        if let Some(work) = &work {
            for mount in git_mounts(work) {
                add(Some(mount.path), mount.kind);
            }
        }
        if let Some(home) = &home {
            for kept in &self.home {
                let kind = if kept.writable {
                    Kind::Writable
                } else {
                    Kind::ReadOnly
                };
                add(existing(&home.join(kept.path)), kind);
            }
        }
        for path in &self.writable {
            add(existing(path), Kind::Writable);
        }
        for path in &self.readable {
            add(existing(path), Kind::ReadOnly);
        }
        // What the sandbox hides that the process must still run: the folders of the PATH
        // and the program's installation (an npm package with its dependencies, a virtual
        // environment) when they lie in the home or the temporary folder.
        // A path is hidden when the deepest mount above it hides it.
        let decided = wanted.clone();
        let is_hidden = |path: &Path| {
            decided
                .iter()
                .filter(|m| path.starts_with(&m.path))
                .max_by_key(|m| (m.path.components().count(), m.kind))
                .is_some_and(|m| m.kind == Kind::Hidden)
        };
        let mut tools: Vec<PathBuf> = std::env::split_paths(path_var)
            .filter(|dir| dir.is_absolute())
            .filter_map(|dir| existing(&dir))
            .collect();
        if let Some(program) = program {
            tools.extend(installation(program));
            if let Some(resolved) = existing(program) {
                tools.extend(installation(&resolved));
            }
        }
        for tool in tools.into_iter().filter(|tool| is_hidden(tool)) {
            if !wanted.iter().any(|m| m.path == tool) {
                wanted.push(Mount {
                    path: tool,
                    kind: Kind::ReadOnly,
                });
            }
        }
        wanted.sort_by_key(|mount| (mount.path.components().count(), mount.kind));
        wanted.dedup();
        wanted
    }
}

/// The mounts that let git work in the worktree `work`: its admin folder (index, `HEAD`) and
/// the repository's object store writable, the rest of the repository read-only — its
/// config and hooks too, which git run by wfc outside the sandbox reads — and the files that
/// say where the repository is read-only, so a task cannot point its worktree at another.
/// Nothing for a folder that is not a linked worktree (its `.git` is its own).
fn git_mounts(work: &Path) -> Vec<Mount> {
    let dot_git = work.join(".git");
    let Ok(link) = std::fs::read_to_string(&dot_git) else {
        return Vec::new();
    };
    let Some(admin) = link
        .lines()
        .find_map(|line| line.strip_prefix("gitdir:"))
        .map(|path| work.join(path.trim()))
        .and_then(|path| existing(&path))
    else {
        return Vec::new();
    };
    let common = std::fs::read_to_string(admin.join("commondir"))
        .ok()
        .and_then(|dir| existing(&admin.join(dir.trim())));
    let mut mounts = vec![Mount {
        path: dot_git,
        kind: Kind::ReadOnly,
    }];
    if let Some(common) = common {
        mounts.push(Mount {
            path: common.clone(),
            kind: Kind::ReadOnly,
        });
        if let Some(objects) = existing(&common.join("objects")) {
            mounts.push(Mount {
                path: objects,
                kind: Kind::Writable,
            });
        }
    }
    mounts.push(Mount {
        path: admin.clone(),
        kind: Kind::Writable,
    });
    for file in ["commondir", "gitdir", "config.worktree"] {
        if let Some(path) = existing(&admin.join(file)) {
            mounts.push(Mount {
                path,
                kind: Kind::ReadOnly,
            });
        }
    }
    mounts
}

/// `path` with every link resolved, if it exists: bwrap binds a path to itself, so the two
/// must name the same file.
fn existing(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// Where `program` is, as the runner will start it: itself when it names a folder (relative
/// to `cwd`), otherwise the first match on `path_var`.
fn find_program(program: &Path, path_var: &str, cwd: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return Some(cwd.join(program));
    }
    std::env::split_paths(path_var)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The folder a program is installed with: the outermost `node_modules` around it (an npm
/// package and its dependencies), or the folder above its `bin` (a virtual environment, a
/// prefix), or its own folder.
fn installation(program: &Path) -> Option<PathBuf> {
    let outermost_modules = program
        .ancestors()
        .filter(|dir| dir.file_name().is_some_and(|name| name == "node_modules"))
        .last();
    if let Some(modules) = outermost_modules {
        return existing(modules);
    }
    let dir = program.parent()?;
    let root = match dir.file_name() {
        Some(name) if name == "bin" => dir.parent().unwrap_or(dir),
        _ => dir,
    };
    // A program right in `/usr/bin` or `/bin` is not an installation of its own.
    if root.components().all(|c| matches!(c, Component::RootDir)) {
        return None;
    }
    existing(root)
}

/// The ids of the tasks of `plan` that run in the bwrap sandbox.
pub fn sandboxed_tasks(plan: &Plan) -> Vec<&str> {
    plan.tasks
        .iter()
        .filter(|task| task.work.sandbox == crate::ir::Sandbox::Bwrap)
        .filter(|task| !task.action.waits_for_person())
        .map(|task| task.id.as_str())
        .collect()
}

/// Checks, before a run starts, that bwrap can make a sandbox here when any task of `plan`
/// asks for one: it runs `bwrap --ro-bind / / true` once. The error names the tasks and
/// what to do.
pub fn check_available(plan: &Plan) -> Result<(), String> {
    let tasks = sandboxed_tasks(plan);
    if tasks.is_empty() {
        return Ok(());
    }
    let why = match std::process::Command::new(BWRAP)
        .args(["--ro-bind", "/", "/", "true"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
    {
        Ok(output) if output.status.success() => return Ok(()),
        Ok(output) => format!(
            "`{BWRAP}` cannot make a sandbox on this machine ({}): {}. Allow unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`), or run these tasks without `sandbox = \"bwrap\"`",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            format!("`{BWRAP}` is not on the PATH; {INSTALL_HINT}")
        }
        Err(error) => format!("`{BWRAP}` cannot be started: {error}; {INSTALL_HINT}"),
    };
    let named: Vec<String> = tasks.iter().map(|task| format!("`{task}`")).collect();
    Err(format!(
        "{} {} `sandbox = \"bwrap\"`, but {why}",
        if named.len() == 1 { "task" } else { "tasks" },
        if named.len() == 1 {
            format!("{} sets", named[0])
        } else {
            format!("{} set", named.join(", "))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(spec: &ProcessSpec) -> Vec<String> {
        spec.args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_command_comes_after_the_mounts_and_a_double_dash() {
        let dir = std::env::temp_dir().join(format!("wfc-sandbox-unit-{}", std::process::id()));
        let work = dir.join("-work");
        std::fs::create_dir_all(work.join(".wfc")).expect("folders");
        let sandbox = BwrapSandbox::new(work.clone(), work.clone());
        let spec = ProcessSpec::new("/bin/sh", ["-c", "echo hi"], &work);
        let wrapped = sandbox.wrap(spec);
        let args = arguments(&wrapped);
        assert_eq!(wrapped.program, PathBuf::from(BWRAP));
        let dash = args.iter().position(|a| a == "--").expect("a `--`");
        assert_eq!(&args[dash + 1..], ["/bin/sh", "-c", "echo hi"]);
        let work = std::fs::canonicalize(&work).expect("canonical");
        let work = work.to_string_lossy().into_owned();
        // The folder whose name starts with `-` is the value of `--bind`, never an option.
        let bind = args
            .windows(3)
            .position(|w| w[0] == "--bind" && w[1] == work && w[2] == work)
            .expect("the work folder is writable");
        // Its `.wfc` is hidden after it is bound: deeper paths come later.
        let hidden = args
            .windows(2)
            .position(|w| w[0] == "--tmpfs" && w[1] == format!("{work}/.wfc"))
            .expect(".wfc hidden");
        assert!(bind < hidden, "{args:?}");
        assert!(wrapped
            .env
            .iter()
            .any(|(name, value)| name == "TMPDIR" && value == "/tmp"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_installation_is_its_package_tree_or_its_prefix() {
        assert_eq!(
            installation(Path::new("/nonexistent/npm/node_modules/.bin/codex")),
            None
        );
        let dir = std::env::temp_dir().join(format!("wfc-sandbox-install-{}", std::process::id()));
        let bin = dir.join("venv/bin");
        let modules = dir.join("npm/node_modules/.bin");
        std::fs::create_dir_all(&bin).expect("venv");
        std::fs::create_dir_all(modules.join("../pkg/node_modules/dep")).expect("npm");
        let dir = std::fs::canonicalize(&dir).expect("canonical");
        assert_eq!(installation(&bin.join("aider")), Some(dir.join("venv")));
        assert_eq!(
            installation(&dir.join("npm/node_modules/pkg/node_modules/dep/cli.js")),
            Some(dir.join("npm/node_modules"))
        );
        assert_eq!(
            installation(Path::new("/usr/bin/git")),
            Some(PathBuf::from("/usr"))
        );
        assert_eq!(installation(Path::new("/bin/sh")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
