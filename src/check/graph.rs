//! Graph algorithms over `after` edges: cycles (linear, iterative Tarjan) and ancestry.

/// Finds one cycle in every strongly connected component that has one.
///
/// `deps[i]` lists the nodes `i` waits for. Each cycle is returned in dependency order as
/// `(node, index into deps[node])` pairs: the first pair's node waits for the second's, and
/// the last waits for the first. Runs in time linear in nodes plus edges, without recursion.
pub fn find_cycles(deps: &[Vec<usize>]) -> Vec<Vec<(usize, usize)>> {
    let components = strongly_connected(deps);
    let mut component_of = vec![usize::MAX; deps.len()];
    for (index, component) in components.iter().enumerate() {
        for &node in component {
            component_of[node] = index;
        }
    }
    let mut cycles = Vec::new();
    for (index, component) in components.iter().enumerate() {
        let self_loop = component.len() == 1 && deps[component[0]].contains(&component[0]);
        if component.len() < 2 && !self_loop {
            continue;
        }
        let start = component.iter().copied().min().unwrap_or(component[0]);
        if let Some(cycle) = shortest_cycle_through(start, deps, |n| component_of[n] == index) {
            cycles.push(cycle);
        }
    }
    cycles.sort();
    cycles
}

/// A shortest cycle from `start` back to itself, moving only through nodes `inside` allows.
fn shortest_cycle_through(
    start: usize,
    deps: &[Vec<usize>],
    inside: impl Fn(usize) -> bool,
) -> Option<Vec<(usize, usize)>> {
    // Breadth-first search; `came_from[n]` is the (node, edge index) that first reached n.
    let mut came_from: std::collections::HashMap<usize, (usize, usize)> =
        std::collections::HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for (edge, &next) in deps[node].iter().enumerate() {
            if !inside(next) {
                continue;
            }
            if next == start {
                let mut path = vec![(node, edge)];
                let mut at = node;
                while at != start {
                    let (previous, previous_edge) = came_from[&at];
                    path.push((previous, previous_edge));
                    at = previous;
                }
                path.reverse();
                return Some(path);
            }
            if next != start && !came_from.contains_key(&next) {
                came_from.insert(next, (node, edge));
                queue.push_back(next);
            }
        }
    }
    None
}

/// Tarjan's strongly connected components, iteratively.
fn strongly_connected(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let count = deps.len();
    let mut index = vec![usize::MAX; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    for root in 0..count {
        if index[root] != usize::MAX {
            continue;
        }
        // Each frame is (node, position of the next edge to look at).
        let mut frames = vec![(root, 0usize)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (node, ref mut edge)) = frames.last_mut() {
            if let Some(&next) = deps[node].get(*edge) {
                *edge += 1;
                if next >= count {
                    continue;
                }
                if index[next] == usize::MAX {
                    index[next] = next_index;
                    low[next] = next_index;
                    next_index += 1;
                    stack.push(next);
                    on_stack[next] = true;
                    frames.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
            } else {
                frames.pop();
                if let Some(&(parent, _)) = frames.last() {
                    low[parent] = low[parent].min(low[node]);
                }
                if low[node] == index[node] {
                    let mut component = Vec::new();
                    while let Some(member) = stack.pop() {
                        on_stack[member] = false;
                        component.push(member);
                        if member == node {
                            break;
                        }
                    }
                    components.push(component);
                }
            }
        }
    }
    components
}

/// The most bits the bit sets of [`upstream`] may take before it answers query by query.
const ANCESTRY_BIT_BUDGET: usize = 1 << 26;

/// Answers, for each `(ancestor, node)` query, whether `ancestor` is a transitive dependency
/// of `node` in the acyclic graph `deps`.
///
/// Most queries name a direct dependency and are answered at once. The rest share one pass
/// in topological order that gives each node a bit set over just the ancestors asked about,
/// so time and memory grow with nodes × distinct ancestors, not nodes²; past a budget of
/// bits it searches each query's ancestors instead, which needs no memory beyond the graph.
pub(crate) fn upstream(deps: &[Vec<usize>], queries: &[(usize, usize)]) -> Vec<bool> {
    let mut answers: Vec<bool> = queries
        .iter()
        .map(|&(ancestor, node)| deps[node].contains(&ancestor))
        .collect();
    let open: Vec<usize> = (0..queries.len()).filter(|&q| !answers[q]).collect();
    if open.is_empty() {
        return answers;
    }
    let mut columns: Vec<usize> = open.iter().map(|&q| queries[q].0).collect();
    columns.sort_unstable();
    columns.dedup();
    let count = deps.len();
    if count.saturating_mul(columns.len()) <= ANCESTRY_BIT_BUDGET {
        let words = columns.len().div_ceil(64);
        let column_of = |node: usize| columns.binary_search(&node).ok();
        let mut bits = vec![0u64; count * words];
        for node in topological_order(deps) {
            for &dep in &deps[node] {
                for w in 0..words {
                    let inherited = bits[dep * words + w];
                    bits[node * words + w] |= inherited;
                }
                if let Some(column) = column_of(dep) {
                    bits[node * words + column / 64] |= 1 << (column % 64);
                }
            }
        }
        for q in open {
            let (ancestor, node) = queries[q];
            if let Some(column) = column_of(ancestor) {
                answers[q] = bits[node * words + column / 64] & (1 << (column % 64)) != 0;
            }
        }
    } else {
        // One search per query; `seen` holds the query number that last visited a node, so it
        // never needs clearing.
        let mut seen = vec![usize::MAX; count];
        for q in open {
            let (ancestor, node) = queries[q];
            let mut stack = vec![node];
            while let Some(at) = stack.pop() {
                for &dep in &deps[at] {
                    if dep == ancestor {
                        answers[q] = true;
                        stack.clear();
                        break;
                    }
                    if seen[dep] != q {
                        seen[dep] = q;
                        stack.push(dep);
                    }
                }
            }
        }
    }
    answers
}

/// The nodes of an acyclic graph in an order where each follows its dependencies (Kahn).
fn topological_order(deps: &[Vec<usize>]) -> Vec<usize> {
    let count = deps.len();
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); count];
    for (node, node_deps) in deps.iter().enumerate() {
        for &dep in node_deps {
            dependents[dep].push(node);
        }
    }
    let mut ready: Vec<usize> = (0..count).filter(|&n| waiting[n] == 0).collect();
    let mut order = Vec::with_capacity(count);
    while let Some(node) = ready.pop() {
        order.push(node);
        for &dependent in &dependents[node] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(dependent);
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_answers_direct_transitive_and_unrelated() {
        // 0 <- 1 <- 2, and 3 alone.
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        let queries = [(1, 2), (0, 2), (3, 2), (2, 0)];
        assert_eq!(upstream(&deps, &queries), [true, true, false, false]);
    }

    #[test]
    fn a_long_chain_is_answered_without_quadratic_memory() {
        let count = 200_000;
        let deps: Vec<Vec<usize>> = (0..count)
            .map(|n| if n == 0 { vec![] } else { vec![n - 1] })
            .collect();
        // Many distinct ancestors: nodes × columns exceeds the bit budget, so each query searches.
        let queries: Vec<(usize, usize)> = (0..400).map(|i| (i, count - 1 - i)).collect();
        assert!(upstream(&deps, &queries).iter().all(|&a| a));
        assert_eq!(upstream(&deps, &[(count - 1, 0)]), [false]);
    }
}
