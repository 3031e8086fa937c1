//! Reading a large file on every core: its largest workflow is cut where members start (the
//! pre-scan finds those places), each piece is parsed and lowered on its own, and the pieces'
//! trees are joined in order.
//!
//! Only pest's pairs of the pieces being read at one moment are alive, not the pairs of the
//! whole file, so a large file also needs less memory. A cut is always at the first word of a
//! member, where the whole file's parse also starts that member, so a file without mistakes
//! gives the same tree either way (the tests compare them). Any mistake in any piece, and the
//! whole file is read at once instead: its diagnostics, and their recovery, stay the ones the
//! whole file gives.

use super::ast::{File, Item};
use super::parser::{parse_piece, Piece, PieceKind};
use super::scan::MemberStart;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Files smaller than this are read at once: starting threads would cost more than it saves.
pub const PIECES_FROM: usize = 256 << 10;

/// The smallest and the largest piece. Small enough that a file is many pieces (the cores stay
/// busy to the end, and few pairs are alive at once), large enough that each is worth a job.
const PIECE_BYTES: std::ops::RangeInclusive<usize> = (16 << 10)..=(256 << 10);

/// How many pieces each core gets, about.
const PIECES_PER_CORE: usize = 64;

/// The tree of `text`, read in pieces of about `piece_bytes` each, cut at `starts`; `None`
/// when it cannot be cut or a piece has a mistake.
pub fn parse_in_pieces(text: &str, starts: &[MemberStart], piece_bytes: usize) -> Option<File> {
    let cuts = cuts(starts, piece_bytes.max(1));
    let (first, last) = (*cuts.first()?, *cuts.last()?);
    let head = format!("{}}}", &text[..first]);
    let mut jobs: Vec<(&str, usize, PieceKind)> = vec![(head.as_str(), 0, PieceKind::Head)];
    jobs.extend(
        cuts.windows(2)
            .map(|pair| (&text[pair[0]..pair[1]], pair[0], PieceKind::Members)),
    );
    jobs.push((&text[last..], last, PieceKind::Tail));
    let pieces = read_all(text, &jobs)?;
    join(pieces, workflow_of(starts, first)?)
}

/// The piece size for `text` on this machine: a few pieces per core, within [`PIECE_BYTES`].
pub fn piece_bytes(text: &str) -> usize {
    (text.len() / (cores() * PIECES_PER_CORE)).clamp(*PIECE_BYTES.start(), *PIECE_BYTES.end())
}

/// How many cores this process may use, asked once: on Linux the answer reads the cgroup's
/// files, and the language server parses on every edit.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Where to cut: member starts of the workflow with the most of them, each at least
/// `piece_bytes` after the one before (the first, after the start of the file).
fn cuts(starts: &[MemberStart], piece_bytes: usize) -> Vec<usize> {
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for start in starts {
        match counts.last_mut() {
            Some((workflow, count)) if *workflow == start.workflow => *count += 1,
            _ => counts.push((start.workflow, 1)),
        }
    }
    let Some(&(largest, _)) = counts.iter().max_by_key(|(_, count)| *count) else {
        return Vec::new();
    };
    let mut cuts: Vec<usize> = Vec::new();
    for start in starts.iter().filter(|start| start.workflow == largest) {
        if start.at >= cuts.last().copied().unwrap_or(0) + piece_bytes {
            cuts.push(start.at);
        }
    }
    cuts
}

/// The workflow (its `{`) the cut at `first` is in.
fn workflow_of(starts: &[MemberStart], first: usize) -> Option<usize> {
    starts
        .iter()
        .find(|start| start.at == first)
        .map(|start| start.workflow)
}

/// Reads every job on as many threads as there are cores, each taking the next job when it is
/// done; the pieces in the order of the jobs, or `None` as soon as one has a mistake.
fn read_all(text: &str, jobs: &[(&str, usize, PieceKind)]) -> Option<Vec<Piece>> {
    let cores = cores();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let done: Mutex<Vec<Option<Piece>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let work = || {
        while !failed.load(Ordering::Relaxed) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(input, base, kind)) = jobs.get(index) else {
                break;
            };
            match parse_piece(text, input, base, kind) {
                Some(piece) => {
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)[index] = Some(piece)
                }
                None => failed.store(true, Ordering::Relaxed),
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..cores.min(jobs.len()) {
            scope.spawn(work);
        }
        work();
    });
    if failed.load(Ordering::Relaxed) {
        return None;
    }
    done.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .collect()
}

/// The whole file from its pieces: the head's last item is the workflow that was cut (the one
/// whose `{` is at `workflow`), which gets the members of the pieces after it and ends where
/// the tail's `}` does; the tail's items follow it.
fn join(pieces: Vec<Piece>, workflow: usize) -> Option<File> {
    let mut pieces = pieces.into_iter();
    let Some(Piece::Head(mut file)) = pieces.next() else {
        return None;
    };
    let Some(Item::Workflow(cut)) = file.items.last_mut() else {
        return None;
    };
    if cut.open_brace.start != workflow {
        return None;
    }
    // The members' vector is made once, at its final size: grown by doubling, it would hold
    // up to twice the room of its tens of thousands of members.
    let count: usize = pieces
        .as_slice()
        .iter()
        .map(|piece| match piece {
            Piece::Members(members) | Piece::Tail { members, .. } => members.len(),
            Piece::Head(_) => 0,
        })
        .sum();
    cut.members.reserve_exact(count);
    let mut after = None;
    for piece in pieces {
        match piece {
            Piece::Members(members) => cut.members.extend(members),
            Piece::Tail {
                members,
                end,
                items,
            } => {
                cut.members.extend(members);
                cut.span.end = end;
                after = Some(items);
            }
            Piece::Head(_) => return None,
        }
    }
    file.items.extend(after?);
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parser::parse_whole;
    use crate::syntax::scan::scan;

    /// Every `.wf` file of the repository's examples, standard library and test fixtures.
    fn corpus() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut folders = vec![
            root.join("examples"),
            root.join("stdlib"),
            root.join("tests/fixtures"),
        ];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("a folder of the corpus") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "wf") {
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        files.push((path.display().to_string(), text));
                    }
                }
            }
        }
        files
    }

    /// A large workflow with every kind of member: documented tasks, comments between them,
    /// parameters, gates, `use`, fan-out, outcome conditions, loops, text blocks and a second
    /// workflow and an agent profile after it.
    fn generated(tasks: usize) -> String {
        let mut text = String::from(
            "import \"std/review\" as review\n\n/// Before.\nagent helper {\n  adapter = \"claude\"\n}\n\n/// The big one.\nworkflow big {\n  /// A parameter.\n  param name: string = \"x\"\n  param items: list<string> = [\"a\", \"b\"]\n  defaults {\n    retry = 1\n  }\n",
        );
        for n in 0..tasks {
            match n % 8 {
                0 => text.push_str(&format!(
                    "  /// Task {n}, which builds.\n  task t{n} {{\n    run = \"echo {{{{ name }}}} {n}\"\n  }}\n"
                )),
                1 => text.push_str(&format!(
                    "  // A plain comment.\n  task t{n} after t{} {{\n    prompt = \"\"\"\n      Do {n}.\n    \"\"\"\n  }}\n",
                    n - 1
                )),
                2 => text.push_str(&format!(
                    "  gate t{n} after t{} {{\n    ask = \"Go on?\"\n  }}\n",
                    n - 1
                )),
                3 => text.push_str(&format!(
                    "  task t{n} for each item in items after t{} when name != \"y\" {{\n    run = \"echo {{{{ item }}}}\"\n  }}\n",
                    n - 1
                )),
                4 => text.push_str(&format!(
                    "  task t{n} after t{} (failed), t{} {{\n    run = \"true\"\n    env = {{ A = \"1\", B = \"2\" }}\n  }}\n\n",
                    n - 1,
                    n - 2
                )),
                5 => text.push_str(&format!(
                    "  use review.review(target = name) as t{n} after t{}\n",
                    n - 1
                )),
                6 => text.push_str(&format!(
                    "  task t{n}\n    after t{}\n  {{\n    run = \"true\" // trailing\n  }}\n",
                    n - 1
                )),
                _ => text.push_str(&format!(
                    "  /// A loop.\n  repeat t{n} after t{} max 3 until r{n}.output == true {{\n    task r{n} {{\n      run = \"echo true\"\n      output: bool\n    }}\n    task f{n} after r{n} {{\n      run = \"true\"\n    }}\n  }}\n",
                    n - 1
                )),
            }
        }
        text.push_str("}\n\nworkflow small {\n  task only {\n    run = \"true\"\n  }\n}\n");
        text
    }

    /// Reads `text` in pieces of `piece_bytes` and at once: where the pieces give a tree, the
    /// whole file has no mistake and gives the same tree. Whether the pieces gave one.
    fn same_either_way(name: &str, text: &str, piece_bytes: usize) -> bool {
        let scanned = scan(text);
        let pieces = parse_in_pieces(text, &scanned.member_starts, piece_bytes);
        let whole = parse_whole(text, scanned);
        let Some(file) = pieces else {
            return false;
        };
        assert!(
            whole.diagnostics.is_empty(),
            "{name}: the pieces read clean where the whole file has {:?}",
            whole.diagnostics
        );
        assert!(file == whole.file, "{name}: the pieces gave another tree");
        true
    }

    #[test]
    fn pieces_give_the_tree_the_whole_file_gives() {
        let mut read_in_pieces = 0;
        for (name, text) in corpus() {
            for piece_bytes in [1, 40, 300] {
                read_in_pieces += usize::from(same_either_way(&name, &text, piece_bytes));
            }
        }
        // Most of the corpus is clean and has a workflow of several members.
        assert!(
            read_in_pieces > 100,
            "only {read_in_pieces} readings were in pieces"
        );
        let big = generated(700);
        assert!(big.len() > 8 * 4096, "{} bytes", big.len());
        for piece_bytes in [1, 500, 4096] {
            assert!(same_either_way("generated", &big, piece_bytes));
        }
    }

    #[test]
    fn a_mistake_anywhere_is_read_from_the_whole_file() {
        let big = generated(60);
        let starts = scan(&big).member_starts;
        assert!(starts.len() > 40, "{} member starts", starts.len());
        let mut cut_short = 0;
        // Cut short anywhere, or a character slipped in where a member starts, just after it
        // or inside it: the pieces either give the whole file's tree or none.
        for at in (0..big.len())
            .step_by(53)
            .filter(|&at| big.is_char_boundary(at))
        {
            cut_short += usize::from(!same_either_way("cut short", &big[..at], 1));
        }
        for start in starts.iter().step_by(4) {
            for offset in [0, 9] {
                for inserted in ["{", "}", "\"", "task", "\n}\n"] {
                    let at = (start.at + offset).min(big.len());
                    if !big.is_char_boundary(at) {
                        continue;
                    }
                    let text = format!("{}{inserted}{}", &big[..at], &big[at..]);
                    same_either_way("with a mistake", &text, 1);
                }
            }
        }
        assert!(cut_short > 0, "no cut-short file was read whole");
    }

    #[test]
    fn a_large_file_is_read_in_pieces_on_its_own() {
        let big = generated(6000);
        assert!(big.len() >= PIECES_FROM, "{} bytes", big.len());
        let parsed = crate::syntax::parse(&big);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let scanned = scan(&big);
        assert!(parse_in_pieces(&big, &scanned.member_starts, piece_bytes(&big)).is_some());
        assert!(parsed.file == parse_whole(&big, scanned).file);
    }
}
