//! The one integration-test binary: every test module links against `wfc` once.

mod agents;
mod backend_contract;
mod check;
mod claude_cli;
mod cli;
mod control;
mod events;
mod fmt;
mod graph;
mod model_server;
mod plan;
mod plan_bind;
mod plan_injection;
mod process;
mod robustness;
mod run;
mod support;
