//! Tests: fmt.
