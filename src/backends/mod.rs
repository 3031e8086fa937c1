//! Task backends: the implementations of the [`TaskBackend`](crate::runtime::TaskBackend) port.

/// The task states that count as done for a task's dependants, as SQL: the stores' queries
/// name them here only, and a test holds them to
/// [`TaskState::satisfies_dependents`](crate::runtime::TaskState::satisfies_dependents).
macro_rules! done_states {
    () => {
        "('succeeded', 'approved', 'skipped')"
    };
}

/// Sets `unfinished_deps` of the tasks `$filter` picks (an SQL `WHERE`, or nothing for every
/// task) from their dependencies as they are: after a step that adds tasks or dependencies,
/// or replaces them (a new plan, an expansion), and when a store is migrated to the counts.
/// The same SQL for SQLite and Postgres.
macro_rules! count_unfinished_deps {
    ($filter:literal) => {
        concat!(
            "UPDATE tasks SET unfinished_deps = (SELECT count(*) FROM deps d \
             LEFT JOIN tasks p ON p.run = d.run AND p.id = d.parent \
             WHERE d.run = tasks.run AND d.child = tasks.id \
             AND (p.state IS NULL OR p.state NOT IN ",
            done_states!(),
            ")) ",
            $filter
        )
    };
}

pub mod beads;
pub mod memory;
pub mod postgres;
pub mod sqlite;

pub use beads::BeadsBackend;
pub use memory::MemoryBackend;
pub use postgres::PostgresBackend;
pub use sqlite::{Access, SqliteBackend, StoreCheck};
pub mod url;
pub use url::{open_backend, open_backend_with, DEFAULT_BACKEND};

#[cfg(test)]
mod tests {
    use crate::runtime::TaskState;

    #[test]
    fn the_done_states_of_the_sql_are_those_that_satisfy_dependents() {
        let done: Vec<String> = TaskState::ALL
            .iter()
            .filter(|state| state.satisfies_dependents())
            .map(|state| format!("'{}'", state.as_str()))
            .collect();
        assert_eq!(done_states!(), format!("({})", done.join(", ")));
    }
}
