//! The one integration-test binary: every test module links against `wfc` once.

mod check;
mod cli;
mod fmt;
mod robustness;
mod support;
