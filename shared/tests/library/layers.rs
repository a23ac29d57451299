//! The library's layers, read from its source: every `crate::` path a module names must
//! point at its own layer or one below (handlers → domain → invocation → aws), and the
//! modules' imports, tests left out, must have no cycle. A new import that breaks either
//! fails here with the file and the path that did it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top first: a module may use its own layer and those after it.
const LAYERS: [&str; 4] = ["handlers", "domain", "invocation", "aws"];

/// One module of the library: `domain::roles`, `aws`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Module {
    layer: &'static str,
    name: String,
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name.is_empty() {
            f.write_str(self.layer)
        } else {
            write!(f, "{}::{}", self.layer, self.name)
        }
    }
}

fn rank(layer: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| *l == layer)
        .unwrap_or_else(|| panic!("{layer} is not a layer"))
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The module a source file is, `None` for the crate root.
fn module_of(root: &Path, file: &Path) -> Option<Module> {
    let relative = file.strip_prefix(root).expect("under the root");
    let parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts == ["lib"] {
        return None;
    }
    let layer = *LAYERS
        .iter()
        .find(|l| **l == parts[0])
        .unwrap_or_else(|| panic!("{} is in no layer: {LAYERS:?}", relative.display()));
    let name = match parts.get(1).map(String::as_str) {
        None | Some("mod") => String::new(),
        Some(name) => name.to_owned(),
    };
    Some(Module { layer, name })
}

/// The modules `code` names through `crate::`: `crate::invocation::gate::Scope` and
/// `crate::handlers::{reconcile, slr_deletion}` each name their modules.
fn named_modules(code: &str) -> Vec<Module> {
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let layer_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let Some(layer) = LAYERS.iter().find(|l| **l == &rest[..layer_end]) else {
            continue;
        };
        let after = &rest[layer_end..];
        let names: Vec<String> = if let Some(list) = after.strip_prefix("::{") {
            let list = &list[..list.find('}').unwrap_or(list.len())];
            list.split(',')
                .map(|item| item.trim().split("::").next().unwrap_or("").to_owned())
                .filter(|n| !n.is_empty() && n != "self")
                .collect()
        } else if let Some(path) = after.strip_prefix("::") {
            let end = path
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(path.len());
            vec![path[..end].to_owned()]
        } else {
            vec![String::new()]
        };
        for name in names {
            // `crate::aws::Clients` names an item of the one-file layer, not a module.
            let name = if *layer == "aws" { String::new() } else { name };
            named.push(Module { layer, name });
        }
    }
    named
}

/// `code` without its `#[cfg(test)]` modules, which may use what they like.
fn without_tests(code: &str) -> &str {
    code.find("#[cfg(test)]\nmod ")
        .map_or(code, |at| &code[..at])
}

fn library() -> Vec<(PathBuf, Module, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    sources(&root)
        .into_iter()
        .filter_map(|file| {
            let module = module_of(&root, &file)?;
            let code = std::fs::read_to_string(&file).expect("read a source file");
            Some((file, module, code))
        })
        .collect()
}

#[test]
fn every_import_points_at_its_own_layer_or_below() {
    let mut wrong = Vec::new();
    for (file, module, code) in library() {
        for named in named_modules(&code) {
            if rank(named.layer) < rank(module.layer) {
                wrong.push(format!(
                    "{} ({module}) uses {named}, a layer above",
                    file.display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn modules_import_each_other_without_cycles() {
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (_, module, code) in library() {
        let uses: BTreeSet<Module> = named_modules(without_tests(&code))
            .into_iter()
            .filter(|named| *named != module && !named.name.is_empty())
            .collect();
        edges.entry(module).or_default().extend(uses);
    }
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit(
        at: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) {
        if done.contains(at) {
            return;
        }
        if let Some(start) = path.iter().position(|m| m == at) {
            let cycle: Vec<String> = path[start..].iter().map(Module::to_string).collect();
            panic!("an import cycle: {} → {at}", cycle.join(" → "));
        }
        path.push(at.clone());
        for next in edges.get(at).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
        done.insert(at.clone());
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        visit(module, &edges, &mut Vec::new(), &mut done);
    }
    assert!(
        done.len() >= 20,
        "the search saw {} modules: is the source still under shared/src?",
        done.len()
    );
}

#[test]
fn the_reader_sees_what_it_should() {
    let named = named_modules(
        "use crate::invocation::gate::Scope;\nuse crate::handlers::{reconcile, slr_deletion::FUNCTION};\nuse crate::aws::{CallLog, Clients};",
    );
    let shown: Vec<String> = named.iter().map(Module::to_string).collect();
    assert_eq!(
        shown,
        [
            "invocation::gate",
            "handlers::reconcile",
            "handlers::slr_deletion",
            "aws",
            "aws"
        ]
    );
}
