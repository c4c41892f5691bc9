//! The module graph of `wvs-server` and `wvs-store`: no module imports a module that
//! imports it back (directly or around a longer circle), and the web pages import nothing
//! from the API (both are adapters over `service/`).
//!
//! An edge `a -> b` is a path in `a`'s source that names `b`: `use crate::b::..`,
//! `crate::b::..` in code, `super::..`. A parent naming its own child (`mod child;`,
//! `child::f()`, `self::child`) is not an edge, and neither is anything inside a
//! `#[cfg(test)]` module (unit tests `use super::*`). Paths inside macro calls are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module, as the segments of its path below the crate root (`["api", "hooks"]`).
type Module = Vec<String>;

#[test]
fn wvs_server_has_no_module_cycle_and_web_does_not_import_api() {
    let graph = graph_of(&crate_src("wvs-server"), &[]);
    assert_no_cycle("wvs-server", &graph);
    let web_to_api: Vec<String> = graph
        .iter()
        .flat_map(|(from, to)| to.iter().map(move |to| (from, to)))
        .filter(|(from, to)| from.first().is_some_and(|s| s == "web") && is_api(to))
        .map(|(from, to)| format!("{} -> {}", name(from), name(to)))
        .collect();
    assert!(
        web_to_api.is_empty(),
        "web/ imports api/ (call service/ instead): {web_to_api:?}"
    );
}

#[test]
fn wvs_store_has_no_module_cycle() {
    // The query modules are declared by a macro inside each backend, so their `super` is the
    // backend: `super::rate` is the sibling query module, `super::Conn` the backend's
    // contract (not an edge between query modules).
    let graph = graph_of(&crate_src("wvs-store"), &["queries"]);
    assert_no_cycle("wvs-store", &graph);
}

fn is_api(module: &Module) -> bool {
    module.first().is_some_and(|s| s == "api")
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Every module file under `src` and the modules it names. `macro_declared` lists folders
/// whose files are declared by a macro in another module: their `super::x` is their sibling
/// `x` in the same folder.
fn graph_of(src: &Path, macro_declared: &[&str]) -> BTreeMap<Module, BTreeSet<Module>> {
    let files = rust_files(src);
    let modules: BTreeSet<Module> = files.iter().map(|file| module_of(src, file)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(src, file);
        let text = fs::read_to_string(file).expect("read a source file");
        let syntax = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        let mut paths = Paths::default();
        paths.visit_file(&syntax);
        let in_macro_folder = module.len() == 2 && macro_declared.contains(&module[0].as_str());
        let targets = paths
            .found
            .iter()
            .filter_map(|path| absolute(&module, path, in_macro_folder))
            .filter_map(|path| longest_module(&modules, &path))
            // Naming itself or a module beneath it is not an edge.
            .filter(|target| !target.starts_with(&module))
            .collect();
        graph.insert(module, targets);
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `src/api/hooks.rs` → `api::hooks`; `src/api/mod.rs` → `api`; `src/lib.rs` → the root.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut segments: Module = relative
        .with_extension("")
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if matches!(
        segments.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segments.pop();
    }
    segments
}

/// A path as written in `module`, made absolute from the crate root; `None` for paths that
/// are not `crate::`, `super::` or `self::` paths (other crates, locals, children).
fn absolute(module: &Module, path: &[String], in_macro_folder: bool) -> Option<Module> {
    let (first, rest) = path.split_first()?;
    match first.as_str() {
        "crate" => Some(rest.to_vec()),
        "self" => Some(module.iter().chain(rest).cloned().collect()),
        "super" => {
            let mut base = module.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            if in_macro_folder && path.len() > 1 && path[1] != "super" {
                // A query module's `super` is its backend; its siblings are in its folder.
                base = module[..1].to_vec();
            }
            Some(base.into_iter().chain(rest.iter().cloned()).collect())
        }
        _ => None,
    }
}

/// The module a path names: its longest prefix that is a module file.
fn longest_module(modules: &BTreeSet<Module>, path: &[String]) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| modules.contains(prefix))
}

fn assert_no_cycle(krate: &str, graph: &BTreeMap<Module, BTreeSet<Module>>) {
    let cycles = cycles(graph);
    assert!(
        cycles.is_empty(),
        "{krate} has module cycles (move the shared type to the module that owns it):\n{}",
        cycles.join("\n")
    );
}

/// One cycle per strongly connected group of modules, written `a -> b -> a`.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let mut found = Vec::new();
    let mut reported: BTreeSet<Module> = BTreeSet::new();
    for start in graph.keys() {
        if reported.contains(start) {
            continue;
        }
        if let Some(cycle) = path_back(graph, start) {
            reported.extend(cycle.iter().cloned());
            let names: Vec<String> = cycle.iter().chain([start]).map(name).collect();
            found.push(names.join(" -> "));
        }
    }
    found
}

/// The shortest path from `start` back to itself (breadth first), without its last step.
fn path_back(graph: &BTreeMap<Module, BTreeSet<Module>>, start: &Module) -> Option<Vec<Module>> {
    let mut came_from: BTreeMap<&Module, &Module> = BTreeMap::new();
    let mut frontier = vec![start];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for module in frontier {
            for target in graph.get(module).into_iter().flatten() {
                if target == start {
                    let mut cycle = vec![module.clone()];
                    let mut at = module;
                    while at != start {
                        at = came_from[at];
                        cycle.push(at.clone());
                    }
                    cycle.reverse();
                    return Some(cycle);
                }
                if target != start && !came_from.contains_key(target) {
                    came_from.insert(target, module);
                    next.push(target);
                }
            }
        }
        frontier = next;
    }
    None
}

/// Every path a file writes outside `#[cfg(test)]` modules: `use` trees flattened, and
/// the paths of expressions, types and patterns.
#[derive(Default)]
struct Paths {
    found: Vec<Vec<String>>,
}

impl Paths {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => self.leaf(prefix, name.ident.to_string()),
            syn::UseTree::Rename(rename) => self.leaf(prefix, rename.ident.to_string()),
            syn::UseTree::Glob(_) => self.found.push(prefix.clone()),
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    fn leaf(&mut self, prefix: &[String], ident: String) {
        // `use crate::a::{self}` names `a` itself.
        let mut path = prefix.to_vec();
        if ident != "self" {
            path.push(ident);
        }
        self.found.push(path);
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let test_only = item.attrs.iter().any(|attr| {
            attr.path().is_ident("cfg")
                && attr
                    .parse_args::<syn::Ident>()
                    .is_ok_and(|ident| ident == "test")
        });
        if !test_only {
            syn::visit::visit_item_mod(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.found.push(
            path.segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect(),
        );
        syn::visit::visit_path(self, path);
    }
}
