//! Planning: a checked workflow plus parameter values become a [`Plan`], a DAG of rendered
//! task specs the runtime stores and executes (LANGUAGE.md §3–§5).

pub mod bind;
pub mod condition;
mod expand;
pub mod fan_out;
pub mod filters;
#[cfg(test)]
pub(crate) mod from_text;
pub mod limits;
mod listing;
pub mod output;
mod prompt;
pub mod repeat;
pub mod spec;

pub use bind::{bind, BindError, BindInput, Bound, Origin};
pub use expand::{instantiate, PlanError};
pub use listing::{duration_text, prompt_text, render_plan};
pub use spec::*;
