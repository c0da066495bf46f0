//! The layout holds, read from the source (outside unit-test modules): imports run one way at
//! every depth (no cycle between top-level modules, nor between the files of one folder), and
//! every table of contents is whole (lib.rs's Layout names every module, each folder's mod.rs
//! every file, and tests/it/main.rs says what each test module holds).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from the crate root, e.g. `genesys::token`; the root is `""`.
type Module = String;

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library's modules and their code: `lib.rs` is the root, `x/mod.rs` and `x.rs` are `x`,
/// `x/y.rs` is `x::y`. The binary's `main.rs` is no module of the library; unit tests sit at the
/// end of a file and what they import is no part of the layout.
fn library() -> BTreeMap<Module, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        match parts.last().map(String::as_str) {
            Some("main") if parts.len() == 1 => continue,
            Some("lib") if parts.len() == 1 => parts.clear(),
            Some("mod") => {
                parts.pop();
            }
            _ => {}
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        modules.insert(parts.join("::"), code.to_owned());
    }
    modules
}

/// The code without comments: a doc link is no import.
fn code_only(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| l.split(" // ").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths in a `use` tree or path expression starting at `rest` (after its first `::`),
/// groups expanded: `{a::X, b::{Y, Z}}` → `a::X`, `b::Y`, `b::Z`.
fn expand(rest: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 1;
        let end = group
            .char_indices()
            .find(|(_, c)| {
                depth += match c {
                    '{' => 1,
                    '}' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(group.len(), |(i, _)| i);
        let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
        for (i, c) in group[..end].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&group[start..end]);
        return items
            .into_iter()
            .filter(|i| !i.trim().is_empty())
            .flat_map(expand)
            .collect();
    }
    let head = ident(rest);
    if head.is_empty() {
        return vec![Vec::new()];
    }
    let after = &rest[head.len()..];
    match after.strip_prefix("::") {
        Some(tail) => expand(tail)
            .into_iter()
            .map(|mut p| {
                p.insert(0, head.clone());
                p
            })
            .collect(),
        None => vec![vec![head]],
    }
}

/// Where each path `text` (the code of `module`) names begins: absolute from the crate root.
/// `crate::`, `super::` and `self::` paths, and paths through the module's own children.
fn paths(module: &str, text: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let here: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    };
    let mut found = Vec::new();
    let code = code_only(text);
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let starts_word = at == 0 || {
            let c = bytes[at - 1] as char;
            !(c.is_alphanumeric() || c == '_' || c == ':')
        };
        let rest = &code[at..];
        let base: Option<(Vec<String>, usize)> = if !starts_word {
            None
        } else if rest.starts_with("crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if rest.starts_with("super::") {
            let mut up = here.clone();
            up.pop();
            Some((up, "super::".len()))
        } else if rest.starts_with("self::") {
            Some((here.clone(), "self::".len()))
        } else {
            children
                .iter()
                .find(|c| rest.starts_with(&format!("{c}::")))
                .map(|_| (here.clone(), 0))
        };
        match base {
            Some((base, skip)) => {
                for tail in expand(&rest[skip..]) {
                    let mut path = base.clone();
                    path.extend(tail);
                    found.push(path);
                }
                at += skip.max(1);
            }
            None => at += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// The module-level graph: each module and the modules it imports. A path is resolved to the
/// deepest module it names; an item a folder's `mod.rs` re-exports from one of its files leads
/// to that file, so a table of contents is not mistaken for a dependency.
fn graph(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let join = |parent: &str, child: &str| {
        if parent.is_empty() {
            child.to_owned()
        } else {
            format!("{parent}::{child}")
        }
    };
    let children = |module: &str| -> BTreeSet<String> {
        modules
            .keys()
            .filter_map(|m| {
                let rest = if module.is_empty() {
                    Some(m.as_str())
                } else {
                    m.strip_prefix(&format!("{module}::"))
                }?;
                (!rest.is_empty() && !rest.contains("::")).then(|| rest.to_owned())
            })
            .collect()
    };
    // What each module re-exports from its own children: item name → child module.
    let mut reexports: BTreeMap<Module, BTreeMap<String, Module>> = BTreeMap::new();
    for (module, text) in modules {
        let kids = children(module);
        for line in code_only(text).lines() {
            let line = line.trim_start();
            let Some(used) = line.split_once("use ").map(|(_, u)| u) else {
                continue;
            };
            if !line.starts_with("pub") {
                continue;
            }
            for path in expand(used.trim_end_matches(';')) {
                if let (Some(first), Some(last)) = (path.first(), path.last()) {
                    if kids.contains(first) && path.len() > 1 {
                        reexports
                            .entry(module.clone())
                            .or_default()
                            .insert(last.clone(), join(module, first));
                    }
                }
            }
        }
    }
    let resolve = |path: &[String]| -> Option<Module> {
        let mut module = String::new();
        let mut rest = path;
        while let Some((first, tail)) = rest.split_first() {
            let next = join(&module, first);
            if modules.contains_key(&next) {
                module = next;
                rest = tail;
            } else if let Some(to) = reexports.get(&module).and_then(|r| r.get(first)) {
                module = to.clone();
                rest = tail;
            } else {
                break;
            }
        }
        modules.contains_key(&module).then_some(module)
    };
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in modules {
        let entry = graph.entry(module.clone()).or_default();
        for path in paths(module, text, &children(module)) {
            if let Some(to) = resolve(&path).filter(|to| to != module) {
                entry.insert(to);
            }
        }
    }
    graph
}

/// The same graph between top-level modules only.
fn top_level(graph: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeMap<Module, BTreeSet<Module>> {
    let top = |m: &str| m.split("::").next().unwrap_or("").to_owned();
    let mut out: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, tos) in graph.iter().filter(|(m, _)| !m.is_empty()) {
        let entry = out.entry(top(from)).or_default();
        entry.extend(
            tos.iter()
                .map(|t| top(t))
                .filter(|t| !t.is_empty() && *t != top(from)),
        );
    }
    out
}

/// A cycle through the graph, if there is one.
fn cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn imports_between_top_level_modules_run_one_way() {
    let graph = top_level(&graph(&library()));
    assert!(graph.len() > 10, "{graph:?}");
    assert_eq!(cycle(&graph), None, "{graph:#?}");
}

#[test]
fn imports_between_the_files_of_a_folder_run_one_way() {
    let graph = graph(&library());
    assert!(
        graph.keys().filter(|m| m.contains("::")).count() > 20,
        "{graph:?}"
    );
    // The layout is read right: the token sits below the client, the pipeline reads the rules.
    assert!(
        graph["genesys::client"].contains("genesys::token"),
        "{graph:#?}"
    );
    assert!(graph["pipeline"].contains("rules::matching"), "{graph:#?}");
    assert_eq!(cycle(&graph), None, "{graph:#?}");
}

#[test]
fn the_cycle_check_finds_cycles_at_any_depth() {
    let modules = |files: &[(&str, &str)]| -> BTreeMap<Module, String> {
        files
            .iter()
            .map(|(m, t)| ((*m).to_owned(), (*t).to_owned()))
            .collect()
    };
    // Between top-level modules, groups included.
    let top = modules(&[
        ("", "mod a; mod b; mod c;"),
        ("a", "use crate::{b::X, c::{Y, Z}};"),
        ("b", ""),
        ("c", "use crate::a::W;"),
    ]);
    let g = graph(&top);
    assert_eq!(g["a"], ["b".to_owned(), "c".to_owned()].into());
    assert_eq!(
        cycle(&top_level(&g)),
        Some(vec!["a".into(), "c".into(), "a".into()])
    );
    // Between two files of one folder, through `super::`; the folder's own table of contents
    // (`pub use x::X`) is no arrow back.
    let folder = modules(&[
        ("", "mod f;"),
        (
            "f",
            "mod x; mod y;\npub(crate) use x::X;\npub(crate) use y::Y;",
        ),
        ("f::x", "use super::y::helper;\npub struct X;"),
        ("f::y", "pub fn helper() {}\npub struct Y;"),
    ]);
    assert_eq!(cycle(&graph(&folder)), None);
    let mut circle = folder.clone();
    circle.insert("f::y".into(), "use super::X;\npub struct Y;".into());
    assert_eq!(
        cycle(&graph(&circle)),
        Some(vec!["f::x".into(), "f::y".into(), "f::x".into()])
    );
    // Comments are no imports.
    let commented = modules(&[
        ("", "mod a; mod b;"),
        ("a", "/// see crate::b\n"),
        ("b", ""),
    ]);
    assert!(graph(&commented)["a"].is_empty());
}

/// The modules a file declares (`mod x;`, any visibility).
fn declared(text: &str) -> Vec<String> {
    code_only(text)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("mod ")
                .or_else(|| l.strip_prefix("pub mod "))
                .or_else(|| l.strip_prefix("pub(crate) mod "))?;
            rest.strip_suffix(';').map(str::to_owned)
        })
        .collect()
}

/// A file's `//!` header.
fn header(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_module_is_in_its_table_of_contents() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let layout = header(&lib);
    let layout = layout
        .split("# Layout")
        .nth(1)
        .and_then(|l| l.split("\n #").next())
        .expect("lib.rs has a Layout section");
    let mut missing = Vec::new();
    for module in declared(&lib) {
        if !layout.contains(&format!("`{module}`")) {
            missing.push(format!("lib.rs Layout: `{module}`"));
        }
    }
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut folders = 0;
    for file in files.iter().filter(|f| f.ends_with("mod.rs")) {
        folders += 1;
        let text = std::fs::read_to_string(file).unwrap();
        let toc = header(&text);
        for module in declared(&text) {
            let named = [
                format!("`{module}.rs`"),
                format!("`{module}/`"),
                format!("`{module}`"),
            ];
            if !named.iter().any(|n| toc.contains(n)) {
                missing.push(format!("{}: `{module}.rs`", file.display()));
            }
        }
    }
    assert!(folders >= 8, "{folders} folders");
    assert!(
        missing.is_empty(),
        "not in a table of contents: {missing:#?}"
    );
}

#[test]
fn every_test_module_says_what_it_holds() {
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/main.rs");
    let text = std::fs::read_to_string(main).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut silent = Vec::new();
    let mut modules = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(module) = line.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) else {
            continue;
        };
        modules += 1;
        if !(i > 0 && lines[i - 1].trim_start().starts_with("//")) {
            silent.push(module.to_owned());
        }
    }
    assert!(modules > 20, "{modules} test modules");
    assert!(
        silent.is_empty(),
        "test modules with no comment: {silent:?}"
    );
}
