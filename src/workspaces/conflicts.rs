//! Conflicts someone resolves (`on_conflict = "agent"` or `"human"`): the work of the tasks a
//! task waits for is merged with git's conflict markers left in the files that conflict, the
//! tree is checked out for an agent or a person to edit, and the edited tree becomes the
//! task's start commit once no marker is left.

use std::path::Path;

/// A conflict checked out in an attempt's folder, to be resolved before the task's work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictToResolve {
    /// The files that conflict, each with the tasks that changed it:
    /// `src/lib.rs (changed by `left` and `right`)`.
    pub files: Vec<String>,
    /// The paths of those files, relative to the folder.
    pub paths: Vec<String>,
    /// What each task changed in those files since the tasks' common start, as patches
    /// under a heading per task, cut to a length a prompt can hold.
    pub sides: String,
    /// Why an earlier resolution was not taken (conflict markers remain), if one was tried.
    pub unresolved: Option<String>,
}

/// The most of the sides' patches a prompt or a question gets.
const SIDES_LIMIT: usize = 48 * 1024;

/// The patches of each side, `(task, patch)`, as one text under a heading per task, cut to
/// [`SIDES_LIMIT`] with a note saying so.
pub fn describe_sides(sides: &[(String, String)]) -> String {
    let mut text = String::new();
    for (task, patch) in sides {
        text.push_str(&format!("### What `{task}` changed\n\n```diff\n"));
        text.push_str(patch.trim_end());
        text.push_str("\n```\n\n");
    }
    if text.len() > SIDES_LIMIT {
        let mut cut = SIDES_LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n```\n\n(The rest of the changes is left out: `git diff` shows them.)\n");
    }
    text
}

/// The files among `paths` in `folder` that still hold a conflict marker line (`<<<<<<< `
/// or `>>>>>>> ` at the start of a line), as git writes them.
pub fn still_marked(folder: &Path, paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|path| {
            std::fs::read(folder.join(path)).is_ok_and(|bytes| {
                bytes.split(|b| *b == b'\n').any(|line| {
                    line.starts_with(b"<<<<<<< ")
                        || line.starts_with(b">>>>>>> ")
                        || line == b"<<<<<<<"
                        || line == b">>>>>>>"
                })
            })
        })
        .cloned()
        .collect()
}

/// The instructions for an agent session that resolves `conflict` before task `task`
/// (titled `title`) starts.
pub fn resolution_prompt(task: &str, title: &str, conflict: &ConflictToResolve) -> String {
    let mut prompt = format!(
        "# Resolve a merge conflict\n\nYou are preparing the starting point of the task \
         `{task}` ({title}). The tasks it waits for changed the same parts of some files, and \
         git could not merge their work. The files in your working folder hold git's conflict \
         markers (`<<<<<<<`, `=======`, `>>>>>>>`) where the two sides differ:\n\n"
    );
    for file in &conflict.files {
        prompt.push_str(&format!("- {file}\n"));
    }
    prompt.push_str(
        "\nEdit each of these files so that it keeps what every side meant, and remove every \
         conflict marker. Do only this: do not start the task itself, and do not commit; wfc \
         takes the resolved files as they are in the folder.\n\n## What each side changed\n\n",
    );
    prompt.push_str(&conflict.sides);
    prompt
}

/// The question a person answers for `conflict`, resolved in `folder`, before task `task` of
/// run `run` goes on.
pub fn resolution_question(
    run: &str,
    task: &str,
    folder: &Path,
    conflict: &ConflictToResolve,
) -> String {
    let mut question = String::new();
    if let Some(why) = &conflict.unresolved {
        question.push_str(&format!("The resolution was not taken: {why}.\n\n"));
    }
    question.push_str(&format!(
        "The work of the tasks `{task}` waits for conflicts in:\n\n"
    ));
    for file in &conflict.files {
        question.push_str(&format!("- {file}\n"));
    }
    question.push_str(&format!(
        "\nResolve it in {}: edit those files until they keep what each side meant and hold \
         no conflict marker. Then `wfc approve {run} {task}` goes on with the task from your \
         resolution; `wfc reject {run} {task} --reason …` fails it.\n\n",
        folder.display()
    ));
    question.push_str(&conflict.sides);
    question
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_only_at_the_start_of_a_line() {
        let folder = std::env::temp_dir().join(format!("wfc-markers-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(
            folder.join("a"),
            "x\n<<<<<<< ours\ny\n=======\nz\n>>>>>>> theirs\n",
        )
        .expect("a");
        std::fs::write(folder.join("b"), "say <<<<<<< in a sentence\n").expect("b");
        let marked = still_marked(
            &folder,
            &["a".to_string(), "b".to_string(), "gone".to_string()],
        );
        assert_eq!(marked, vec!["a".to_string()]);
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn long_sides_are_cut_with_a_note() {
        let patch = "+x\n".repeat(SIDES_LIMIT);
        let text = describe_sides(&[("left".into(), patch)]);
        assert!(text.len() < SIDES_LIMIT + 200);
        assert!(text.ends_with("`git diff` shows them.)\n"));
    }
}
