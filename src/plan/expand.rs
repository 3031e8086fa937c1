//! Instantiation: walking a checked workflow with bound parameters, expanding `for each`,
//! leaving out what `when` rejects (bridging its edges), inlining `use`, and rendering every
//! string for its context.

use super::bind::Bound;
use super::condition::{OutcomeDep, RunCondition};
use super::fan_out::{instance_keys, FanOutSpec, TEMPLATE_SUFFIX};
use super::filters::{apply, fallback, fenced, text_of};
use super::limits::{
    env_string_bytes, process_problems, MAX_ENV_STRING_BYTES, MAX_PLAN_TASKS, MAX_TASK_ID_BYTES,
};
use super::output::OutputSpec;
use super::prompt::assemble;
use super::spec::*;
use crate::check::{Session, LARGEST_LOOP_MAX};
use crate::ir::{
    self, Context, ExprKind, Filter, ModuleId, NodeKind, Placement, Segment, Source, Type, Value,
    WorkflowId,
};
use std::collections::{HashMap, HashSet};

/// A problem found while instantiating: a value that passed its type but not its use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    /// The task concerned.
    pub task: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// What a parameter is bound to inside the expansion: a value, or a secret known by the
/// name of the top-level parameter that holds it (its value is never read here).
#[derive(Clone, Debug)]
enum Arg {
    Value(Value),
    Secret(String),
}

/// One workflow being expanded: the module it lives in, its arguments and its id prefix.
struct Frame<'s> {
    module: ModuleId,
    workflow: &'s ir::Workflow,
    args: Vec<Arg>,
    prefix: String,
}

struct Expander<'s> {
    session: &'s Session<'s>,
    run_id: String,
    tasks: Vec<TaskSpec>,
    /// Each task's index in `tasks`, by id.
    index_of: HashMap<String, usize>,
    /// Whether a task created so far waits for `tasks[i]`. Kept as tasks are added, so a
    /// workflow's exits are found without walking the tasks of the workflows it uses again
    /// at every level of `use` (which made deep nesting cubic).
    waited: Vec<bool>,
    /// Set once the plan has [`MAX_PLAN_TASKS`] tasks; the expansion then stops.
    full: bool,
    /// Set once an id over [`MAX_TASK_ID_BYTES`] has been reported.
    long_id: bool,
    errors: Vec<PlanError>,
}

/// Instantiates `workflow` of `module` with `bound` values into a plan for the run `run_id`.
pub fn instantiate(
    session: &Session<'_>,
    module: ModuleId,
    workflow: WorkflowId,
    bound: &Bound,
    run_id: &str,
) -> Result<Plan, Vec<PlanError>> {
    let checked = session.module(module);
    let workflow = &checked.ir.workflows[workflow.0 as usize];
    let args: Vec<Arg> = workflow
        .params
        .iter()
        .zip(&bound.values)
        .map(|(param, value)| match param.ty {
            Type::Secret => Arg::Secret(param.name.clone()),
            _ => Arg::Value(value.clone()),
        })
        .collect();
    let params = workflow
        .params
        .iter()
        .zip(&bound.values)
        .map(|(param, value)| BoundParam {
            name: param.name.clone(),
            ty: param.ty.to_string(),
            value: match param.ty {
                Type::Secret => serde_json::Value::Null,
                _ => serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
            },
        })
        .collect();
    let secrets = workflow
        .params
        .iter()
        .filter(|p| p.ty == Type::Secret)
        .map(|p| p.name.clone())
        .collect();
    let mut expander = Expander {
        session,
        run_id: run_id.to_string(),
        tasks: Vec::new(),
        index_of: HashMap::new(),
        waited: Vec::new(),
        full: false,
        long_id: false,
        errors: Vec::new(),
    };
    let frame = Frame {
        module,
        workflow,
        args,
        prefix: String::new(),
    };
    expander.expand(&frame, &[]);
    super::repeat::number_first_rounds(&mut expander.tasks);
    if !expander.errors.is_empty() {
        return Err(expander.errors);
    }
    let plan = Plan {
        version: PLAN_VERSION,
        source: checked.key.to_string(),
        workflow: workflow.name.clone(),
        params,
        isolation: Default::default(),
        event_sinks: Vec::new(),
        budget_usd: workflow.budget,
        secrets,
        tasks: expander.tasks,
    };
    // The expansion builds tasks in dependency order; a plan that breaks the runtime's
    // invariants is a bug here, reported rather than run.
    plan.validate().map_err(|message| {
        vec![PlanError {
            task: None,
            message: format!("internal error: {message}"),
        }]
    })?;
    Ok(plan)
}

/// The task that decides a loop's round: it runs nothing, and is decided by the engine
/// (`crate::plan::repeat`).
fn decider(
    id: &str,
    deps: Vec<String>,
    until: RunCondition,
    max: u32,
    body: Vec<String>,
) -> TaskSpec {
    let nothing = Action::Command {
        run: Shell {
            script: String::new(),
            display: String::new(),
            args: Vec::new(),
        },
    };
    TaskSpec {
        repeat: Some(super::repeat::LoopSpec {
            name: id.to_string(),
            round: 1,
            max,
            until,
            body,
        }),
        ..TaskSpec::new(id, nothing, deps)
    }
}

/// The nodes of a workflow in an order where every node follows its `after` dependencies,
/// and otherwise the order of the source.
fn topological_order(workflow: &ir::Workflow) -> Vec<usize> {
    let count = workflow.nodes.len();
    let mut waiting: Vec<usize> = workflow.nodes.iter().map(|n| n.after.len()).collect();
    let mut dependents = vec![Vec::new(); count];
    for (index, node) in workflow.nodes.iter().enumerate() {
        for (dep, _) in &node.after {
            dependents[dep.0 as usize].push(index);
        }
    }
    // A min-heap on the source index keeps the order stable and deterministic.
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..count)
        .filter(|&n| waiting[n] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(count);
    while let Some(std::cmp::Reverse(node)) = ready.pop() {
        order.push(node);
        for &dependent in &dependents[node] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(std::cmp::Reverse(dependent));
            }
        }
    }
    order
}

impl<'s> Expander<'s> {
    /// Expands one workflow whose entry tasks wait for `entry`; returns its exit tasks (those
    /// no other task of it waits for), which is what waiting for the whole workflow means.
    fn expand(&mut self, frame: &Frame<'s>, entry: &[String]) -> Vec<String> {
        let workflow = frame.workflow;
        // What each node stands for when another waits for it: its own tasks, or, when it
        // was left out, whatever it waited for (so the order is kept).
        let mut stands_for: Vec<Vec<String>> = vec![Vec::new(); workflow.nodes.len()];
        // The tasks each node actually became, for `X.result`.
        let mut instances: Vec<Vec<String>> = vec![Vec::new(); workflow.nodes.len()];
        let order = topological_order(workflow);
        for &index in &order {
            if self.full {
                return Vec::new();
            }
            let node = &workflow.nodes[index];
            let deps = if node.after.is_empty() {
                entry.to_vec()
            } else {
                union(
                    node.after
                        .iter()
                        .map(|(dep, _)| &stands_for[dep.0 as usize]),
                )
            };
            let id = format!("{}{}", frame.prefix, node.name);
            match &node.kind {
                NodeKind::Task(task) => {
                    for (task_id, loop_value) in self.instances_of(frame, &id, task) {
                        let run_time = node.when.as_ref().filter(|w| reads_outputs(w));
                        if run_time.is_none()
                            && !self.condition(frame, node, loop_value.as_ref(), &task_id)
                        {
                            continue;
                        }
                        let mut spec = self.task(
                            frame,
                            task,
                            &task_id,
                            loop_value.as_ref(),
                            deps.clone(),
                            &instances,
                        );
                        spec.outcomes = node
                            .outcomes
                            .iter()
                            .flat_map(|&(dep, on)| {
                                stands_for[dep.0 as usize]
                                    .iter()
                                    .map(move |task| OutcomeDep {
                                        task: task.clone(),
                                        on,
                                    })
                            })
                            .collect();
                        // The checker refuses this for a task of the same workflow; through a
                        // `use`, the task it waits for is known only here. Its instances are
                        // made at run time, so no edge could wait for their outcome.
                        if let Some(template) = spec
                            .outcomes
                            .iter()
                            .find(|outcome| outcome.task.ends_with(TEMPLATE_SUFFIX))
                        {
                            self.errors.push(PlanError {
                                task: Some(task_id.clone()),
                                message: format!(
                                    "`{task_id}` waits for the outcome of `{}`, which fans out \
                                     when its list is known, so no edge can wait for its \
                                     instances' outcome; wait for a task after it instead",
                                    template.task
                                ),
                            });
                        }
                        spec.condition = run_time.map(|when| {
                            self.run_condition(
                                frame,
                                when,
                                loop_value.as_ref(),
                                &task_id,
                                &instances,
                            )
                        });
                        instances[index].push(task_id);
                        self.push(spec);
                    }
                }
                NodeKind::Gate(gate) => {
                    if self.condition(frame, node, None, &id) {
                        let ask = self.prompt(
                            &Site {
                                frame,
                                loop_value: None,
                                run_time_loop: false,
                                id: &id,
                                instances: &instances,
                            },
                            &gate.ask,
                        );
                        let action = Action::Gate {
                            ask,
                            timeout_secs: gate.timeout,
                        };
                        self.push(TaskSpec {
                            timeout_secs: gate.timeout,
                            ..TaskSpec::new(&id, action, deps.clone())
                        });
                        instances[index].push(id);
                    }
                }
                NodeKind::Use(block) => {
                    if self.condition(frame, node, None, &id) {
                        let callee = self.callee(frame, block, format!("{id}."));
                        instances[index] = self.expand(&callee, &deps);
                    }
                }
                NodeKind::Loop(block) => {
                    let until = self.run_condition(frame, &block.until, None, &id, &instances);
                    let max = match self.eval(frame, &block.max, None, &id) {
                        Value::Int(max) if (1..=LARGEST_LOOP_MAX).contains(&max) => max as u32,
                        other => {
                            self.errors.push(PlanError {
                                task: Some(id.clone()),
                                message: format!(
                                    "the loop `{id}` may run {} rounds; a loop runs 1 to \
                                     {LARGEST_LOOP_MAX}",
                                    crate::plan::filters::text_of(&other)
                                ),
                            });
                            1
                        }
                    };
                    let body: Vec<String> = block
                        .body
                        .iter()
                        .flat_map(|node| instances[node.0 as usize].iter().cloned())
                        .collect();
                    // The labels of its round, so that a worker that takes the round's
                    // tasks (`wfc worker --labels`) decides it too.
                    let mut labels: Vec<String> = Vec::new();
                    for task in &body {
                        let Some(&at) = self.index_of.get(task) else {
                            continue;
                        };
                        for label in &self.tasks[at].labels {
                            if !labels.contains(label) {
                                labels.push(label.clone());
                            }
                        }
                    }
                    let mut spec = decider(&id, deps.clone(), until, max, body);
                    spec.labels = labels;
                    self.push(spec);
                    instances[index].push(id);
                }
            }
            stands_for[index] = if instances[index].is_empty() {
                deps
            } else {
                instances[index].clone()
            };
        }
        // The exits: what each node became (for a `use`, the exits of its workflow), in
        // the order they were created, less what a task waits for.
        order
            .iter()
            .flat_map(|&index| &instances[index])
            .filter(|id| {
                self.index_of
                    .get(id.as_str())
                    .is_some_and(|&task| !self.waited[task])
            })
            .cloned()
            .collect()
    }

    /// Adds a task to the plan, marking what it waits for; refuses an id over
    /// [`MAX_TASK_ID_BYTES`] and stops the expansion at [`MAX_PLAN_TASKS`] tasks.
    fn push(&mut self, spec: TaskSpec) {
        if self.full {
            return;
        }
        if self.tasks.len() >= MAX_PLAN_TASKS {
            self.full = true;
            self.errors.push(PlanError {
                task: None,
                message: format!(
                    "the plan would have more than {MAX_PLAN_TASKS} tasks; `for each` and \
                     `use` multiply, so look for a large list or a workflow used many times"
                ),
            });
            return;
        }
        // The first id over the limit is reported; the others have the same cause.
        if spec.id.len() > MAX_TASK_ID_BYTES && !std::mem::replace(&mut self.long_id, true) {
            let shown: String = spec.id.chars().take(60).collect();
            self.errors.push(PlanError {
                task: None,
                message: format!(
                    "the task id `{shown}…` is {} bytes; the limit is {MAX_TASK_ID_BYTES}",
                    spec.id.len()
                ),
            });
        }
        for dep in &spec.deps {
            if let Some(&task) = self.index_of.get(dep.as_str()) {
                self.waited[task] = true;
            }
        }
        self.index_of.insert(spec.id.clone(), self.tasks.len());
        self.waited.push(false);
        self.tasks.push(spec);
    }

    /// The instances of a task: one, or one per element of its `for each` list, with ids
    /// `task[element]` (or `task[index]` where an element is not a simple word or repeats).
    fn instances_of(
        &mut self,
        frame: &Frame<'_>,
        id: &str,
        task: &ir::Task,
    ) -> Vec<(String, Option<Value>)> {
        let Some(for_each) = &task.for_each else {
            return vec![(id.to_string(), None)];
        };
        if for_each.at_run_time() {
            return vec![(format!("{id}{TEMPLATE_SUFFIX}"), None)];
        }
        let items = match self.eval(frame, &for_each.iter, None, id) {
            Value::List(items) => items,
            other => vec![other],
        };
        let texts: Vec<String> = items.iter().map(text_of).collect();
        instance_keys(&texts, usize::MAX)
            .into_iter()
            .zip(items)
            .map(|(key, item)| (format!("{id}[{key}]"), Some(item)))
            .collect()
    }

    /// A `when` that reads upstream outputs, with everything known now replaced by its
    /// value, for the engine to decide when the task is claimed.
    fn run_condition(
        &mut self,
        frame: &Frame<'_>,
        expr: &ir::Expr,
        loop_value: Option<&Value>,
        id: &str,
        instances: &[Vec<String>],
    ) -> RunCondition {
        let mut lower = |e: &ir::Expr| self.run_condition(frame, e, loop_value, id, instances);
        match &expr.kind {
            ExprKind::Output(node, fields) => match instances[node.0 as usize].first() {
                Some(task) => RunCondition::Output {
                    task: task.clone(),
                    fields: fields.clone(),
                },
                // Left out of the plan by its own `when`: it has no output, so the
                // condition cannot be read, and the task is skipped.
                None => RunCondition::Output {
                    task: format!(
                        "{}{}",
                        frame.prefix, frame.workflow.nodes[node.0 as usize].name
                    ),
                    fields: fields.clone(),
                },
            },
            ExprKind::Not(inner) => RunCondition::Not {
                of: Box::new(lower(inner)),
            },
            ExprKind::Eq(a, b) => RunCondition::Eq {
                of: Box::new((lower(a), lower(b))),
            },
            ExprKind::Ne(a, b) => RunCondition::Ne {
                of: Box::new((lower(a), lower(b))),
            },
            ExprKind::In(a, b) => RunCondition::In {
                of: Box::new((lower(a), lower(b))),
            },
            ExprKind::And(items) => RunCondition::And {
                of: items.iter().map(&mut lower).collect(),
            },
            ExprKind::Or(items) => RunCondition::Or {
                of: items.iter().map(&mut lower).collect(),
            },
            ExprKind::List(items) => RunCondition::List {
                of: items.iter().map(&mut lower).collect(),
            },
            ExprKind::Value(_) | ExprKind::Param(_) | ExprKind::LoopVar => {
                let value = self.eval(frame, expr, loop_value, id);
                RunCondition::Value {
                    value: serde_json::to_value(&value).unwrap_or_default(),
                }
            }
        }
    }

    fn condition(
        &mut self,
        frame: &Frame<'_>,
        node: &ir::Node,
        loop_value: Option<&Value>,
        id: &str,
    ) -> bool {
        match &node.when {
            None => true,
            Some(expr) => self.eval(frame, expr, loop_value, id) == Value::Bool(true),
        }
    }

    /// The frame of a `use`d workflow, its parameters bound to the evaluated arguments.
    fn callee(&mut self, frame: &Frame<'s>, block: &ir::UseBlock, prefix: String) -> Frame<'s> {
        let session = self.session;
        let workflow = &session.module(block.module).ir.workflows[block.workflow.0 as usize];
        let args = workflow
            .params
            .iter()
            .enumerate()
            .map(|(index, param)| {
                let given = block.args.iter().find(|(id, _)| id.0 as usize == index);
                match given {
                    Some((_, expr)) => match (&expr.kind, &param.ty) {
                        // A secret is passed on by name; its value is never read here.
                        (ExprKind::Param(outer), Type::Secret) => {
                            match &frame.args[outer.0 as usize] {
                                Arg::Secret(name) => Arg::Secret(name.clone()),
                                Arg::Value(value) => Arg::Value(value.clone()),
                            }
                        }
                        _ => {
                            let value = self.eval(frame, expr, None, &prefix);
                            Arg::Value(self.normalize_paths(&param.ty, value, &prefix))
                        }
                    },
                    None => {
                        let value = param
                            .default
                            .clone()
                            .unwrap_or(Value::String(String::new()));
                        Arg::Value(self.normalize_paths(&param.ty, value, &prefix))
                    }
                }
            })
            .collect();
        Frame {
            module: block.module,
            workflow,
            args,
            prefix,
        }
    }

    /// `value` for a parameter of type `ty`, with every path (alone or in a list) in the
    /// one canonical form bound values have, so a literal `use` argument or a callee's
    /// default is never `-rf` either.
    fn normalize_paths(&mut self, ty: &Type, value: Value, id: &str) -> Value {
        match (ty, value) {
            (Type::Path, Value::String(path)) => match crate::workspace_path::normalize(&path) {
                Ok(path) => Value::String(path),
                Err(why) => {
                    self.errors.push(PlanError {
                        task: Some(id.to_string()),
                        message: format!("{path:?} is not a path inside the workspace: {why}"),
                    });
                    Value::String(path)
                }
            },
            (Type::List(element), Value::List(items)) => Value::List(
                items
                    .into_iter()
                    .map(|item| self.normalize_paths(element, item, id))
                    .collect(),
            ),
            (_, value) => value,
        }
    }

    /// Evaluates an expression at instantiation.
    fn eval(
        &mut self,
        frame: &Frame<'_>,
        expr: &ir::Expr,
        loop_value: Option<&Value>,
        id: &str,
    ) -> Value {
        match &expr.kind {
            ExprKind::Value(value) => value.clone(),
            ExprKind::Param(param) => match &frame.args[param.0 as usize] {
                Arg::Value(value) => value.clone(),
                Arg::Secret(name) => {
                    self.errors.push(PlanError {
                        task: Some(id.to_string()),
                        message: format!("the secret `{name}` cannot decide the shape of the plan"),
                    });
                    Value::Bool(false)
                }
            },
            ExprKind::LoopVar => loop_value.cloned().unwrap_or(Value::Bool(false)),
            // Known only at run time: the checker lets it stand only as a `for each` list,
            // which expands when the run gets there.
            ExprKind::Output(..) => Value::List(Vec::new()),
            ExprKind::List(items) => Value::List(
                items
                    .iter()
                    .map(|item| self.eval(frame, item, loop_value, id))
                    .collect(),
            ),
            ExprKind::Not(inner) => {
                Value::Bool(self.eval(frame, inner, loop_value, id) != Value::Bool(true))
            }
            ExprKind::Eq(a, b) => Value::Bool(equal(
                &self.eval(frame, a, loop_value, id),
                &self.eval(frame, b, loop_value, id),
            )),
            ExprKind::Ne(a, b) => Value::Bool(!equal(
                &self.eval(frame, a, loop_value, id),
                &self.eval(frame, b, loop_value, id),
            )),
            ExprKind::In(a, b) => {
                let needle = self.eval(frame, a, loop_value, id);
                match self.eval(frame, b, loop_value, id) {
                    Value::List(items) => {
                        Value::Bool(items.iter().any(|item| equal(item, &needle)))
                    }
                    _ => Value::Bool(false),
                }
            }
            ExprKind::And(items) => Value::Bool(
                items
                    .iter()
                    .all(|item| self.eval(frame, item, loop_value, id) == Value::Bool(true)),
            ),
            ExprKind::Or(items) => Value::Bool(
                items
                    .iter()
                    .any(|item| self.eval(frame, item, loop_value, id) == Value::Bool(true)),
            ),
        }
    }

    fn task(
        &mut self,
        frame: &Frame<'_>,
        task: &ir::Task,
        id: &str,
        loop_value: Option<&Value>,
        deps: Vec<String>,
        instances: &[Vec<String>],
    ) -> TaskSpec {
        let for_each = task.for_each.as_ref();
        let run_time_loop = for_each.is_some_and(ir::ForEach::at_run_time);
        let site = &Site {
            frame,
            loop_value,
            run_time_loop,
            id,
            instances,
        };
        let title = match &task.title {
            Some(template) => self.plain(site, template),
            None => id.to_string(),
        };
        let output = task.output.as_ref().map(OutputSpec::of);
        let fan_out = for_each.and_then(|for_each| match &for_each.iter.kind {
            ExprKind::Output(node, fields) => Some(FanOutSpec {
                from: instances[node.0 as usize].first()?.clone(),
                fields: fields.clone(),
                max: for_each.max.unwrap_or(1),
            }),
            _ => None,
        });
        let workdir = match &task.workdir {
            Some(template) => {
                let path = self.plain(site, template);
                match crate::workspace_path::normalize(&path) {
                    Ok(path) => path,
                    Err(why) => {
                        self.errors.push(PlanError {
                            task: Some(id.to_string()),
                            message: format!(
                                "`workdir` {path:?} is not inside the workspace: {why}"
                            ),
                        });
                        ".".into()
                    }
                }
            }
            None => ".".into(),
        };
        let verify: Vec<Shell> = task
            .verify
            .iter()
            .map(|template| self.shell(site, template))
            .collect();
        let action = match &task.action {
            ir::Action::Run(template) => Action::Command {
                run: self.shell(site, template),
            },
            ir::Action::Prompt(template) => {
                let prompt = self.prompt(site, template);
                let accept: Vec<Vec<PromptPart>> =
                    task.accept.iter().map(|t| self.prompt(site, t)).collect();
                let context: Vec<(String, Vec<PromptPart>)> = task
                    .context
                    .iter()
                    .map(|(name, t)| (name.clone(), self.prompt(site, t)))
                    .collect();
                let module = &self.session.module(frame.module).ir;
                let profile = task.agent.map(|agent| &module.agents[agent.0 as usize]);
                Action::Agent {
                    profile: profile.map(|p| p.name.clone()),
                    agent: profile.map(|p| AgentSpec {
                        adapter: p.adapter.name().to_string(),
                        settings: p
                            .settings
                            .iter()
                            .map(|(name, value)| {
                                (
                                    name.clone(),
                                    serde_json::to_value(value).unwrap_or_default(),
                                )
                            })
                            .collect(),
                    }),
                    prompt: assemble(prompt, accept, &verify, context, &workdir, output.as_ref()),
                }
            }
        };
        let spec = TaskSpec {
            id: id.to_string(),
            title,
            action,
            deps,
            retry: task.retry,
            timeout_secs: task.timeout,
            priority: task.priority,
            labels: task.labels.iter().map(|t| self.plain(site, t)).collect(),
            workdir,
            env: task
                .env
                .iter()
                .map(|(name, t)| {
                    let variable = EnvVar {
                        name: name.clone(),
                        value: self.env_value(site, t),
                    };
                    self.check_variable(site, &variable, &t.segments);
                    variable
                })
                .collect(),
            pass_env: task.pass_env.clone(),
            verify,
            work: WorkSpec {
                isolation: task.work.isolation,
                on_conflict: task.work.on_conflict,
                retry_from: task.work.retry_from,
                setup: task
                    .work
                    .setup
                    .iter()
                    .map(|template| self.shell(site, template))
                    .collect(),
                copy_ignored: task.work.copy_ignored.clone(),
                sandbox: task.work.sandbox,
            },
            budget_usd: task.budget,
            output,
            fan_out,
            outcomes: Vec::new(),
            condition: None,
            repeat: None,
        };
        for problem in process_problems(&spec) {
            self.errors.push(PlanError {
                task: Some(id.to_string()),
                message: problem,
            });
        }
        spec
    }

    /// Reports a variable too long for any process to receive, naming the parameters whose
    /// values it holds (`segments` is what it was rendered from).
    fn check_variable(&mut self, site: &Site<'_, '_>, variable: &EnvVar, segments: &[Segment]) {
        let bytes = env_string_bytes(variable);
        if bytes <= MAX_ENV_STRING_BYTES {
            return;
        }
        let mut params: Vec<String> = Vec::new();
        for segment in segments {
            if let Segment::Value(interpolation) = segment {
                if let Source::Param(param) = interpolation.source {
                    let name = format!("`{}`", site.frame.workflow.params[param.0 as usize].name);
                    if !params.contains(&name) {
                        params.push(name);
                    }
                }
            }
        }
        let from = match params.as_slice() {
            [] => String::new(),
            [one] => format!(" (it holds the parameter {one})"),
            many => format!(" (it holds the parameters {})", many.join(", ")),
        };
        self.errors.push(PlanError {
            task: Some(site.id.to_string()),
            message: format!(
                "the environment variable {}{from} would be {bytes} bytes with its name; \
                 Linux passes at most {MAX_ENV_STRING_BYTES} bytes (128 KiB) in one",
                variable.name
            ),
        });
    }

    /// What one interpolation stands for here.
    fn piece(&mut self, site: &Site<'_, '_>, interpolation: &ir::Interpolation) -> Piece {
        let filters: Vec<FilterSpec> = interpolation.filters.clone();
        match &interpolation.source {
            Source::Param(param) => match &site.frame.args[param.0 as usize] {
                Arg::Value(value) => Piece::Text(apply(value, &filters)),
                Arg::Secret(name) => Piece::Secret {
                    name: name.clone(),
                    filters,
                },
            },
            Source::LoopVar if site.run_time_loop => Piece::Element(filters),
            Source::LoopVar => Piece::Text(apply(
                site.loop_value.unwrap_or(&Value::String(String::new())),
                &filters,
            )),
            Source::RunId => Piece::Text(apply(&Value::String(self.run_id.clone()), &filters)),
            Source::TaskId => Piece::Text(apply(&Value::String(site.id.to_string()), &filters)),
            Source::Result(node) | Source::Output(node, _) => {
                let tasks = site.instances[node.0 as usize].clone();
                let fallback = fallback(&filters);
                let output = match &interpolation.source {
                    Source::Output(_, fields) => Some(fields.clone()),
                    _ => None,
                };
                if tasks.is_empty() {
                    Piece::Text(fallback.unwrap_or_default())
                } else {
                    Piece::Result {
                        tasks,
                        filters,
                        fallback,
                        output,
                    }
                }
            }
        }
    }

    /// Text for people (`prompt`, `accept`, `ask`, `context`): free text alone on its line
    /// becomes a fenced data block; results are left for the runtime.
    fn prompt(&mut self, site: &Site<'_, '_>, template: &ir::Template) -> Vec<PromptPart> {
        let mut parts = Vec::new();
        for segment in &template.segments {
            match segment {
                Segment::Text(text) => push_text(&mut parts, text),
                Segment::Value(interpolation) => {
                    let fence =
                        interpolation.placement == Placement::OwnLine && interpolation.free_text;
                    match self.piece(site, interpolation) {
                        Piece::Text(text) if fence => push_text(&mut parts, &fenced(&text)),
                        Piece::Text(text) => push_text(&mut parts, &text),
                        Piece::Result {
                            tasks,
                            filters,
                            fallback,
                            output,
                        } => parts.push(PromptPart::Result {
                            tasks,
                            filters,
                            fenced: fence,
                            fallback,
                            output,
                        }),
                        Piece::Element(filters) => parts.push(PromptPart::Element {
                            filters,
                            fenced: fence,
                        }),
                        Piece::Secret { name, .. } => self.errors.push(PlanError {
                            task: Some(site.id.to_string()),
                            message: format!("the secret `{name}` cannot go into a prompt"),
                        }),
                    }
                }
            }
        }
        parts
    }

    /// Plain text (`title`, `labels`, `workdir`): only values known at planning.
    fn plain(&mut self, site: &Site<'_, '_>, template: &ir::Template) -> String {
        let mut text = String::new();
        for segment in &template.segments {
            match segment {
                Segment::Text(t) => text.push_str(t),
                Segment::Value(interpolation) => match self.piece(site, interpolation) {
                    Piece::Text(t) => text.push_str(&t),
                    _ => self.errors.push(PlanError {
                        task: Some(site.id.to_string()),
                        message: "a secret or a result cannot go into a title, label or workdir"
                            .into(),
                    }),
                },
            }
        }
        text
    }

    /// Shell text: every value becomes a quoted reference to an environment variable that
    /// holds it, so no value can become shell syntax (LANGUAGE.md §5).
    fn shell(&mut self, site: &Site<'_, '_>, template: &ir::Template) -> Shell {
        debug_assert_eq!(template.context, Context::Shell);
        let mut script = String::new();
        let mut display = String::new();
        let mut args = Vec::new();
        let mut count = 0;
        for segment in &template.segments {
            match segment {
                Segment::Text(text) => {
                    script.push_str(text);
                    display.push_str(text);
                }
                Segment::Value(interpolation)
                    if interpolation.filters.last() == Some(&Filter::Words) =>
                {
                    count += 1;
                    let words = self.words(site, interpolation);
                    let mut names = Vec::with_capacity(words.len());
                    let mut shown = Vec::with_capacity(words.len());
                    for (index, word) in words.into_iter().enumerate() {
                        let name = format!("WF_ARG_{count}_{}", index + 1);
                        names.push(format!("\"${name}\""));
                        shown.push(shell_quote(&word));
                        let variable = EnvVar {
                            name,
                            value: EnvValue::Text { text: word },
                        };
                        self.check_variable(site, &variable, std::slice::from_ref(segment));
                        args.push(variable);
                    }
                    script.push_str(&names.join(" "));
                    display.push_str(&shown.join(" "));
                }
                Segment::Value(interpolation) => {
                    count += 1;
                    let name = format!("WF_ARG_{count}");
                    let piece = self.piece(site, interpolation);
                    let quoted = interpolation.placement == Placement::ShellDoubleQuoted;
                    if quoted {
                        script.push_str(&format!("${{{name}}}"));
                    } else {
                        script.push_str(&format!("\"${name}\""));
                    }
                    display.push_str(&piece.display(quoted));
                    let variable = EnvVar {
                        name,
                        value: piece.into_env(),
                    };
                    self.check_variable(site, &variable, std::slice::from_ref(segment));
                    args.push(variable);
                }
            }
        }
        Shell {
            script,
            display,
            args,
        }
    }

    /// The elements of a list interpolated with `| words`, as text. The checker allows
    /// `words` only last and only on lists, which are parameters (or `use` arguments) and so
    /// known now; only `default`, which leaves a list as it is, can come before it.
    fn words(&mut self, site: &Site<'_, '_>, interpolation: &ir::Interpolation) -> Vec<String> {
        let value = match &interpolation.source {
            Source::Param(param) => match &site.frame.args[param.0 as usize] {
                Arg::Value(value) => value.clone(),
                Arg::Secret(_) => Value::List(Vec::new()),
            },
            Source::LoopVar => site.loop_value.cloned().unwrap_or(Value::List(Vec::new())),
            _ => Value::List(Vec::new()),
        };
        match value {
            Value::List(items) => items.iter().map(text_of).collect(),
            other => vec![text_of(&other)],
        }
    }

    /// The value of an `env` entry: passed as it is, never through a shell.
    fn env_value(&mut self, site: &Site<'_, '_>, template: &ir::Template) -> EnvValue {
        let mut parts: Vec<ValuePart> = Vec::new();
        for segment in &template.segments {
            let piece = match segment {
                Segment::Text(text) => Piece::Text(text.clone()),
                Segment::Value(interpolation) => self.piece(site, interpolation),
            };
            match (piece.into_part(), parts.last_mut()) {
                (ValuePart::Text { text }, Some(ValuePart::Text { text: last })) => {
                    last.push_str(&text)
                }
                (part, _) => parts.push(part),
            }
        }
        match parts.as_slice() {
            [] => EnvValue::Text {
                text: String::new(),
            },
            [ValuePart::Text { text }] => EnvValue::Text { text: text.clone() },
            _ => EnvValue::Parts { parts },
        }
    }
}

/// Where a template is rendered: the workflow, the task instance (its id and loop value),
/// and the tasks each node became so far, for results.
struct Site<'a, 's> {
    frame: &'a Frame<'s>,
    loop_value: Option<&'a Value>,
    /// Whether the loop variable is the element of a run-time `for each`, filled in only
    /// when the template expands.
    run_time_loop: bool,
    id: &'a str,
    instances: &'a [Vec<String>],
}

/// A rendered interpolation.
enum Piece {
    Text(String),
    Secret {
        name: String,
        filters: Vec<FilterSpec>,
    },
    Result {
        tasks: Vec<String>,
        filters: Vec<FilterSpec>,
        fallback: Option<String>,
        output: Option<Vec<String>>,
    },
    /// The element of a run-time `for each`.
    Element(Vec<FilterSpec>),
}

impl Piece {
    fn into_part(self) -> ValuePart {
        match self {
            Piece::Text(text) => ValuePart::Text { text },
            Piece::Secret { name, filters } => ValuePart::Secret { name, filters },
            Piece::Result {
                tasks,
                filters,
                fallback,
                output,
            } => ValuePart::Result {
                tasks,
                filters,
                fallback,
                output,
            },
            Piece::Element(filters) => ValuePart::Element { filters },
        }
    }

    fn into_env(self) -> EnvValue {
        match self.into_part() {
            ValuePart::Text { text } => EnvValue::Text { text },
            part => EnvValue::Parts { parts: vec![part] },
        }
    }

    /// How the value reads in a displayed command.
    fn display(&self, inside_double_quotes: bool) -> String {
        match self {
            Piece::Text(text) if inside_double_quotes => escape_in_double_quotes(text),
            Piece::Text(text) => shell_quote(text),
            Piece::Secret { name, .. } => format!("<secret {name}>"),
            Piece::Result { tasks, output, .. } => {
                super::listing::reference_text(tasks, output.as_deref())
            }
            Piece::Element(_) => super::listing::ELEMENT_TEXT.to_string(),
        }
    }
}

fn push_text(parts: &mut Vec<PromptPart>, text: &str) {
    if let Some(PromptPart::Text { text: last }) = parts.last_mut() {
        last.push_str(text);
    } else if !text.is_empty() {
        parts.push(PromptPart::Text {
            text: text.to_string(),
        });
    }
}

/// The dependencies of all `lists`, each once, in order.
fn union<'a>(lists: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for list in lists {
        for id in list {
            if seen.insert(id.clone()) {
                out.push(id.clone());
            }
        }
    }
    out
}

/// Equality as `==` means it: values of one type compare by value; text compares as text.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (x, y) => x == y,
    }
}

/// A shell word that reads as `text`, for display. Control characters are written as
/// escapes (`$'…\x1b…'`), so a value cannot rewrite the line it is shown on.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
    {
        return text.to_string();
    }
    if text.chars().any(is_hidden_control) {
        let mut out = String::from("$'");
        for c in text.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if is_hidden_control(c) => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` escaped to stand inside double quotes, for display; control characters are shown
/// as `\xNN`.
fn escape_in_double_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        if is_hidden_control(c) {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A control character other than a line break or tab: shown raw, it could move the cursor
/// or recolour the terminal and so hide what a command really is.
pub(crate) fn is_hidden_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Whether `expr` reads an upstream task's output, so it can only be decided at run time.
fn reads_outputs(expr: &ir::Expr) -> bool {
    match &expr.kind {
        ExprKind::Output(..) => true,
        ExprKind::Value(_) | ExprKind::Param(_) | ExprKind::LoopVar => false,
        ExprKind::Not(inner) => reads_outputs(inner),
        ExprKind::Eq(a, b) | ExprKind::Ne(a, b) | ExprKind::In(a, b) => {
            reads_outputs(a) || reads_outputs(b)
        }
        ExprKind::And(items) | ExprKind::Or(items) | ExprKind::List(items) => {
            items.iter().any(reads_outputs)
        }
    }
}
