//! For tests: the plan of a workflow written out in the test, checked and bound with no
//! parameter values.

use super::{bind, instantiate, BindInput, Plan};
use crate::check::{ModuleKey, NoFiles, Session};
use crate::ir::WorkflowId;

/// The plan of the first workflow of `source`, as run `run`; panics if `source` has errors.
pub fn plan_of(source: &str, run: &str) -> Plan {
    let loader = NoFiles;
    let mut session = Session::new(&loader);
    let module = session.check_text(ModuleKey::File("test.wf".into()), source.into());
    assert!(
        !session.module(module).has_errors(),
        "{:#?}",
        session.module(module).diagnostics
    );
    let workflow = &session.module(module).ir.workflows[0];
    let bound = bind(workflow, &BindInput::default()).expect("bound");
    instantiate(&session, module, WorkflowId(0), &bound, run).expect("planned")
}
