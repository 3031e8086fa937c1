//! The one integration-test binary: every test module links against `wfc` once.

mod agents;
mod agents_real;
mod backend_contract;
mod beads;
mod chat_server;
mod check;
mod cli;
mod control;
mod events;
mod fmt;
mod gemini_server;
mod graph;
mod limits;
mod model_server;
mod npm_cli;
mod openai_server;
mod plan;
mod plan_bind;
mod plan_injection;
mod process;
mod pypi_cli;
mod robustness;
mod run;
mod support;
