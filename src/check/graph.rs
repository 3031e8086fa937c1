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

/// For an acyclic graph, every node's set of transitive dependencies, as bit sets.
pub(crate) struct Ancestry {
    words: usize,
    bits: Vec<u64>,
}

impl Ancestry {
    /// Computes the ancestry of an acyclic `deps` graph; `None` if it has a cycle.
    pub fn new(deps: &[Vec<usize>]) -> Option<Self> {
        let count = deps.len();
        let words = count.div_ceil(64).max(1);
        let mut bits = vec![0u64; count * words];
        // Kahn's algorithm gives an order where every node comes after its dependencies.
        let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut dependents = vec![Vec::new(); count];
        for (node, node_deps) in deps.iter().enumerate() {
            for &dep in node_deps {
                dependents[dep].push(node);
            }
        }
        let mut ready: Vec<usize> = (0..count).filter(|&n| waiting[n] == 0).collect();
        let mut done = 0;
        while let Some(node) = ready.pop() {
            done += 1;
            for &dep in &deps[node] {
                let (dep_row, node_row) = (dep * words, node * words);
                for w in 0..words {
                    let inherited = bits[dep_row + w];
                    bits[node_row + w] |= inherited;
                }
                bits[node_row + dep / 64] |= 1 << (dep % 64);
            }
            for &dependent in &dependents[node] {
                waiting[dependent] -= 1;
                if waiting[dependent] == 0 {
                    ready.push(dependent);
                }
            }
        }
        (done == count).then_some(Ancestry { words, bits })
    }

    /// Whether `ancestor` is a transitive dependency of `node`.
    pub fn is_upstream(&self, ancestor: usize, node: usize) -> bool {
        self.bits
            .get(node * self.words + ancestor / 64)
            .is_some_and(|word| word & (1 << (ancestor % 64)) != 0)
    }
}
