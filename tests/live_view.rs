//! The live view on a real pseudo-terminal, and the plain output without one: the screen a
//! person sees (rendered from the captured bytes by a terminal emulator) at 200 and 60
//! columns, resized mid-run, with a gate approved from another process; heartbeat lines and
//! what an idle worker or `wfc resume` waits for, in a log that is not a terminal.

use crate::support::{run_id, wfc, TempDir};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A build, two gates on it, and a slow task after the gates; names long enough that the
/// status line must be cut at 60 columns while both gates wait.
const GATED: &str = "workflow gated {
  task build_the_documentation_site {
    run = \"sleep 1\"
  }
  gate publish_to_the_world after build_the_documentation_site {
    ask = \"Publish?\"
  }
  gate proofread_the_announcement after build_the_documentation_site {
    ask = \"Is the wording right?\"
  }
  task announce_the_release_everywhere after publish_to_the_world, proofread_the_announcement {
    run = \"sleep 3\"
  }
}
";

/// `wfc` running in a pseudo-terminal, its output rendered by a terminal emulator as it comes.
struct Terminal {
    screen: Arc<Mutex<vt100::Parser>>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    /// The keyboard, kept open: dropping portable-pty's writer types a newline and an EOF.
    keyboard: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Terminal {
    /// Starts `wfc ARGS` in `dir` on a terminal `columns` wide and 24 rows high.
    fn start(dir: &Path, args: &[&str], columns: u16) -> Terminal {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: columns,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_wfc"));
        command.args(args);
        command.cwd(dir);
        command.env_remove("WFC_BACKEND");
        command.env_remove("COLUMNS");
        command.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(command).expect("wfc starts");
        drop(pty.slave);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(24, columns, 0)));
        let mut reader = pty
            .master
            .try_clone_reader()
            .expect("the terminal's output");
        let feeding = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                feeding.lock().expect("the screen").process(&buffer[..n]);
            }
        });
        let keyboard = pty.master.take_writer().expect("the terminal's input");
        Terminal {
            screen,
            keyboard,
            master: pty.master,
            child,
        }
    }

    /// The screen's rows, without trailing blanks.
    fn rows(&self) -> Vec<String> {
        let parser = self.screen.lock().expect("the screen");
        let (_, columns) = parser.screen().size();
        parser
            .screen()
            .rows(0, columns)
            .map(|row| row.trim_end().to_string())
            .collect()
    }

    /// The row the cursor is on: the status line while the view runs.
    fn cursor_row(&self) -> String {
        let parser = self.screen.lock().expect("the screen");
        let (row, _) = parser.screen().cursor_position();
        let (_, columns) = parser.screen().size();
        let status = parser
            .screen()
            .rows(0, columns)
            .nth(usize::from(row))
            .unwrap_or_default();
        status.trim_end().to_string()
    }

    /// Waits until some row satisfies `wanted`; fails with the screen after 20 seconds.
    fn wait_for(&self, what: &str, wanted: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.rows().iter().any(|row| wanted(row)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no {what} on the screen:\n{}", self.rows().join("\n"));
    }

    /// Resizes the terminal (the emulator first, so what is drawn after fits the new size).
    fn resize(&self, columns: u16) {
        self.screen
            .lock()
            .expect("the screen")
            .screen_mut()
            .set_size(24, columns);
        self.master
            .resize(PtySize {
                rows: 24,
                cols: columns,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
    }

    /// Waits for wfc to exit; its exit code.
    fn exit_code(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wfc's status") {
                // The last bytes may still be on their way to the emulator.
                std::thread::sleep(Duration::from_millis(300));
                return status.exit_code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("wfc did not end:\n{}", self.rows().join("\n"));
    }
}

/// How many rows show a status line: one, however often it was redrawn.
fn status_rows(rows: &[String]) -> usize {
    rows.iter().filter(|row| row.contains(" done")).count()
}

/// The clock at the end of a status line, in seconds.
fn clock(status: &str) -> u64 {
    let clock = status.rsplit(" · ").next().unwrap_or_default();
    let (minutes, seconds) = clock.split_once(':').unwrap_or(("x", "x"));
    minutes.parse::<u64>().expect("minutes") * 60 + seconds.parse::<u64>().expect("seconds")
}

#[test]
fn the_live_view_fits_the_terminal_follows_a_resize_and_shows_another_process_approving() {
    let dir = TempDir::new("wfc-live-view");
    dir.write("gated.wf", GATED);
    let mut terminal = Terminal::start(dir.path(), &["run", "gated.wf"], 200);
    terminal.wait_for("gates waiting", |row| {
        row.starts_with("1/4 done · waiting: ") && row.contains(", ")
    });
    let run = run_id(&terminal.rows().join("\n"));

    // At 200 columns everything fits: the whole line above, the status line uncut.
    let status = terminal.cursor_row();
    assert!(
        status.starts_with(
            "1/4 done · waiting: publish_to_the_world, proofread_the_announcement · 0:"
        ),
        "{status}"
    );
    assert!(!status.contains('…'), "{status}");
    assert!(
        terminal
            .rows()
            .iter()
            .any(|row| row.starts_with("✓ build_the_documentation_site (")),
        "{}",
        terminal.rows().join("\n")
    );

    // The clock ticks while nothing happens.
    let before = clock(&terminal.cursor_row());
    std::thread::sleep(Duration::from_millis(2200));
    let after = clock(&terminal.cursor_row());
    assert!(
        after >= before + 2,
        "the clock went from {before} to {after}"
    );

    // Narrowed to 60 columns mid-run: the status line is cut to fit, and not stacked.
    terminal.resize(60);
    std::thread::sleep(Duration::from_millis(800));
    let status = terminal.cursor_row();
    assert!(status.chars().count() < 58, "{status}");
    assert!(
        status.starts_with("1/4 done · waiting: publish_to_the_world, pro"),
        "{status}"
    );
    assert!(status.contains('…'), "{status}");
    assert_eq!(
        status_rows(&terminal.rows()),
        1,
        "{}",
        terminal.rows().join("\n")
    );

    // A person approves from another terminal: the view shows it, and the task it let run.
    for gate in ["publish_to_the_world", "proofread_the_announcement"] {
        let approved = wfc(dir.path(), &["approve", &run, gate]);
        assert_eq!(approved.code, 0, "{}", approved.stderr);
        terminal.wait_for("approval", |row| row == format!("  {gate}: approved"));
    }
    terminal.wait_for("running task", |row| {
        row.starts_with("3/4 done · running: announce_the_release_")
    });
    assert_eq!(
        status_rows(&terminal.rows()),
        1,
        "{}",
        terminal.rows().join("\n")
    );

    // At the end the status line is gone, and the run's last line is the last one shown.
    assert_eq!(terminal.exit_code(), 0, "{}", terminal.rows().join("\n"));
    let rows = terminal.rows();
    assert_eq!(status_rows(&rows), 0, "{}", rows.join("\n"));
    let shown: Vec<&String> = rows.iter().filter(|row| !row.is_empty()).collect();
    assert_eq!(
        shown.last().map(|row| row.as_str()),
        Some(format!("run {run} succeeded").as_str()),
        "{}",
        rows.join("\n")
    );
    assert_eq!(
        rows.iter()
            .filter(|row| row.starts_with("✓ announce_the_release_everywhere ("))
            .count(),
        1,
        "{}",
        rows.join("\n")
    );
}

#[test]
fn the_live_view_at_60_columns_cuts_only_the_status_line() {
    let dir = TempDir::new("wfc-live-narrow");
    dir.write("gated.wf", GATED);
    let mut terminal = Terminal::start(dir.path(), &["run", "gated.wf"], 60);
    terminal.wait_for("gates waiting", |row| {
        row.starts_with("1/4 done · waiting: ") && row.contains(", ")
    });
    let status = terminal.cursor_row();
    assert!(
        status.chars().count() < 58 && status.contains('…'),
        "{status}"
    );
    // The gate's line wraps instead: the approve command is there to read in full.
    let run = run_id(&terminal.rows().join("\n"));
    let screen = terminal.rows().concat();
    assert!(
        screen.contains(&format!("wfc approve {run} publish_to_the_world")),
        "{}",
        terminal.rows().join("\n")
    );
    // Ctrl-C: the message goes above the status line, which stays whole under it.
    terminal.keyboard.write_all(b"\x03").expect("Ctrl-C");
    terminal.wait_for("stopping message", |row| row.starts_with("stopping: "));
    assert_eq!(terminal.exit_code(), 130, "{}", terminal.rows().join("\n"));
    let rows = terminal.rows();
    assert!(
        rows.iter()
            .all(|row| !row.contains("done") || !row.contains("stopping")),
        "{}",
        rows.join("\n")
    );
    assert_eq!(status_rows(&rows), 0, "{}", rows.join("\n"));
}

/// Output read from a process's stdout as it comes.
struct Log(Arc<Mutex<String>>);

impl Log {
    fn of(child: &mut Child) -> Log {
        let text = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let filling = Arc::clone(&text);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut text = filling.lock().expect("the log");
                text.push_str(&line);
                text.push('\n');
            }
        });
        Log(text)
    }

    fn text(&self) -> String {
        self.0.lock().expect("the log").clone()
    }

    fn wait_for(&self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.text().contains(wanted) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no {wanted:?} in:\n{}", self.text());
    }
}

/// `wfc ARGS` in `dir` with stdout piped (not a terminal) and `env` set.
fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wfc starts")
}

/// Sends SIGINT to `child` and waits for it.
fn interrupt(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let _ = child.wait();
}

#[test]
fn without_a_terminal_a_long_task_gets_heartbeat_lines() {
    let dir = TempDir::new("wfc-heartbeat");
    dir.write(
        "slow.wf",
        "workflow slow {\n  task design {\n    run = \"sleep 4\"\n  }\n}\n",
    );
    let mut child = spawn(
        dir.path(),
        &["run", "slow.wf"],
        &[("WFC_HEARTBEAT_SECS", "1")],
    );
    let log = Log::of(&mut child);
    assert!(child.wait().expect("wfc ends").success(), "{}", log.text());
    std::thread::sleep(Duration::from_millis(100));
    let text = log.text();
    let beats: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("… design running "))
        .collect();
    assert!(beats.len() >= 2, "{text}");
    // A line is due once a second; on a loaded machine the tick that prints it may come a
    // second late, but never early, and the times only grow.
    let seconds: Vec<u64> = beats
        .iter()
        .map(|line| {
            line.trim_start_matches("… design running ")
                .trim_end_matches('s')
                .parse()
                .expect("seconds")
        })
        .collect();
    assert!((1..=2).contains(&seconds[0]), "{text}");
    assert!(seconds.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(text.contains("✓ design ("), "{text}");
}

/// `text` with its run ids and timings made stable for a snapshot.
fn normalised(text: &str, run: &str) -> String {
    let timing = regex::Regex::new(r"\(\d+\.\ds\)").expect("regex");
    timing
        .replace_all(&text.replace(run, "RUN"), "(T)")
        .into_owned()
}

#[test]
fn the_output_without_a_terminal() {
    let dir = TempDir::new("wfc-plain");
    dir.write(
        "small.wf",
        "workflow small {\n  task build {\n    run = \"echo built\"\n  }\n  task test after build {\n    run = \"echo tested\"\n  }\n  task docs after build {\n    run = \"sleep 0.5\"\n  }\n}\n",
    );
    let out = wfc(dir.path(), &["run", "small.wf", "-j", "1"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let run = run_id(&out.stdout);
    insta::assert_snapshot!("plain_output", normalised(&out.stdout, &run));
}

#[test]
fn an_idle_worker_and_resume_say_what_they_wait_for() {
    let dir = TempDir::new("wfc-waits");
    dir.write("gated.wf", GATED);
    // A run stopped while its gate waits: no engine works on it.
    let mut first = spawn(dir.path(), &["run", "gated.wf"], &[]);
    let log = Log::of(&mut first);
    log.wait_for("waits for approval");
    interrupt(&mut first);
    let run = run_id(&log.text());

    let mut resume = spawn(dir.path(), &["resume", &run], &[]);
    let resumed = Log::of(&mut resume);
    resumed.wait_for(&format!(
        "waiting for ready tasks of run {run} (2 waiting for a person: publish_to_the_world, \
         proofread_the_announcement)"
    ));
    interrupt(&mut resume);

    let mut worker = spawn(dir.path(), &["worker"], &[]);
    let served = Log::of(&mut worker);
    served.wait_for(&format!(
        "no run has ready tasks; polling… (run {run}: 2 waiting for a person: \
         publish_to_the_world, proofread_the_announcement)"
    ));
    for gate in ["publish_to_the_world", "proofread_the_announcement"] {
        let approved = wfc(dir.path(), &["approve", &run, gate]);
        assert_eq!(approved.code, 0, "{}", approved.stderr);
    }
    // The worker's lines name the run: a worker serves every run.
    served.wait_for(&format!("[{run}] ✓ announce_the_release_everywhere ("));
    served.wait_for(&format!("run {run} succeeded"));
    served.wait_for("no run has ready tasks; polling…\n");
    interrupt(&mut worker);
}
