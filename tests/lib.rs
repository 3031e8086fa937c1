//! The one integration-test binary: every test module links against `wfc` once.

mod backend_contract;
mod beads;
mod check;
mod cli;
mod control;
mod events;
mod fmt;
mod graph;
mod plan;
mod plan_bind;
mod plan_injection;
mod process;
mod robustness;
mod run;
mod support;
