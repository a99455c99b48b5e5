//! The layers call downward only. Each `crate::<module>` a source file names must be on its
//! layer's allow-list; a new upward or sideways dependency fails here, in review's place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which top-level modules each layer may name. `serve` and `cli` assemble everything.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("crypto", &[][..]),
        ("report", &[][..]),
        ("metrics", &[][..]),
        ("model", &["crypto"][..]),
        ("store", &["model", "crypto", "report", "metrics"][..]),
        ("email", &["model", "crypto", "report", "metrics"][..]),
        (
            "auth",
            &["store", "email", "model", "crypto", "report", "metrics"][..],
        ),
        (
            "http",
            &["auth", "model", "crypto", "report", "metrics"][..],
        ),
        ("config", &["model", "crypto", "store"][..]),
        ("secret", &["config", "crypto"][..]),
        ("telemetry", &["config"][..]),
        (
            "serve",
            &[
                "auth", "config", "crypto", "email", "http", "metrics", "model", "report",
                "secret", "store",
            ][..],
        ),
        (
            "cli",
            &[
                "auth",
                "config",
                "crypto",
                "email",
                "http",
                "model",
                "report",
                "secret",
                "serve",
                "store",
                "telemetry",
            ][..],
        ),
    ])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names through `crate::`.
fn named_modules(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        } else if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c}`
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(
                group
                    .split(',')
                    .map(|p| p.trim().split("::").next().unwrap_or("").to_owned())
                    .filter(|n| !n.is_empty()),
            );
        }
    }
    out
}

#[test]
fn layers_call_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let allowed = allowed();
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let layer = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if layer == "lib" || layer == "main" {
            continue;
        }
        let Some(may) = allowed.get(layer.as_str()) else {
            violations.push(format!(
                "{}: the module {layer} has no place in the layer list",
                rel.display()
            ));
            continue;
        };
        for target in named_modules(&std::fs::read_to_string(&file).unwrap()) {
            if target != layer && !may.contains(&target.as_str()) {
                violations.push(format!("{} ({layer}) names crate::{target}", rel.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_and_nested_paths() {
    assert_eq!(
        named_modules("use crate::{auth::X, model};\nlet x = crate::http::body::parse();"),
        vec!["auth", "model", "http"]
    );
}
