//! Checking strings: each interpolation resolved to its source, its filters typed, and its
//! place judged by the context it renders in (LANGUAGE.md §4–§5).

use super::shell::{ShellScanner, Unsafe};
use super::workflow::{describe_type, NodeTag, Scope, WorkflowChecker};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, Context, Filter, Placement, Source, Type};
use crate::span::Span;
use crate::suggest::did_you_mean;
use crate::syntax::ast::{self, ExprKind, StrLit, StrPart};

/// An interpolation's resolved value before it is placed.
struct Resolved {
    source: Source,
    filters: Vec<Filter>,
    ty: Type,
    free: bool,
    /// Whether the value may start with `-`: free text, or a string whose `matching`
    /// pattern allows it, with no filter that rules it out.
    leading_dash: bool,
}

impl WorkflowChecker<'_, '_> {
    /// Lowers a string literal into a template for `context`; `field` names where it stands.
    pub fn template(
        &mut self,
        lit: &StrLit,
        context: Context,
        field: &str,
        scope: &Scope,
    ) -> ir::Template {
        let mut segments = Vec::with_capacity(lit.parts.len());
        let mut shell = (context == Context::Shell).then(ShellScanner::new);
        for (index, part) in lit.parts.iter().enumerate() {
            match part {
                StrPart::Text { value, .. } => {
                    if let Some(scanner) = shell.as_mut() {
                        scanner.feed(value);
                    }
                    segments.push(ir::Segment::Text(value.clone()));
                }
                StrPart::Interp(interp) => {
                    let mut option_position =
                        shell.as_ref().and_then(ShellScanner::option_position);
                    let placement = match shell.as_mut() {
                        Some(scanner) => match scanner.value() {
                            Ok(placement) => placement,
                            Err(why) => {
                                // One place, one diagnostic: code is worse than an option.
                                option_position = None;
                                self.report_unsafe(interp, why);
                                Placement::ShellUnquoted
                            }
                        },
                        None if context == Context::Prompt
                            && alone_on_line(&lit.parts, index)
                            && lit.block =>
                        {
                            Placement::OwnLine
                        }
                        None if context == Context::Prompt
                            && alone_in_string(&lit.parts)
                            && field != "title" =>
                        {
                            Placement::OwnLine
                        }
                        None => Placement::Inline,
                    };
                    let Some(resolved) = self.resolve(interp, field, scope, context, placement)
                    else {
                        continue;
                    };
                    self.judge_place(interp, &resolved, context, field, placement);
                    if let Some(command) = option_position.filter(|_| resolved.leading_dash) {
                        self.report_option_position(interp, &resolved, &command);
                    }
                    segments.push(ir::Segment::Value(ir::Interpolation {
                        source: resolved.source,
                        filters: resolved.filters,
                        placement,
                        free_text: resolved.free,
                        span: interp.span,
                    }));
                }
            }
        }
        ir::Template {
            context,
            segments,
            span: lit.span,
        }
    }

    fn report_unsafe(&mut self, interp: &ast::Interp, why: Unsafe) {
        let name = interp.path_text();
        let (message, label, help) = match why {
            Unsafe::SingleQuoted => (
                format!("`{{{{ {name} }}}}` stands inside single quotes, where the shell expands nothing"),
                "inside '…'",
                "move it out of the single quotes, or use double quotes: \"{{ … }}\"",
            ),
            Unsafe::CommandName => (
                format!("`{{{{ {name} }}}}` would decide which program runs"),
                "in command position",
                "values are data, never code: name the program in the text and pass the value as an argument",
            ),
            Unsafe::Eval => (
                format!("`{{{{ {name} }}}}` is an argument of `eval`, which runs it as code"),
                "evaluated as shell code",
                "values are data, never code: pass the value as an argument to a program instead of evaluating it",
            ),
            Unsafe::Script => (
                format!("`{{{{ {name} }}}}` is part of a script that an interpreter runs as code"),
                "run as code",
                "write the script in the text and pass the value as an argument: sh -c 'echo \"$1\"' sh {{ … }}",
            ),
            Unsafe::RemoteCommand => (
                format!("`{{{{ {name} }}}}` is part of the command ssh runs through the remote shell"),
                "run as remote shell code",
                "ssh joins its arguments into one shell command on the remote host; copy the value there as a file (scp) instead",
            ),
            Unsafe::Arithmetic => (
                format!("`{{{{ {name} }}}}` stands inside `$(( ))`, where the shell evaluates it"),
                "evaluated as arithmetic",
                "compute with a program (`expr`) that receives the value as an argument",
            ),
            Unsafe::HereDocument => (
                format!("`{{{{ {name} }}}}` stands in a here-document, where its value would arrive quoted, or not at all"),
                "in a here-document",
                "feed the value on standard input instead: printf '%s\\n' {{ … }} | program",
            ),
            Unsafe::AfterBackslash => (
                format!("`{{{{ {name} }}}}` follows a backslash, which would break the quoting around it"),
                "after `\\`",
                "remove the backslash before the interpolation",
            ),
        };
        self.report(Diagnostic::new(Code::Injection, message, interp.span, label).with_help(help));
    }

    /// Warns that a value that may start with `-` begins an argument of `command`, which
    /// would then read it as an option (`wc -c --files0-from=/etc/passwd`).
    fn report_option_position(&mut self, interp: &ast::Interp, resolved: &Resolved, command: &str) {
        let name = interp.path_text();
        let what = match resolved.source {
            Source::Result(_) => "a task's result",
            Source::Output(..) => "a task's output",
            Source::Param(_) if resolved.free => "free text",
            Source::LoopVar => "free text",
            _ => "a string whose `matching` pattern allows a leading `-`",
        };
        self.report(
            Diagnostic::new(
                Code::OptionInjection,
                format!("`{{{{ {name} }}}}` is {what}: a value starting with `-` would be an option to `{command}`"),
                interp.span,
                "may be read as an option",
            )
            .with_help(format!("end the options with `--` before it (`{command} … -- {{{{ {name} }}}}`; git takes `--end-of-options`), attach it to its option (`--name={{{{ {name} }}}}`), or declare the parameter a `path`, or with a `matching` pattern that cannot start with `-`")),
        );
    }

    /// Checks what a value may do in this place: secrets, free text, results.
    fn judge_place(
        &mut self,
        interp: &ast::Interp,
        resolved: &Resolved,
        context: Context,
        field: &str,
        placement: Placement,
    ) {
        let name = interp.path_text();
        if resolved.ty == Type::Secret && matches!(context, Context::Prompt | Context::Plain) {
            let place = match field {
                "labels" => "a label, which the backend shows",
                "workdir" => "a path, which logs show",
                "title" => "a title, which status and the backend show",
                _ => "a prompt, which the agent and the logs see",
            };
            self.report(
                Diagnostic::new(Code::Secret, format!("the secret `{name}` would appear in {place}"), interp.span, "secret value")
                    .with_help("secrets may go only into `env = { NAME = \"{{ … }}\" }` or shell text (`run`, `verify`), where they are passed in the environment"),
            );
            return;
        }
        if context == Context::Prompt && resolved.free && placement == Placement::Inline {
            let what = match resolved.source {
                Source::Result(_) => "a task's result",
                Source::Output(..) => "a task's output",
                _ => "free text",
            };
            let d = if field == "title" {
                Diagnostic::new(
                    Code::InlineText,
                    format!("`{name}` is {what}, which may hold any characters, in a title"),
                    interp.span,
                    "free text in a title",
                )
                .with_help("use a parameter declared with `matching`, an enum, or `| slug`")
            } else {
                Diagnostic::new(Code::InlineText, format!("`{name}` is {what}, interpolated in the middle of a sentence"), interp.span, "inline free text")
                    .with_help("put it alone on its own line of a text block, so it is set off as a fenced data block; or use `| slug`, or a parameter declared with `matching`")
            };
            self.report(d);
        }
    }

    /// Whether `| words` stands where it can work: last, in shell text outside quotes (the
    /// filter itself accepts only lists, which are parameters known when the plan is made;
    /// each element becomes its own variable then); reports why not.
    fn words_fit(
        &mut self,
        interp: &ast::Interp,
        filters: &[Filter],
        context: Context,
        placement: Placement,
    ) -> bool {
        let text = interp.path_text();
        let problem = if filters.last() != Some(&Filter::Words) {
            Some((
                "`words` must be the last filter: it makes shell words, which no filter reads"
                    .to_string(),
                "move `| words` to the end",
            ))
        } else if context != Context::Shell {
            Some((
                format!("`{{{{ {text} | words }}}}` makes shell words, and this is not shell text"),
                "use `| join(\", \")` here",
            ))
        } else if placement != Placement::ShellUnquoted {
            Some((
                format!("`{{{{ {text} | words }}}}` stands inside double quotes, where it would be one word"),
                "move it out of the quotes; each element is quoted on its own",
            ))
        } else {
            None
        };
        match problem {
            Some((message, help)) => {
                self.report(
                    Diagnostic::new(Code::Type, message, interp.span, "`words` here")
                        .with_help(help),
                );
                false
            }
            None => true,
        }
    }

    fn resolve(
        &mut self,
        interp: &ast::Interp,
        field: &str,
        scope: &Scope,
        context: Context,
        placement: Placement,
    ) -> Option<Resolved> {
        let path = &interp.path;
        let first = &path[0];
        let span = interp.path_span();
        let text = interp.path_text();
        let mut leading_dash = false;
        let (source, mut ty, mut free) = match path.len() {
            1 => {
                if let Some(var) = scope.loop_var.as_ref().filter(|v| v.name == first.text) {
                    if var.run_time && matches!(field, "title" | "labels" | "workdir") {
                        self.report(
                            Diagnostic::new(
                                Code::FanOut,
                                format!("`{field}` is decided when the plan is made, and `{}` only when the list it walks is known", var.name),
                                span,
                                "known at run time",
                            )
                            .with_help("use it in `prompt`, `accept`, `context`, `run`, `verify`, `setup` or `env`; the instances are named by their elements"),
                        );
                        return None;
                    }
                    leading_dash = var.free;
                    (Source::LoopVar, var.ty.clone(), var.free)
                } else if let Some(index) = self.params.iter().position(|p| p.name == first.text) {
                    self.used[index] = true;
                    let param = &self.params[index];
                    let free = is_free(&param.ty, param.pattern.is_some());
                    leading_dash = free
                        || param
                            .pattern
                            .as_deref()
                            .is_some_and(super::leading_dash::allows_leading_dash);
                    (
                        Source::Param(ir::ParamId(index as u32)),
                        param.ty.clone(),
                        free,
                    )
                } else {
                    self.unbound(first, scope);
                    return None;
                }
            }
            2 if first.text == "run" && path[1].text == "id" => {
                (Source::RunId, Type::String, false)
            }
            2 if first.text == "task" && path[1].text == "id" => {
                (Source::TaskId, Type::String, false)
            }
            _ if path[1].text == "output" && self.node_index(&first.text).is_some() => {
                let node = self.node_index(&first.text)?;
                let read = self.resolve_output(node, path, &text)?;
                leading_dash = read.leading_dash;
                (read.source, read.ty, read.free)
            }
            2 => {
                let Some(node) = self.node_index(&first.text) else {
                    if self.broken_nodes.contains(&first.text)
                        || self.broken_params.contains(&first.text)
                    {
                        return None;
                    }
                    if self.params.iter().any(|p| p.name == first.text) {
                        self.report(Diagnostic::new(
                            Code::Type,
                            format!("the parameter `{}` has no fields", first.text),
                            span,
                            "no `.` after a parameter",
                        ));
                        return None;
                    }
                    let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
                    let mut d = Diagnostic::new(
                        Code::UnknownRef,
                        format!("`{text}` names no task"),
                        first.span,
                        "unknown task",
                    );
                    if let Some(hint) = did_you_mean(&first.text, names) {
                        d = d.with_help(hint);
                    }
                    self.report(d);
                    return None;
                };
                if path[1].text != "result" {
                    self.report(
                        Diagnostic::new(
                            Code::UnknownRef,
                            format!("a task has no `{}`", path[1].text),
                            path[1].span,
                            "unknown field",
                        )
                        .with_help(format!(
                            "a task's text is `{{{{ {0}.result }}}}`, its typed output `{{{{ {0}.output }}}}`",
                            first.text
                        )),
                    );
                    return None;
                }
                if self.nodes[node].tag != NodeTag::Task {
                    self.report(Diagnostic::new(
                        Code::UnknownRef,
                        format!(
                            "`{}` is a {}, which has no result",
                            first.text,
                            self.nodes[node].tag.noun()
                        ),
                        first.span,
                        "no result",
                    ));
                    return None;
                }
                leading_dash = true;
                (Source::Result(ir::NodeId(node as u32)), Type::Text, true)
            }
            _ => {
                self.report(Diagnostic::new(Code::UnknownRef, format!("`{text}` names nothing"), span, "unknown name").with_help("interpolations read a parameter, a loop variable, `run.id`, `task.id` or `TASK.result`"));
                return None;
            }
        };
        let mut filters = Vec::with_capacity(interp.filters.len());
        for call in &interp.filters {
            let filter = self.filter(call, &ty)?;
            match &filter {
                // A slug has no `-` at either end, and JSON starts with `"` or `[`.
                Filter::Slug => {
                    free = false;
                    leading_dash = false;
                    ty = keep_secret(&ty, Type::String);
                }
                Filter::Upper | Filter::Lower | Filter::Trim => ty = keep_secret(&ty, Type::String),
                Filter::Join(_) => ty = keep_secret(&ty, Type::String),
                Filter::Json => {
                    leading_dash = false;
                    ty = keep_secret(&ty, Type::String);
                }
                // The list stays a list: planning makes one shell word of each element.
                Filter::Words => {}
                Filter::Default(_) => {}
            }
            filters.push(filter);
        }
        if filters.contains(&Filter::Words) && !self.words_fit(interp, &filters, context, placement)
        {
            return None;
        }
        if filters.contains(&Filter::Words) && matches!(source, Source::Output(..)) {
            self.report(
                Diagnostic::new(
                    Code::Type,
                    format!("`{{{{ {text} | words }}}}` needs a list known when the plan is made, and a task's output is known only when it ran"),
                    interp.span,
                    "`words` here",
                )
                .with_help(format!("pass it as one JSON argument: `{{{{ {text} | json }}}}`")),
            );
            return None;
        }
        let words = filters.last() == Some(&Filter::Words);
        if let (Type::List(_), false) = (&ty, words) {
            let help = if context == Context::Shell {
                format!("make each element a shell word: `{{{{ {text} | words }}}}`; or join it: `{{{{ {text} | join(\" \") }}}}`, which makes one word of all")
            } else {
                format!("join it: `{{{{ {text} | join(\", \") }}}}`, or write it as JSON: `{{{{ {text} | json }}}}`")
            };
            self.report(
                Diagnostic::new(
                    Code::Type,
                    format!("`{text}` is a list, which cannot be interpolated as it is"),
                    span,
                    describe_type(&ty),
                )
                .with_help(help),
            );
            return None;
        }
        if let Type::Record(_) = &ty {
            self.report(
                Diagnostic::new(
                    Code::Type,
                    format!("`{text}` is a record, which cannot be interpolated as it is"),
                    span,
                    "a record",
                )
                .with_help(format!(
                    "write it as JSON: `{{{{ {text} | json }}}}`, or read one of its fields"
                )),
            );
            return None;
        }
        if let Some(node) = source.result_of() {
            if !self.check_result(node.0 as usize, interp, &filters, field, scope) {
                return None;
            }
        }
        Some(Resolved {
            source,
            filters,
            ty,
            free,
            leading_dash,
        })
    }

    fn unbound(&mut self, name: &ast::Name, scope: &Scope) {
        if self.broken_params.contains(&name.text) {
            return;
        }
        let mut d = Diagnostic::new(
            Code::Unbound,
            format!("`{}` is not a parameter or loop variable", name.text),
            name.span,
            "not in scope",
        );
        if self.node_index(&name.text).is_some() {
            d = d.with_help(format!(
                "`{0}` is a task; its output is `{{{{ {0}.result }}}}`",
                name.text
            ));
        } else if name.text == "run" || name.text == "task" {
            d = d.with_help(format!("did you mean `{{{{ {}.id }}}}`?", name.text));
        } else {
            let mut names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            if let Some(var) = &scope.loop_var {
                names.push(&var.name);
            }
            let suggestion = crate::suggest::closest(&name.text, names);
            // The parameter the typo meant is used, as far as `wf::unused` is concerned.
            if let Some(index) =
                suggestion.and_then(|s| self.params.iter().position(|p| p.name == s))
            {
                self.used[index] = true;
            }
            d = d.with_help(match suggestion {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("declare it: `param {}: string`", name.text),
            });
        }
        self.report(d);
    }

    fn filter(&mut self, call: &ast::FilterCall, input: &Type) -> Option<Filter> {
        let name = call.name.text.as_str();
        let string_arg = |checker: &mut Self| -> Option<String> {
            match call.args.as_slice() {
                [ast::Expr {
                    kind: ExprKind::Str(lit),
                    ..
                }] if lit.plain_text().is_some() => lit.plain_text(),
                _ => {
                    checker.report(
                        Diagnostic::new(
                            Code::Type,
                            format!("`{name}` takes one string argument"),
                            call.span,
                            "wrong arguments",
                        )
                        .with_help(format!("write `{name}(\"…\")`")),
                    );
                    None
                }
            }
        };
        let no_args = |checker: &mut Self| -> Option<()> {
            if call.args.is_empty() {
                Some(())
            } else {
                checker.report(Diagnostic::new(
                    Code::Type,
                    format!("`{name}` takes no arguments"),
                    call.span,
                    "unexpected arguments",
                ));
                None
            }
        };
        let not_list = |checker: &mut Self| -> Option<()> {
            if let Type::List(_) = input {
                checker.report(
                    Diagnostic::new(
                        Code::Type,
                        format!("`{name}` works on text, and this is a list"),
                        call.span,
                        "a list",
                    )
                    .with_help("join the list first: `| join(\", \") | …`"),
                );
                None
            } else {
                Some(())
            }
        };
        let filter = match name {
            "slug" => no_args(self)
                .and_then(|_| not_list(self))
                .map(|_| Filter::Slug)?,
            "upper" => no_args(self)
                .and_then(|_| not_list(self))
                .map(|_| Filter::Upper)?,
            "lower" => no_args(self)
                .and_then(|_| not_list(self))
                .map(|_| Filter::Lower)?,
            "trim" => no_args(self)
                .and_then(|_| not_list(self))
                .map(|_| Filter::Trim)?,
            "json" => no_args(self).map(|_| Filter::Json)?,
            "words" => {
                no_args(self)?;
                if !matches!(input, Type::List(_) | Type::Error) {
                    self.report(Diagnostic::new(
                        Code::Type,
                        format!(
                            "`words` splits a list into shell words, and this is {}",
                            describe_type(input)
                        ),
                        call.span,
                        "not a list",
                    ));
                    return None;
                }
                Filter::Words
            }
            "default" => string_arg(self).map(Filter::Default)?,
            "join" => {
                let separator = string_arg(self)?;
                if !matches!(input, Type::List(_) | Type::Error) {
                    self.report(Diagnostic::new(
                        Code::Type,
                        format!("`join` joins a list, and this is {}", describe_type(input)),
                        call.span,
                        "not a list",
                    ));
                    return None;
                }
                Filter::Join(separator)
            }
            other => {
                let help = did_you_mean(other, ir::FILTER_NAMES)
                    .unwrap_or_else(|| format!("the filters are: {}", ir::FILTER_NAMES.join(", ")));
                self.report(
                    Diagnostic::new(
                        Code::UnknownRef,
                        format!("there is no filter called `{other}`"),
                        call.name.span,
                        "unknown filter",
                    )
                    .with_help(help),
                );
                return None;
            }
        };
        Some(filter)
    }

    /// `X.result` is allowed only where X certainly ran before the current task; returns
    /// whether it is.
    fn check_result(
        &mut self,
        node: usize,
        interp: &ast::Interp,
        filters: &[Filter],
        field: &str,
        scope: &Scope,
    ) -> bool {
        let name = self.nodes[node].name.clone();
        let span = interp.path_span();
        if matches!(field, "title" | "labels" | "workdir") {
            self.report(
                Diagnostic::new(
                    Code::NotUpstream,
                    format!(
                        "`{field}` is decided when the plan is made, before `{name}` has a result"
                    ),
                    span,
                    "not known yet",
                )
                .with_help(
                    "use results in `prompt`, `accept`, `context`, `ask`, `run`, `verify` or `env`",
                ),
            );
            return false;
        }
        let Some(current) = scope.current else {
            self.report(
                Diagnostic::new(
                    Code::NotUpstream,
                    format!("`defaults` apply to every task, so they cannot read `{name}.result`"),
                    span,
                    "no task here",
                )
                .with_help("move this into the tasks that run after it"),
            );
            return false;
        };
        if current == node {
            self.report(Diagnostic::new(
                Code::NotUpstream,
                format!("`{name}` cannot read its own result"),
                span,
                "its own result",
            ));
            return false;
        }
        // Whether X certainly runs first is settled once every edge is known; a graph with a
        // cycle was already reported, and has no "first".
        let has_default = filters.iter().any(|f| matches!(f, Filter::Default(_)));
        if self.acyclic {
            // Settled once every node is lowered, with the `when` check after it, so one
            // reference gets one error.
            self.result_reads.push((node, current, span, has_default));
        } else if self.nodes[node].has_when && !has_default {
            self.report_conditional_result(node, span);
            return false;
        }
        true
    }

    /// Reports `X.result` where X may be left out by its `when` and no fallback is given.
    pub fn report_conditional_result(&mut self, node: usize, span: Span) {
        let name = self.nodes[node].name.clone();
        self.report(
            Diagnostic::new(
                Code::NotUpstream,
                format!("`{name}` may be left out by its `when`, so `{name}.result` may not exist"),
                span,
                "may be left out",
            )
            .with_help(format!(
                "give a fallback: `{{{{ {name}.result | default(\"…\") }}}}`"
            )),
        );
    }
}

/// Whether values of a parameter of this type are free text: text, or strings (alone or in a
/// list) that no `matching` pattern constrains.
pub(crate) fn is_free(ty: &Type, has_pattern: bool) -> bool {
    match ty {
        Type::Text => true,
        Type::String => !has_pattern,
        Type::List(element) => is_free(element, has_pattern),
        _ => false,
    }
}

/// The output type of a text filter: secret stays secret.
fn keep_secret(input: &Type, output: Type) -> Type {
    if *input == Type::Secret {
        Type::Secret
    } else {
        output
    }
}

/// Whether the interpolation at `index` stands alone on its line: only white space around
/// it up to the line breaks (or the string's ends).
fn alone_on_line(parts: &[StrPart], index: usize) -> bool {
    let before = match index.checked_sub(1).map(|i| (i, &parts[i])) {
        None => true,
        Some((i, StrPart::Text { value, .. })) => {
            let tail = value.rsplit('\n').next().unwrap_or("");
            tail.trim().is_empty() && (value.contains('\n') || i == 0)
        }
        Some((_, StrPart::Interp(_))) => false,
    };
    let after = match parts.get(index + 1) {
        None => true,
        Some(StrPart::Text { value, .. }) => {
            let head = value.split('\n').next().unwrap_or("");
            head.trim().is_empty() && (value.contains('\n') || index + 2 == parts.len())
        }
        Some(StrPart::Interp(_)) => false,
    };
    before && after
}

/// Whether the string is a lone interpolation, as in `context = { spec = "{{ spec }}" }`.
fn alone_in_string(parts: &[StrPart]) -> bool {
    parts.len() == 1 && matches!(parts[0], StrPart::Interp(_))
}
